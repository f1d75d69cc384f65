"""The allocation commands: thin over the API, with clear errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.cli import app
from tests.conftest import RULES

pytestmark = pytest.mark.slow  # a lab, allocated through the CLI

runner = CliRunner()


def test_allocate_summary_coverage_explain(allocated, tmp_path):
    path, run, _ = allocated
    ledger = tmp_path / "copy.duckdb"
    shutil.copy(path, ledger)
    got = runner.invoke(app, ["allocate", "--rules", str(RULES), "--ledger", str(ledger)])
    assert got.exit_code == 0, got.output
    assert f"rules version {run.version}: {run.charges:,} charges placed" in got.output
    assert "unallocated: 0.00 of" in got.output

    got = runner.invoke(
        app, ["summary", "--by", "workload,provider", "--format", "json", "--ledger", str(ledger)]
    )
    rows = (
        [json.loads(line) for line in got.output.splitlines()]
        if got.output.startswith("{")
        else json.loads(got.output)
    )
    assert {r["workload"] for r in rows} == {"inference", "training", "research"}
    assert all(isinstance(r["EffectiveCost"], str) for r in rows)  # money as strings
    total = sum(Decimal(r["BilledCost"]) for r in rows)

    got = runner.invoke(app, ["coverage", "--format", "csv", "--ledger", str(ledger)])
    assert got.exit_code == 0
    lines = list(csv.DictReader(io.StringIO(got.output)))
    assert lines[0]["rule"] == "workload tags"
    assert sum(Decimal(r["BilledCost"]) for r in lines) == total

    got = runner.invoke(app, ["explain", "10000000000", "--format", "json", "--ledger", str(ledger)])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.output)
    assert doc["placed"]["environment"] == ["production", "production"]


def test_bad_rules_and_missing_charges_exit_2_with_the_reason(allocated, tmp_path):
    path, _, _ = allocated
    bad = tmp_path / "bad.toml"
    bad.write_text('[[rules]]\nname = "x"\nmatch = { ResourceName = "[" }\nset = { team = "t" }\n')
    got = runner.invoke(app, ["allocate", "--rules", str(bad), "--ledger", str(tmp_path / "l.duckdb")])
    assert got.exit_code == 2
    assert "rule 'x': match.ResourceName: bad regular expression" in got.output
    assert not (tmp_path / "l.duckdb").exists()  # refused before the ledger is touched
    open_ledger(tmp_path / "l.duckdb").close()
    got = runner.invoke(app, ["explain", "42", "--ledger", str(path)])
    assert got.exit_code == 2 and "no charge 42" in got.output
    got = runner.invoke(app, ["summary", "--by", "workload", "--ledger", str(tmp_path / "l.duckdb")])
    assert got.exit_code == 2 and "no allocation yet" in got.output
