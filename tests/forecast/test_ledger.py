"""Forecasts, scenarios, anomalies and budgets on a lab whose future is known."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.cli import app
from computeledger.errors import UsageError
from computeledger.forecast.anomalies import anomalies
from computeledger.forecast.scenario import baseline, load_scenario, run
from computeledger.forecast.series import history

pytestmark = pytest.mark.slow

#: The generator's own drivers for months 11 and 12 (company file): traffic growth per
#: model, swift-s's price cut of 20% from its month 10 (2024-11), subscribers +6% a month.
TRUE_DRIVERS = """
[scenario]
name = "true drivers"
months = 2
draws = 200
seed = 4

[traffic]
noise = "0"
[traffic.models.swift-s]
growth = "0.09"
[traffic.models.atlas-l]
growth = "0.07"
[traffic.models.sage-r]
growth = "0.15"
[traffic.models.embed-e]
growth = "0.05"

[revenue]
other_growth = "0.06"

[[prices]]
from = "2024-11"
model = "swift-s"
change = "-0.20"
"""


def truth(lab, name: str, column: str, where=lambda r: True) -> dict[str, Decimal]:
    out: dict[str, Decimal] = defaultdict(Decimal)
    with (lab / "truth" / name).open() as f:
        for r in csv.DictReader(f):
            if where(r):
                out[r.get("charge_month") or r["month"]] += Decimal(r[column])
    return out


def test_history_is_the_ledgers_own_figures(future_lab):
    """The inference history is the statement's inference line, month by month, to the digit,
    less the one-off charges (corrections, adjustments) it leaves out and names."""
    from computeledger.accounting.statement import statement

    path, _ = future_lab
    with open_ledger(path, read_only=True) as lg:
        (total,) = history(lg, "inference")
        by_provider = history(lg, "compute", by="provider", basis="billed")
        rows = statement(lg, grain="month", bases=("effective",)).rows
    assert [f"{p:%Y-%m}" for p in total.periods] == [f"2024-{m:02d}" for m in range(1, 11)]
    assert total.left_out and all(m in total.periods for m in total.left_out)
    restored = [
        v + total.left_out.get(m, Decimal(0)) for m, v in zip(total.periods, total.values, strict=True)
    ]
    assert restored == [r["inference_compute"] for r in rows[:10]]  # no bills after 2024-10
    assert [s.key for s in by_provider] == [
        "provider=AWS", "provider=CoreWeave", "provider=Google Cloud", "provider=Microsoft",
        "provider=Oracle",
    ]  # fmt: skip


def test_scenario_with_the_true_drivers_reproduces_the_truth(future_lab, tmp_path):
    path, lab = future_lab
    f = tmp_path / "true.toml"
    f.write_text(TRUE_DRIVERS)
    with open_ledger(path, read_only=True) as lg:
        base = baseline(lg)
    assert base.last == date(2024, 10, 1)
    result = run(base, load_scenario(f))
    months = [f"{p:%Y-%m}" for p in result.periods]
    assert months == ["2024-11", "2024-12"]
    cost = truth(lab, "costs.csv", "effective_cost", lambda r: r["workload"] == "inference")
    revenue = truth(lab, "revenue.csv", "revenue")
    tokens = defaultdict(Decimal)
    with (lab / "truth" / "tokens.csv").open() as fh:
        for r in csv.DictReader(fh):
            tokens[r["month"]] += Decimal(r["input_tokens"]) + Decimal(r["output_tokens"])
    # every figure within 2% (the generator rounds node counts: that is the rest)
    for i, m in enumerate(months):
        for name, want, within in (
            ("inference_cost", cost[m], "0.02"),
            ("revenue", revenue[m], "0.02"),
            ("tokens", tokens[m], "0.02"),
        ):
            got = Decimal(repr(float(result.draws[name][:, i].mean())))
            assert abs(got / want - 1) < Decimal(within), (name, m, got, want)
    again = run(base, load_scenario(f))
    assert all((again.draws[k] == result.draws[k]).all() for k in result.draws)


def test_scenario_files_are_parsed_strictly(tmp_path):
    bad = {
        '[traffic]\ngrowth = "0.05"\nspeed = 1\n': "[traffic]: unknown key(s) speed",
        "[oops]\n": "unknown section(s) oops",
        '[traffic]\ngrowth = { low = "0.2", high = "0.1" }\n': "low above high",
        '[[prices]]\nfrom = "2025/01"\nchange = "-0.1"\n': "a month as YYYY-MM",
        '[traffic]\ngrowth = "nan"\n': "must be a finite number",
        "[scenario]\ndraws = 0\n": "draws: a whole number from 1 to 200000",
    }
    from computeledger.forecast.scenario import Baseline, Model

    base = Baseline(date(2025, 1, 1), "USD", {"m": Model(1e9, 2.0, 5.0, 0.05)}, cash=1e7)
    for text, message in bad.items():
        f = tmp_path / "s.toml"
        f.write_text(text)
        with pytest.raises(
            UsageError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")
        ):
            run(base, load_scenario(f))


def test_runway_from_a_scenario_is_a_date_distribution(tmp_path):
    from computeledger.forecast.scenario import Baseline, Model
    from computeledger.forecast.thresholds import crossing

    base = Baseline(date(2025, 1, 1), "USD", {"m": Model(1e9, 2000.0, 1000.0, 0.0, 0.0, 0.0)}, cash=5e6)
    f = tmp_path / "s.toml"
    f.write_text('[scenario]\nmonths = 12\ndraws = 1000\n[traffic]\ngrowth = { low = "0", high = "0.2" }\n')
    result = run(base, load_scenario(f))
    got = crossing(result.draws["cash"], result.periods, below=Decimal(0))
    # burn is 1M in the first month at least: cash (5M) is gone within 5 months in every draw
    assert got["probability"] == 1 and got["first_p90"] <= "2025-06-01"
    assert got["crossings"] == int((result.draws["cash"] < 0).any(axis=1).sum())


def test_injected_spikes_are_found_with_their_drivers(future_lab):
    path, _ = future_lab
    with open_ledger(path, read_only=True) as lg:
        found = anomalies(lg, by="provider")
    spikes = {(f["series"], f["period"]) for f in found}
    assert ("AWS", date(2024, 5, 14)) in spikes and ("Microsoft", date(2024, 8, 20)) in spikes
    top = {(f["series"], f["period"]): f for f in found}
    assert top[("AWS", date(2024, 5, 14))]["ratio"] > Decimal("2.5")
    assert "aws/us-east-1/" in top[("AWS", date(2024, 5, 14))]["drivers"]
    days = 5 * 305  # five providers, ten months of days
    assert len(found) <= 0.03 * days, len(found)  # few false alarms (33 on this lab)


def test_cli_forecast_threshold_and_budget(future_lab, tmp_path):
    path, _ = future_lab
    runner = CliRunner()
    got = runner.invoke(
        app, ["forecast", "inference", "--horizon", "3", "--ledger", str(path), "--format", "json"]
    )
    assert got.exit_code == 0, got.output
    rows = json.loads(got.output)
    assert [r["period"] for r in rows] == ["2024-11-01", "2024-12-01", "2025-01-01"]
    assert isinstance(rows[0]["forecast"], str) and rows[0]["series"] == "total" and rows[0]["model"]
    got = runner.invoke(app, ["forecast", "inference", "--horizon", "3", "--above", "1",
                              "--by", "2024-12", "--ledger", str(path), "--format", "json"])  # fmt: skip
    assert got.exit_code == 0, got.output
    (t,) = json.loads(got.output)
    assert Decimal(t["probability"]) == 1 and t["first_median"] == "2024-11-01" and t["draws"] == 10000
    budgets = tmp_path / "b.toml"
    budgets.write_text(
        '[[budgets]]\nname = "inference 2024"\nperiod = "2024"\namount = "1"\nseries = "inference"\n'
    )
    got = runner.invoke(app, ["budgets", str(budgets), "--ledger", str(path), "--format", "json"])
    assert got.exit_code == 0, got.output
    (b,) = json.loads(got.output)
    assert b["months_actual"] == 10 and b["months_forecast"] == 2 and Decimal(b["overrun_probability"]) == 1
    got = runner.invoke(app, ["forecast", "tokens", "--by", "provider", "--ledger", str(path)])
    assert got.exit_code == 2 and "tokens can be split by model" in got.output


def test_the_ledgers_contracts_run_on_their_own_calendar(future_lab, tmp_path):
    """A contract outside the bills (36 months from 2024-03, 3.6M) is amortized ahead on its
    schedule, not as part of the trend; a grant's credit left is used until its expiry."""
    from tests.conftest import CONTRACTS

    path, _ = future_lab
    contracts = tmp_path / "contracts.toml"
    contracts.write_text(CONTRACTS)
    with open_ledger(path, read_only=True) as lg:
        plain = baseline(lg)
        base = baseline(lg, contracts=contracts)
    assert len(base.scheduled) == 28 and set(base.scheduled.values()) == {100000.0}
    assert min(base.scheduled) == date(2024, 11, 1) and max(base.scheduled) == date(2027, 2, 1)
    assert plain.scheduled == {} and abs(base.other_compute - plain.other_compute) < 1e-6
    assert any("amortized on their schedules until 2027-02" in n for n in base.notes)
    f = tmp_path / "s.toml"
    f.write_text('[scenario]\nmonths = 2\ndraws = 10\n[traffic]\ngrowth = "0"\nnoise = "0"\n')
    with_contract, without = run(base, load_scenario(f)), run(plain, load_scenario(f))
    extra = with_contract.draws["other_compute"] - without.draws["other_compute"]
    assert abs(extra - 100000.0).max() < 1e-6


