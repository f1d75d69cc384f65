"""Ingest of FOCUS files into the ledger, on any store.

For every file: rows read = rows loaded + rows quarantined. A file that is not
FOCUS, or lacks mandatory columns, is refused whole. An identical file (same
sha256) is a duplicate and changes nothing. A new export for the same provider,
billing account and billing period replaces the earlier rows (providers restate
open months); files given in one call are one export and never replace each other.
A native cloud export (AWS CUR, Azure cost details, OCI cost report) is recognised by its
columns and read through its shipped mapping (`mapping.detect`); in one call, a FOCUS
export stands over a mapped export of the same bill (`_focus_stands`).

The store reads each file into text columns and keeps the consecutive files of one
column layout together (`Store.gather`); the FOCUS rules are one Ibis expression
(`normalize`), run once over the group into `charges`, the rejected rows then moved to
`quarantine`; the files' `ingests` rows, written last, record (and on Spark commit) them.
A group is one transaction: each of its files is wholly in or wholly out.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from computeledger.ingest.api_reports import COST_COLUMNS, COST_FORMATS, NotAReport, cost_rows, sniff
from computeledger.ingest.files import discover, encoding_problem, file_format, fingerprint, path_text
from computeledger.ingest.lines import LINE_COLUMN, ROW_COLUMN, line_map, record_lines, reject_line
from computeledger.ingest.mapping import Mapping, MappingMismatch, apply_mapping, detect
from computeledger.ingest.normalize import (
    FILE,
    PATH,
    RAW,
    REASON,
    ROUNDED_FLAG,
    ROW,
    ROWS_PER_INGEST,
    normalize,
    short_decimals,
)
from computeledger.ingest.results import FileResult, Refused
from computeledger.ingest.rounding import as_json, residue_totals
from computeledger.portable import backend_name
from computeledger.schema.focus import COLUMNS, Kind, canonical_name, missing_mandatory, version_evidence
from computeledger.schema.tables import CHARGES
from computeledger.store import Staged, Store, Unreadable

MAX_COLUMNS = 1000
_NORMALIZED: dict[tuple, tuple[ir.Table, dict]] = {}


#: The most rows staged together for one pass of the rules (memory stays bounded: a
#: larger file goes alone).
GROUP_ROWS = 4_000_000


@dataclass
class _Ready:
    """A file staged, fingerprinted and found new, waiting for its group's pass."""

    path: Path
    fmt: str
    result: FileResult
    started: datetime
    staged: Staged
    header_map: dict[str, str]
    rows: int  # records the reader split (rejected ones not counted)
    mapping: Mapping | None = None
    starts: list[int] = field(default_factory=list)  # record lines, where they need mapping

    def layout(self) -> tuple:
        s = self.staged
        return (tuple(s.columns), tuple(self.header_map.items()), s.source, s.first_line)


def ingest_files(
    store: Store,
    paths: Sequence[str | Path],
    *,
    strict: bool = False,
    mapping: Mapping | None = None,
    on_file: Callable[[FileResult], None] | None = None,
) -> list[FileResult]:
    """Ingest every file named or under a folder named, in order; one call is one batch
    (its files are parts of one export and never replace each other).

    Consecutive files of one column layout are staged together and go through the FOCUS
    rules in one pass, then are written in one transaction: a killed ingest leaves each
    file either wholly in or wholly out. Each file keeps its own ingest row, line numbers,
    fingerprint, quarantine reasons, version and restatement handling."""
    batch = uuid.uuid4().hex
    results: list[FileResult] = []
    group: list[_Ready] = []
    table: ir.Table | None = None  # the group's rows, as the store keeps them
    done = on_file or (lambda _: None)

    def flush() -> None:
        for result in _load_group(store, group, table, batch, strict):
            done(result)
        group.clear()

    files = discover(list(paths), also=cost_report)
    for path in files:
        ready = _ready(store, path, batch, strict, mapping, flush if group else None, group)
        results.append(ready.result if isinstance(ready, _Ready) else ready)
        if not isinstance(ready, _Ready):
            done(ready)
            continue
        alone = (
            bool(ready.starts or ready.staged.rejects) or strict or ready.fmt in COST_FORMATS
            or ready.staged.stride is not None
            or len(files) == 1 or ready.rows > GROUP_ROWS // 4
        )  # fmt: skip
        fits = sum(g.rows for g in group) + ready.rows <= GROUP_ROWS
        if group and (alone or not fits or group[0].layout() != ready.layout()):
            flush()
        table = _gather(store, ready, len(group), alone)
        group.append(ready)
        if alone:
            flush()
    if group:
        flush()
    return results


