"""Ingest of FOCUS files into the ledger: one file, one unit of work, on any store.

For every file: rows read = rows loaded + rows quarantined. A file that is not
FOCUS, or lacks mandatory columns, is refused whole. An identical file (same
sha256) is a duplicate and changes nothing. A new export for the same provider,
billing account and billing period replaces the earlier rows (providers restate
open months); files given in one call are one export and never replace each other.

The store reads the file into text columns; the FOCUS rules are one Ibis expression
(`normalize`), computed once into a scratch table from which the good rows go to
`charges` and the rejected ones to `quarantine`; the `ingests` row, written last,
records (and on Spark commits) the file.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from computeledger.ingest.api_reports import COST_COLUMNS, COST_FORMATS, NotAReport, cost_rows, sniff
from computeledger.ingest.files import discover, file_format, fingerprint, path_text
from computeledger.ingest.lines import LINE_COLUMN, ROW_COLUMN, line_map, record_lines, reject_line
from computeledger.ingest.mapping import Mapping, MappingMismatch, apply_mapping
from computeledger.ingest.normalize import RAW, REASON, ROUNDED_FLAG, ROW, normalize
from computeledger.ingest.results import FileResult, Refused
from computeledger.ingest.rounding import as_json, residue_totals
from computeledger.schema.focus import COLUMNS, Kind, canonical_name, missing_mandatory, version_evidence
from computeledger.schema.tables import CHARGES
from computeledger.store import Staged, Store, Unreadable

MAX_COLUMNS = 1000
ROWS_PER_INGEST = 10_000_000_000  # x_charge_id = ingest_id * this + row
_NORMALIZED: dict[tuple, tuple[ir.Table, dict]] = {}


def ingest_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    strict: bool = False,
    mapping: Mapping | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Ingest every file named or under a folder named, in order; one call is one batch
    (its files are parts of one export and never replace each other)."""
    batch = uuid.uuid4().hex
    results = []
    for path in discover(list(paths), also=cost_report):
        result = ingest_file(store, path, batch=batch, strict=strict, mapping=mapping)
        results.append(result)
        if on_file:
            on_file(result)
    return results


def ingest_file(
    store: Store, path: Path, *, batch: str, strict: bool = False, mapping: Mapping | None = None
) -> FileResult:
    """Ingest one file: loaded (with its quarantined rows), duplicate, or refused."""
    started = _now()
    fmt = file_format(path) or cost_report(path)
    result = FileResult(path=path_text(path), format=fmt, mapping=mapping.path if mapping else None)
    mapping_sha = result.mapping_sha256 = mapping.sha256 if mapping else None
    if fmt is None:
        return _refuse(
            store, result, batch, started,
            "not a CSV, CSV.gz or Parquet file, nor an OpenAI or Anthropic cost report (JSON)",
        )  # fmt: skip
    if path.stat().st_size == 0:
        return _refuse(store, result, batch, started, "empty file")
    try:
        # The fingerprint (one read of the file) runs beside the staging (the engine
        # reading it): both leave the GIL, and staging writes only scratch tables.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(fingerprint, path, fmt)
            try:
                staged, header_map = _prepare(store, path, fmt, result, mapping)
            finally:
                fp = pending.result()
                result.sha256 = fp.sha256
        earlier = _earlier(store, fp.sha256, mapping_sha)
        if earlier is not None:
            result.status = "duplicate"
            result.message = f"identical to ingest #{earlier}: nothing changed"
            result.focus_version = result.version_evidence = None
            _record(store, result, batch, started)
            return result
        with store.transaction():
            _load(store, staged, header_map, path, fmt, fp.lines, result, batch, strict)
            _record(store, result, batch, started)  # on Spark, the commit
    except Refused as exc:
        return _refuse(store, result, batch, started, str(exc))
    return result


def _earlier(store: Store, sha256: str, mapping_sha: str | None) -> int | None:
    """The first ingest of the same bytes (read through the same mapping), if any."""
    t = store.table("ingests")
    same_mapping = t.mapping_sha256.isnull() if mapping_sha is None else t.mapping_sha256 == mapping_sha
    hit = t.filter((t.sha256 == sha256) & t.status.isin(["loaded", "superseded"]) & same_mapping)
    return hit.ingest_id.min().to_pyarrow().as_py()


