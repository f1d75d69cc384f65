"""figures check and compare from the command line; compare against a synthetic lab's ledger."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.cli import app
from computeledger.figures.compare import compare
from computeledger.figures.read import read_figures
from computeledger.shipped import EXAMPLES
from tests.conftest import truth

runner = CliRunner()
EXAMPLE = EXAMPLES / "openai_azure_2025.yaml"


def test_check_prints_every_section_and_exports_json_and_csv():
    got = runner.invoke(app, ["figures", "check", str(EXAMPLE)])
    assert got.exit_code == 0, got.output
    assert "[provider=azure, workload=inference]" in got.output  # scopes shown as data, not markup
    got = runner.invoke(app, ["figures", "check", str(EXAMPLE), "--format", "json"])
    doc = json.loads(got.output)
    assert set(doc) == {"figures", "implied", "contradictions", "annualised", "claims", "projections"}
    first = doc["figures"][0]  # typed fields: the quantity's parts, the interval's ends, money as strings
    assert (first["id"], first["entity"], first["metric"], first["scope"]) == (
        "azure-inference-2024",
        "OpenAI",
        "compute_cost",
        {"provider": "azure", "workload": "inference"},
    )
    assert (first["period_start"], first["period_end"], first["status"]) == (
        "2024-01-01",
        "2024-12-31",
        "disputed",
    )
    assert (first["low"], first["high"]) == ("3285000000", "4125000000")
    derived = next(r for r in doc["implied"] if r["derivations"][0]["how"] != "disputed")
    assert derived["sources"] and isinstance(derived["derivations"][0]["sources"], list)
    margin = next(c["detail"] for c in doc["claims"] if c["id"] == "more-than-double")
    assert margin.endswith("holds unless both err by more than 7.1% in opposite directions")
    got = runner.invoke(app, ["figures", "check", str(EXAMPLE), "--format", "csv", "--section", "claims"])
    rows = list(csv.DictReader(io.StringIO(got.output)))
    assert [r["as_reported"] for r in rows] == ["holds", "holds", "holds", "holds"]
    got = runner.invoke(app, ["figures", "check", str(EXAMPLE), "--format", "csv"])
    assert got.exit_code == 2 and "add --section" in got.output


def test_check_reports_the_file_and_line_of_a_bad_figure(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "id,entity,metric,period,value\na,Lab,compute_cost,2025,12 billion\nb,Lab,costs,2025,12 bananas\n"
    )
    got = runner.invoke(app, ["figures", "check", str(path)])
    assert got.exit_code == 2
    assert "bad.csv, line 3, column value: not an amount: '12 bananas'" in " ".join(got.output.split())


def test_compare_sets_reported_figures_against_the_ledger(allocated, tmp_path):
    _, _, out = allocated
    billed: dict = {}
    for r in truth(out):
        if r["provider"] == "Microsoft" and r["charge_month"] == "2024-06":
            billed[r["workload"]] = billed.get(r["workload"], Decimal(0)) + Decimal(r["billed_cost"])
    inference = billed["inference"]
    figures = tmp_path / "press.csv"
    figures.write_text(
        "id,entity,metric,period,scope,value\n"
        f"close,Lab,compute_cost,2024-06,provider=azure;workload=inference,{inference}..{inference * 2}\n"
        f"low,Lab,compute_cost,2024-06,provider=azure;workload=inference,{inference / 2}..{inference / 2}\n"
        "revenue,Lab,revenue,2024-06,,1M\n"
    )
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        rows = {r["id"]: r for r in compare(lg, read_figures(figures))}
    assert rows["close"]["verdict"] == "within"
    # the ledger's inference spend on Azure that month: the direct charges plus their share of
    # the month's shared costs (the allocation spreads storage, egress and idle capacity)
    assert rows["close"]["ledger"] >= inference
    assert rows["low"]["verdict"] == "above"
    assert rows["revenue"]["verdict"] == "not in the ledger"
    got = runner.invoke(app, ["figures", "compare", str(figures), "--ledger", str(path),
                              "--format", "json"])  # fmt: skip
    assert got.exit_code == 0, got.output


def test_compare_is_like_with_like(allocated, tmp_path):
    """A workload's compute is never more than all compute; a figure whose period the ledger
    covers only in part is not judged; a figure about another entity is not judged."""
    figures = tmp_path / "press.csv"
    figures.write_text(
        "id,entity,metric,period,scope,value\n"
        "inf,Lab,compute_cost,2024-06,provider=azure;workload=inference,1\n"
        "all,Lab,compute_cost,2024-06,provider=azure,1\n"
        "year,Lab,compute_cost,2024,provider=azure,1\n"
        "other,Rival,compute_cost,2024-06,provider=azure,1\n"
    )
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        rows = {r["id"]: r for r in compare(lg, read_figures(figures), entity="Lab")}
    assert rows["inf"]["ledger"] <= rows["all"]["ledger"]
    assert rows["all"]["coverage"] == "30 of 30 days (2024-06-01..2024-06-30)"
    assert rows["all"]["verdict"] == "above"
    assert rows["year"]["verdict"] == "partial: the ledger covers 123 of the period's 366 days"
    assert "difference" not in rows["year"]
    assert rows["other"]["verdict"] == "another entity (Rival, the ledger is Lab)"


def test_unknown_metrics_are_plain_flows_and_bounds_have_their_own_section(tmp_path):
    figures = tmp_path / "kept.csv"
    figures.write_text(
        "id,entity,metric,period,scope,value\n"
        "h1,Lab,inference_spend,2025-01..2025-06,,2B\n"
        "year,Lab,inference_spend,2025,,5B\n"
        "rs,Lab,revenue_share_received,2025,,1B\n"
    )
    got = runner.invoke(app, ["figures", "check", str(figures), "--format", "json"])
    assert got.exit_code == 0, got.output
    doc = json.loads(got.output)
    h2 = [r for r in doc["implied"] if r["period_start"] == "2025-07-01"]
    # 5B and 2B are rounded to the billion: 4.5B..5.5B less 1.5B..2.5B
    assert [(r["metric"], r["low"], r["high"]) for r in h2] == [
        ("inference_spend", "2000000000", "4000000000")
    ]
    assert "bounds" not in doc
    got = runner.invoke(app, ["figures", "check", str(figures)])
    assert "inference_spend, revenue_share_received" in got.output and "read as plain flows" in got.output
    side = tmp_path / "metrics.yaml"
    side.write_text("- {name: inference_spend, kind: flow, part_of: compute_cost}\n")
    got = runner.invoke(app, ["figures", "check", str(figures), "--metrics", str(side), "--section", "bounds",
                              "--format", "json"])  # fmt: skip
    assert got.exit_code == 0, got.output
    bounds = json.loads(got.output)["bounds"]
    assert any(r["metric"] == "compute_cost" for r in bounds)  # inference_spend is now part of compute
