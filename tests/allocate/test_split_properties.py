"""Splits conserve money: for random drivers and amounts, the parts of every charge add up
to it to the last digit on every cost basis, in proportion to the drivers."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeledger import open_ledger
from computeledger.allocate.engine import allocate
from computeledger.allocate.rules import parse_rules
from computeledger.schema.focus import MONEY
from computeledger.schema.tables import CHARGES

START, END = datetime(2025, 3, 1), datetime(2025, 4, 1)
money = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=18, allow_nan=False)
positive = st.decimals(min_value=Decimal("0"), max_value=Decimal("1e6"), places=6, allow_nan=False)
hours = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000"), places=2, allow_nan=False)


def _charge(i: int, **values) -> dict:
    base = {
        "x_charge_id": i, "x_ingest_id": 1, "BillingPeriodStart": START, "BillingPeriodEnd": END,
        "ChargePeriodStart": START, "ChargePeriodEnd": END, "HostProviderName": "AWS",
        "ServiceProviderName": "AWS", "ChargeCategory": "Usage", "BillingAccountId": "1",
    }  # fmt: skip
    return base | values


def _rules(driver: str):
    return parse_rules({
        "rules": [{"name": "tags", "match": {"tags": {"workload": "."}},
                   "set": {"workload": "{tags.workload}", "model": "{tags.model}"}}],
        "splits": [{"name": "shared", "match": {"workload": ["shared"]}, "driver": driver,
                    "targets": {"workload": ["inference", "training"]}}],
    })  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    targets=st.lists(
        st.tuples(st.sampled_from(["inference", "training"]), hours, positive), min_size=0, max_size=6
    ),
    shared=st.lists(st.tuples(money, money, money, st.one_of(st.none(), money)), min_size=1, max_size=4),
    driver=st.sampled_from(["gpu_hours", "cost"]),
)
@pytest.mark.slow  # over 10 s: the full suite runs it
def test_parts_add_up_to_the_charge_and_follow_the_driver(targets, shared, driver):
    rows = []
    for i, (workload, qty, cost) in enumerate(targets):
        rows.append(_charge(
            i + 1, Tags=f'{{"workload": "{workload}", "model": "m{i}"}}', ConsumedQuantity=qty,
            ConsumedUnit="Hours", SkuId="p5.48xlarge", ServiceCategory="Compute",
            BilledCost=cost, EffectiveCost=cost, ListCost=cost, ContractedCost=cost,
        ))  # fmt: skip
    for j, amounts in enumerate(shared):
        costs = dict(zip(MONEY, amounts, strict=True))
        rows.append(_charge(100 + j, Tags='{"workload": "shared"}', ServiceCategory="Storage", **costs))
    with open_ledger(":memory:") as lg:
        lg.con.insert("charges", pa.Table.from_pylist(rows, schema=CHARGES.to_pyarrow()))
        run = allocate(lg, _rules(driver))
        parts = lg.allocations.order_by(["x_charge_id", "part"]).to_pyarrow().to_pylist()
    weights = {}
    for i, (_, qty, cost) in enumerate(targets):
        w = qty * 8 if driver == "gpu_hours" else cost  # p5.48xlarge: 8 GPUs
        if w > 0:
            weights[f"m{i}"] = w
    assert run.charges == len(rows)
    for j, amounts in enumerate(shared):
        mine = [p for p in parts if p["x_charge_id"] == 100 + j]
        if not weights:  # nothing to spread over: the charge stays whole, as shared
            assert [(p["workload"], p["split"]) for p in mine] == [("shared", None)]
            continue
        assert sorted(p["model"] for p in mine) == sorted(weights)
        assert all(p["split"] == "shared" and p["share"] >= 0 for p in mine)
        total = sum(weights.values())
        for m, amount in zip(MONEY, amounts, strict=True):
            values = [p[m] for p in mine]
            if amount is None:
                assert values == [None] * len(mine)
                continue
            assert sum(values) == amount  # exact, whatever the shares
            for p in mine:
                exact = amount * weights[p["model"]] / total
                assert abs(p[m] - exact) <= abs(amount) * Decimal("1e-11") * len(mine) + Decimal("1e-11")
    # direct charges stay whole: one part, their own money
    for p in parts:
        if p["x_charge_id"] <= len(targets):
            assert p["part"] == 0 and p["share"] == 1
