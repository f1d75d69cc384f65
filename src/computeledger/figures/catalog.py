"""The metric catalogue: flows and balances, what is part of what, and declared identities.

Containment works on two axes: a metric is part of its parent (compute_cost is part of
costs), and a figure whose scope adds keys is part of the one without them (Azure
inference is part of all inference, which is part of all compute). Identities:
revenue_share = revenue_share_rate x revenue; cash_burn = cash_out - cash_in.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from computeledger.errors import UsageError


@dataclass(frozen=True)
class Metric:
    name: str
    kind: str  # flow, balance or ratio
    part_of: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Catalog:
    metrics: dict[str, Metric]

    def ancestors(self, name: str) -> list[str]:
        """The metric, then each metric it is part of, up to the top."""
        out, seen = [], set()
        while name and name not in seen:
            out.append(name)
            seen.add(name)
            name = self.metrics[name].part_of or ""
        return out

    def extended(self, entries: list[dict[str, Any]], where: str) -> Catalog:
        metrics = dict(self.metrics)
        for i, e in enumerate(entries):
            at = f"{where}: metrics entry {i + 1}"
            if not isinstance(e, dict) or not e.get("name"):
                raise UsageError(f"{at}: a metric needs a name")
            kind = e.get("kind", "flow")
            if kind not in ("flow", "balance", "ratio"):
                raise UsageError(f"{at}: kind must be flow, balance or ratio, not {kind!r}")
            parent = e.get("part_of")
            if (
                parent is not None
                and parent not in metrics
                and parent not in {x.get("name") for x in entries}
            ):
                raise UsageError(f"{at}: part_of {parent!r} is not a metric")
            metrics[e["name"]] = Metric(e["name"], kind, parent, e.get("description", ""))
        cat = replace(self, metrics=metrics)
        for name in metrics:  # no cycles
            chain = cat.ancestors(name)
            last = metrics[chain[-1]].part_of
            if last:
                raise UsageError(f"{where}: metric {name!r} is part of itself through {' -> '.join(chain)}")
        return cat


def default_catalog() -> Catalog:
    items = [
        Metric("costs", "flow", None, "all costs"),
        Metric("compute_cost", "flow", "costs", "cloud and GPU compute (inference, training, ...)"),
        Metric("revenue", "flow", None, "revenue"),
        Metric("revenue_share", "flow", "costs", "revenue share paid to a partner"),
        Metric("revenue_share_rate", "ratio", None, "revenue share as a fraction of revenue"),
        Metric("cash_out", "flow", None, "cash paid out"),
        Metric("cash_in", "flow", None, "cash received (revenue collected, funding)"),
        Metric("cash_burn", "flow", None, "net burn: cash out minus cash in"),
        Metric("cash", "balance", None, "cash balance"),
        Metric("funding", "flow", "cash_in", "equity or debt raised"),
        Metric("valuation", "balance", None, "company valuation"),
        Metric("arr", "balance", None, "annualised revenue run-rate at a date"),
        Metric("gross_margin", "ratio", None, "gross margin as a fraction of revenue"),
    ]
    return Catalog({m.name: m for m in items})
