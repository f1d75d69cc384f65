"""Revenue records the ledger holds that point nowhere: payments for unknown invoices."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from computeledger.store.base import Tables


def unmatched_payments(ledger: Tables) -> list[dict[str, Any]]:
    """Payments whose invoice id names no invoice in the ledger (kept, never dropped)."""
    p, inv = ledger.table("payments"), ledger.table("revenue_lines")
    known = inv.select(cl_invoice=inv.invoice_id).distinct()
    orphans = p.anti_join(known, p.invoice_id == known.cl_invoice)
    rows: list[dict[str, Any]] = (
        orphans.select("payment_id", "invoice_id", "customer", "paid_on", "amount", "currency")
        .order_by("payment_id")
        .to_pyarrow()
        .to_pylist()
    )
    return rows
