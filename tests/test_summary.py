"""Summaries: exact totals by any dimension, and nothing unknown shown as zero."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from computeledger import UsageError, open_ledger
from computeledger.output import decimal_text
from tests.conftest import decimal_sum, read_rows, totals


def test_by_category_and_month_sum_to_the_file(ledger, sample):
    ledger.ingest([sample])
    t = totals(ledger, "ServiceCategory,month")
    header, rows = read_rows(sample)
    cat, billed = header.index("ServiceCategory"), header.index("BilledCost")
    storage = decimal_sum(r[billed] for r in rows if r[cat] == "Storage")
    assert t[("Storage", __import__("datetime").date(2024, 9, 1))]["BilledCost"] == storage
    assert sum(v["rows"] for v in t.values()) == 1000


def test_unknown_dimension_is_a_clear_error(ledger, sample):
    ledger.ingest([sample])
    with pytest.raises(UsageError, match="unknown dimension 'colour'"):
        ledger.summary("provider,colour")


def test_dimension_names_are_case_insensitive(ledger, sample):
    ledger.ingest([sample])
    t = ledger.summary("chargecategory").to_pyarrow()
    assert t.column_names[0] == "ChargeCategory"
    assert set(t["ChargeCategory"].to_pylist()) == {"Usage", "Credit", "Adjustment"}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("20.520226728990000000"), "20.52022672899"),
        (Decimal("13.000000000000000000"), "13.00"),
        (Decimal("-2.613700000000000000"), "-2.6137"),
        (Decimal("0E-18"), "0.00"),
        (Decimal("1E+3"), "1000.00"),
    ],
)
def test_decimal_text_is_exact_and_plain(value, text):
    assert decimal_text(value) == text


def test_cli_json_money_is_a_string(tmp_path, sample):
    from typer.testing import CliRunner

    from computeledger.cli import app

    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    r = runner.invoke(app, ["ingest", str(sample), "--ledger", db, "--format", "json"])
    assert r.exit_code == 0, r.output
    record = json.loads(r.stdout.strip().splitlines()[-1])
    assert (record["status"], record["rows_loaded"], record["focus_version"]) == ("loaded", 1000, "1.0")
    r = runner.invoke(app, ["summary", "--ledger", db, "--by", "provider", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = {row["provider"]: row for row in json.loads(r.stdout)}
    assert rows["Microsoft"]["BilledCost"] == "1.97651418586"
    assert rows["Oracle"]["ContractedCost"] is None
    assert rows["Oracle"]["ContractedCost_missing"] == 7
    r = runner.invoke(app, ["summary", "--ledger", db, "--by", "provider", "--format", "csv"])
    assert "Oracle,7,0.53707392473,0.00,0.26507392473,,0,0,0,7" in r.stdout.replace("\r", "")


def test_cli_validate_and_refusal_exit_codes(tmp_path, sample):
    from typer.testing import CliRunner

    from computeledger.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["validate", str(sample), "--format", "json"])
    assert r.exit_code == 0, r.output
    problems = json.loads(r.stdout)
    assert {p["severity"] for p in problems} == {"warning"}
    missing = [p for p in problems if p["message"].startswith("FOCUS requires a value")]
    assert [(p["column"], p["rows"]) for p in missing] == [("ContractedCost", 7)]
    header, rows = read_rows(sample)
    rows[0][header.index("BilledCost")] = "lots"
    from tests.conftest import write_rows

    bad = write_rows(tmp_path / "bad.csv", header, rows)
    r = runner.invoke(app, ["validate", str(bad), "--format", "json"])
    assert r.exit_code == 1
    errors = [p for p in json.loads(r.stdout) if p["severity"] == "error"]
    assert errors == [{"file": str(bad), "line": 2, "column": "BilledCost", "severity": "error",
                       "message": "BilledCost: not a number: 'lots'", "rows": 1}]  # fmt: skip
    not_focus = tmp_path / "x.csv"
    not_focus.write_text("a,b\n1,2\n")
    r = runner.invoke(app, ["ingest", str(not_focus), "--ledger", str(tmp_path / "l.duckdb")])
    assert r.exit_code == 1
    assert "not a FOCUS file" in r.output


def test_cli_lists_ingests_and_quarantine(tmp_path, sample):
    from typer.testing import CliRunner

    from computeledger.cli import app
    from tests.conftest import write_rows

    header, rows = read_rows(sample)
    rows[9][header.index("ChargeCategory")] = "Refund"
    bad = write_rows(tmp_path / "bad.csv", header, rows)
    db = str(tmp_path / "l.duckdb")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(bad), "--ledger", db]).exit_code == 0
    r = runner.invoke(app, ["quarantine", "--ledger", db, "--format", "json"])
    [row] = json.loads(r.stdout)
    assert (row["ingest_id"], row["source_line"]) == (1, 11)
    assert row["reason"].startswith("ChargeCategory: not allowed: 'Refund'")
    assert '"Refund"' in row["raw"]
    r = runner.invoke(app, ["ingests", "--ledger", db, "--format", "json"])
    [ing] = json.loads(r.stdout)
    assert (ing["status"], ing["rows_read"], ing["rows_loaded"], ing["rows_quarantined"]) == (
        "loaded",
        1000,
        999,
        1,
    )
    r = runner.invoke(app, ["summary", "--ledger", str(tmp_path / "none.duckdb")])
    assert r.exit_code == 2
    assert "no ledger at" in r.output


@pytest.mark.slow  # over 20 s: the full suite runs it
def test_demo_recovers_the_synthetic_truth(tmp_path):
    from typer.testing import CliRunner

    from computeledger.cli import app

    report = tmp_path / "demo-report.html"  # before: the user's report in the repository, overwritten
    r = CliRunner().invoke(app, ["demo", "--months", "2", "--ledger", str(tmp_path), "--report", str(report)])
    assert r.exit_code == 0, r.output
    assert report.read_text(encoding="utf-8").startswith("<!doctype html>")
    assert "1000 rows read, 1000 loaded, 0 quarantined" in r.output
    assert "10 files:" in r.output
    assert ": equal" in r.output
    assert "Bills against physics" in r.output
    lab = tmp_path / "lab.duckdb"
    contracts = tmp_path / "synthetic-lab" / "finance" / "contracts.toml"
    assert f"computeledger serve --ledger {lab} --contracts {contracts}" in " ".join(r.output.split())
    assert lab.exists() and contracts.exists()  # what the hint names is there to serve


@pytest.mark.slow  # a two-month lab, through every step of the demo
def test_the_demo_lab_is_the_truth_and_its_throughput_is_the_physics_at_its_concurrency(tmp_path):
    """The demo's workflow, from Python: the ledger total equals the truth; at the lab's
    own requests in flight the capacity model needs what the lab billed (within the
    calibration's error), at the throughput-optimal batch a small share of it."""
    from computeledger.capacity import catalog
    from computeledger.capacity.compare import compare, per_model
    from computeledger.demo import build_lab
    from computeledger.synth.company import load_company

    lab = build_lab(tmp_path, months=2)
    assert lab.ledger_total == lab.truth_total
    assert (len(lab.preliminary), len(lab.final), lab.superseded) == (4, 10, 4)
    models = [m for m in load_company().models if m.architecture]
    mapping = {m.name: m.architecture for m in models}
    at = {m.name: m.concurrency for m in models if m.concurrency}
    with open_ledger(lab.ledger, read_only=True) as lg:
        optimal = {r["model"]: r for r in per_model(compare(lg, mapping, catalog.calibrations()))}
        served = {
            r["model"]: r for r in per_model(compare(lg, mapping, catalog.calibrations(), concurrency=at), at)
        }
    atlas = optimal["atlas-l"]
    assert atlas["shape"] == "Llama-3.3-70B" and atlas["point"] == "throughput-optimal"
    share = atlas["needed_gpu_hours"] / atlas["billed_gpu_hours"]
    assert atlas["implied_utilization_pct"] == (share * 100).quantize(Decimal("0.01"))
    assert 0 < share < Decimal("0.1")
    assert served["atlas-l"]["point"] == "concurrency 8"
    assert served["atlas-l"]["implied_utilization_pct"] == Decimal("110.64")
    assert served["swift-s"]["implied_utilization_pct"] == Decimal("109.11")


def test_summary_by_quarter_and_year_and_a_helpful_unknown_dimension(tmp_path, sample):
    from computeledger import open_ledger
    from computeledger.errors import UsageError

    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([sample])
        months = lg.summary("month").to_pyarrow().to_pylist()
        quarters = lg.summary("quarter").to_pyarrow().to_pylist()
        years = lg.summary("year").to_pyarrow().to_pylist()
        import pytest

        with pytest.raises(UsageError, match="workload, model, team, environment, gpu_model"):
            lg.summary("nonsense")
    assert sum(r["rows"] for r in quarters) == sum(r["rows"] for r in months) == sum(r["rows"] for r in years)
    assert all(q["quarter"].month in (1, 4, 7, 10) and q["quarter"].day == 1 for q in quarters)


def test_synth_refuses_a_folder_that_is_not_empty(tmp_path):
    from typer.testing import CliRunner

    from computeledger.cli import app

    (tmp_path / "keep.txt").write_text("mine")
    r = CliRunner().invoke(app, ["synth", "--out", str(tmp_path), "--months", "1"])
    assert r.exit_code == 2 and "not an empty folder" in r.output
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
