"""Documents into the ledger: the reader every non-FOCUS table of money shares (customer
invoices, payments, revenue-share statements, bank lines, funding rounds).

Each file is one kind, told by its columns (or by its mapping's `kind`); other layouts
come in through a TOML mapping as bills do. The promises are the bills': exact decimals;
rows read = loaded + quarantined, each quarantined row with its line and reason; an
identical file changes nothing; one unit of work per file; and a re-issued document
replaces the earlier one (same id from another file; for a bank statement, the lines of
the same account and dates). No exchange rate is guessed: each row keeps its currency.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.ingest.files import discover, file_format, fingerprint, path_text
from computeledger.ingest.focus import stage_through
from computeledger.ingest.lines import LINE_COLUMN, ROW_COLUMN, line_map, record_lines, reject_line
from computeledger.ingest.mapping import Mapping
from computeledger.ingest.normalize import MOVED_FLAG, RAW, REASON, ROW
from computeledger.ingest.results import FileResult, Refused
from computeledger.ingest.rounding import as_json, residue_sums
from computeledger.ingest.typed import FLAGS, RESIDUE_OF, Field, match_columns, read_fields
from computeledger.schema.tables import TABLES
from computeledger.store import Store

#: `Kind.unique` for a document whose lines may share any one field but not all of them
WHOLE_LINE = ("*",)


@dataclass(frozen=True)
class Kind:
    """A kind of document: its table, how a re-issue is recognised, its fields."""

    name: str
    table: str
    key: str | None  # the id a re-issued document repeats (None: replaced by `replaces`)
    fields: tuple[Field, ...]
    signature: frozenset[str]  # columns that tell a file of this kind
    #: (table, this file's good rows) -> the earlier rows this file replaces
    replaces: Callable[[ir.Table, ir.Table], ir.BooleanValue] | None = None
    #: extra columns computed from the typed rows (quality flags, cleaned values)
    finish: Callable[[ir.Table], ir.Table] | None = None
    #: fields no two lines of one file share (a payment id), or WHOLE_LINE: every field
    unique: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """Kinds read by one command (`revenue`, `cash`): the name its ingests are recorded
    under, and what to say when a file's columns match none of them."""

    name: str
    kinds: dict[str, Kind]
    unknown: str


def ingest_documents(store: Store, paths, family: Family, mapping: Mapping | None = None) -> list[FileResult]:
    """Load every file named or under a folder named, one unit of work each."""
    return [_one(store, path, family, mapping) for path in discover(list(paths))]


def _kind_of(columns: list[str], family: Family, mapping: Mapping | None) -> Kind:
    if mapping is not None and mapping.kind:
        return family.kinds[mapping.kind]
    names = {c.strip().lower().lstrip("\ufeff") for c in columns}
    for kind in family.kinds.values():
        if kind.signature <= names:
            return kind
    raise Refused(family.unknown)


def _one(store: Store, path: Path, family: Family, mapping: Mapping | None) -> FileResult:
    started = _now()
    fmt = file_format(path)
    result = FileResult(path=path_text(path), format=fmt, mapping=mapping.path if mapping else None)
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
        same &= ingests.format.startswith(family.name)
        earlier = ingests.filter(same).ingest_id.min().to_pyarrow().as_py()
        if earlier is not None:
            result.status, result.message = "duplicate", f"identical to ingest #{earlier}: nothing changed"
            _record(store, result, family.name, started)
            return result
        staged = stage_through(store, path, fmt, mapping)
        kind = _kind_of(staged.columns, family, mapping)
        columns = match_columns(staged.columns, list(kind.fields))
        missing = [f.name for f in kind.fields if f.required and f.name not in columns]
        if missing:
            raise Refused(f"{kind.name}: missing column(s) {', '.join(missing)}")
        with store.transaction():
            _load(store, staged, kind, columns, path, fmt, fp.lines, result)
            _record(store, result, f"{family.name}-{kind.name}", started)
    except Refused as exc:
        result.status, result.message, result.reasons = "refused", str(exc), [str(exc)]
        result.rows_loaded = result.rows_quarantined = 0
        result.ingest_id = None
        with store.transaction():
            _record(store, result, family.name, started)
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
        source_file=ibis.literal(path_text(path)),
        source_line=line,
        currency=rows.currency.upper(),  # ISO 4217 codes, whatever case the export writes
    )
    if kind.finish is not None:
        rows = kind.finish(rows)
    rows = _checked(rows, kind)
    schema = TABLES[kind.table]
    with store.scratch(rows) as typed:
        good = typed.filter(typed[REASON].isnull())
        store.append(kind.table, good.select(**{c: good[c].cast(schema[c]) for c in schema.names}))
        bad = typed.filter(typed[REASON].notnull())
        store.append("quarantine", bad.select(
            ingest_id=bad.ingest_id, source_file=bad.source_file, source_line=bad.source_line.cast("int64"),
            raw=bad[RAW], reason=bad[REASON],
        ))  # fmt: skip
        moved = typed[FLAGS].contains(MOVED_FLAG).fill_null(False) & typed[REASON].isnull()
        counts = (
            typed.aggregate(bad=typed[REASON].notnull().sum(), n=typed.count(), moved=moved.sum())
            .to_pyarrow()
            .to_pylist()[0]
        )
        if counts["moved"]:
            result.message = (
                f"{counts['moved']} row(s) with a time and offset fall in another month in UTC, the month "
                "the ledger counts them in (flagged offset_moved_month where the table keeps flags)"
            )
        result.rounding = _rounding(good, kind)
        if kind.key is not None:
            keys = good.select(good[kind.key]).distinct()
            store.delete(kind.table, lambda t: t[kind.key].isin(keys[kind.key]) & (t.ingest_id != ingest_id))
        elif kind.replaces is not None:
            store.delete(kind.table, lambda t: kind.replaces(t, good) & (t.ingest_id != ingest_id))
    if rejects:
        store.append("quarantine", store.memtable([
            {"ingest_id": ingest_id, "source_file": path_text(path), "source_line": reject_line(starts, rec),
             "raw": raw, "reason": f"row cannot be read: {message}"} for rec, raw, message in rejects
        ], "quarantine"))  # fmt: skip
    result.rows_quarantined = (counts["bad"] or 0) + len(rejects)
    result.rows_loaded = counts["n"] - (counts["bad"] or 0)
    q = store.table("quarantine")
    q = q.filter(q.ingest_id == ingest_id)
    reasons = q.group_by("reason").aggregate(n=q.count(), line=q.source_line.min()).order_by(ibis.desc("n"))
    result.reasons = [f"{r['n']} row(s), first at line {r['line']}: {r['reason']}"
                      for r in reasons.limit(10).to_pyarrow().to_pylist()]  # fmt: skip


