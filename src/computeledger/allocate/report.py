"""What an allocation did: coverage per rule, and why one charge landed where it did."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import ibis
import ibis.expr.types as ir

from computeledger.allocate.engine import allocated_charges, latest_version
from computeledger.allocate.gpu import with_gpus
from computeledger.allocate.place import placed
from computeledger.allocate.rules import UNALLOCATED, Rules, parse_rules
from computeledger.errors import UsageError
from computeledger.ledger_charges import within
from computeledger.portable import json_field

NO_RULE = "(no rule: unallocated)"


def run_rules(ledger, version: str | None = None) -> Rules:
    """The rules of a past run, as they were (stored with the run)."""
    import tomllib

    version = latest_version(ledger, version)
    runs = ledger.allocation_runs
    found = runs.filter(runs.rules_version == version).to_pyarrow().to_pylist() if version else []
    if not found:
        raise UsageError("no allocation yet: run `computeledger allocate --rules RULES.toml` first")
    text = found[0]["rules_text"]
    return parse_rules(tomllib.loads(text), found[0]["rules_file"], text.encode())


def coverage(ledger, version: str | None = None, dimension: str = "workload") -> ir.Table:
    """Per rule that placed `dimension`: charges, billed and effective cost placed, and the
    share of the effective total; the unallocated rest as its own line."""
    a = allocated_charges(ledger, version)
    rules = run_rules(ledger, version)
    if dimension not in rules.dimensions:
        raise UsageError(f"--dimension: one of {', '.join(rules.dimensions)}")
    rule = json_field(a.placed_by, dimension).fill_null(NO_RULE).name("rule")
    order = {r.name: i for i, r in enumerate(rules.rules)} | {NO_RULE: len(rules.rules)}
    rank = rule.substitute(order, else_=len(rules.rules) + 1).name("rank")
    total = a.EffectiveCost.sum().over(ibis.window())
    grouped = (
        a.mutate(rule=rule, rank=rank, total=total)
        .group_by(["rank", "rule"])
        .aggregate(
            charges=ibis._.x_charge_id.nunique(),
            BilledCost=ibis._.BilledCost.sum(),
            EffectiveCost=ibis._.EffectiveCost.sum(),
            effective_total=ibis._.total.max(),
        )
    )
    return grouped.order_by("rank").drop("rank")


def unallocated_resources(
    ledger, version: str | None = None, limit: int = 5, start: date | None = None, end: date | None = None,
    provider: str | None = None,
) -> ir.Table:  # fmt: skip
    """The largest resources (by effective cost) left unallocated as to workload (charges
    from `start`, before `end`, of the ServiceProviderName `provider`, when given)."""
    a = allocated_charges(ledger, version)
    u = within(a.filter(a.workload == UNALLOCATED), start, end, provider)
    return (
        u.group_by(provider=u.HostProviderName, resource=ibis.coalesce(u.ResourceId, u.ResourceName))
        .aggregate(
            charges=u.x_charge_id.nunique(),
            BilledCost=u.BilledCost.sum(),
            EffectiveCost=u.EffectiveCost.sum(),
        )
        .order_by(ibis.desc("EffectiveCost"))
        .limit(limit)
    )


@dataclass
class Explanation:
    charge: dict
    rules: list[dict] = field(default_factory=list)  # rule, matched, what it would set
    placed: dict = field(default_factory=dict)  # dimension -> (value, rule)
    split: str | None = None
    parts: list[dict] = field(default_factory=list)


def explain(ledger, charge_id: int, rules: Rules | None = None) -> Explanation:
    """Every rule tried on the charge, in order: whether it matched and what it sets; the
    dimensions it ended with, and its parts in the latest allocation."""
    rules = rules or run_rules(ledger)
    c = ledger.charges.filter(ledger.charges.x_charge_id == charge_id)
    t = with_gpus(c)
    shown = ["x_charge_id", "HostProviderName", "ServiceName", "ChargeCategory", "ResourceName", "ResourceId",
             "Tags", "BilledCost", "EffectiveCost", "gpu_hours", "gpu_model"]  # fmt: skip
    t = placed(t, rules)
    cols: dict[str, ir.Value] = {k: t[k] for k in shown}
    cols |= {c: t[c] for c in t.columns if c.startswith(("cl_hit_", "cl_set_", "d_", "b_"))}
    rows = t.select(**cols).to_pyarrow().to_pylist()
    if not rows:
        raise UsageError(f"no charge {charge_id} in the ledger (see x_charge_id in the charges)")
    row = rows[0]
    out = Explanation(charge={k: row[k] for k in shown})
    for i, rule in enumerate(rules.rules):
        sets = {dim: row[f"cl_set_{i}_{dim}"] for dim in rule.sets}
        out.rules.append({"rule": rule.name, "matched": bool(row[f"cl_hit_{i}"]), "sets": sets})
    out.placed = {dim: (row[f"d_{dim}"], row[f"b_{dim}"]) for dim in rules.dimensions}
    a = ledger.allocations
    version = latest_version(ledger)
    if version == rules.version:
        parts = a.filter((a.rules_version == version) & (a.x_charge_id == charge_id)).order_by("part")
        out.parts = parts.drop("rules_version", "placed_by").to_pyarrow().to_pylist()
        out.split = out.parts[0]["split"] if out.parts else None
        for p in out.parts:
            if p.get("x_dimensions"):
                p.update(json.loads(p.pop("x_dimensions")))
            else:
                p.pop("x_dimensions", None)
    return out