def ingest_file(
    store: Store, path: Path, *, batch: str, strict: bool = False, mapping: Mapping | None = None
) -> FileResult:
    """Ingest one file: loaded (with its quarantined rows), duplicate, or refused."""
    ready = _ready(store, path, batch, strict, mapping, None, [])
    if not isinstance(ready, _Ready):
        return ready
    [result] = _load_group(store, [ready], _gather(store, ready, 0, alone=True), batch, strict)
    return result


def _gather(store: Store, ready: _Ready, place: int, alone: bool = False) -> ir.Table:
    """The staged file's rows added to the store's group (a new group at place 0)."""
    rows = ready.staged.table.mutate(
        **{FILE: ibis.literal(place, "int64"), PATH: ibis.literal(ready.result.path)}
    )
    return store.gather(rows, first=place == 0, alone=alone)


def _ready(
    store: Store, path: Path, batch: str, strict: bool, mapping: Mapping | None,
    flush: Callable[[], None] | None, group: list[_Ready],
) -> _Ready | FileResult:  # fmt: skip
    """The file staged and found new (a _Ready), or its result: refused or a duplicate,
    recorded. `flush` loads the files waiting in `group` first where this one may repeat
    one of them (the same bytes twice in a call: the second is a duplicate of the first)."""
    started = _now()
    fmt = file_format(path) or cost_report(path)
    result = FileResult(path=path_text(path), format=fmt, mapping=mapping.path if mapping else None)
    mapping_sha = result.mapping_sha256 = mapping.sha256 if mapping else None
    if fmt is None:
        return _refuse(
            store, result, batch, started,
            "not a CSV, CSV.gz or Parquet file, nor JSON lines of billing records or an OpenAI or "
            "Anthropic cost report",
        )  # fmt: skip
    if path.stat().st_size == 0:
        return _refuse(store, result, batch, started, "empty file")
    try:
        # The fingerprint (one read of the file) runs beside the staging (the engine
        # reading it): both leave the GIL, and staging writes only scratch tables.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(fingerprint, path, fmt)
            try:
                staged, header_map, mapping = _prepare(store, path, fmt, result, mapping)
            finally:
                fp = pending.result()
                result.sha256 = fp.sha256
        mapping_sha = result.mapping_sha256
        if fmt == "jsonl.gz" and fp.cut_short:  # its reader stops quietly where the stream ends
            raise Refused("the file may be damaged: its gzip stream is damaged or cut short")
        if flush is not None and any(g.result.sha256 == fp.sha256 for g in group):
            flush()
        earlier = _earlier(store, fp.sha256, mapping_sha)
        if earlier is not None:
            result.status = "duplicate"
            result.message = f"identical to ingest #{earlier}: nothing changed"
            result.focus_version = result.version_evidence = None
            _record(store, result, batch, started)
            return result
        rows = staged.table.count().to_pyarrow().as_py()
        starts: list[int] = []
        if fmt in ("csv", "csv.gz") and (staged.rejects or fp.lines != rows + len(staged.rejects) + 1):
            starts = record_lines(path, fmt, staged.delimiter, staged.quote)
    except Refused as exc:
        return _refuse(store, result, batch, started, str(exc))
    return _Ready(path, fmt, result, started, staged, header_map, rows, mapping, starts)


