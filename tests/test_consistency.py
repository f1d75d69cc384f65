"""One story across commands: the README's six-month lab, built once by the README's own
commands, and every figure that two places print compared between them.

Before issue 28 the same lab printed a runway of 424 months in the statement and 78.7 in
the report, a cash path rising to 233M in `forecast cash` and falling to 59.7M in
`scenario run`, cost bands below zero, app-channel margins with no revenue, and `0E-18`."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.cli import app
from computeledger.forecast.cash import TRAILING, TRENDS, runways
from computeledger.report import write_report
from computeledger.report.options import Options
from computeledger.report.results import Results
from computeledger.report.sections import heading

pytestmark = pytest.mark.slow  # the README's lab, built by its commands

README_LAB = [
    ["synth", "--out", "{lab}", "--months", "6"],
    ["ingest", "{lab}/preliminary/", "{lab}/focus/"],
    ["ingest", "--mapping", "gpu-cloud-invoice", "{lab}/invoices/"],
    ["ingest-usage", "{lab}/usage/openai/"],
    ["ingest-revenue", "{lab}/revenue/"],
    ["allocate", "--rules", "synth-lab"],
    ["ingest-cash", "{lab}/finance/"],
]
EXPONENT = re.compile(r"\d[eE][-+]?\d")
RESIDUE = re.compile(r"\.\d*0{12,}[1-9]\b")  # 0.000000000000000001: a split that does not add up


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """(ledger, lab folder, contracts file, run): the README's lab, by its commands."""
    root = tmp_path_factory.mktemp("readme-lab")
    ledger = root / "computeledger.duckdb"
    for args in README_LAB:
        got = CliRunner().invoke(app, [a.format(lab=root / "lab") for a in args] + (
            [] if args[0] == "synth" else ["--ledger", str(ledger)]))  # fmt: skip
        assert got.exit_code == 0, (args, got.output)
    contracts = root / "lab" / "finance" / "contracts.toml"

    def run(*args: str) -> str:
        got = CliRunner().invoke(app, [*args, "--ledger", str(ledger)])
        assert got.exit_code == 0, (args, got.output)
        return got.stdout

    return ledger, root / "lab", contracts, run


@pytest.fixture(scope="module")
def expected(lab):
    """Both runways as the one function computes them."""
    ledger, _, contracts, _ = lab
    with open_ledger(ledger, read_only=True) as lg:
        trend, trailing = runways(lg, contracts=contracts)
    assert (trend.method, trailing.method) == (TRENDS, TRAILING)
    return trend, trailing


def _said(text: str, method: str) -> list[str]:
    """Every runway a text gives by `method`: the words after its name (and as-of date)."""
    text = html.unescape(text)
    name = re.escape(f"runway {method}")
    found = re.finditer(name + r"(?:, as of [^:]+)?: ([^;\n<]+(?:; below[^)\n]+\))?)", text)
    return [m.group(1).removesuffix(".") for m in found]


def test_the_same_runway_by_each_method_in_the_statement_forecast_scenario_and_report(lab, expected):
    ledger, _, contracts, run = lab
    trend, trailing = expected
    assert trend.months is not None and trend.low < trend.months < trend.high  # the lab burns cash
    assert trailing.months is not None and trailing.as_of == "2024-06"
    printed = {
        "statement": run("statement", "--period", "quarter", "--contracts", str(contracts)),
        "forecast cash": run("forecast", "cash", "--contracts", str(contracts)),
        "scenario": run("scenario", "run", "--contracts", str(contracts)),
    }
    with open_ledger(ledger, read_only=True) as lg:
        out = ledger.parent / "report.html"
        write_report(lg, out, Options(contracts=str(contracts)))
        printed["report"] = out.read_text(encoding="utf-8")
    for where, text in printed.items():
        assert _said(text, TRENDS) == [trend.text], where
        if where != "scenario":  # the scenario is the trend method's run
            assert _said(text, TRAILING) == [trailing.text], where
    # the trailing figure is the statement's own last month
    rows = json.loads(run("statement", "--period", "month", "--basis", "cash", "--contracts", str(contracts),
                          "--format", "json"))  # fmt: skip
    assert Decimal(rows[-1]["runway_months"]) == trailing.months and rows[-1]["period"] == "2024-06"


def test_one_cash_path_in_forecast_cash_the_scenario_and_the_report(lab):
    ledger, _, contracts, run = lab
    fc = json.loads(
        run("forecast", "cash", "--horizon", "12", "--contracts", str(contracts), "--format", "json")
    )
    sc = json.loads(run("scenario", "run", "--contracts", str(contracts), "--format", "json"))
    cash = {r["period"]: r for r in sc if r["output"] == "cash"}
    assert len(fc) == 12 and len(cash) == 12
    for p in fc:
        s = cash[p["period"][:7]]
        for mine, theirs in (("forecast", "p50"), ("lo_80", "p10"), ("hi_80", "p90"), ("lo_95", "p2_5"),
                             ("hi_95", "p97_5")):  # fmt: skip
            assert abs(Decimal(p[mine]) - Decimal(s[theirs])) <= Decimal("0.005"), (p["period"], mine)
    # cash is a stock run forward, not a series extrapolated: it starts at the closing cash
    monthly = run(
        "statement", "--period", "month", "--basis", "cash", "--contracts", str(contracts), "--format", "json"
    )
    closing = json.loads(monthly)[-1]["closing_cash"]
    first = Decimal(fc[0]["forecast"])
    assert abs(first - Decimal(closing)) < Decimal(closing) / 50
    with open_ledger(ledger, read_only=True) as lg:
        s = heading(Results(lg, Options(contracts=str(contracts), horizon=12)))
    chart = dict(s.charts)["forecast cash"].to_dict()
    fan = next(v for layer in chart["layer"] if (v := layer.get("data", {}).get("values")) and "lo80" in v[0])
    assert [r["month"] for r in fan] == [p["period"][:7] for p in fc]
    for r, p in zip(fan, fc, strict=True):
        for mine, theirs in (("value", "forecast"), ("lo80", "lo_80"), ("hi95", "hi_95")):
            assert abs(r[mine] - float(p[theirs])) < 0.01, (p["period"], mine)


