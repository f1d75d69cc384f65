"""The page is made of the application layer's answers: each question asked once for the
page, and the figures shown are the answers the commands print."""

from __future__ import annotations

from collections import Counter

import pytest

from computeledger import app, open_ledger
from computeledger.report import build_page
from computeledger.report.options import Options
from computeledger.report.results import Results
from computeledger.report.sections import accounting, overview, sections

ASKED = ("totals", "summary", "quarantine_reasons", "unallocated", "unit_costs", "margin", "statement",
         "bridge", "commitments", "credits", "forecast", "capacity_compare", "figures_check")  # fmt: skip


@pytest.mark.slow  # every section
def test_a_page_asks_each_question_once_and_nothing_else(books, monkeypatch):
    ledger, _, contracts = books
    calls: Counter[str] = Counter()
    for name in ASKED:
        real = getattr(app, name)

        def counted(*args, _real=real, _name=name, **kwargs):
            calls[f"{_name}{args[1:]!r}{sorted(kwargs.items())!r}"] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(app, name, counted)
    with open_ledger(ledger, read_only=True) as lg:  # the page: its period check, then its sections
        _, found = build_page(lg, Options(contracts=str(contracts)), "Written now")
    assert [s.key for s in found] == ["overview", "spend", "quality", "economics", "accounting", "forecast",
                                      "physics", "figures"]  # fmt: skip
    assert calls and max(calls.values()) == 1, calls.most_common(3)
    asked = {k.split("(")[0] for k in calls}
    # physics and figures have no inputs here (no catalogue mapping, no figures file)
    assert asked == set(ASKED) - {"capacity_compare", "figures_check"}
    # the inference and cash forecasts, the latter also giving the accounting's runways
    assert sum(k.startswith("forecast") for k in calls) == 2


def test_the_sections_show_the_answers_the_commands_print(books):
    ledger, _, contracts = books
    opts = Options(contracts=str(contracts), provider="AWS")
    with open_ledger(ledger, read_only=True) as lg:
        got = Results(lg, opts)
        totals = overview(got).totals
        by_provider = {r["provider"]: r for r in app.summary(lg, "provider").table.to_pylist()}
        runways = app.statement(lg, "month", "cash", contracts=str(contracts), runways=True).detail[1]
        shown = accounting(Results(lg, Options(contracts=str(contracts)))).runways
    assert totals == {"billed_cost": by_provider["AWS"]["BilledCost"],
                      "effective_cost": by_provider["AWS"]["EffectiveCost"]}  # fmt: skip
    assert [(r.method, r.months, r.text) for r in shown] == [(r.method, r.months, r.text) for r in runways]
    assert len(shown) == 2 and all(r.text for r in shown)


#: each chart's data fields: named for what they hold (a commitment was charted as "model"
#: and GPU-hours, shares and cash as "cost" before)
FIELDS = {
    "spend by provider": {"month", "provider", "cost"}, "spend by workload": {"month", "workload", "cost"},
    "spend by model": {"model", "cost"}, "quarantine": {"reason", "rows"},
    "coverage": {"month", "series", "share"}, "gross margin": {"model_channel", "gross_margin"},
    "three bases": {"month", "basis", "cost"}, "cash": {"month", "series", "amount"},
    "commitments": {"commitment", "utilization"}, "credits": {"month", "grant", "remaining"},
    "bridge": {"step", "amount", "kind"},
}  # fmt: skip


@pytest.mark.slow  # every section
def test_each_charts_fields_say_what_they_hold(books):
    ledger, _, contracts = books
    with open_ledger(ledger, read_only=True) as lg:
        found = sections(lg, Options(contracts=str(contracts)))
    seen = {}
    for s in found:
        for name, chart in s.charts:
            spec = chart.to_dict()
            rows = spec.get("data", {}).get("values") or []
            if name in FIELDS and rows:
                seen[name] = set().union(*(r.keys() for r in rows))
    assert seen == {k: v for k, v in FIELDS.items() if k in seen}
    assert {"commitments", "bridge", "cash", "three bases", "spend by provider"} <= set(seen)
