"""Allocation of the synthetic lab by the shipped rules: the truth recovered, money conserved."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from computeledger import open_ledger
from computeledger.allocate.report import coverage, explain, unallocated_resources
from computeledger.schema.focus import MONEY
from tests.conftest import truth

TOLERANCE = Decimal("0.005")  # the bar; the shipped rules recover the lab exactly


def test_every_charge_is_placed_or_explicitly_unallocated(allocated):
    path, run, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        charges = lg.charges.count().execute()
        a = lg.allocations.filter(lg.allocations.rules_version == run.version)
        assert run.charges == charges == a.x_charge_id.nunique().execute()
        for dim in ("workload", "model", "team", "environment"):
            assert a.filter(a[dim].isnull()).count().execute() == 0, dim
        assert set(a.workload.execute()) <= {
            "inference",
            "training",
            "research",
            "shared",
            "other",
            "unallocated",
        }


def test_parts_add_up_to_each_charge_on_every_basis(allocated):
    path, run, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        a = lg.allocations.filter(lg.allocations.rules_version == run.version)
        sums = a.group_by("x_charge_id").aggregate(**{m: a[m].sum() for m in MONEY}, n=a.count())
        c = lg.charges
        j = sums.inner_join(c, "x_charge_id")
        diff = j.filter(
            ibis_or([(j[m] != j[f"{m}_right"]) | (j[m].isnull() != j[f"{m}_right"].isnull()) for m in MONEY])
        )
        assert diff.count().execute() == 0
        assert run.split_charges > 900  # storage, egress, credits, tax, idle reservation: spread
        # a split over one target (Oracle hosts only pretraining) is one part; most are more
        assert 0 < j.filter(j.n > 1).count().execute() < run.split_charges


def ibis_or(conds):
    out = conds[0]
    for c in conds[1:]:
        out = out | c
    return out


def _direct(lg):
    a = lg.summary("provider,month,workload,model,split")
    rows = a.to_pyarrow().to_pylist()
    return rows


@pytest.mark.parametrize(
    ("basis", "column"), [("billed_cost", "BilledCost"), ("effective_cost", "EffectiveCost")]
)
def test_inference_and_training_per_model_and_month_match_the_truth(allocated, basis, column):
    path, _, out = allocated
    expected: dict = defaultdict(Decimal)
    for r in truth(out):
        if r["workload"] in ("inference", "training", "research"):
            model = r["model"] if r["model"] != "-" else "unallocated"
            expected[(r["charge_month"], r["workload"], model)] += Decimal(r[basis])
    with open_ledger(path, read_only=True) as lg:
        got: dict = defaultdict(Decimal)
        for r in _direct(lg):
            if r["split"] is None and r["workload"] in ("inference", "training", "research"):
                got[(r["month"].strftime("%Y-%m"), r["workload"], r["model"])] += r[column]
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert abs(got[key] - value) <= TOLERANCE * abs(value), key
    assert got == expected  # in fact to the last digit: tags, then naming conventions, place every node
    # the untagged nodes were placed by the naming convention, and the correction landed in June
    assert expected[("2024-06", "inference", "atlas-l")] > 0


def test_shared_costs_are_spread_over_gpu_work_of_the_same_cloud_and_month(allocated):
    path, _, out = allocated
    shared_truth: dict = defaultdict(Decimal)
    for r in truth(out):
        if r["workload"] in ("shared", "credit", "commitment", "tax"):
            shared_truth[(r["provider"], r["charge_month"])] += Decimal(r["effective_cost"])
    with open_ledger(path, read_only=True) as lg:
        rows = lg.summary("provider,month,workload,split").to_pyarrow().to_pylist()
    spread: dict = defaultdict(Decimal)
    for r in rows:
        if r["split"] is not None:
            assert r["workload"] in ("inference", "training", "research")
            spread[(r["provider"], r["month"].strftime("%Y-%m"))] += r["EffectiveCost"]
    assert spread == shared_truth
    # idle reserved capacity goes to inference only
    idle = [r for r in rows if r["split"] == "idle reservation to inference"]
    assert idle and {r["workload"] for r in idle} == {"inference"}


def test_summary_by_allocated_dimensions_adds_gpu_hours(allocated):
    path, _, out = allocated
    hours: dict = defaultdict(Decimal)
    for r in truth(out):
        if r["workload"] == "inference":
            hours[r["model"]] += Decimal(r["gpu_hours"])
    with open_ledger(path, read_only=True) as lg:
        rows = lg.summary("workload,model,gpu_model").to_pyarrow().to_pylist()
        total = lg.summary([]).to_pyarrow().to_pylist()[0]
        by_all = lg.summary("workload").to_pyarrow().to_pylist()
    got: dict = defaultdict(Decimal)
    for r in rows:
        if r["workload"] == "inference" and r["gpu_model"] == "H100 SXM":
            got[r["model"]] += r["gpu_hours"]
    assert got == hours
    # the allocated view holds the same money as the charges
    assert sum(r["BilledCost"] for r in by_all) == total["BilledCost"]
    assert sum(r["EffectiveCost"] for r in by_all) == total["EffectiveCost"]


def test_coverage_reports_each_rule_and_the_unallocated_rest(allocated):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        rows = coverage(lg).to_pyarrow().to_pylist()
        largest = unallocated_resources(lg).to_pyarrow().to_pylist()
        total = lg.summary([]).to_pyarrow().to_pylist()[0]
    names = [r["rule"] for r in rows]
    assert names[:2] == ["workload tags", "node names"]
    assert sum(r["EffectiveCost"] for r in rows) == total["EffectiveCost"]
    assert sum(r["BilledCost"] for r in rows) == total["BilledCost"]
    node_names = next(r for r in rows if r["rule"] == "node names")
    assert node_names["charges"] > 50  # the 3% untagged nodes
    assert largest == []  # nothing left unallocated


def test_explain_names_the_rule_that_placed_a_charge(allocated):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        c = lg.charges
        untagged = c.filter(c.Tags.isnull() & c.ResourceName.startswith("inf-atlas-l")).x_charge_id
        charge = untagged.min().execute()
        got = explain(lg, int(charge))
        storage = int(c.filter(c.ServiceCategory == "Storage").x_charge_id.min().execute())
        spread = explain(lg, storage)
    assert got.placed["workload"] == ("inference", "node names")
    assert got.placed["model"] == ("atlas-l", "node names")
    assert [r["matched"] for r in got.rules][:2] == [False, True]
    assert got.rules[0]["sets"]["workload"] is None
    assert got.parts[0]["split"] is None and len(got.parts) == 1
    assert spread.placed["workload"] == ("shared", "shared by tag")
    assert spread.split == "platform costs" and len(spread.parts) > 1
    assert sum(p["BilledCost"] for p in spread.parts) == spread.charge["BilledCost"]


def test_rerunning_the_same_rules_replaces_and_new_rules_add_a_version(allocated, tmp_path):
    import shutil

    path, run, _ = allocated
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    from tests.conftest import RULES

    changed = tmp_path / "rules.toml"
    changed.write_text(RULES.read_text().replace('name = "production"', 'name = "prod"'))
    with open_ledger(copy) as lg:
        again = lg.allocate(RULES)
        assert again.version == run.version and again.parts == run.parts
        other = lg.allocate(changed)
        assert other.version != run.version
        a = lg.allocations
        assert a.filter(a.rules_version == run.version).count().execute() == run.parts
        assert set(a.rules_version.execute()) == {run.version, other.version}
        old = lg.summary("workload", rules_version=run.version).to_pyarrow().to_pylist()
        new = lg.summary("workload").to_pyarrow().to_pylist()
        assert old == new


def test_the_tokens_driver_spreads_by_each_models_tokens(allocated, tmp_path):
    import shutil

    from tests.conftest import RULES

    path, _, out = allocated
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    rules = tmp_path / "tokens.toml"
    text = RULES.read_text().split("[[splits]]")[0]
    rules.write_text(
        text + '[[splits]]\nname = "by tokens"\nmatch = { workload = ["shared"] }\ndriver = "tokens"\n'
        'targets = { workload = ["inference"] }\n'
    )
    tokens: dict = defaultdict(int)
    for r in truth(out, "tokens"):
        tokens[(r["month"], r["model"])] += int(r["input_tokens"]) + int(r["output_tokens"])
    with open_ledger(copy) as lg:
        loaded = lg.ingest_usage([out / "usage" / "openai"])  # the shared ledger has them already
        assert [r.status for r in loaded] == ["duplicate"] * 4
        lg.allocate(rules)
        rows = lg.summary("provider,month,model,split").to_pyarrow().to_pylist()
    parts = {
        (r["month"].strftime("%Y-%m"), r["model"]): r["BilledCost"]
        for r in rows
        if r["split"] == "by tokens" and r["provider"] == "AWS"
    }
    assert {m for _, m in parts} == {"swift-s", "atlas-l", "embed-e"}
    for month in ("2024-05", "2024-06"):
        a, b = parts[(month, "atlas-l")], parts[(month, "swift-s")]
        expected = Decimal(tokens[(month, "atlas-l")]) / Decimal(tokens[(month, "swift-s")])
        assert abs(a / b - expected) < Decimal("1e-9")


def test_charges_loaded_after_the_allocation_are_shown_not_allocated_never_dropped(
    allocated, tmp_path, sample
):
    import shutil

    path, _, _ = allocated
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    with open_ledger(copy) as lg:
        lg.ingest([sample])
        total = lg.summary([]).to_pyarrow().to_pylist()[0]
        rows = lg.summary("workload,split").to_pyarrow().to_pylist()
    assert sum(r["BilledCost"] for r in rows) == total["BilledCost"]
    late = [r for r in rows if r["split"] == "(loaded after the allocation)"]
    assert [(r["workload"], r["rows"]) for r in late] == [("unallocated", 1000)]
    assert late[0]["gpu_hours"] is None  # unknown until allocated, never 0


def test_a_fresh_allocation_is_summed_from_its_parts_alone(allocated):
    """With nothing loaded since the run, totals by allocated dimensions come from the parts
    without the join to the charges: the same figures, to the digit."""
    from computeledger.allocate.engine import allocated_charges, allocation_parts
    from computeledger.summary import summary

    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        parts = allocation_parts(lg, {"workload", "model"})
        assert parts is not None
        by = "workload,model,gpu_model"
        fast = summary(parts, by).to_pyarrow().to_pylist()
        joined = summary(allocated_charges(lg), by).to_pyarrow().to_pylist()
        assert fast == joined and len(fast) > 8
        assert allocation_parts(lg, {"workload", "provider"}) is None  # provider is a charge column


def test_placed_by_names_each_dimensions_rule_as_json_whatever_the_name(allocated, tmp_path):
    import json
    import shutil

    from tests.conftest import RULES

    path, _, _ = allocated
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    odd = 'prod "eu" \\ café'  # a quote, a backslash and an accent: escaped, not broken
    changed = tmp_path / "rules.toml"
    changed.write_text(RULES.read_text().replace('name = "production"', f"name = '{odd}'"))
    with open_ledger(copy) as lg:
        run = lg.allocate(changed)
        a = lg.allocations.filter(lg.allocations.rules_version == run.version)
        placed = [json.loads(t) for t in a.placed_by.execute().unique()]
    assert {p["environment"] for p in placed} == {odd}
    assert all(list(p) == ["workload", "model", "team", "environment"] for p in placed)
    assert {"workload": "node names", "model": None, "team": "node names", "environment": odd} in placed
    tagged = {"workload": "workload tags", "model": "workload tags", "team": "workload tags"}
    assert tagged | {"environment": odd} in placed
