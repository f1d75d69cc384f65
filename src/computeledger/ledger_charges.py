"""Finding charges by exact column values (the way to an x_charge_id worth explaining),
and by provider and period."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from computeledger.errors import UsageError
from computeledger.summary import DERIVED, SHORTHANDS

if TYPE_CHECKING:
    from computeledger.store.base import Tables


def within(
    charges: ir.Table, start: date | None = None, end: date | None = None, provider: str | None = None
) -> ir.Table:
    """Charges (or allocated parts) of `provider` (ServiceProviderName) charged from `start`,
    before `end`: each only when given."""
    if provider is not None:
        charges = charges.filter(charges.ServiceProviderName == provider)
    if start is not None:
        charges = charges.filter(charges.ChargePeriodStart >= start)
    if end is not None:
        charges = charges.filter(charges.ChargePeriodStart < end)
    return charges


SHOWN = ("x_charge_id", "ServiceProviderName", "BillingPeriodStart", "ChargePeriodStart", "ChargeCategory",
         "ServiceName", "ResourceId", "BilledCost", "EffectiveCost", "ChargeDescription")  # fmt: skip


def find_charges(ledger: Tables, where: list[str], *, largest: bool = False, limit: int = 20) -> pa.Table:
    """Charges whose columns equal the given values (`COLUMN=VALUE`; a month as YYYY-MM):
    the values are compared as data, never read as SQL."""
    t = ledger.charges
    lower = {c.lower(): c for c in t.columns}
    for item in where:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--where {item!r}: write COLUMN=VALUE, e.g. provider=AWS")
        if name in DERIVED:
            col, unit = DERIVED[name]
            try:
                first = date.fromisoformat(value.strip() + ("-01" if len(value.strip()) == 7 else ""))
            except ValueError:
                raise UsageError(f"--where {item!r}: a {name} is written YYYY-MM or YYYY-MM-DD") from None
            t = t.filter(t[col].truncate(unit).date() == first)
            continue
        found: str | None = SHORTHANDS.get(name, lower.get(name.lower()))
        if found is None:
            raise UsageError(f"--where {item!r}: no column {name!r}")
        col = found
        t = t.filter(t[col].cast("string") == ibis.literal(value))
    t = t.order_by([ibis.desc("BilledCost"), "x_charge_id"] if largest else ["x_charge_id"])
    return t.select(*SHOWN).limit(limit).to_pyarrow()
