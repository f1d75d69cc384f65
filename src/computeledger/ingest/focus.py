"""Ingest of FOCUS files into the ledger: one file, one transaction.

For every file: rows read = rows loaded + rows quarantined. A file that is not
FOCUS, or lacks mandatory columns, is refused whole. An identical file (same
sha256) is a duplicate and changes nothing. A new export for the same provider,
billing account and billing period replaces the earlier rows (providers restate
open months); files given in one call are one export and never replace each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from computeledger.errors import UsageError
from computeledger.ingest import stage as staging
from computeledger.ingest.files import discover, file_format, fingerprint
from computeledger.ingest.mapping import Mapping, MappingMismatch
from computeledger.ingest.normalize import RAW, REASON, ROW, normalize
from computeledger.schema.focus import COLUMNS, canonical_name, detect_version, missing_mandatory

if TYPE_CHECKING:
    from computeledger.ledger import Ledger

LINES = "cl_lines"
_ROWS_PER_INGEST = 10_000_000_000  # x_charge_id = ingest_id * this + row


class Refused(Exception):
    """The whole file is refused; nothing of it is loaded."""


@dataclass
class FileResult:
    """What happened to one file; the CLI prints it, `--format json` prints it as is."""

    path: str
    sha256: str | None = None
    status: str = "loaded"
    format: str | None = None
    focus_version: str | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    rows_replaced: int = 0
    ingest_id: int | None = None
    mapping: str | None = None
    mapping_sha256: str | None = None
    message: str | None = None
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def ingest_files(
    ledger: Ledger,
    paths: Sequence[str | Path],
    *,
    strict: bool = False,
    mapping: Mapping | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    batch = uuid.uuid4().hex
    results = []
    if ledger.store is not None and mapping is not None:
        raise UsageError("the Spark ledger ingests FOCUS Parquet files: map other bills on DuckDB")
    for path in discover(list(paths)):
        if ledger.store is not None:
            from computeledger.ingest import spark

            result = spark.ingest_file(ledger, path, file_format(path), batch=batch, strict=strict)
        else:
            result = ingest_file(ledger, path, batch=batch, strict=strict, mapping=mapping)
        results.append(result)
        if on_file:
            on_file(result)
    return results


def ingest_file(
    ledger: Ledger, path: Path, *, batch: str, strict: bool = False, mapping: Mapping | None = None
) -> FileResult:
    con = ledger.con
    started = _now()
    fmt = file_format(path)
    result = FileResult(path=str(path), format=fmt, mapping=mapping.path if mapping else None)
    mapping_sha = result.mapping_sha256 = mapping.sha256 if mapping else None
    if fmt is None:
        return _refuse(ledger, result, batch, started, "not a CSV, CSV.gz or Parquet file")
    if path.stat().st_size == 0:
        return _refuse(ledger, result, batch, started, "empty file")
    try:
        # The fingerprint (one read of the file) runs beside the staging (DuckDB reading
        # it): both leave the GIL, and staging writes only scratch tables.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(fingerprint, path, fmt)
            try:
                staged, header_map = _prepare(con, path, fmt, result, mapping)
            finally:
                fp = pending.result()
                result.sha256 = fp.sha256
        earlier = con.con.execute(
            "SELECT ingest_id FROM ingests WHERE sha256 = ? AND status IN ('loaded', 'superseded') "
            "AND mapping_sha256 IS NOT DISTINCT FROM ? ORDER BY ingest_id LIMIT 1",
            [fp.sha256, mapping_sha],
        ).fetchone()
        if earlier:
            result.status = "duplicate"
            result.message = f"identical to ingest #{earlier[0]}: nothing changed"
            result.focus_version = None
            _record(ledger, result, batch, started)
            return result
        con.con.execute("BEGIN TRANSACTION")
        try:
            _load(ledger, staged, header_map, path, fmt, fp.lines, result, batch, strict)
            _record(ledger, result, batch, started)
            con.con.execute("COMMIT")
        except BaseException:
            con.con.execute("ROLLBACK")
            raise
    except Refused as exc:
        return _refuse(ledger, result, batch, started, str(exc))
    finally:
        _drop_scratch(con)
    return result


def _prepare(
    con, path: Path, fmt: str, result: FileResult, mapping: Mapping | None = None
) -> tuple[staging.Staged, dict[str, str]]:
    """Stage the file (through its mapping, if any) and map its columns; refuse it if it is not FOCUS."""
    try:
        staged = staging.stage(con, path, fmt)
        if mapping is not None:
            staged = staging.apply_mapping(con, staged, mapping)
    except (staging.Unreadable, MappingMismatch) as exc:
        raise Refused(str(exc)) from exc
    return staged, focus_columns(staged.columns, result)


def focus_columns(columns: list[str], result: FileResult) -> dict[str, str]:
    """The file's columns mapped to FOCUS ones, its version noted; refused unless it is FOCUS."""
    header_map = map_headers(columns)
    result.focus_version = detect_version(set(header_map.values()))
    if not header_map:
        raise Refused(
            f"not a FOCUS file: none of its columns is a FOCUS column (it has {_shown_columns(columns)})"
        )
    missing = missing_mandatory(set(header_map.values()))
    if missing:
        raise Refused("missing mandatory FOCUS columns: " + ", ".join(missing))
    return header_map