def _checked(rows: ir.Table, kind: Kind) -> ir.Table:
    """Quarantine what a document cannot mean: a currency that is not an ISO code, a period
    ending before it starts, a share outside 0 to 1, a line repeated in one file."""

    def flag(t: ir.Table, bad: ir.BooleanValue, why: ir.StringValue) -> ir.Table:
        return t.mutate(**{REASON: ibis.coalesce(t[REASON], ibis.ifelse(bad, why, None))})

    code = (
        "currency "
        + rows.currency
        + ": a three-letter ISO 4217 code such as USD (never a symbol or a number)"
    )
    rows = flag(rows, ~rows.currency.re_search(r"^[A-Z]{3}$"), code)
    if {"period_start", "period_end"} <= set(rows.columns):
        end, start = rows.period_end.cast("string"), rows.period_start.cast("string")
        rows = flag(
            rows,
            rows.period_end < rows.period_start,
            "period_end " + end + " is before period_start " + start,
        )
    if "rate" in rows.columns:
        rows = flag(
            rows,
            (rows.rate < 0) | (rows.rate > 1),
            "rate " + rows.rate.cast("string") + " is not a share from 0 to 1",
        )
    return _repeats(rows, kind) if kind.unique else rows


def _repeats(rows: ir.Table, kind: Kind) -> ir.Table:
    """Quarantine a line that repeats an earlier line of the same file in `kind.unique`
    (summed, it would count one payment or one invoice line twice)."""
    whole = kind.unique == WHOLE_LINE
    fields = [f.name for f in kind.fields] if whole else list(kind.unique)
    first = rows.source_line.min().over(ibis.window(group_by=[rows[c] for c in fields]))
    what = (
        ibis.literal("the whole line repeats line ")
        if whole
        else ibis.literal(f"{fields[0]} ") + rows[fields[0]].cast("string") + " repeats line "
    )
    why = what + first.cast("string") + " of this file: counted once"
    return rows.mutate(
        **{REASON: ibis.coalesce(rows[REASON], ibis.ifelse(rows.source_line > first, why, None))}
    )


def _rounding(good: ir.Table, kind: Kind) -> dict:
    """Per decimal field, the rows rounded past the 18th place and their residues' exact sum."""
    names = [f.name for f in kind.fields if f.kind == "decimal" and RESIDUE_OF + f.name in good.columns]
    return residue_sums(good, {name: good[RESIDUE_OF + name] for name in names})


def _record(store: Store, result: FileResult, fmt: str, started: datetime) -> None:
    if result.ingest_id is None:
        result.ingest_id = store.next_id("ingests", "ingest_id")
    row = {
        "ingest_id": result.ingest_id, "batch_id": f"{fmt.split('-')[0]}-{result.ingest_id}",
        "path": result.path,
        "sha256": result.sha256, "mapping_sha256": result.mapping_sha256, "format": fmt,
        "focus_version": None, "version_evidence": None, "rounding": as_json(result.rounding),
        "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined, "rows_superseded": 0, "status": result.status,
        "superseded_by": None, "message": result.message, "started_at": started, "finished_at": _now(),
    }  # fmt: skip
    store.append("ingests", store.memtable([row], "ingests"))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
