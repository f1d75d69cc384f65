"""Revenue into the ledger: customer invoice lines, payments, partners' revenue-share
statements (`revenue_lines`, `payments`, `revenue_share`), read as documents (see
`computeledger.ingest.documents`: exact, conserved, idempotent, re-issues replace)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.errors import UsageError
from computeledger.ingest.documents import WHOLE_LINE, Family, Kind, ingest_documents
from computeledger.ingest.mapping import Mapping
from computeledger.ingest.results import FileResult
from computeledger.ingest.typed import FLAGS, Field
from computeledger.store import Store


def _f(name: str, kind: str = "text", required: bool = False, *aliases: str) -> Field:
    return Field(name, kind, required, aliases)


KINDS = {
    "invoices": Kind("invoices", "revenue_lines", "invoice_id", (
        _f("invoice_id", "text", True), _f("customer", "text", True), _f("channel"), _f("model"),
        _f("item"), _f("quantity", "decimal"), _f("unit"), _f("unit_price", "decimal"),
        _f("amount", "decimal", True), _f("currency", "text", True), _f("period_start", "date", True),
        _f("period_end", "date", True), _f("issued_on", "date"), _f("due_on", "date"),
    ), frozenset({"invoice_id", "amount", "period_start"}), finish=lambda rows: _invoice_lines(rows),
        unique=WHOLE_LINE),
    "payments": Kind("payments", "payments", "payment_id", (
        _f("payment_id", "text", True), _f("invoice_id"), _f("customer"), _f("paid_on", "date", True),
        _f("amount", "decimal", True), _f("currency", "text", True),
    ), frozenset({"payment_id", "paid_on", "amount"}), unique=("payment_id",)),
    "revenue_share": Kind("revenue_share", "revenue_share", "statement_id", (
        _f("statement_id", "text", True), _f("partner", "text", True), _f("channel"), _f("model"),
        _f("period_start", "date", True), _f("period_end", "date", True), _f("revenue", "decimal"),
        _f("rate", "decimal"), _f("amount", "decimal", True), _f("due_on", "date"),
        _f("currency", "text", True),
    ), frozenset({"statement_id", "partner", "amount"}), unique=WHOLE_LINE),
}  # fmt: skip

#: What a mapping of each kind may set.
MAPPING_TARGETS = {k.name: {f.name for f in k.fields} for k in KINDS.values()}
#: An invoice line whose amount is not quantity x unit price (per the unit's block) to the cent.
AMOUNT_FLAG = "amount_not_quantity_times_price"
#: An invoice line whose quantity x unit price is too large to check exactly (past 10^18).
UNCHECKED_FLAG = "amount_unchecked:quantity_times_price_past_18_digits"
#: The largest product checked exactly: with 18 decimal places it stays within 38 digits.
_CHECKED_UP_TO = 1e18


def load_revenue_mapping(path: str | Path) -> Mapping:
    """A mapping for a revenue export (its `kind` names the table it fills)."""
    from computeledger.ingest.mapping import load_mapping

    m = load_mapping(path, MAPPING_TARGETS)
    if m.kind is None:
        raise UsageError(
            f'{path}: a revenue mapping says its kind: kind = "invoices" (or payments, revenue_share)'
        )
    return m


def ingest_revenue(
    store: Store, paths: Iterable[str | Path], mapping: Mapping | None = None
) -> list[FileResult]:
    """Load every revenue file named or under a folder named, one unit of work each."""
    return ingest_documents(store, paths, FAMILY, mapping)


FAMILY = Family(
    "revenue",
    KINDS,
    (
        "not a revenue file: its columns match no kind (invoices need invoice_id, amount, "
        "period_start; payments payment_id, paid_on, amount; revenue-share statements "
        "statement_id, partner, amount); map other layouts with --mapping"
    ),
)


def _invoice_lines(rows: ir.Table) -> ir.Table:
    """A model of '-' or '' is no model; the amount is checked against quantity x price."""
    return rows.mutate(
        model=ibis.ifelse(rows.model.isin(["-", ""]), ibis.null("string"), rows.model),
        x_quality_flags=ibis.literal(";").join([_amount_flag(rows), rows[FLAGS]]).nullif(""),
    )


def _amount_flag(rows: ir.Table) -> ir.StringValue:
    """`amount_not_quantity_times_price` where quantity x unit price, per the unit's block
    ("1M tokens": per million), differs from the amount by a cent or more. A line whose
    products would pass the engine's 38 digits is flagged unchecked instead (one such line
    used to fail the whole file): the magnitudes are compared on doubles, with a margin of
    100x, only to choose the line's branch; the check itself stays exact."""
    unit = rows.unit.lower().strip()
    block = ibis.cases(
        (unit.re_search(r"(^|[^0-9.,])1\s*m\b|million|(^|[^0-9.,])1,?000,?000($|[^0-9,])"), 1_000_000),
        (unit.re_search(r"(^|[^0-9.,])1\s*k\b|thousand|(^|[^0-9.,])1,?000($|[^0-9,])"), 1_000),
        else_=1,
    )
    # exact, in multiplications: |quantity x price - amount x block| >= a cent x block
    # (9 decimals of each factor are plenty for a cent, and keep the products in range)
    q, p = rows.quantity.cast("decimal(38, 9)"), rows.unit_price.cast("decimal(38, 9)")
    a = rows.amount.cast("decimal(38, 9)")
    cents = ibis.literal(Decimal("0.01"), "decimal(38, 2)")
    known = rows.quantity.notnull() & rows.unit_price.notnull() & rows.amount.notnull()
    fits = (q.cast("float64").abs() * p.cast("float64").abs() < _CHECKED_UP_TO) & (
        a.cast("float64").abs() * block < _CHECKED_UP_TO
    )
    off = ibis.ifelse(fits, (q * p - a * block).abs() >= cents * block, False)
    return ibis.cases((known & ~fits, UNCHECKED_FLAG), (known & off, AMOUNT_FLAG), else_=ibis.null("string"))