def _load(ledger, staged, header_map, path: Path, fmt: str, lines, result: FileResult, batch, strict):
    """Normalise and write the file in one pass. Rejected rows travel through `charges`
    with a negative x_charge_id, their reason in x_quality_flags and their raw text in
    x_extensions, and are moved to `quarantine` before the transaction commits: one
    computation and one write of the data, and no reader ever sees them in `charges`."""
    con = ledger.con
    ingest_id = con.con.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests").fetchone()[0]
    result.ingest_id = ingest_id
    try:
        con.con.execute(
            _insert_sql(con, staged, header_map),
            {"base": ingest_id * _ROWS_PER_INGEST, "ingest": ingest_id, "path": str(path)},
        )
    except Exception as exc:  # the reader fails on rows it meets late (encoding, quoting)
        if "duckdb" in type(exc).__module__:
            raise Refused(f"not a readable file: {staging._first_line(exc)}") from exc
        raise
    good_n, bad_n = con.con.execute(
        "SELECT count(*) FILTER (x_charge_id >= 0), count(*) FILTER (x_charge_id < 0) "
        "FROM charges WHERE x_ingest_id = ?",
        [ingest_id],
    ).fetchone()
    rejects = staging.csv_rejects(con) if fmt != "parquet" else []
    result.rows_read = good_n + bad_n + len(rejects)
    starts: list[int] = []
    if fmt != "parquet" and (rejects or lines != result.rows_read + 1):
        starts = _renumber_lines(con, ingest_id, path, fmt, rejects)

    if strict and (bad_n or rejects):
        raise Refused(
            f"--strict: {bad_n + len(rejects)} rows break FOCUS rules; "
            + _first_problems(con, ingest_id, rejects, starts)
        )
    con.con.execute(
        "INSERT INTO quarantine SELECT x_ingest_id, x_source_file, x_source_line, x_extensions, "
        "x_quality_flags FROM charges WHERE x_ingest_id = ? AND x_charge_id < 0",
        [ingest_id],
    )
    con.con.execute("DELETE FROM charges WHERE x_ingest_id = ? AND x_charge_id < 0", [ingest_id])
    for record, raw, message in rejects:
        con.con.execute(
            "INSERT INTO quarantine VALUES (?, ?, ?, ?, ?)",
            [ingest_id, str(path), _reject_line(starts, record), raw,
             f"row cannot be read: {message}"],
        )  # fmt: skip
    result.rows_replaced = _supersede(con, ingest_id, batch)
    result.rows_loaded = good_n
    result.rows_quarantined = bad_n + len(rejects)
    if result.rows_quarantined:
        result.reasons = _reason_counts(con, ingest_id)


def map_headers(columns: list[str]) -> dict[str, str]:
    """File column to FOCUS column. Two file columns naming one FOCUS column refuse the file."""
    mapping: dict[str, str] = {}
    for c in columns:
        name, _ = canonical_name(c)
        if name is None:
            continue
        if name in mapping.values():
            other = next(k for k, v in mapping.items() if v == name)
            raise Refused(f"columns {other!r} and {c!r} both name the FOCUS column {name}")
        mapping[c] = name
    return mapping


def _renumber_lines(con, ingest_id: int, path: Path, fmt: str, rejects) -> list[int]:
    """Exact lines where records span lines, or rows were rejected or blank: read from
    the file and set on this ingest's rows. Returns each record's start line."""
    starts = staging.record_lines(con, path, fmt)
    rejected = {record for record, _, _ in rejects}
    con.con.register(LINES, staging.line_map(starts, rejected))
    con.con.execute(
        f"UPDATE charges SET x_source_line = m.line FROM {LINES} m "
        f"WHERE charges.x_ingest_id = ? AND abs(charges.x_charge_id) - ? = m.{ROW}",
        [ingest_id, ingest_id * _ROWS_PER_INGEST],
    )
    return starts


def _reject_line(starts: list[int], record: int) -> int:
    return starts[record - 1] if 0 < record <= len(starts) else record + 1


_TARGET = [c.name for c in COLUMNS] + [
    "x_charge_id", "x_ingest_id", "x_source_file", "x_source_line", "x_quality_flags", "x_extensions",
]  # fmt: skip
_SQL_CACHE: dict[tuple, str] = {}