def _earlier(store: Store, sha256: str, mapping_sha: str | None) -> int | None:
    """The first ingest of the same bytes (read through the same mapping), if any."""
    t = store.table("ingests")
    same_mapping = t.mapping_sha256.isnull() if mapping_sha is None else t.mapping_sha256 == mapping_sha
    hit = t.filter((t.sha256 == sha256) & t.status.isin(["loaded", "superseded"]) & same_mapping)
    return hit.ingest_id.min().to_pyarrow().as_py()


def stage_through(store: Store, path: Path, fmt: str, mapping: Mapping | None = None) -> Staged:
    """The file as text columns, seen through its mapping if any; refused if unreadable
    (a text file not in UTF-8 says so, whatever kind of file it was meant to be)."""
    if (why := encoding_problem(path, fmt)) is not None:
        raise Refused(why)
    try:
        if fmt in COST_FORMATS:
            return _staged_report(path, fmt)
        staged = store.stage(path, fmt)
        return apply_mapping(store, staged, mapping) if mapping is not None else staged
    except (Unreadable, MappingMismatch, NotAReport) as exc:
        raise Refused(str(exc)) from exc


def cost_report(path: Path) -> str | None:
    """The format of a JSON bill, told from its content: a cost report's (OpenAI's Costs
    API, Anthropic's cost report), or "jsonl" ("jsonl.gz") for JSON lines of billing
    records, such as a BigQuery billing export (records no usage or report kind claims);
    None for any other file (a usage log, an export's manifest, a JSON document)."""
    name = path.name.lower()
    if not name.endswith(_JSON_SUFFIXES) or name == "manifest.json" or "metadata" in name:
        return None
    found = sniff(path)
    if found in COST_FORMATS:
        return found
    if found is None and _first_line_is_object(path):
        return "jsonl.gz" if name.endswith(".gz") else "jsonl"
    return None


_JSON_SUFFIXES = tuple(f"{s}{z}" for s in (".json", ".jsonl", ".ndjson") for z in ("", ".gz"))


