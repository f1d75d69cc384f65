"""Shipped rules, mappings and examples by name, from any folder."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from computeledger.cli import app
from computeledger.errors import UsageError
from computeledger.shipped import INVOICE_MAPPING, SYNTH_RULES, find, shipped


def test_names_find_the_shipped_files_and_paths_win(tmp_path):
    assert find("synth-lab", "rules") == SYNTH_RULES
    assert find("gpu_cloud_invoice.toml", "mappings") == INVOICE_MAPPING
    assert find("trtllm-1.0", "measurements").name == "trtllm_1.0.csv"
    mine = tmp_path / "synth-lab"
    mine.write_text("# mine")
    assert find(mine, "rules") == mine
    with pytest.raises(
        UsageError,
        match="shipped: aws-cur, azure-cost-details, azure-cost-details-amortized, gcp-billing-export, "
        "gpu-cloud-invoice, oci-cost-report, openai-costs-export, stripe-invoice-lines, token-cost-export",
    ):
        find("stripe", "mappings")
    kinds = {"rules", "mappings", "examples", "company", "measurements", "reports", "exports"}
    assert {k for k, _, _ in shipped()} == kinds


def test_examples_lists_and_copies_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    r = runner.invoke(app, ["examples", "--format", "csv"])
    assert r.exit_code == 0 and "rules,synth-lab,synth_lab.toml,allocate --rules synth-lab" in r.output
    r = runner.invoke(app, ["examples", "--copy", "mine"])
    assert r.exit_code == 0
    assert sorted(os.listdir("mine")) == sorted(p.name for _, _, p in shipped())
    r = runner.invoke(app, ["examples", "--copy", "mine"])
    assert r.exit_code == 2 and "exists" in r.output
    r = runner.invoke(app, ["figures", "check", "openai-azure-2025", "--format", "json"])
    assert r.exit_code == 0, r.output
