"""The report: one offline page, every chart drawn in a real browser, its totals the ledger's."""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from computeledger import open_ledger
from computeledger.report import write_report
from computeledger.report.options import Options
from computeledger.shipped import FOCUS_SAMPLE, find
from tests.report.browser import open_report

MAPPING = {"swift-s": "Llama-3.1-8B", "atlas-l": "Llama-3.3-70B"}
CHARTS = {
    "spend by provider", "spend by workload", "spend by model", "per million tokens", "gross margin",
    "three bases", "cash", "commitments", "credits", "bridge", "forecast inference", "forecast cash",
    "physics", "figures", "coverage",
}  # fmt: skip


@pytest.mark.slow  # a real browser over the whole page
def test_the_page_draws_every_chart_offline_with_the_ledgers_totals(books, tmp_path):
    path, _lab, contracts = books
    out = tmp_path / "report.html"
    opts = Options(
        contracts=str(contracts), catalogue=MAPPING, figures=str(find("openai-azure-2025", "examples"))
    )
    with open_ledger(path, read_only=True) as lg:
        got = write_report(lg, out, opts, images=tmp_path / "img")
        c = lg.charges
        billed = c.BilledCost.sum().to_pyarrow().as_py()
        effective = c.EffectiveCost.sum().to_pyarrow().as_py()
        closing = lg.statement("month", bases=("cash",), contracts=contracts).rows[-1]["closing_cash"]
    text = out.read_text(encoding="utf-8")
    assert got["bytes"] < 5_000_000 and got["unknown"] == {}
    assert "<script src" not in text and "<link" not in text  # nothing to fetch: all inline
    seen = open_report(out, tmp_path / "report.png")  # no test writes outside its folder
    assert seen["requests"] == [] and seen["errors"] == []
    assert [m for m in seen["console"] if m[0] == "error"] == []
    assert {c["name"] for c in seen["charts"].values()} == CHARTS
    for cid, chart in seen["charts"].items():
        assert chart["svg"] == 1 and chart["width"] > 0 and chart["marks"] > 0, (cid, chart)
    totals = seen["totals"]
    assert Decimal(totals["billed_cost"][0]) == billed and Decimal(totals["effective_cost"][0]) == effective
    assert totals["billed_cost"][1] == f"{billed.quantize(Decimal('0.01')):,}"
    assert Decimal(totals["closing_cash"][0]) == closing
    assert (tmp_path / "report.png").stat().st_size > 50_000
    assert text.count('class="caption"') == len(CHARTS)  # every chart has its reading in words
    svgs = sorted((tmp_path / "img").glob("*.svg"))
    assert len(svgs) == got["charts"] == len(CHARTS)
    assert all(p.read_text(encoding="utf-8").startswith("<svg") for p in svgs)


def test_what_the_ledger_cannot_say_reads_unknown_never_zero(tmp_path):
    """Real bills without allocation, usage, revenue or bank lines: those sections say why."""
    ledger = tmp_path / "sample.duckdb"
    with open_ledger(ledger) as lg:
        lg.ingest([FOCUS_SAMPLE])
    out = tmp_path / "report.html"
    with open_ledger(ledger, read_only=True) as lg:
        got = write_report(lg, out)
    text = out.read_text(encoding="utf-8")
    assert set(got["unknown"]) >= {"economics", "physics", "figures"}
    assert "Unknown: no figures file (--figures FILE)" in text
    assert 'class="unknown"' in text and got["charts"] >= 1
    seen = open_report(out, tmp_path / "sample.png")
    assert seen["errors"] == [] and seen["requests"] == []
    assert all(c["marks"] > 0 for c in seen["charts"].values())


def test_the_command_writes_the_page_and_says_where(books, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from computeledger.cli import app

    path, _lab, contracts = books
    monkeypatch.chdir(tmp_path)
    got = CliRunner().invoke(app, ["report", "--ledger", str(path), "--contracts", str(contracts),
                                   "--from", "2024-02", "--to", "2024-05", "--basis", "billed"])  # fmt: skip
    assert got.exit_code == 0, got.output
    assert "wrote report.html:" in got.output and (tmp_path / "report.html").exists()
    assert "physics: unknown: no model mapped" in got.output
    shutil.rmtree(tmp_path / "img", ignore_errors=True)


def test_the_physics_section_says_its_operating_point_and_gives_comparisons_figures(books):
    """`report --concurrency`: bills against physics at the requests in flight the lab
    serves at, said in its caption and reading, the same figures `capacity compare` gives."""
    from computeledger.capacity import catalog
    from computeledger.capacity.compare import compare, per_model
    from computeledger.report.results import Results
    from computeledger.report.sections import physics

    path, _lab, _contracts = books
    at = {"swift-s": 8, "atlas-l": 8}
    with open_ledger(path, read_only=True) as lg:
        s = physics(Results(lg, Options(catalogue=MAPPING, concurrency=at)))
        plain = physics(Results(lg, Options(catalogue=MAPPING)))
        expected = per_model(compare(lg, MAPPING, catalog.calibrations(), concurrency=at), at)
    assert s.table == expected
    assert "operating point (concurrency 8)" in s.captions["physics"]
    for r in expected:
        if r["implied_utilization_pct"] is not None:
            assert f"{r['model']}: {r['implied_utilization_pct']}% implied utilization" in s.reading
        else:
            assert f"{r['model']}: implied utilization unknown" in s.reading
    assert s.reading.count("at 8 requests in flight") == 2
    assert "operating point (throughput-optimal)" in plain.captions["physics"]
    assert plain.reading.count("at the model's best batch") == 2