def stage_through(store: Store, path: Path, fmt: str, mapping: Mapping | None = None) -> Staged:
    """The file as text columns, seen through its mapping if any; refused if unreadable."""
    try:
        if fmt in COST_FORMATS:
            return _staged_report(path, fmt)
        staged = store.stage(path, fmt)
        return apply_mapping(staged, mapping) if mapping is not None else staged
    except (Unreadable, MappingMismatch, NotAReport) as exc:
        raise Refused(str(exc)) from exc


def cost_report(path: Path) -> str | None:
    """The cost report format of a JSON file (OpenAI's Costs API, Anthropic's cost report),
    told from its content; None for any other file."""
    if not path.name.lower().endswith((".json", ".jsonl", ".json.gz", ".jsonl.gz")):
        return None
    found = sniff(path)
    return found if found in COST_FORMATS else None


def _staged_report(path: Path, fmt: str) -> Staged:
    """A cost report as a staged file of FOCUS text columns, a row a result (numbered in
    the order of the response, as a Parquet file's rows are)."""
    rows = cost_rows(path, fmt)
    rows = rows.append_column(ROW, pa.array(range(rows.num_rows), pa.int64()))
    return Staged(ibis.memtable(rows), list(COST_COLUMNS), 1, fmt)


def _prepare(
    store: Store, path: Path, fmt: str, result: FileResult, mapping: Mapping | None = None
) -> tuple[Staged, dict[str, str]]:
    """Stage the file (through its mapping, if any) and map its columns; refuse it if it is not FOCUS."""
    staged = stage_through(store, path, fmt, mapping)
    if len(staged.columns) > MAX_COLUMNS:
        raise Refused(
            f"{len(staged.columns):,} columns: a bill is read with at most {MAX_COLUMNS:,} "
            "(FOCUS has about 60; others are kept as x_ extensions)"
        )
    header_map = focus_columns(staged.columns, result)
    declared = export_metadata(path)
    if declared is not None:
        version, source = declared
        said = f"{source} declares {version}"
        if version != result.focus_version:
            said += f"; the columns alone say {result.version_evidence}"
        result.focus_version, result.version_evidence = version, said
    twice = sorted(
        c for c in staged.columns
        if (m := re.fullmatch(r"(.+)_(\d+)", c)) and m.group(1) in staged.columns and m.group(1) in header_map
    )  # fmt: skip
    if twice:
        raise Refused(
            "the header names a FOCUS column more than once (which one holds the value is unknown): "
            + ", ".join(re.sub(r"_\d+$", "", c) for c in twice)
        )
    return staged, header_map


_METADATA_LIMIT = 1 << 20  # a metadata file larger than this is no export's manifest