def _insert_sql(con, staged: staging.Staged, header_map: dict[str, str]) -> str:
    """INSERT of the normalised rows, with the ingest's own values as parameters, so the
    (costly) compilation of the FOCUS rules happens once per column layout."""
    # what the SQL depends on: the staged columns and their types, and how they were staged
    key = (tuple(staged.table.schema().items()), staged.first_line, staged.source, id(con))
    if key not in _SQL_CACHE:
        norm = con.compile(normalize(staged.table, header_map))
        focus = ", ".join(f'"{c.name}"' for c in COLUMNS)
        bad = f"{REASON} IS NOT NULL"
        _SQL_CACHE[key] = (
            f"INSERT INTO charges ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in _TARGET)}) "
            f"SELECT {focus}, "
            f"CASE WHEN {bad} THEN -({ROW} + $base) ELSE {ROW} + $base END, "
            f"$ingest, $path, {ROW} + {staged.first_line}, "
            f"CASE WHEN {bad} THEN {REASON} ELSE x_quality_flags END, "
            f"CASE WHEN {bad} THEN {RAW} ELSE x_extensions END "
            f"FROM ({norm})"
        )
    return _SQL_CACHE[key]


_PROVIDER_KEY = "coalesce(HostProviderName, ServiceProviderName)"


def _supersede(con, ingest_id: int, batch: str) -> int:
    """Replace earlier rows of the same provider, billing account and billing period
    coming from other ingest calls; mark wholly replaced ingests superseded."""
    raw = con.con
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE cl_keys AS SELECT DISTINCT {_PROVIDER_KEY} AS p, "
        "BillingAccountId AS a, BillingPeriodStart AS b FROM charges WHERE x_ingest_id = ?",
        [ingest_id],
    )
    match = (
        f"EXISTS (SELECT 1 FROM cl_keys k WHERE k.p = {_PROVIDER_KEY} "
        "AND k.a = charges.BillingAccountId AND k.b = charges.BillingPeriodStart) "
        "AND x_ingest_id IN (SELECT ingest_id FROM ingests WHERE batch_id <> ?)"
    )
    gone = raw.execute(
        f"SELECT x_ingest_id, count(*) FROM charges WHERE {match} GROUP BY 1", [batch]
    ).fetchall()
    if not gone:
        return 0
    raw.execute(f"DELETE FROM charges WHERE {match}", [batch])
    for old_id, n in gone:
        raw.execute(
            "UPDATE ingests SET rows_superseded = rows_superseded + ?, superseded_by = ?, "
            "status = CASE WHEN rows_loaded - rows_superseded - ? <= 0 THEN 'superseded' "
            "ELSE status END WHERE ingest_id = ?",
            [n, ingest_id, n, old_id],
        )
    return sum(n for _, n in gone)


def _first_problems(con, ingest_id: int, rejects, starts, limit: int = 3) -> str:
    rows = con.con.execute(
        "SELECT x_source_line, x_quality_flags FROM charges WHERE x_ingest_id = ? "
        "AND x_charge_id < 0 ORDER BY x_source_line LIMIT ?",
        [ingest_id, limit],
    ).fetchall()
    items = [f"line {line}: {reason}" for line, reason in rows]
    items += [f"line {_reject_line(starts, rec)}: row cannot be read: {m}" for rec, _, m in rejects]
    return "; ".join(items[:limit])


def _reason_counts(con, ingest_id: int, limit: int = 10) -> list[str]:
    rows = con.con.execute(
        "SELECT reason, count(*) AS n, min(source_line) FROM quarantine WHERE ingest_id = ? "
        "GROUP BY reason ORDER BY n DESC, reason LIMIT ?",
        [ingest_id, limit],
    ).fetchall()
    return [f"{n} row(s), first at line {line}: {reason}" for reason, n, line in rows]


def _refuse(ledger, result: FileResult, batch, started, message: str) -> FileResult:
    result.status = "refused"
    result.message = message
    result.reasons = [message]
    result.rows_loaded = result.rows_quarantined = 0
    result.ingest_id = None
    con = ledger.con.con
    con.execute("BEGIN TRANSACTION")
    try:
        _record(ledger, result, batch, started)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return result


def _record(ledger, result: FileResult, batch: str, started: datetime) -> None:
    raw = ledger.con.con
    if result.ingest_id is None:
        result.ingest_id = raw.execute("SELECT coalesce(max(ingest_id), 0) + 1 FROM ingests").fetchone()[0]
    raw.execute(
        "INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, ?, ?, ?)",
        [
            result.ingest_id, batch, result.path, result.sha256, result.mapping_sha256, result.format,
            result.focus_version, result.rows_read, result.rows_loaded, result.rows_quarantined,
            result.status, result.message, started, _now(),
        ],
    )  # fmt: skip


def _drop_scratch(con) -> None:
    for view in (staging.MAPPED, staging.NUMBERED, staging.SRC):
        con.con.execute(f"DROP VIEW IF EXISTS {view}")
    for name in ("cl_keys", staging.STAGE):
        con.con.execute(f"DROP TABLE IF EXISTS {name}")
    con.con.unregister(LINES)


def _shown_columns(columns: list[str], limit: int = 8) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} columns)" if len(columns) > limit else "")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
