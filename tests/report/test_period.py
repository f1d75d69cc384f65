"""Every section of the report (and so of the dashboard) honours the period asked: each
dated row of its tables and charts lies in it; only the forecast section reaches past the
ledger's last month, as a forecast does."""

from __future__ import annotations

from datetime import date

import pytest

from computeledger import open_ledger
from computeledger.report.options import Options
from computeledger.report.sections import sections

DATED = ("month", "period")
pytestmark = pytest.mark.slow  # every section built twice per basis


def _rows(chart) -> list[dict]:
    """Every data row of a chart (inline values and named datasets, layers included)."""
    found: list[dict] = []

    def walk(x) -> None:
        if isinstance(x, dict):
            for k, v in x.items():
                if k == "values" and isinstance(v, list):
                    found.extend(r for r in v if isinstance(r, dict))
                elif k == "datasets":
                    for rows in v.values():
                        found.extend(rows)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(chart.to_dict())
    return found


@pytest.mark.parametrize("basis", ["billed", "effective"])
def test_each_section_shows_only_the_period_asked(books, basis):
    ledger, _, contracts = books
    opts = Options(start=date(2024, 2, 1), end=date(2024, 4, 1), contracts=str(contracts), basis=basis)
    with open_ledger(ledger, read_only=True) as lg:
        found = sections(lg, opts)
        whole = {s.key: s for s in sections(lg, Options(contracts=str(contracts), basis=basis))}
    seen = {}
    for s in found:
        months = set()
        for name, chart in s.charts:
            months |= {(name, str(r[k])[:7]) for r in _rows(chart) for k in DATED if k in r}
        months |= {("table", str(r[k])[:7]) for r in s.table for k in DATED if k in r}
        seen[s.key] = months
        for name, month in months:
            if s.key == "forecast" and month > "2024-06":  # ahead of the ledger's last month
                continue
            assert "2024-02" <= month <= "2024-03", (s.key, name, month)
    # the sections with dated figures show both months of the period
    for key in ("spend", "quality", "economics", "accounting", "forecast"):
        assert {m for _, m in seen[key]} >= {"2024-02", "2024-03"}, key
    # and the period's totals are not the whole ledger's
    assert found[0].totals["billed_cost"] < whole["overview"].totals["billed_cost"]


def test_a_provider_and_a_model_filter_cut_each_figure_to_the_ledgers_own(books):
    """Under a provider and a model filter, and a period, every chart row and table row
    of the sections shown is the ledger's own summary for that provider and model."""
    ledger, _, contracts = books
    with open_ledger(ledger, read_only=True) as lg:
        parts = lg.summary("provider,model,workload,gpu_model,month").to_pyarrow().to_pylist()
        provider, model = next((r["provider"], r["model"]) for r in parts if r["model"] and r["provider"])
        opts = Options(start=date(2024, 2, 1), end=date(2024, 4, 1), contracts=str(contracts),
                       provider=provider, model=model)  # fmt: skip
        found = {s.key: s for s in sections(lg, opts)}
    mine = [r for r in parts if (r["provider"], r["model"]) == (provider, model)
            and "2024-02" <= f"{r['month']:%Y-%m}" <= "2024-03"]  # fmt: skip
    assert list(found) == ["filtered", "overview", "spend", "quality"]  # economics: not per provider
    total = sum((r["EffectiveCost"] for r in mine), start=0)
    assert found["overview"].totals["allocated_effective_cost"] == total
    spend = found["spend"]
    by_workload = {}
    for r in mine:
        key = (f"{r['month']:%Y-%m}", r["workload"])
        by_workload[key] = by_workload.get(key, 0) + r["EffectiveCost"]
    [(_, chart)] = [c for c in spend.charts if c[0] == "spend by workload"]
    shown = {(r["month"], r["workload"]): r["cost"] for r in _rows(chart)}
    assert shown == {k: float(v) for k, v in by_workload.items()}
    gpu = sum((r["cost"] for r in spend.table), start=0)
    assert gpu == total
    assert not found["quality"].table or all(r.get("provider") == provider for r in found["quality"].table)


def test_the_sections_add_past_28_digits_exactly(tmp_path):
    """Three charges of 9,999,999,999.123456789012345678 in three months: the spend
    section's table adds them to the last digit (Python's default decimal context keeps 28
    digits, and their sum has 29)."""
    import csv
    from decimal import Decimal

    from computeledger.shipped import FOCUS_SAMPLE

    with FOCUS_SAMPLE.open(newline="") as f:
        header, *rows = list(csv.reader(f))
    amount = "9999999999.123456789012345678"
    out = [header]
    for month, row in zip((1, 2, 3), rows, strict=False):
        row = list(row)
        for name in ("BilledCost", "EffectiveCost"):
            row[header.index(name)] = amount
        start, end = f"2024-{month:02d}-01T00:00:00Z", f"2024-{month + 1:02d}-01T00:00:00Z"
        for name, value in (("BillingPeriodStart", start), ("BillingPeriodEnd", end),
                            ("ChargePeriodStart", start), ("ChargePeriodEnd", end)):  # fmt: skip
            row[header.index(name)] = value
        out.append(row)
    bill = tmp_path / "big.csv"
    with bill.open("w", newline="") as f:
        csv.writer(f).writerows(out)
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest([bill])
        assert (r.status, r.rows_loaded) == ("loaded", 3)
        lg.allocate("token-bills")
        found = {s.key: s for s in sections(lg, Options())}
    assert sum((row["cost"] for row in found["spend"].table), start=Decimal(0)) == 3 * Decimal(amount)
    assert [row["cost"] for row in found["spend"].table] == [Decimal("29999999997.370370367037037034")]
