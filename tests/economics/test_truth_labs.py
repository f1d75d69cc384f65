"""Unit economics on whole labs against their truth: twelve months at the small scale (and,
in tests/synth, twelve at the medium scale: ten times the GPUs, customers and tokens)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from computeledger import open_ledger
from computeledger.shipped import INVOICE_MAPPING, SYNTH_RULES
from computeledger.synth import generate
from tests.conftest import truth
from tests.economics.test_unit_costs import _significant, _truth_cost_per_million

pytestmark = pytest.mark.slow


def test_twelve_months_of_a_small_labs_unit_economics_are_its_truth(tmp_path):
    out = tmp_path / "lab"
    generate(out, months=12, start="2024-01", scale="small", seed=5)
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([out / "focus"])
        lg.ingest([out / "invoices"], mapping=INVOICE_MAPPING)
    check_unit_economics(tmp_path / "l.duckdb", out, months=12)


def check_unit_economics(path, out, months: int) -> None:
    """Load the lab's usage and revenue into a ledger holding its bills, allocate, and hold
    cost per million tokens, revenue, revenue share and margin to the truth."""
    with open_ledger(path) as lg:
        lg.ingest_usage([out / "usage" / "openai"])
        lg.ingest_revenue([out / "revenue"])
        lg.allocate(SYNTH_RULES)
        costs = lg.unit_costs("model,month", cost="direct")
        margin = lg.margin("model,channel,month", attribute=False)  # revenue as booked: the truth's
        attributed = lg.margin("model,channel,month")
    expected = _truth_cost_per_million(out)
    got = {(r["model"], r["month"].strftime("%Y-%m")): r["cost_per_million_tokens"] for r in costs.rows}
    assert len(expected) >= 3 * months and set(got) == set(expected)  # a fourth model launches later
    for key, value in expected.items():
        assert _significant(got[key]) == _significant(value), key
    rows = {(r["month"].strftime("%Y-%m"), r["channel"], r["model"] or "-"): r for r in margin.rows}
    for t in truth(out, "revenue"):
        r = rows[(t["month"], t["channel"], t["model"])]
        assert (r["revenue"], r["revenue_share"]) == (Decimal(t["revenue"]), Decimal(t["revenue_share"]))
        if r["inference_cost"] is not None:
            assert r["gross_margin"] == r["revenue"] - r["revenue_share"] - r["inference_cost"]
    # attributed, every month and channel still earns what the truth says, now over its models
    for month in {t["month"] for t in truth(out, "revenue")}:
        for channel in {t["channel"] for t in truth(out, "revenue")}:
            want = sum(Decimal(t["revenue"]) for t in truth(out, "revenue")
                       if (t["month"], t["channel"]) == (month, channel))  # fmt: skip
            got = sum(r["revenue"] for r in attributed.rows
                      if (r["month"].strftime("%Y-%m"), r["channel"]) == (month, channel))  # fmt: skip
            assert got == want, (month, channel)
