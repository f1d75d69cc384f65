"""Ingest of FOCUS Parquet files into a ledger on Spark.

The same FOCUS rules as on DuckDB (`normalize`, one Ibis expression) and the same
promises: rows read = rows loaded + rows quarantined, identical files are duplicates, a
new export of a provider, billing account and billing period replaces the earlier rows.
What differs is how a file is made atomic: its rows are normalised once into a scratch
folder, appended to `charges` and `quarantine`, and become visible when its `ingests`
row is written, last (see `computeledger.backends.spark`).

CSV files are for the DuckDB ledger; on Spark, convert them to Parquet first.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import ibis

from computeledger.ingest.files import fingerprint
from computeledger.ingest.focus import _ROWS_PER_INGEST, FileResult, Refused, focus_columns
from computeledger.ingest.normalize import RAW, REASON, ROW, normalize
from computeledger.schema.focus import COLUMNS
from computeledger.schema.tables import CHARGES, QUARANTINE

if TYPE_CHECKING:
    from computeledger.ledger import Ledger

_EXPR_CACHE: dict[tuple, tuple] = {}


def ingest_file(
    ledger: Ledger, path: Path, fmt: str | None, *, batch: str, strict: bool = False
) -> FileResult:
    store = ledger.store
    started = _now()
    result = FileResult(path=str(path), format=fmt)
    if fmt != "parquet":
        message = "the Spark ledger ingests Parquet files (convert CSV first)"
        return _refuse(ledger, result, batch, started, message)
    if path.stat().st_size == 0:
        return _refuse(ledger, result, batch, started, "empty file")
    fp = fingerprint(path, fmt)
    result.sha256 = fp.sha256
    ingests = ledger.ingests
    earlier = (
        ingests.filter((ingests.sha256 == fp.sha256) & ingests.status.isin(["loaded", "superseded"]))
        .filter(ingests.mapping_sha256.isnull())
        .ingest_id.min()
        .to_pyarrow()
        .as_py()
    )
    if earlier is not None:
        result.status = "duplicate"
        result.message = f"identical to ingest #{earlier}: nothing changed"
        _record(ledger, result, batch, started)
        return result
    try:
        raw, columns = _stage(store, path)
        header_map = focus_columns(columns, result)
        _load(ledger, raw, header_map, path, result, batch, strict)
    except Refused as exc:
        return _refuse(ledger, result, batch, started, str(exc))
    _record(ledger, result, batch, started)  # the commit: the file's rows become visible
    return result


def _stage(store, path: Path):
    """The file as text columns with ROW, its 0-based row number in the file."""
    try:
        df = store.spark.read.parquet(str(path))
        columns = list(df.columns)
        df = df.select("*", "_metadata.row_index")
    except Exception as exc:  # Spark's analysis errors: not Parquet, damaged footer
        raise Refused(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    view = "cl_stage"
    df.createOrReplaceTempView(view)
    src = store.con.table(view)
    text = {}
    for c in columns:
        typ = src[c].type()
        if typ.is_string():
            text[c] = src[c]
        elif typ.is_map() or typ.is_struct() or typ.is_array():
            text[c] = src[c].cast("json").cast("string")
        else:
            text[c] = src[c].cast("string")
    text[ROW] = src["row_index"]
    return src.select(**text), columns


def _normalized(raw, header_map) -> tuple:
    """The normalised rows with their ids and provenance, and the three parameters they
    take (id base, ingest id, path): built once per column layout."""
    key = (tuple(raw.schema().items()), tuple(sorted(header_map.items())))
    if key not in _EXPR_CACHE:
        n = normalize(raw, header_map)
        bad = n[REASON].notnull()
        base, ingest, source = ibis.param("int64"), ibis.param("int64"), ibis.param("string")
        rows = n.select(
            *[c.name for c in COLUMNS],
            x_charge_id=ibis.ifelse(bad, -(n[ROW] + base), n[ROW] + base),
            x_ingest_id=ingest,
            x_source_file=source,
            x_source_line=n[ROW] + 1,
            x_quality_flags=ibis.ifelse(bad, n[REASON], n.x_quality_flags),
            x_extensions=ibis.ifelse(bad, n[RAW], n.x_extensions),
        )
        _EXPR_CACHE[key] = (rows, base, ingest, source)
    return _EXPR_CACHE[key]


def _load(ledger, raw, header_map, path: Path, result: FileResult, batch: str, strict: bool) -> None:
    from pyspark.sql import functions as F

    store = ledger.store
    ingest_id = store.next_id()
    result.ingest_id = ingest_id
    expr, base, ingest, source = _normalized(raw, header_map)
    params = {base: ingest_id * _ROWS_PER_INGEST, ingest: ingest_id, source: str(path)}
    store.con._run_pre_execute_hooks(expr)
    df = store.spark.sql(store.con.compile(expr, params=params))
    try:
        rows, where = store.scratch(df, f"ingest-{ingest_id}")  # the file normalised, once
    except Exception as exc:  # rows Spark cannot read, met while reading them
        raise Refused(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
    try:
        counts = rows.agg(
            F.sum((F.col("x_charge_id") >= 0).cast("long")).alias("good"),
            F.sum((F.col("x_charge_id") < 0).cast("long")).alias("bad"),
        ).collect()[0]
        good, bad = counts["good"] or 0, counts["bad"] or 0
        result.rows_read = good + bad
        if strict and bad:
            first = rows.filter("x_charge_id < 0").orderBy("x_source_line").limit(3).collect()
            shown = "; ".join(f"line {r['x_source_line']}: {r['x_quality_flags']}" for r in first)
            raise Refused(f"--strict: {bad} rows break FOCUS rules; {shown}")
        store.append("charges", rows.filter("x_charge_id >= 0").select(*CHARGES.names))
        if bad:
            quarantined = rows.filter("x_charge_id < 0").selectExpr(
                "x_ingest_id AS ingest_id", "x_source_file AS source_file", "x_source_line AS source_line",
                "x_extensions AS raw", "x_quality_flags AS reason",
            )  # fmt: skip
            store.append("quarantine", quarantined.select(*QUARANTINE.names))
            result.reasons = [
                f"{r['n']} row(s), first at line {r['line']}: {r['reason']}"
                for r in quarantined.groupBy("reason")
                .agg(F.count("*").alias("n"), F.min("source_line").alias("line"))
                .orderBy(F.desc("n"), "reason")
                .limit(10)
                .collect()
            ]
        result.rows_loaded, result.rows_quarantined = good, bad
        result.rows_replaced = _supersede(ledger, rows, ingest_id, batch)
    finally:
        shutil.rmtree(where, ignore_errors=True)


def _supersede(ledger, rows, ingest_id: int, batch: str) -> int:
    """Rows of earlier ingests (from other calls) for the same provider, billing account
    and billing period are replaced: their ingests' partitions are rewritten without them,
    and an ingest left with no rows is marked superseded."""
    from pyspark.sql import functions as F

    store = ledger.store
    key = F.coalesce(F.col("HostProviderName"), F.col("ServiceProviderName"))
    keys = rows.filter("x_charge_id >= 0").select(
        key.alias("k_p"), F.col("BillingAccountId").alias("k_a"), F.col("BillingPeriodStart").alias("k_b")
    ).distinct()
    ingests = ledger.ingests
    others = ingests.filter((ingests.batch_id != batch) & (ingests.status == "loaded")).ingest_id
    other_ids = others.to_pyarrow().to_pylist()
    if not other_ids:
        return 0
    current = store.dataframe(ledger.charges.filter(ledger.charges.x_ingest_id.isin(other_ids)))
    cond = (
        (key.eqNullSafe(F.col("k_p")))
        & (F.col("BillingAccountId").eqNullSafe(F.col("k_a")))
        & (F.col("BillingPeriodStart").eqNullSafe(F.col("k_b")))
    )
    hit = current.join(F.broadcast(keys), cond, "left_semi")
    per_ingest = hit.groupBy("x_ingest_id").agg(F.count("*").alias("n")).collect()
    gone = {r["x_ingest_id"]: r["n"] for r in per_ingest}
    if not gone:
        return 0
    affected = current.filter(F.col("x_ingest_id").isin(list(gone)))
    kept, where = store.scratch(affected.join(F.broadcast(keys), cond, "left_anti"), "supersede")
    try:
        for old in gone:  # partitions left empty would not be overwritten: drop them all first
            store.drop_partition("charges", old)
        store.append("charges", kept)
    finally:
        shutil.rmtree(where, ignore_errors=True)
    t = ledger.ingests
    n_gone = ibis.cases(*[(t.ingest_id == i, n) for i, n in gone.items()], else_=0)
    left = t.rows_loaded - t.rows_superseded - n_gone
    hit_row = t.ingest_id.isin(list(gone))
    store.rewrite(
        "ingests",
        t.mutate(
            rows_superseded=t.rows_superseded + n_gone,
            superseded_by=ibis.ifelse(hit_row, ingest_id, t.superseded_by),
            status=ibis.ifelse(hit_row & (left <= 0), "superseded", t.status),
        ),
    )
    return sum(gone.values())


def _refuse(ledger, result: FileResult, batch: str, started, message: str) -> FileResult:
    result.status = "refused"
    result.message = message
    result.reasons = [message]
    result.rows_loaded = result.rows_quarantined = 0
    result.ingest_id = None
    _record(ledger, result, batch, started)
    return result


def _record(ledger, result: FileResult, batch: str, started: datetime) -> None:
    store = ledger.store
    if result.ingest_id is None:
        result.ingest_id = store.next_id()
    row = {
        "ingest_id": result.ingest_id, "batch_id": batch, "path": result.path, "sha256": result.sha256,
        "mapping_sha256": None, "format": result.format, "focus_version": result.focus_version,
        "rows_read": result.rows_read, "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined, "rows_superseded": 0, "status": result.status,
        "superseded_by": None, "message": result.message, "started_at": started, "finished_at": _now(),
    }  # fmt: skip
    store.append("ingests", store.memtable([row], "ingests"))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