def test_no_cost_band_below_zero_and_none_a_reader_would_refuse(lab):
    _, _, _, run = lab
    for args in (["compute", "--by", "provider", "--horizon", "6", "--basis", "billed"],
                 ["compute", "--by", "provider", "--horizon", "12"], ["inference", "--horizon", "12"],
                 ["training", "--horizon", "12"], ["tokens", "--horizon", "12"]):  # fmt: skip
        rows = json.loads(run("forecast", *args, "--format", "json"))
        assert rows, args
        for r in rows:
            assert Decimal(r["forecast"]) >= 0, (args, r)
            if r["lo_95"] is None:  # refused: the reason is in the JSON
                assert any("band" in w for w in r["warnings"]), (args, r)
                continue
            lo, hi = Decimal(r["lo_95"]), Decimal(r["hi_95"])
            assert 0 <= lo <= Decimal(r["forecast"]) <= hi, (args, r)


def test_margin_rows_add_up_at_every_grain_and_match_unit_costs(lab):
    _, _, _, run = lab

    def margin(by: str) -> list[dict]:
        return json.loads(run("margin", "--by", by, "--format", "json"))

    fine, channels, total = margin("model,channel"), margin("channel"), margin("month")
    by_month = margin("model,month")
    for field in ("revenue", "revenue_share", "inference_cost"):
        whole = sum(Decimal(r[field]) for r in total)
        assert sum(Decimal(r[field]) for r in fine) == whole, field
        assert sum(Decimal(r[field]) for r in by_month) == whole, field
        for c in channels:
            assert sum(Decimal(r[field]) for r in fine if r["channel"] == c["channel"]) == Decimal(c[field])
    # every model serving the app channel earns part of its subscriptions
    app = [r for r in fine if r["channel"] == "app"]
    assert app and all(Decimal(r["revenue"]) > 0 and "attributed by tokens" in r["provenance"] for r in app)
    assert not [r for r in fine if r["model"] in (None, "(no model)")]
    unit = {r["channel"]: Decimal(r["inference_cost"]) for r in
            json.loads(run("unit-costs", "--by", "channel", "--format", "json"))}  # fmt: skip
    assert {c["channel"]: Decimal(c["inference_cost"]) for c in channels} == unit
    # one flag away: the unattributed view, whose app cost is still the same
    plain = json.loads(run("margin", "--by", "channel", "--unattributed", "--format", "json"))
    assert {c["channel"]: Decimal(c["inference_cost"]) for c in plain} == unit


def test_the_reports_totals_are_the_clis(lab):
    ledger, _, contracts, run = lab
    from computeledger.report.sections import accounting, overview

    summary = json.loads(run("summary", "--by", "provider", "--format", "json"))
    statement = json.loads(run("statement", "--period", "month", "--basis", "cash", "--contracts",
                               str(contracts), "--format", "json"))  # fmt: skip
    with open_ledger(ledger, read_only=True) as lg:
        opts = Options(contracts=str(contracts))
        got = overview(Results(lg, opts)).totals | accounting(Results(lg, opts)).totals
    assert got["billed_cost"] == sum(Decimal(r["BilledCost"]) for r in summary)
    assert got["effective_cost"] == sum(Decimal(r["EffectiveCost"]) for r in summary)
    assert got["closing_cash"] == Decimal(statement[-1]["closing_cash"])


def test_no_printed_money_carries_an_exponent_or_a_residue(lab):
    _, _, contracts, run = lab
    k = ["--contracts", str(contracts)]
    commands = [
        ["summary", "--by", "provider,month"], ["summary", "--by", "workload,model"],
        ["statement", "--period", "quarter", *k], ["statement", "--period", "month", "--format", "json", *k],
        ["statement", "--bridge", "--period", "2024-Q2", *k], ["commitments", "--schedule", *k],
        ["credits", *k], ["credits", "--format", "json", *k], ["margin", "--by", "model,channel"],
        ["unit-costs", "--by", "model,month"], ["revenue-share", *k],
        ["forecast", "cash", "--horizon", "3", *k], ["scenario", "run", *k],
    ]  # fmt: skip
    for args in commands:
        text = run(*args)
        assert not EXPONENT.search(text), (args, EXPONENT.search(text))
        assert not RESIDUE.search(text), (args, RESIDUE.search(text))
        assert "0E-" not in text


@pytest.mark.slow  # the demo's own twelve-month lab: over 30 s
def test_the_demo_prints_the_runways_its_ledger_gives(tmp_path):
    report = tmp_path / "demo-report.html"
    got = CliRunner().invoke(app, ["demo", "--ledger", str(tmp_path), "--report", str(report)])
    assert got.exit_code == 0, got.output
    contracts = next(tmp_path.rglob("finance/contracts.toml"))
    with open_ledger(tmp_path / "lab.duckdb", read_only=True) as lg:
        trend, trailing = runways(lg, contracts=contracts)
    assert trend.months is not None and trailing.months is not None
    assert _said(got.stdout, TRENDS) == [trend.text] and _said(got.stdout, TRAILING) == [trailing.text]
    page = report.read_text(encoding="utf-8")
    assert _said(page, TRENDS) == [trend.text] and _said(page, TRAILING) == [trailing.text]
