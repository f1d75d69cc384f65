"""Currencies: the ones a table holds, and the one a sum may add. Amounts of two
currencies are never added, and no exchange rate is guessed."""

from __future__ import annotations

from typing import TYPE_CHECKING

from computeledger.errors import UsageError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from computeledger.store.base import Tables


def held(table: ir.Table, column: str = "currency") -> set[str | None]:
    """The currencies an Ibis table holds in `column` (nulls left out)."""
    rows = table.select(column).distinct().to_pyarrow().column(column).to_pylist()
    return {c for c in rows if c}


def one(found: set[str | None], what: str) -> str | None:
    """The one currency `what` sums, or a refusal listing them."""
    codes = {c for c in found if c}
    if len(codes) > 1:
        raise UsageError(
            f"{what} holds money in {', '.join(sorted(codes))}: one currency is added at a time, "
            "and no exchange rate is guessed"
        )
    return next(iter(codes), None)


def of_bills(ledger: Tables) -> str | None:
    """The bills' one currency (a sum over the charges refuses two)."""
    return one(held(ledger.charges, "BillingCurrency"), "the bills")
