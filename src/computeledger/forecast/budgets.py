"""Budgets: per budget (an amount for a period and a scope), actual so far plus the
forecast of the rest of the period, against the amount, and the probability of overrun
(a count over sample paths of the forecast).

A budgets file (TOML, parsed strictly):

    [[budgets]]
    name = "inference 2025"
    period = "2025"            # or 2025-Q3, 2025-07
    amount = "50000000"
    series = "inference"       # compute, inference or training
    provider = "Microsoft"     # optional: one provider's share
    basis = "effective"        # billed, effective or cash
"""

from __future__ import annotations

import tomllib
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from computeledger import money
from computeledger.accounting.periods import months, parse
from computeledger.errors import UsageError
from computeledger.forecast.engine import forecast
from computeledger.forecast.series import history

KEYS = {"name", "period", "amount", "series", "provider", "basis"}
DRAWS = 10_000


def load_budgets(path: str | Path) -> list[dict]:
    """The budgets of a file, each checked: unknown keys, bad periods and amounts refused."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as exc:
        raise UsageError(f"{p}: cannot read the budgets: {exc}") from exc
    if set(doc) - {"budgets"} or not isinstance(doc.get("budgets"), list) or not doc["budgets"]:
        raise UsageError(f"{p}: a budgets file holds [[budgets]] tables only")
    out = []
    for i, b in enumerate(doc["budgets"], 1):
        where = f"{p}: budget {i}"
        if not isinstance(b, dict) or set(b) - KEYS or not {"period", "amount"} <= set(b):
            raise UsageError(f"{where}: keys {', '.join(sorted(KEYS))} (period and amount required)")
        if isinstance(b["amount"], float | bool):
            raise UsageError(f"{where}: write the amount as text or a whole number: {b['amount']!r}")
        try:
            amount = Decimal(str(b["amount"]))
        except InvalidOperation as exc:
            raise UsageError(f"{where}: amount {b['amount']!r} is not a number") from exc
        if not amount.is_finite() or amount <= 0:
            raise UsageError(f"{where}: amount must be positive: {b['amount']!r}")
        series = b.get("series", "compute")
        if series not in ("compute", "inference", "training"):
            raise UsageError(f"{where}: series compute, inference or training: {series!r}")
        basis = b.get("basis", "effective")
        if basis not in ("billed", "effective", "cash"):
            raise UsageError(f"{where}: basis billed, effective or cash: {basis!r}")
        try:
            first, end, _ = parse(str(b["period"]))
        except UsageError as exc:
            raise UsageError(f"{where}: {exc}") from None
        out.append({"name": str(b.get("name", f"budget {i}")), "period": str(b["period"]), "first": first,
                    "end": end, "amount": amount, "series": series, "provider": b.get("provider"),
                    "basis": basis})  # fmt: skip
    return out


@money.exact
def budgets(ledger, items: list[dict], *, contracts=None, rules_version=None, seed: int = 0) -> list[dict]:
    """Per budget: actual, forecast rest (median), projected total and its 80% range,
    the amount, and P(projected > amount)."""
    rows = []
    for b in items:
        found = history(
            ledger, b["series"], by="provider" if b["provider"] else None, basis=b["basis"],
            contracts=contracts, rules_version=rules_version,
        )  # fmt: skip
        key = f"provider={b['provider']}" if b["provider"] else "total"
        s = next((x for x in found if x.key == key), None)
        if s is None:
            raise UsageError(f"budget {b['name']!r}: no {b['series']} of {key} in the ledger")
        span = months(b["first"], b["end"])
        if span[0] < min(s.periods):
            raise UsageError(
                f"budget {b['name']!r}: {b['period']} starts before the ledger's {b['series']} "
                f"(from {min(s.periods):%Y-%m}), so its actual is unknown"
            )
        known = dict(zip(s.periods, s.values, strict=True))
        actual = sum((known[m] for m in span if known.get(m) is not None), Decimal(0))
        last = max(s.periods)
        rest = [m for m in span if m > last]
        row = {"budget": b["name"], "period": b["period"], "scope": key, "basis": b["basis"],
               "amount": b["amount"], "actual": actual, "months_actual": sum(m in known for m in span),
               "months_forecast": len(rest)}  # fmt: skip
        if rest:
            fc = forecast([s], len(months(max(s.periods), rest[-1])))[0]
            if fc.refused:
                raise UsageError(f"budget {b['name']!r}: {fc.refused}")
            paths = fc.paths(DRAWS, seed)
            index = [i for i, p in enumerate(fc.points) if p["period"] in rest]
            totals = float(actual) + paths[:, index].sum(axis=1)
            row["forecast_rest"] = sum((fc.points[i]["forecast"] for i in index), Decimal(0))
            low, mid, high = np.percentile(totals, [10, 50, 90])
            row |= {"projected": _d(mid), "projected_p10": _d(low), "projected_p90": _d(high),
                    "overrun_probability": Decimal(int((totals > float(b["amount"])).sum())) / DRAWS,
                    "model": fc.model}  # fmt: skip
        else:
            row |= {"forecast_rest": Decimal(0), "projected": actual, "projected_p10": actual,
                    "projected_p90": actual, "overrun_probability": Decimal(int(actual > b["amount"])),
                    "model": None}  # fmt: skip
        row["remaining"] = b["amount"] - row["projected"]
        rows.append(row)
    return rows


def _d(v: float) -> Decimal:
    return Decimal(repr(float(v))).quantize(Decimal("0.01"))