def test_credit_left_is_used_until_it_runs_out_or_expires(tmp_path):
    from computeledger.forecast.scenario import Baseline, Model

    model = Model(1e6, 1000.0, 0.0, 0.0)  # 1,000 of inference a day, flat: 28,000 in February 2025
    base = Baseline(date(2025, 1, 1), "USD", {"m": model}, grants=[(50000.0, date(2025, 5, 1))], cash=1e9)
    f = tmp_path / "s.toml"
    f.write_text('[scenario]\nmonths = 5\ndraws = 3\n[traffic]\ngrowth = "0"\nnoise = "0"\n')
    total = run(base, load_scenario(f)).draws["total_compute"][0]
    assert [round(v) for v in total] == [0, 9000, 30000, 31000, 30000]  # 50,000 used up in March
    base.grants = [(9e6, date(2025, 3, 1))]  # expires before it is used up
    total = run(base, load_scenario(f)).draws["total_compute"][0]
    assert [round(v) for v in total] == [0, 31000, 30000, 31000, 30000]  # only 2025-02 is before it


def test_the_python_api_is_the_same_functions(future_lab, tmp_path):
    from computeledger.report import write_report
    from computeledger.report.options import Options

    path, lab = future_lab
    with open_ledger(path, read_only=True) as lg:
        (fc,) = lg.forecast("inference", 3)
        by_hand = history(lg, "inference")
        result = lg.scenario(basis="effective")
        opts = Options(contracts=str(lab / "finance" / "contracts.toml"))
        got = write_report(lg, tmp_path / "r.html", opts)
    from computeledger.forecast.engine import forecast

    assert fc.points == forecast(by_hand, 3)[0].points and len(fc.points) == 3
    # without a file, the ledger's trends to the runway horizon: the run `scenario run` prints
    assert [f"{p:%Y-%m}" for p in result.periods][:2] == ["2024-11", "2024-12"] and len(result.periods) == 120
    assert result.name == "the ledger's trends"
    assert got["charts"] >= 10 and (tmp_path / "r.html").stat().st_size == got["bytes"]