def _first_line_is_object(path: Path) -> bool:
    """Whether the file's first non-blank line is a whole JSON object (JSON lines; a
    pretty-printed document's first line is not)."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            for _, line in zip(range(1000), f, strict=False):
                if line.strip():
                    return isinstance(json.loads(line), dict)
    except (OSError, EOFError, ValueError, RecursionError):
        return False
    return False


def _staged_report(path: Path, fmt: str) -> Staged:
    """A cost report as a staged file of FOCUS text columns, a row a result (numbered in
    the order of the response, as a Parquet file's rows are)."""
    rows = cost_rows(path, fmt)
    rows = rows.append_column(ROW, pa.array(range(rows.num_rows), pa.int64()))
    return Staged(ibis.memtable(rows), list(COST_COLUMNS), 1, fmt)


def _prepare(
    store: Store, path: Path, fmt: str, result: FileResult, mapping: Mapping | None = None
) -> tuple[Staged, dict[str, str], Mapping | None]:
    """Stage the file (through its mapping, if any) and map its columns; refuse it if it is
    not FOCUS. A file named with no mapping whose columns are a native cloud export's
    (`mapping.detect`) is read through that export's shipped mapping, recorded on its
    result."""
    staged = stage_through(store, path, fmt, mapping)
    if mapping is None and fmt not in COST_FORMATS and not _is_focus(staged.columns):
        native = detect(staged.columns)
    else:
        native = None
    if native is not None:
        try:
            staged = apply_mapping(store, staged, native)
        except MappingMismatch as exc:
            raise Refused(str(exc)) from exc
        mapping, result.mapping, result.mapping_sha256 = native, native.path, native.sha256
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
    return staged, header_map, mapping


def _is_focus(columns: list[str]) -> bool:
    """Whether the columns are a FOCUS file's: every mandatory column there (a native
    export may share a few names with FOCUS, as Azure's BillingAccountId)."""
    try:
        header = map_headers(columns)
    except Refused:
        return True  # FOCUS names, twice: refused as FOCUS, saying so
    return bool(header) and not missing_mandatory(set(header.values()))


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
        usage = {"input_tokens", "prompt_tokens", "num_model_requests"} & {c.strip().lower() for c in columns}
        hint = "; its token counts make it usage: load it with `computeledger ingest-usage`" if usage else ""
        shown = _shown_columns(columns)
        raise Refused(f"not a FOCUS file: none of its columns is a FOCUS column (it has {shown}){hint}")
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


def _typed(staged: Staged, table: ir.Table, header_map: dict[str, str], lines: ir.Table | None = None):
    """The FOCUS rules over the staged files (`table`: their rows, FILE and PATH set) as
    the charges table's rows: good rows with their ids and provenance, rejected ones with a
    negative x_charge_id, their reason in x_quality_flags and their raw text in
    x_extensions (moved to `quarantine` before the unit of work ends). A file's ingest id
    is the parameter `first` plus its FILE, so that the store compiles the (large)
    expression once for every group of files of one layout, and of one kind of decimal
    text: a layout's decimal columns are first checked for values the short path cannot
    read (`short_decimals`: one aggregate), and the rules built for what was found."""
    checks = short_decimals(table, header_map)
    got = table.aggregate(**checks).to_pyarrow().to_pylist()[0] if checks else {}
    short = frozenset(name for name, yes in got.items() if yes)
    # unbound (tables by name and schema): a later ledger, or another connection, reuses it;
    # the engine is part of the key, as the rules' JSON checks are written per engine
    key = (
        backend_name(table),
        tuple(header_map.items()),
        staged.source,
        table.unbind().op(),
        staged.first_line,
        staged.stride,
        short,
        tuple(sorted(staged.sources.items())),
    )
    if lines is None and key in _NORMALIZED:
        return _NORMALIZED[key]
    n = normalize(table, header_map, short, staged.sources)
    params = {"first": ibis.param("int64")}
    # an element row of an [unnest] list is on its record's line
    record = n[ROW] % staged.stride if staged.stride else n[ROW]
    line = record + staged.first_line
    if lines is not None:
        n = n.left_join(lines, record == lines[ROW_COLUMN])
        record = n[ROW] % staged.stride if staged.stride else n[ROW]
        line = ibis.coalesce(n[LINE_COLUMN], record + staged.first_line)
    bad = n[REASON].notnull()
    ingest = n[FILE] + params["first"]
    charge = n[ROW] + ingest * ROWS_PER_INGEST
    rows = n.select(
        *[c for c in CHARGES.names if not c.startswith("x_")],
        x_charge_id=ibis.ifelse(bad, -charge, charge),
        x_ingest_id=ingest,
        x_source_file=n[PATH],
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


def _load_group(
    store: Store, group: list[_Ready], table: ir.Table, batch: str, strict: bool
) -> list[FileResult]:
    """Normalise and write the files of one layout in one pass and one transaction: every
    row goes to `charges`, the rejected ones marked, and these are then moved to
    `quarantine` with the records the reader could not split; then each file's counts,
    restatements and versions, in file order, as if it had been loaded alone. A file the
    engine meets damaged rows in late is loaded again alone, so that it alone is refused."""
    first = store.next_id("ingests", "ingest_id")
    for k, g in enumerate(group):
        g.result.ingest_id = first + k
    one = group[0]
    lines = None
    if len(group) == 1 and one.starts:
        lines = ibis.memtable(line_map(one.starts, {r for r, _, _ in one.staged.rejects}))
    rows, params = _typed(one.staged, table, one.header_map, lines)
    try:
        with store.transaction():
            store.append("charges", rows, params={params["first"]: first})
            _settle(store, group, first, batch, strict)
    except (Unreadable, Refused) as exc:  # Unreadable: a reader that meets damaged rows late
        if len(group) == 1:
            return [_refuse(store, one.result, batch, one.started, str(exc))]
        return [_reload(store, g, batch, strict) for g in group]
    return [g.result for g in group]


def _reload(store: Store, g: _Ready, batch: str, strict: bool) -> FileResult:
    """A file of a group that failed, staged and loaded again on its own."""
    try:
        g.staged = stage_through(store, g.path, g.fmt, g.mapping)
    except Refused as exc:
        return _refuse(store, g.result, batch, g.started, str(exc))
    return _load_group(store, [g], _gather(store, g, 0, alone=True), batch, strict)[0]


def _settle(store: Store, group: list[_Ready], first: int, batch: str, strict: bool) -> None:
    """After the group's rows are written: each file's counts, quarantine, restatements,
    versions and ingests row, in file order."""
    last = first + len(group) - 1
    mine = store.pending("charges", lambda t: (t.x_ingest_id >= first) & (t.x_ingest_id <= last))
    loaded = mine.x_charge_id >= 0
    flags = ";" + mine.x_quality_flags.fill_null("") + ";"
    decimals = [c.name for c in COLUMNS if c.kind is Kind.DECIMAL and c.name in group[0].header_map.values()]
    rounded = {f"r_{c}": (loaded & flags.contains(f";{ROUNDED_FLAG}{c};")).sum() for c in decimals}
    counts = mine.group_by("x_ingest_id").aggregate(good=loaded.sum(), bad=(~loaded).sum(), **rounded)
    by_id = {r["x_ingest_id"]: r for r in counts.to_pyarrow().to_pylist()}
    if strict:  # a file under --strict is a group of its own
        [g] = group
        bad = by_id.get(first, {}).get("bad", 0) + len(g.staged.rejects)
        if bad:
            problems = _first_problems(mine, g.staged.rejects, g.starts)
            raise Refused(f"--strict: {bad} rows break FOCUS rules; {problems}")
    if any(r["bad"] for r in by_id.values()):
        rejected = mine.filter(mine.x_charge_id < 0)
        store.append("quarantine", rejected.select(
            ingest_id=rejected.x_ingest_id, source_file=rejected.x_source_file,
            source_line=rejected.x_source_line, raw=rejected.x_extensions, reason=rejected.x_quality_flags,
        ))  # fmt: skip
        store.delete(
            "charges", lambda t: (t.x_ingest_id >= first) & (t.x_ingest_id <= last) & (t.x_charge_id < 0)
        )
        # read again: on Spark the delete rewrote the files the earlier view lists
        mine = store.pending("charges", lambda t: (t.x_ingest_id >= first) & (t.x_ingest_id <= last))
        loaded = mine.x_charge_id >= 0
    others = _other_batches(store, batch)
    mates = _mates(store, batch)
    stood, replaced_mapped = _focus_stands(store, group, first, mates)
    overlap = _overlapping(store, first, last, list(mates))
    rounded_anywhere = [c for c in decimals if any(r.get(f"r_{c}") for r in by_id.values())]
    residues = {}
    if rounded_anywhere:  # the group's files in one aggregate per column
        mine_loaded = mine.filter(loaded)
        residues = residue_totals(mine_loaded, rounded_anywhere, by="x_ingest_id")
    for k, g in enumerate(group):
        result, ingest_id = g.result, first + k
        got = by_id.get(ingest_id, {"good": 0, "bad": 0})
        rejects = g.staged.rejects
        if rejects:
            store.append("quarantine", store.memtable([
                {"ingest_id": ingest_id, "source_file": result.path,
                 "source_line": reject_line(g.starts, rec), "raw": raw,
                 "reason": f"row cannot be read: {message}"}
                for rec, raw, message in rejects
            ], "quarantine"))  # fmt: skip
        result.rows_unnested = g.staged.unnested
        result.rows_read = got["good"] + got["bad"] + len(rejects) - g.staged.unnested
        result.rows_loaded = got["good"]
        result.rows_quarantined = got["bad"] + len(rejects)
        result.rounding = residues.get(ingest_id, {})
        if result.rows_quarantined:
            result.reasons = _reason_counts(store, ingest_id)
        if ingest_id in stood:
            result.rows_set_aside, stands = stood[ingest_id]
            result.message = (
                f"{result.rows_set_aside} row(s) set aside: ingest #{stands} of this call is a FOCUS export "
                "of the same bill (same provider, billing account and billing period) and stands over this "
                "file, read through a mapping"
            )
        result.rows_replaced = replaced_mapped.get(ingest_id, 0)
        if others:
            new = store.pending("charges", lambda t, i=ingest_id: t.x_ingest_id == i)
            result.rows_replaced += _supersede(store, new, ingest_id, others)
        if overlap:
            replaced, aside, stands = _versions(store, ingest_id, batch)
            result.rows_replaced += replaced
            if aside:
                result.rows_set_aside = aside
                result.message = (
                    f"{aside} row(s) set aside: ingest #{stands} of this call is a later version of the "
                    "same bill (same provider, billing account and billing period, overlapping charges) "
                    "and stands"
                )
            _record(store, result, batch, g.started)
    if not overlap:
        _record_all(store, [(g.result, g.started) for g in group], batch)


def _focus_stands(
    store: Store, group: list[_Ready], first: int, mates: dict[int, bool]
) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """Mixed estates: in one call, a FOCUS export and an export read through a mapping
    (a native CUR, Azure or OCI export; an invoice) of one bill (same provider, billing
    account and billing period) are two versions of it, and the FOCUS export stands: the
    mapped file's rows of that bill are set aside, whatever the order of the files.
    Returns, for the mapped files of this group, ingest id -> (rows set aside, the FOCUS
    ingest standing); and for the FOCUS files of this group, the rows they replaced of
    mapped files of earlier groups of the call (marked superseded at once)."""
    mapped = [first + k for k, g in enumerate(group) if g.mapping is not None]
    mapped += [i for i, through_mapping in mates.items() if through_mapping]
    focus = [first + k for k, g in enumerate(group) if g.mapping is None]
    focus += [i for i, through_mapping in mates.items() if not through_mapping]
    if not mapped or not focus:
        return {}, {}
    ours = store.pending("charges", lambda t: t.x_ingest_id.isin(focus))
    keys = ours.group_by(cl_key=_provider_key(ours)).aggregate(by=ours.x_ingest_id.min())
    stands = {r["cl_key"]: r["by"] for r in keys.to_pyarrow().to_pylist() if r["cl_key"] is not None}
    if not stands:
        return {}, {}
    theirs = store.pending("charges", lambda t: t.x_ingest_id.isin(mapped))
    hit = theirs.filter(_provider_key(theirs).isin(list(stands)))
    hit = hit.group_by(x_ingest_id=hit.x_ingest_id, cl_key=_provider_key(hit)).aggregate(n=hit.count())
    found = hit.to_pyarrow().to_pylist()
    if not found:
        return {}, {}
    _drop(store, lambda t: t.x_ingest_id.isin(mapped) & _provider_key(t).isin(list(stands)))
    out: dict[int, tuple[int, int]] = {}
    for r in found:
        n, by = out.get(r["x_ingest_id"], (0, stands[r["cl_key"]]))
        out[r["x_ingest_id"]] = (n + r["n"], by)
    replaced: dict[int, int] = {}
    for i, (n, by) in out.items():
        if i < first:  # already recorded: its ingests row says superseded, the FOCUS file replaced it
            _mark(store, {i: n}, by)
            replaced[by] = replaced.get(by, 0) + n
    return {i: v for i, v in out.items() if i >= first}, replaced


def _other_batches(store: Store, batch: str) -> list[int]:
    """The loaded ingests of earlier calls: what a new export may restate."""
    ingests = store.table("ingests")
    others = ingests.filter((ingests.batch_id != batch) & (ingests.status == "loaded")).ingest_id
    return others.to_pyarrow().to_pylist()


def _mates(store: Store, batch: str) -> dict[int, bool]:
    """The loaded ingests of this call so far, and whether each was read through a mapping."""
    ingests = store.table("ingests")
    mates = ingests.filter((ingests.batch_id == batch) & (ingests.status == "loaded"))
    rows = mates.select("ingest_id", "mapping_sha256").to_pyarrow().to_pylist()
    return {r["ingest_id"]: r["mapping_sha256"] is not None for r in rows}


def _marks(t: ir.Table) -> ir.Table:
    """A charge's identity: its bill (provider, billing account and period), its resource,
    charge period, SKU, category and description (two meters of one resource in one hour
    are two charges, not two versions of one), and its ingest."""
    t = t.filter(t.ResourceId.notnull())
    what = ibis.coalesce(t.SkuPriceId, t.SkuId, "") + "\x1f" + t.ChargeCategory
    what = what + "\x1f" + ibis.coalesce(t.ChargeDescription, "") + "\x1f" + t.ChargePeriodEnd.cast("string")
    return t.select(
        cl_key=_provider_key(t),
        cl_res=t.ResourceId + "\x1f" + what,
        cl_start=t.ChargePeriodStart,
        cl_id=t.x_ingest_id,
    )


def _overlapping(store: Store, first: int, last: int, mates: list[int]) -> bool:
    """Whether a charge of the group's files (ingests first to last) has the identity of
    a charge of another file of this call, earlier or in the group: only then are versions
    sorted out file by file (`_versions`); parts of one export share none."""
    if first == last and not mates:
        return False
    # pending, not table: on Spark the group's rows are not visible until its ingests rows.
    # One aggregate per identity, not a join of the rows with themselves: an identity many
    # rows share would make the join quadratic (Spark ran out of memory on 10M rows).
    ids = [*mates, *range(first, last + 1)]
    marks = _marks(store.pending("charges", lambda t: t.x_ingest_id.isin(ids)))
    mine = ((marks.cl_id >= first) & (marks.cl_id <= last)).cast("int8")
    found = marks.group_by("cl_key", "cl_res", "cl_start").aggregate(
        lo=marks.cl_id.min(), hi=marks.cl_id.max(), mine=mine.max()
    )
    hit = found.filter((found.lo != found.hi) & (found.mine == 1))
    return bool(hit.count().to_pyarrow().as_py())


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
    mine = _marks(store.pending("charges", lambda t: t.x_ingest_id == ingest_id)).distinct()
    theirs = _marks(charges.filter(charges.x_ingest_id.isin(mate_ids)))
    hit = mine.inner_join(
        theirs, [mine.cl_key == theirs.cl_key, mine.cl_res == theirs.cl_res, mine.cl_start == theirs.cl_start]
    )
    pairs = hit.select(key=mine.cl_key, other=theirs.cl_id).distinct().to_pyarrow().to_pylist()
    if not pairs:
        return 0, 0, None
    keys = sorted({p["key"] for p in pairs})
    ends = store.pending(
        "charges", lambda t: _provider_key(t).isin(keys) & t.x_ingest_id.isin([ingest_id, *mate_ids])
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
    gone = _gone(store.pending("charges", lambda t: t.x_ingest_id.notnull()), where)
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


def _supersede(store: Store, new: ir.Table, ingest_id: int, other_ids: list[int]) -> int:
    """Replace earlier rows of the same provider, billing account and billing period
    coming from other ingest calls (`other_ids`); mark wholly replaced ingests superseded."""
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
    result.rows_loaded = result.rows_quarantined = result.rows_replaced = 0
    result.rows_set_aside, result.rounding = 0, {}
    result.ingest_id = None
    with store.transaction():
        _record(store, result, batch, started)
    return result


def _record(store: Store, result: FileResult, batch: str, started: datetime) -> None:
    """The file's ingests row (on Spark, its commit)."""
    if result.ingest_id is None:
        result.ingest_id = store.next_id("ingests", "ingest_id")
    _record_all(store, [(result, started)], batch)


def _record_all(store: Store, done: list[tuple[FileResult, datetime]], batch: str) -> None:
    """The ingests rows of files whose ids are set, in one write."""
    rows = [_ingest_row(result, batch, started) for result, started in done]
    store.append("ingests", store.memtable(rows, "ingests"))


def _ingest_row(result: FileResult, batch: str, started: datetime) -> dict:
    return {
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


def _shown_columns(columns: list[str], limit: int = 8) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns)} columns)" if len(columns) > limit else "")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
