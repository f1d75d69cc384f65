"""Reported figures on hand-built sets with known answers."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from computeledger import UsageError
from computeledger.figures.claims import evaluate
from computeledger.figures.engine import check, growth_factor, project
from computeledger.figures.model import Interval, Period, parse_amount
from computeledger.figures.read import _from_doc, read_figures
from computeledger.shipped import EXAMPLES

B = Decimal("1e9")
D = Decimal


def figures(*rows, **doc):
    base = {"entity": "Lab", "metric": "compute_cost", "status": "reported"}
    return _from_doc({"figures": [base | r for r in rows], **doc}, "<test>")


def key(metric="compute_cost", scope=(), start="2025-01-01", end="2025-12-31"):
    from datetime import date

    return ("Lab", metric, tuple(sorted(scope)), Period(date.fromisoformat(start), date.fromisoformat(end)))


@pytest.mark.parametrize(
    ("text", "lo", "hi"),
    [
        ("8.7B", D("8.65e9"), D("8.75e9")),
        ("12B", D("11.5e9"), D("12.5e9")),
        (">12B", D("12e9"), None),
        ("<=3M", None, D("3e6")),
        ("3.5B..4B", D("3.5e9"), D("4e9")),
        ("$1,250", D("1249.5"), D("1250.5")),
        ("~0.25T", D("0.245e12"), D("0.255e12")),
    ],
)
def test_amounts_are_intervals_of_their_stated_precision(text, lo, hi):
    assert parse_amount(text, "x") == Interval(lo, hi)


def test_period_algebra_q1_q3_minus_h1_gives_q3_with_intervals_carried():
    fs = figures(
        {"id": "h1", "period": "2025-01-01..2025-06-30", "value": "4.0B..4.2B"},
        {"id": "q1q3", "period": "2025-01-01..2025-09-30", "value": "7.0B..7.1B"},
        {"id": "q4", "period": "2025-10-01..2025-12-31", "value": "3B..3.5B"},
    )
    rep = check(fs)
    q3 = rep.implied(key(start="2025-07-01", end="2025-09-30"))
    assert q3 == Interval(D("2.8e9"), D("3.1e9"))  # [7.0 - 4.2, 7.1 - 4.0]
    year = rep.implied(key())
    assert year == Interval(D("10.0e9"), D("10.6e9"))  # q1q3 + q4
    h2 = rep.implied(key(start="2025-07-01"))
    assert h2 == Interval(D("5.8e9"), D("6.6e9"))  # q3 + q4 (or year - h1)
    sources = {s for e in rep.entries[key(start="2025-07-01", end="2025-09-30")] for s in e.sources}
    assert sources == {"h1", "q1q3"}


def test_a_part_bounds_its_whole_below_and_a_whole_bounds_its_parts_above():
    fs = figures(
        {"id": "az-inf", "period": "2025-01-01..2025-12-31", "scope": "provider=azure;workload=inference",
         "value": "5B..6B"},
        {"id": "az-train", "period": "2025-01-01..2025-12-31", "scope": "provider=azure;workload=training",
         "value": "2B..3B"},
        {"id": "all", "period": "2025-01-01..2025-12-31", "metric": "costs", "value": "<20B"},
    )  # fmt: skip
    rep = check(fs)
    # two disjoint Azure parts: Azure compute is at least their sum; all compute at least that
    assert rep.implied(key(scope=[("provider", "azure")])) == Interval(D("7e9"), D("20e9"))
    assert rep.implied(key()).lo == D("7e9")
    # the whole (all costs < 20B) caps every part
    assert rep.implied(key(scope=[("provider", "azure"), ("workload", "inference")])) == Interval(
        5 * B, 6 * B
    )
    assert rep.implied(key(scope=[("workload", "training")])) == Interval(2 * B, 20 * B)
    assert rep.contradictions == []


def test_a_part_larger_than_its_whole_is_a_contradiction_with_sources_and_gap():
    fs = figures(
        {"id": "inference", "period": "2025-01-01..2025-12-31", "scope": "workload=inference", "value": "9B"},
        {"id": "total", "period": "2025-01-01..2025-12-31", "value": "7B"},
    )
    [c, *_] = check(fs).contradictions
    assert c.key == key()
    assert {s for e in (c.a, c.b) for s in e.sources} == {"inference", "total"}
    assert c.gap == D("1e9")  # at least 8.5B against at most 7.5B


def test_a_derived_figure_outside_a_reported_interval_is_a_contradiction():
    fs = figures(
        {"id": "h1", "period": "2025-01-01..2025-06-30", "value": "4B..4B"},
        {"id": "h2", "period": "2025-07-01..2025-12-31", "value": "5B..5B"},
        {"id": "year", "period": "2025-01-01..2025-12-31", "value": "10B..10.5B"},
    )
    rep = check(fs)
    gaps = {c.gap for c in rep.contradictions}
    assert gaps == {D("1e9")}  # the halves add up to 9B, the year says at least 10B


def test_consistent_sets_give_no_false_contradictions():
    fs = figures(
        {"id": "a", "period": "2025-01-01..2025-06-30", "value": "4.1B", "scope": "provider=azure"},
        {"id": "b", "period": "2025-07-01..2025-12-31", "value": "4.9B", "scope": "provider=azure"},
        {"id": "c", "period": "2025-01-01..2025-12-31", "value": "9B", "scope": "provider=azure"},
        {"id": "d", "period": "2025-01-01..2025-12-31", "value": ">9B"},
        {"id": "e", "period": "2025-01-01..2025-12-31", "value": "9.2B", "scope": "workload=inference",
         "status": "estimate"},
    )  # fmt: skip
    assert check(fs).contradictions == []
    assert check(fs, widened=False).contradictions == []


def test_identities_solve_for_the_unknown_revenue_from_a_share_and_its_rate():
    fs = figures(
        {"id": "share", "metric": "revenue_share", "period": "2025-01-01..2025-12-31", "value": "2.0B..2.2B"},
        {"id": "rate", "metric": "revenue_share_rate", "period": "2025-01-01..2025-12-31", "value": "0.2"},
        {"id": "net-share", "metric": "revenue_share", "period": "2024-01-01..2024-12-31", "value": ">1B"},
        {"id": "rate24", "metric": "revenue_share_rate", "period": "2024-01-01..2024-12-31", "value": "0.2"},
    )
    rep = check(fs)
    revenue = rep.implied(key("revenue"))
    # 0.2 is [0.15, 0.25]; the quotients are rounded outward (the upper one up, to 50 digits)
    assert revenue.lo == D("8e9")
    exact_hi = Fraction(22 * 10**8) / Fraction(15, 100)
    assert exact_hi <= Fraction(revenue.hi) < exact_hi + Fraction(1, 10**30)
    # a share known only from below (net of something) bounds revenue from below only
    assert rep.implied(key("revenue", start="2024-01-01", end="2024-12-31")) == Interval(D("4e9"), None)


def test_net_burn_is_cash_out_minus_cash_in():
    fs = figures(
        {"id": "out", "metric": "cash_out", "period": "2025-01-01..2025-12-31", "value": "20B..21B"},
        {"id": "in", "metric": "cash_in", "period": "2025-01-01..2025-12-31", "value": "12B..13B"},
    )
    assert check(fs).implied(key("cash_burn")) == Interval(7 * B, 9 * B)


def test_disputed_and_estimated_figures_widen_by_the_declared_rules():
    fs = figures(
        {"id": "d", "period": "2025-01-01..2025-12-31", "value": "10B..10B", "status": "disputed"},
        {"id": "e", "period": "2024-01-01..2024-12-31", "value": "10B..10B", "status": "estimate"},
        rules={"disputed": "0.3"},
    )
    assert fs.figures[0].value == Interval(7 * B, 13 * B)
    assert fs.figures[1].value == Interval(8 * B, 12 * B)  # the default 20% for estimates


def test_annualisation_is_labelled_linear_or_growth_based():
    fs = figures({"id": "q1q3", "period": "2025-01-01..2025-09-30", "value": "9B..9B"},
                 assumptions={"growth": [0, "0.05"]})  # fmt: skip
    [a] = check(fs).annualised
    assert a["linear"] == Interval(12 * B, 12 * B)
    assert a["growth"].lo == 12 * B
    assert a["growth"].hi == 9 * B * growth_factor(9, 12, D("0.05"))
    exact = (Fraction(105, 100) ** 12 - 1) / (Fraction(105, 100) ** 9 - 1)
    assert abs(Fraction(growth_factor(9, 12, D("0.05"))) - exact) < Fraction(1, 10**48)


def test_projection_gives_an_interval_and_a_probability_of_exceeding():
    fs = figures(
        {"id": "q1q3", "period": "2025-01-01..2025-09-30", "value": "9B..9B"},
        {"id": "low", "period": "2025-01-01..2025-12-31", "metric": "cash_burn", "value": "5B..5B"},
        {"id": "high", "period": "2025-01-01..2025-12-31", "metric": "cash_burn", "value": "30B..30B"},
        assumptions={"growth": [0, "0.05"]},
    )
    rep = check(fs)
    low = project(rep, fs, {"id": "p", "figure": "q1q3", "to": "2025-12-31", "threshold": "low"})
    high = project(rep, fs, {"id": "p", "figure": "q1q3", "to": "2025-12-31", "threshold": "high"})
    mid = project(rep, fs, {"id": "p", "figure": "q1q3", "to": "2025-12-31", "threshold": "12.5B..12.5B"})
    assert low["projected"].lo == 12 * B
    assert (low["probability_exceeds"], high["probability_exceeds"]) == (1.0, 0.0)
    assert 0.2 < mid["probability_exceeds"] < 0.8


def test_the_article_example_reproduces_its_claims():
    fs = read_figures(EXAMPLES / "openai_azure_2025.yaml")
    widened, reported = check(fs), check(fs, widened=False)
    claims = {c["id"]: evaluate(c, fs, reported, widened) for c in fs.claims}
    double = claims["more-than-double"]
    assert (double["as_reported"], double["widened"]) == ("holds", "undetermined")
    assert double["margin"].quantize(D("0.001")) == D("0.071")  # (8.65 - 7.5) / (8.65 + 7.5)
    assert claims["more-than-double-annualised"]["as_reported"] == "holds"  # 11.6B > 3 x 3.75B
    assert claims["twelve-billion-consistent"]["widened"] == "holds"
    bound = claims["total-compute-bounded-below"]
    assert bound["as_reported"] == "holds" and bound["as_reported_interval"].lo == D("12.3e9")
    [p] = [project(widened, fs, s) for s in fs.projections]
    assert p["projected"].lo == D("7.785e9") * 12 / 9
    assert p["probability_exceeds"] > 0.95
    assert widened.contradictions == []


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            {"period": "2025-01-01..2025-12-31", "value": "lots"},
            "figure 1, column value: not an amount: 'lots'",
        ),
        ({"value": "1B"}, "a flow needs period_start and period_end"),
        ({"period": "2025-12-31..2025-01-01", "value": "1B"}, "period_end 2025-01-01 is before period_start"),
        ({"period": "2025-01-01..2025-12-31", "value": "1B", "status": "rumour"}, "'rumour' is not one of"),
        ({"period": "2025-01-01..2025-12-31", "value": "1B", "scope": "=azure"}, "no key before '='"),
        ({"instant": "2025-01-01", "value": "1B", "metric": "compute_cost"}, None),
        ({"period": "2025-01-01..2025-12-31", "value": "1B", "metric": "cash"}, "cash is a balance"),
    ],
)
def test_bad_figures_are_clear_errors(row, message):
    if message is None:  # an instant for a flow is read as a one-day period: allowed
        figures(row)
        return
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        figures(row)


def test_a_scope_part_without_a_key_is_a_qualifier_of_the_figure():
    """'payer=OpenAI; net revenue share' is read, the free text kept as the figure's
    qualifier: shown with it, and two figures differing only by it are two quantities."""
    fs = figures(
        {"id": "a", "period": "2025-01-01..2025-12-31", "value": "1B",
         "scope": "payer=OpenAI; net revenue share; company  total"},
        {"id": "b", "period": "2025-01-01..2025-12-31", "value": "2B", "scope": "payer=OpenAI"},
    )  # fmt: skip
    a, b = fs.figures
    assert a.scope == (("payer", "openai"), ("qualifier", "net revenue share; company total"))
    assert b.scope == (("payer", "openai"),)
    assert a.key != b.key


def test_csv_errors_name_the_line(tmp_path):
    path = tmp_path / "figures.csv"
    path.write_text(
        "id,entity,metric,period_start,period_end,scope,value,status,source_publisher\n"
        "a,Lab,compute_cost,2025-01-01,2025-12-31,provider=azure,3.7B,disputed,The Register\n"
        "b,Lab,compute_cost,2025-01-01,2025-12-31,,3..x,reported,\n"
    )
    with pytest.raises(UsageError, match=r"figures.csv, line 3, column value: not an amount"):
        read_figures(path)
    path.write_text(path.read_text().splitlines()[0] + "\n" + path.read_text().splitlines()[1] + "\n")
    fs = read_figures(path)
    assert fs.figures[0].source.publisher == "The Register"
    assert fs.figures[0].scope == (("provider", "azure"),)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2025", "2025-01-01", "2025-12-31"),
        ("2025-H2", "2025-07-01", "2025-12-31"),
        ("2025-Q1..2025-Q3", "2025-01-01", "2025-09-30"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2024-01..2025-09", "2024-01-01", "2025-09-30"),
        ("2025-03-05..2025-03-09", "2025-03-05", "2025-03-09"),
    ],
)
def test_periods_in_the_forms_people_write_them(text, start, end):
    [f] = figures({"period": text, "value": "1B"}).figures
    assert (str(f.period.start), str(f.period.end)) == (start, end)


def test_low_and_high_columns_and_one_currency_per_metric():
    [a, b] = figures(
        {"period": "2025", "low": "1B", "high": "2B", "id": "a"}, {"period": "2024", "low": "3B", "id": "b"}
    ).figures
    assert a.value == Interval(1 * B, 2 * B) and b.value == Interval(3 * B, None)
    with pytest.raises(UsageError, match="b is in EUR and a in USD: one currency"):
        figures({"period": "2025", "value": "1B", "id": "a"}, {"period": "2024", "value": "1B", "id": "b",
                                                                 "currency": "EUR"})  # fmt: skip


def test_a_cash_balance_rolls_forward_by_the_burn():
    fs = figures(
        {"id": "cash", "metric": "cash", "instant": "2025-01-01", "value": "10B..10B"},
        {"id": "burn", "metric": "cash_burn", "period": "2025", "value": "3B..4B"},
    )
    from datetime import date

    after = ("Lab", "cash", (), Period(date(2026, 1, 1), date(2026, 1, 1), instant=True))
    assert check(fs).implied(after) == Interval(6 * B, 7 * B)


@pytest.mark.parametrize(
    ("row", "start", "end", "lo"),
    [
        ({"Period Start": "2025-01", "Period End": "2025-09", "Value": "$8.7B"}, "2025-01-01", "2025-09-30",
         D("8.65e9")),
        ({"period": "Q3 2025", "value": "US$12 billion", "status": "Projected"}, "2025-07-01",
         "2025-09-30", D("9.2e9")),  # [11.5B, 12.5B] widened 20% as an estimate
        ({"period": "CY2024", "value": "€3B..€4B", "status": "contested"}, "2024-01-01", "2024-12-31",
         D("2.25e9")),
    ],
)  # fmt: skip
def test_spreadsheet_spellings_are_read(row, start, end, lo):
    [f] = figures(row).figures
    assert (str(f.period.start), str(f.period.end), f.value.lo) == (start, end, lo)


def test_a_currency_symbol_names_the_currency_and_must_agree_with_the_column():
    [f] = figures({"period": "2024", "value": "€3B"}).figures
    assert f.currency == "EUR"
    with pytest.raises(UsageError, match="column currency: USD, but the value '€3B' is in EUR"):
        figures({"period": "2024", "value": "€3B", "currency": "usd"})


def test_a_fiscal_year_must_be_written_as_dates():
    with pytest.raises(UsageError, match="fiscal years differ by company"):
        figures({"period": "FY2025", "value": "1B"})
