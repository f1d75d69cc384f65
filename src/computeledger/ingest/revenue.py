"""Revenue into the ledger: customer invoice lines, payments, partners' revenue-share
statements (`revenue_lines`, `payments`, `revenue_share`).

Each file is one kind, told by its columns (or by its mapping's `kind`); other layouts
come in through a TOML mapping as bills do. The promises are the bills': exact decimals;
rows read = loaded + quarantined, each quarantined row with its line and reason; an
identical file changes nothing; one unit of work per file; and a re-issued document
replaces the earlier one (an invoice, payment or statement with the same id from another
file). No exchange rate is guessed: each row keeps its currency.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.errors import UsageError
from computeledger.ingest.files import discover, file_format, fingerprint
from computeledger.ingest.focus import stage_through
from computeledger.ingest.lines import LINE_COLUMN, ROW_COLUMN, line_map, record_lines, reject_line
from computeledger.ingest.mapping import Mapping
from computeledger.ingest.normalize import RAW, REASON, ROW
from computeledger.ingest.results import FileResult, Refused
from computeledger.ingest.typed import Field, match_columns, read_fields
from computeledger.schema.tables import TABLES
from computeledger.store import Store


@dataclass(frozen=True)
class Kind:
    """A kind of revenue document: its table, the id a re-issue repeats, its fields."""

    name: str
    table: str
    key: str
    fields: tuple[Field, ...]
    signature: frozenset[str]  # columns that tell a file of this kind


def _f(name: str, kind: str = "text", required: bool = False, *aliases: str) -> Field:
    return Field(name, kind, required, aliases)


KINDS = {
    "invoices": Kind("invoices", "revenue_lines", "invoice_id", (
        _f("invoice_id", "text", True), _f("customer", "text", True), _f("channel"), _f("model"),
        _f("item"), _f("quantity", "decimal"), _f("unit"), _f("unit_price", "decimal"),
        _f("amount", "decimal", True), _f("currency", "text", True), _f("period_start", "date", True),
        _f("period_end", "date", True), _f("issued_on", "date"), _f("due_on", "date"),
    ), frozenset({"invoice_id", "amount", "period_start"})),
    "payments": Kind("payments", "payments", "payment_id", (
        _f("payment_id", "text", True), _f("invoice_id"), _f("customer"), _f("paid_on", "date", True),
        _f("amount", "decimal", True), _f("currency", "text", True),
    ), frozenset({"payment_id", "paid_on", "amount"})),
    "revenue_share": Kind("revenue_share", "revenue_share", "statement_id", (
        _f("statement_id", "text", True), _f("partner", "text", True), _f("channel"), _f("model"),
        _f("period_start", "date", True), _f("period_end", "date", True), _f("revenue", "decimal"),
        _f("rate", "decimal"), _f("amount", "decimal", True), _f("due_on", "date"),
        _f("currency", "text", True),
    ), frozenset({"statement_id", "partner", "amount"})),
}  # fmt: skip

#: What a mapping of each kind may set.
MAPPING_TARGETS = {k.name: {f.name for f in k.fields} for k in KINDS.values()}
#: An invoice line whose amount is not quantity x unit price (per the unit's block) to the cent.
AMOUNT_FLAG = "amount_not_quantity_times_price"


def load_revenue_mapping(path: str | Path) -> Mapping:
    """A mapping for a revenue export (its `kind` names the table it fills)."""
    from computeledger.ingest.mapping import load_mapping

    m = load_mapping(path, MAPPING_TARGETS)
    if m.kind is None:
        raise UsageError(
            f'{path}: a revenue mapping says its kind: kind = "invoices" (or payments, revenue_share)'
        )
    return m


def ingest_revenue(store: Store, paths, mapping: Mapping | None = None) -> list[FileResult]:
    """Load every revenue file named or under a folder named, one unit of work each."""
    return [_one(store, path, mapping) for path in discover(list(paths))]


def _kind_of(columns: list[str], mapping: Mapping | None) -> Kind:
    if mapping is not None and mapping.kind:
        return KINDS[mapping.kind]
    names = {c.strip().lower().lstrip("\ufeff") for c in columns}
    for kind in KINDS.values():
        if kind.signature <= names:
            return kind
    raise Refused(
        "not a revenue file: its columns match no kind (invoices need invoice_id, amount, "
        "period_start; payments payment_id, paid_on, amount; revenue-share statements "
        "statement_id, partner, amount); map other layouts with --mapping"
    )


def _one(store: Store, path: Path, mapping: Mapping | None) -> FileResult:
    started = _now()
    fmt = file_format(path)
    result = FileResult(path=str(path), format=fmt, mapping=mapping.path if mapping else None)
    result.mapping_sha256 = mapping.sha256 if mapping else None
    try:
        if fmt is None:
            raise Refused("not a CSV, CSV.gz or Parquet file")
        if path.stat().st_size == 0:
            raise Refused("empty file")
        fp = fingerprint(path, fmt)
        result.sha256 = fp.sha256
        ingests = store.table("ingests")
        same = (ingests.sha256 == fp.sha256) & ingests.status.isin(["loaded", "superseded"])
        same &= ingests.format.startswith("revenue")
        earlier = ingests.filter(same).ingest_id.min().to_pyarrow().as_py()
        if earlier is not None:
            result.status, result.message = "duplicate", f"identical to ingest #{earlier}: nothing changed"
            _record(store, result, "revenue", started)
            return result
        staged = stage_through(store, path, fmt, mapping)
        kind = _kind_of(staged.columns, mapping)
        columns = match_columns(staged.columns, list(kind.fields))
        missing = [f.name for f in kind.fields if f.required and f.name not in columns]
        if missing:
            raise Refused(f"{kind.name}: missing column(s) {', '.join(missing)}")
        with store.transaction():
            _load(store, staged, kind, columns, path, fmt, fp.lines, result)
            _record(store, result, f"revenue-{kind.name}", started)
    except Refused as exc:
        result.status, result.message, result.reasons = "refused", str(exc), [str(exc)]
        result.rows_loaded = result.rows_quarantined = 0
        result.ingest_id = None
        with store.transaction():
            _record(store, result, "revenue", started)
    return result


def _load(store: Store, staged, kind: Kind, columns, path: Path, fmt: str, lines, result: FileResult) -> None:
    ingest_id = store.next_id("ingests", "ingest_id")
    result.ingest_id = ingest_id
    rows = read_fields(staged.table, list(kind.fields), columns)
    line = rows[ROW] + staged.first_line
    rejects = staged.rejects
    n = staged.table.count().to_pyarrow().as_py()
    result.rows_read = n + len(rejects)
    starts: list[int] = []
    if fmt != "parquet" and (rejects or lines != result.rows_read + 1):
        starts = record_lines(path, fmt, staged.delimiter, staged.quote)
        m = ibis.memtable(line_map(starts, {r for r, _, _ in rejects}))
        rows = rows.left_join(m, rows[ROW] == m[ROW_COLUMN])
        line = ibis.coalesce(rows[LINE_COLUMN], rows[ROW] + staged.first_line)
    rows = rows.mutate(
        ingest_id=ibis.literal(ingest_id, "int64"),
        source_file=ibis.literal(str(path)),
        source_line=line,
        currency=rows.currency.upper(),  # ISO 4217 codes, whatever case the export writes
    )
    if kind.name == "invoices":
        rows = rows.mutate(
            model=ibis.ifelse(rows.model.isin(["-", ""]), ibis.null("string"), rows.model),
            x_quality_flags=_amount_flag(rows),
        )
    schema = TABLES[kind.table]
    with store.scratch(rows) as typed:
        good = typed.filter(typed[REASON].isnull())
        store.append(kind.table, good.select(**{c: good[c].cast(schema[c]) for c in schema.names}))
        bad = typed.filter(typed[REASON].notnull())
        store.append("quarantine", bad.select(
            ingest_id=bad.ingest_id, source_file=bad.source_file, source_line=bad.source_line.cast("int64"),
            raw=bad[RAW], reason=bad[REASON],
        ))  # fmt: skip
        counts = (
            typed.aggregate(bad=typed[REASON].notnull().sum(), n=typed.count()).to_pyarrow().to_pylist()[0]
        )
        keys = good.select(good[kind.key]).distinct()
        store.delete(kind.table, lambda t: t[kind.key].isin(keys[kind.key]) & (t.ingest_id != ingest_id))
    if rejects:
        store.append("quarantine", store.memtable([
            {"ingest_id": ingest_id, "source_file": str(path), "source_line": reject_line(starts, rec),
             "raw": raw, "reason": f"row cannot be read: {message}"} for rec, raw, message in rejects
        ], "quarantine"))  # fmt: skip
    result.rows_quarantined = (counts["bad"] or 0) + len(rejects)
    result.rows_loaded = counts["n"] - (counts["bad"] or 0)
    q = store.table("quarantine")
    q = q.filter(q.ingest_id == ingest_id)
    reasons = q.group_by("reason").aggregate(n=q.count(), line=q.source_line.min()).order_by(ibis.desc("n"))
    result.reasons = [f"{r['n']} row(s), first at line {r['line']}: {r['reason']}"
                      for r in reasons.limit(10).to_pyarrow().to_pylist()]  # fmt: skip


def _amount_flag(rows: ir.Table) -> ir.StringValue:
    """`amount_not_quantity_times_price` where quantity x unit price, per the unit's block
    ("1M tokens": per million), differs from the amount by a cent or more."""
    unit = rows.unit.lower().strip()
    block = ibis.cases(
        (unit.re_search(r"^1\s*m\b|^1m|million"), 1_000_000),
        (unit.re_search(r"^1\s*k\b|^1k|thousand"), 1_000),
        else_=1,
    )
    # exact, in multiplications: |quantity x price - amount x block| >= a cent x block
    # (9 decimals of each factor are plenty for a cent, and keep the products in range)
    q, p = rows.quantity.cast("decimal(38, 9)"), rows.unit_price.cast("decimal(38, 9)")
    a = rows.amount.cast("decimal(38, 9)")
    cents = ibis.literal(Decimal("0.01"), "decimal(38, 2)")
    off = (q * p - a * block).abs() >= cents * block
    known = rows.quantity.notnull() & rows.unit_price.notnull() & rows.amount.notnull()
    return ibis.ifelse(known & off, AMOUNT_FLAG, ibis.null("string"))


def _record(store: Store, result: FileResult, fmt: str, started: datetime) -> None:
    if result.ingest_id is None:
        result.ingest_id = store.next_id("ingests", "ingest_id")
    row = {
        "ingest_id": result.ingest_id, "batch_id": f"revenue-{result.ingest_id}", "path": result.path,
        "sha256": result.sha256, "mapping_sha256": result.mapping_sha256, "format": fmt,
        "focus_version": None, "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined, "rows_superseded": 0, "status": result.status,
        "superseded_by": None, "message": result.message, "started_at": started, "finished_at": _now(),
    }  # fmt: skip
    store.append("ingests", store.memtable([row], "ingests"))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