def export_metadata(path: Path) -> tuple[str, str] | None:
    """The FOCUS version an export declares beside its data, with the file that says so:
    Azure Cost Management's `manifest.json` (exportConfig type FocusCost, dataVersion
    '1.0r2' is 1.0), or a FOCUS metadata file (`*metadata*.json` with FocusVersion, as the
    spec's Schema metadata). None when there is none or it cannot be read: the columns
    then decide alone."""
    candidates = [path.parent / "manifest.json", *sorted(path.parent.glob("*metadata*.json"))]
    for meta in candidates:
        try:
            if not meta.is_file() or meta.stat().st_size > _METADATA_LIMIT:
                continue
            doc = json.loads(meta.read_text(encoding="utf-8-sig"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict):
            continue
        config = doc.get("exportConfig")
        text = None
        if isinstance(config, dict) and "focus" in str(config.get("type", "")).lower():
            text = config.get("dataVersion")
        elif "FocusVersion" in doc:
            text = doc.get("FocusVersion")
        found = re.match(r"\s*(1\.\d)", str(text)) if text is not None else None
        if found:
            return found.group(1), meta.name
    return None


def focus_columns(columns: list[str], result: FileResult) -> dict[str, str]:
    """The file's columns mapped to FOCUS ones, its version noted; refused unless it is FOCUS."""
    header_map = map_headers(columns)
    result.focus_version, result.version_evidence = version_evidence(set(header_map.values()))
    if not header_map:
        raise Refused(
            f"not a FOCUS file: none of its columns is a FOCUS column (it has {_shown_columns(columns)})"
        )
    missing = missing_mandatory(set(header_map.values()))
    if missing:
        raise Refused("missing mandatory FOCUS columns: " + ", ".join(missing))
    return header_map


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


_PARAMS = ("base", "ingest", "path")


def _typed(
    staged: Staged, header_map: dict[str, str], lines: ir.Table | None = None
) -> tuple[ir.Table, dict]:
    """The FOCUS rules over the staged file as the charges table's rows: good rows with
    their ids and provenance, rejected ones with a negative x_charge_id, their reason in
    x_quality_flags and their raw text in x_extensions (moved to `quarantine` before the
    unit of work ends). The ingest's own values are parameters, so that for a folder of
    same-shaped files the store compiles the (large) expression once."""
    # unbound (tables by name and schema): a later ledger, or another connection, reuses it
    key = (tuple(header_map.items()), staged.source, staged.table.unbind().op(), staged.first_line)
    if lines is None and key in _NORMALIZED:
        return _NORMALIZED[key]
    n = normalize(staged.table, header_map)
    params = {"base": ibis.param("int64"), "ingest": ibis.param("int64"), "path": ibis.param("string")}
    line = n[ROW] + staged.first_line
    if lines is not None:
        n = n.left_join(lines, n[ROW] == lines[ROW_COLUMN])
        line = ibis.coalesce(n[LINE_COLUMN], n[ROW] + staged.first_line)
    bad = n[REASON].notnull()
    rows = n.select(
        *[c for c in CHARGES.names if not c.startswith("x_")],
        x_charge_id=ibis.ifelse(bad, -(n[ROW] + params["base"]), n[ROW] + params["base"]),
        x_ingest_id=params["ingest"],
        x_source_file=params["path"],
        x_source_line=line.cast("int64"),
        x_quality_flags=ibis.ifelse(bad, n[REASON], n.x_quality_flags),
        x_extensions=ibis.ifelse(bad, n[RAW], n.x_extensions),
    )
    if lines is None:
        if len(_NORMALIZED) > 32:
            _NORMALIZED.clear()
        rows = rows.unbind()
        _NORMALIZED[key] = (rows, params)
    return rows, params


def _load(store: Store, staged: Staged, header_map, path: Path, fmt: str, lines, result, batch, strict):
    """Normalise and write the file in one pass: every row goes to `charges`, the rejected
    ones marked, and these are then moved to `quarantine` with the records the reader
    could not split. One computation and one write of the data; no reader sees them."""
    ingest_id = store.next_id("ingests", "ingest_id")
    result.ingest_id = ingest_id
    rejects = staged.rejects
    result.rows_read = staged.table.count().to_pyarrow().as_py() + len(rejects)
    starts: list[int] = []
    line_table = None
    if fmt in ("csv", "csv.gz") and (rejects or lines != result.rows_read + 1):
        starts = record_lines(path, fmt, staged.delimiter, staged.quote)
        line_table = ibis.memtable(line_map(starts, {r for r, _, _ in rejects}))
    rows, params = _typed(staged, header_map, line_table)
    values = {"base": ingest_id * ROWS_PER_INGEST, "ingest": ingest_id, "path": path_text(path)}
    try:
        store.append("charges", rows, params={params[k]: v for k, v in values.items()})
    except Unreadable as exc:  # a reader that meets damaged rows late
        raise Refused(str(exc)) from exc
    mine = store.pending("charges", lambda t: t.x_ingest_id == ingest_id)
    loaded = mine.x_charge_id >= 0
    counts = mine.aggregate(
        good=loaded.sum(),
        bad=(~loaded).sum(),
        rounded=(loaded & mine.x_quality_flags.contains(ROUNDED_FLAG).fill_null(False)).sum(),
    )
    good, bad, rounded = (counts.to_pyarrow().to_pylist()[0][k] or 0 for k in ("good", "bad", "rounded"))
    if rounded:
        decimals = [c.name for c in COLUMNS if c.kind is Kind.DECIMAL and c.name in header_map.values()]
        result.rounding = residue_totals(mine.filter(mine.x_charge_id >= 0), decimals)
    if strict and (bad or rejects):
        raise Refused(f"--strict: {bad + len(rejects)} rows break FOCUS rules; "
                      + _first_problems(mine, rejects, starts))  # fmt: skip
    if bad:
        rejected = mine.filter(mine.x_charge_id < 0)
        store.append("quarantine", rejected.select(
            ingest_id=rejected.x_ingest_id, source_file=rejected.x_source_file,
            source_line=rejected.x_source_line, raw=rejected.x_extensions, reason=rejected.x_quality_flags,
        ))  # fmt: skip
        store.delete("charges", lambda t: (t.x_ingest_id == ingest_id) & (t.x_charge_id < 0))
    if rejects:
        store.append("quarantine", store.memtable([
            {"ingest_id": ingest_id, "source_file": path_text(path), "source_line": reject_line(starts, rec),
             "raw": raw, "reason": f"row cannot be read: {message}"}
            for rec, raw, message in rejects
        ], "quarantine"))  # fmt: skip
    result.rows_loaded = good
    result.rows_quarantined = bad + len(rejects)
    if result.rows_quarantined:
        result.reasons = _reason_counts(store, ingest_id)
    new = store.pending("charges", lambda t: t.x_ingest_id == ingest_id)
    result.rows_replaced = _supersede(store, new, ingest_id, batch)
    replaced, aside, stands = _versions(store, ingest_id, batch)
    result.rows_replaced += replaced
    if aside:
        result.rows_set_aside = aside
        result.message = (
            f"{aside} row(s) set aside: ingest #{stands} of this call is a later version of the same bill "
            "(same provider, billing account and billing period, overlapping charges) and stands"
        )


def _versions(store: Store, ingest_id: int, batch: str) -> tuple[int, int, int | None]:
    """Files of one call are parts of one export, unless two hold the same charges (same
    provider, billing account and billing period; same resource and charge period): then
    they are versions of one bill, and the one covering later charges stands (on a tie,
    the later file). Returns (rows of earlier files replaced, rows of this file set aside,
    the ingest that stands over them)."""
    ingests = store.table("ingests")
    mates = ingests.filter((ingests.batch_id == batch) & (ingests.status == "loaded")).ingest_id
    mate_ids = mates.to_pyarrow().to_pylist()
    if not mate_ids:
        return 0, 0, None
    charges = store.table("charges")

    def marks(t: ir.Table) -> ir.Table:
        """A charge's identity: resource, charge period, SKU, category and description (two
        meters of one resource in one hour are two charges, not two versions of one)."""
        t = t.filter(t.ResourceId.notnull())
        what = ibis.coalesce(t.SkuPriceId, t.SkuId, "") + "\x1f" + t.ChargeCategory
        what = (
            what + "\x1f" + ibis.coalesce(t.ChargeDescription, "") + "\x1f" + t.ChargePeriodEnd.cast("string")
        )
        return t.select(
            cl_key=_provider_key(t),
            cl_res=t.ResourceId + "\x1f" + what,
            cl_start=t.ChargePeriodStart,
            cl_id=t.x_ingest_id,
        )

    mine = marks(store.pending("charges", lambda t: t.x_ingest_id == ingest_id)).distinct()
    theirs = marks(charges.filter(charges.x_ingest_id.isin(mate_ids)))
    hit = mine.inner_join(
        theirs, [mine.cl_key == theirs.cl_key, mine.cl_res == theirs.cl_res, mine.cl_start == theirs.cl_start]
    )
    pairs = hit.select(key=mine.cl_key, other=theirs.cl_id).distinct().to_pyarrow().to_pylist()
    if not pairs:
        return 0, 0, None
    keys = sorted({p["key"] for p in pairs})
    ends = charges.filter(
        _provider_key(charges).isin(keys) & charges.x_ingest_id.isin([ingest_id, *mate_ids])
    )
    ends = ends.group_by(key=_provider_key(ends), ingest=ends.x_ingest_id).aggregate(
        end=ends.ChargePeriodEnd.max()
    )
    end_of = {(r["key"], r["ingest"]): r["end"] for r in ends.to_pyarrow().to_pylist()}
    replaced, aside, stands = 0, 0, None
    for p in pairs:
        key, other = p["key"], p["other"]
        if end_of.get((key, ingest_id)) >= end_of.get((key, other)):
            gone = _drop(store, lambda t, k=key, o=other: (t.x_ingest_id == o) & (_provider_key(t) == k))
            replaced += _mark(store, gone, ingest_id)
        else:
            gone = _drop(store, lambda t, k=key: (t.x_ingest_id == ingest_id) & (_provider_key(t) == k))
            aside += sum(gone.values())
            stands = other
    return replaced, aside, stands


def _drop(store: Store, where) -> dict[int, int]:
    """Delete the charges `where` holds; the rows gone per ingest."""
    gone = _gone(store.table("charges"), where)
    if gone:
        store.delete("charges", where)
    return gone


def _mark(store: Store, gone: dict[int, int], by: int) -> int:
    """Count rows replaced on the ingests they came from (superseded when none is left)."""
    if not gone:
        return 0

    def n_gone(t: ir.Table) -> ir.IntegerValue:
        return ibis.cases(*[(t.ingest_id == i, n) for i, n in gone.items()], else_=0)

    store.update(
        "ingests",
        lambda t: t.ingest_id.isin(list(gone)),
        {
            "rows_superseded": lambda t: t.rows_superseded + n_gone(t),
            "superseded_by": lambda t: ibis.literal(by, "int64"),
            "status": lambda t: ibis.ifelse(
                t.rows_loaded - t.rows_superseded - n_gone(t) <= 0, "superseded", t.status
            ),
        },
    )
    return sum(gone.values())


def _provider_key(t: ir.Table) -> ir.StringValue:
    """Provider, billing account and billing period as one value (null if any is null)."""
    provider = ibis.coalesce(t.HostProviderName, t.ServiceProviderName)
    return provider + "\x1f" + t.BillingAccountId + "\x1f" + t.BillingPeriodStart.cast("string")


def _supersede(store: Store, new: ir.Table, ingest_id: int, batch: str) -> int:
    """Replace earlier rows of the same provider, billing account and billing period
    coming from other ingest calls; mark wholly replaced ingests superseded."""
    ingests = store.table("ingests")
    others = ingests.filter((ingests.batch_id != batch) & (ingests.status == "loaded")).ingest_id
    other_ids = others.to_pyarrow().to_pylist()
    if not other_ids:
        return 0
    keys = new.select(cl_key=_provider_key(new)).distinct()
    periods = new.select("BillingPeriodStart").distinct()

    def replaced(t: ir.Table) -> ir.BooleanValue:
        return (
            t.x_ingest_id.isin(other_ids)
            & t.BillingPeriodStart.isin(periods.BillingPeriodStart)
            & _provider_key(t).isin(keys.cl_key)
        )

    return _mark(store, _drop(store, replaced), ingest_id)


def _gone(charges: ir.Table, replaced) -> dict[int, int]:
    hit = charges.filter(replaced(charges))
    rows = hit.group_by("x_ingest_id").aggregate(n=hit.count()).to_pyarrow().to_pylist()
    return {r["x_ingest_id"]: r["n"] for r in rows}


def _first_problems(mine: ir.Table, rejects, starts, limit: int = 3) -> str:
    bad = mine.filter(mine.x_charge_id < 0).order_by("x_source_line").limit(limit)
    rows = bad.select("x_source_line", "x_quality_flags").to_pyarrow().to_pylist()
    items = [f"line {r['x_source_line']}: {r['x_quality_flags']}" for r in rows]
    items += [f"line {reject_line(starts, rec)}: row cannot be read: {m}" for rec, _, m in rejects]
    return "; ".join(items[:limit])


def _reason_counts(store: Store, ingest_id: int, limit: int = 10) -> list[str]:
    q = store.table("quarantine")
    q = q.filter(q.ingest_id == ingest_id)
    rows = (
        q.group_by("reason")
        .aggregate(n=q.count(), line=q.source_line.min())
        .order_by([ibis.desc("n"), "reason"])
        .limit(limit)
        .to_pyarrow()
        .to_pylist()
    )
    return [f"{r['n']} row(s), first at line {r['line']}: {r['reason']}" for r in rows]


def _refuse(store: Store, result: FileResult, batch, started, message: str) -> FileResult:
    result.status = "refused"
    result.message = message
    result.reasons = [message]
    result.rows_loaded = result.rows_quarantined = 0
    result.ingest_id = None
    with store.transaction():
        _record(store, result, batch, started)
    return result


def _record(store: Store, result: FileResult, batch: str, started: datetime) -> None:
    if result.ingest_id is None:
        result.ingest_id = store.next_id("ingests", "ingest_id")
    row = {
        "ingest_id": result.ingest_id, "batch_id": batch, "path": result.path, "sha256": result.sha256,
        "mapping_sha256": result.mapping_sha256, "format": result.format,
        "focus_version": result.focus_version, "version_evidence": result.version_evidence,
        "rounding": as_json(result.rounding), "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded, "rows_quarantined": result.rows_quarantined,
        "rows_superseded": result.rows_set_aside,
        "status": "superseded" if result.rows_set_aside and result.rows_set_aside >= result.rows_loaded
        else result.status,
        "superseded_by": None, "message": result.message,
        "started_at": started, "finished_at": _now(),
    }  # fmt: skip
    store.append("ingests", store.memtable([row], "ingests"))


def _shown_columns(columns: list[str], limit: int = 8) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} columns)" if len(columns) > limit else "")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