def test_the_api_and_the_cli_run_a_scenario_on_the_basis_its_file_names(future_lab, tmp_path):
    """`[scenario] basis` is honoured by the Python API as by the command line: the same
    rows, and those of the basis the file names, not of the one the call passes."""

    from typer.testing import CliRunner

    from computeledger.cli import app

    path, _ = future_lab
    billed, plain = tmp_path / "billed.toml", tmp_path / "plain.toml"
    body = '[traffic]\ngrowth = "0.02"\nnoise = "0"\n'
    billed.write_text('[scenario]\nmonths = 3\ndraws = 20\nbasis = "billed"\n' + body)
    plain.write_text("[scenario]\nmonths = 3\ndraws = 20\n" + body)
    with open_ledger(path, read_only=True) as lg:
        named = lg.scenario(billed, basis="effective")
        asked = lg.scenario(plain, basis="billed")
        effective = lg.scenario(plain, basis="effective")

    def figures(result) -> list[dict]:
        return [{k: v for k, v in r.items() if k != "scenario"} for r in result.summary(3)]

    rows = figures(named)
    assert rows == figures(asked)
    assert rows != figures(effective)  # the basis matters on this lab: the test can fail
    got = CliRunner().invoke(app, ["scenario", "run", str(billed), "--ledger", str(path), "--format", "json"])
    assert got.exit_code == 0, got.output
    shown = [{k: v for k, v in r.items() if k != "scenario"} for r in json.loads(got.output)]
    assert [{k: v if k in ("period", "output") or v is None else Decimal(v) for k, v in r.items()}
            for r in shown] == rows  # fmt: skip
