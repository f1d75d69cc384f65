"""Files read by DuckDB: bills as text columns, usage records as typed rows.

Its CSV reader splits the file; rows it cannot split are kept as rejects with their
line and raw text, never dropped. Everything after staging (FOCUS rules, typing,
provenance) is an Ibis expression, the same on every store.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge

from computeledger.errors import UsageError
from computeledger.store import openai_usage
from computeledger.store.base import ELEMENT, Staged, Unreadable, as_text, literal_path

ROW = "__row"  # the staged row number; the name ingest's FOCUS rules expect
RESERVED = (ROW, "__file", "__path")  # names the rules carry beside a file's own columns
SRC = "cl_src"
STAGE = "cl_stage"
NUMBERED = "cl_numbered"
REJECTS = "cl_rejects"
REJECT_SCANS = "cl_reject_scans"
USAGE_LINES = "cl_usage_lines"
USAGE = "cl_usage"
GATHER = "cl_gather"  # staged files of one layout, kept for one pass of the FOCUS rules
MAPPED_FROM, MAPPED = "cl_mapped_from", "cl_mapped"  # a staged file, and it through a mapping
UNNEST_FROM, UNNESTED = "cl_unnest_from", "cl_unnested"  # a staged file, and its lists' elements


def stage(con: ibis.BaseBackend, path: Path, fmt: str) -> Staged:
    """The file as text columns numbered in file order (CSV rejects kept aside)."""
    if fmt == "parquet":
        return _stage_parquet(con, path)
    if fmt in ("jsonl", "jsonl.gz"):
        return _stage_jsonl(con, path)
    return _stage_csv(con, path)


def _read_csv_call(path: Path, **options) -> str:
    return sge.Anonymous(
        this="read_csv",
        expressions=[sge.convert(literal_path(path))]
        + [sge.EQ(this=sge.column(k), expression=sge.convert(v)) for k, v in options.items()],
    ).sql("duckdb")


def _stage_csv(con: ibis.BaseBackend, path: Path) -> Staged:
    raw = con.con
    for name in (REJECTS, REJECT_SCANS):
        raw.execute(f"DROP TABLE IF EXISTS {name}")
    # Staged into a table, which the reader fills in parallel and in file order: its
    # rowid numbers the rows, and the FOCUS rules then run in parallel over it. (Numbering
    # the reader's rows directly, WITH ORDINALITY or a window, serialises what follows.)
    columns = _read_plainly(raw, path)
    if columns is None:
        columns, misread = _read_sniffed(raw, path)
    else:
        misread = None
    if misread:
        # One damaged line (an unterminated quote) can defeat the dialect sniffer and take
        # the whole file with it: read again with the dialect the header line shows, so
        # the good rows load and the damaged line alone is rejected.
        explicit = _explicit_call(path)
        if explicit is None:
            raise Unreadable(f"not a readable CSV file: {misread}")
        for name in (REJECTS, REJECT_SCANS):
            raw.execute(f"DROP TABLE IF EXISTS {name}")
        try:
            raw.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT * FROM {explicit}")
        except duckdb.Error as exc:
            raise Unreadable(f"not a readable CSV file: {first_line(exc)}") from exc
        columns = [r[0] for r in raw.execute(f"DESCRIBE {STAGE}").fetchall()]
    reserved = [c for c in columns if c.lower() in RESERVED]
    if reserved:
        raise Unreadable(f"a column is named {reserved[0]!r}, which computeledger reserves")
    if len(columns) == 1 and any(sep in columns[0] for sep in ",;\t|"):
        raise Unreadable(
            "the CSV could not be split into columns (is it damaged, or compressed other than "
            f"its name says?); its first line reads {columns[0][:80]!r}"
        )
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {NUMBERED} AS SELECT rowid AS {ROW}, * FROM {STAGE}")
    delimiter, quote = ",", '"'
    dialect = raw.execute(f"SELECT delimiter, quote FROM {REJECT_SCANS} LIMIT 1").fetchone()
    if dialect and len(dialect[0] or "") == 1:
        delimiter = dialect[0]
    if dialect and len(dialect[1] or "") == 1:
        quote = dialect[1]
    return Staged(con.table(NUMBERED), columns, 2, "csv", _csv_rejects(con), delimiter, quote)


def _read_plainly(raw, path: Path) -> list[str] | None:
    """Stage the file with the dialect its header line shows (the sniffer off), and its
    columns; None, with nothing staged, unless every row split cleanly under it.

    Most bills are plain RFC 4180 files, and DuckDB's sniffer is most of the cost of
    staging a small one (it reads the file several times when rejects are kept). A file
    this reading does not fit (other quoting or escapes, blank or padded names, a damaged
    line) is read again by the sniffer, as before, so the outcome is the sniffer's.
    """
    header = _header(path)
    if header is None or any(
        not name or name != name.strip() or name[0] == name[-1] == "'" for name in header[1]
    ):
        return None
    if _field_starts_with_apostrophe(path, header[0]):  # the sniffer may take ' for a quote
        return None
    try:
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT * FROM {_explicit_call(path, header)}")
        rejected = raw.execute(f"SELECT count(*) FROM {REJECTS}").fetchone()[0]
    except duckdb.Error:
        rejected = 1
    if rejected:
        for name in (STAGE, REJECTS, REJECT_SCANS):
            raw.execute(f"DROP TABLE IF EXISTS {name}")
        return None
    return header[1]


def _field_starts_with_apostrophe(path: Path, delim: str, limit: int = 1 << 20) -> bool:
    """Whether a field of the file's first megabyte starts with an apostrophe, which DuckDB's
    sniffer may read as a quote character (its reading then stands, as before)."""
    import gzip
    import re
    import zlib

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            sample = f.read(limit)
    except (OSError, EOFError, zlib.error):
        return True
    return re.search(rb"(?:^|" + re.escape(delim.encode()) + rb")'", sample, re.MULTILINE) is not None


def _read_sniffed(raw, path: Path) -> tuple[list[str], str | None]:
    """Stage the file with the dialect DuckDB's sniffer finds; its columns, and why the
    reading looks wrong (None when it looks right)."""
    call = _read_csv_call(
        path, all_varchar=True, header=True, store_rejects=True, rejects_table=REJECTS,
        rejects_scan=REJECT_SCANS,
    )  # fmt: skip
    try:
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT * FROM {call}")
        columns = [r[0] for r in raw.execute(f"DESCRIBE {STAGE}").fetchall()]
        return columns, _misread(raw, columns)
    except duckdb.Error as exc:
        return [], first_line(exc)


def _misread(raw, columns: list[str]) -> str | None:
    """Why the sniffed dialect looks wrong (quotes left in most column names, or no row read
    while rows were rejected); None when it looks right."""
    quoted = [c for c in columns if len(c) > 1 and c[0] == c[-1] and c[0] in "\"'"]
    if quoted and len(quoted) * 2 > len(columns):
        return f"its column names still carry quotes, e.g. {quoted[0]}"
    rows = raw.execute(f"SELECT count(*) FROM {STAGE}").fetchone()[0]
    rejected = raw.execute(f"SELECT count(*) FROM {REJECTS}").fetchone()[0]
    if rows == 0 and rejected:
        return "no row could be split into the header's columns"
    return None


def _header(path: Path) -> tuple[str, list[str]] | None:
    """The delimiter that splits the header line most (RFC 4180 quotes), and the column
    names it gives; None if no header of two or more distinct names is read."""
    import csv
    import gzip
    import zlib

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as f:
            first = f.readline()
    except (OSError, UnicodeDecodeError, EOFError, zlib.error):
        return None
    delim = max(",;\t|", key=lambda d: len(next(csv.reader([first], delimiter=d), [])))
    header = next(csv.reader([first], delimiter=delim), [])
    if len(header) < 2 or len(set(header)) != len(header):
        return None
    return delim, header


def _explicit_call(path: Path, header: tuple[str, list[str]] | None = None) -> str | None:
    """read_csv with the dialect of the header line (RFC 4180 quotes, the delimiter that
    splits the header most) and its columns, the sniffer off; None if no header is read."""
    header = header or _header(path)
    if header is None:
        return None
    delim, header = header
    columns = sge.Struct(expressions=[sge.PropertyEQ(this=sge.convert(c), expression=sge.convert("VARCHAR"))
                                      for c in header])  # fmt: skip
    options = {"header": True, "auto_detect": False, "quote": '"', "escape": '"', "delim": delim,
               "store_rejects": True, "rejects_table": REJECTS, "rejects_scan": REJECT_SCANS}  # fmt: skip
    return sge.Anonymous(
        this="read_csv",
        expressions=[sge.convert(literal_path(path)), sge.EQ(this=sge.column("columns"), expression=columns)]
        + [sge.EQ(this=sge.column(k), expression=sge.convert(v)) for k, v in options.items()],
    ).sql("duckdb")


def _csv_rejects(con: ibis.BaseBackend) -> list[tuple[int, str, str]]:
    """(record number, raw line, message) of the rows the CSV reader could not split."""
    rows = con.con.execute(
        # the reader logs a short row once per missing column: one entry per line
        f"SELECT line, any_value(csv_line), min_by(error_message, column_idx) FROM {REJECTS} "
        "GROUP BY line ORDER BY line"
    ).fetchall()
    # DuckDB numbers records, counting the header as 1.
    return [(int(line) - 1, raw or "", msg) for line, raw, msg in rows]


def _stage_parquet(con: ibis.BaseBackend, path: Path) -> Staged:
    try:
        src = con.read_parquet(literal_path(path), table_name=SRC, file_row_number=True)
    except duckdb.Error as exc:
        raise Unreadable(f"not a readable Parquet file: {first_line(exc)}") from exc
    text = as_text(src, [c for c in src.columns if c != "file_row_number"])
    columns = list(text)
    text[ROW] = src["file_row_number"]
    return Staged(src.select(**text), columns, first_line=1, source="parquet")


JSON_LINES = "cl_json_lines"
#: A JSON number with more significant digits than a double holds: the JSON functions
#: would round it, so its record is refused rather than read as another number.
_LONG_NUMBER = r"[:,\[]\s*-?0*([1-9][0-9]*\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*[,}\]]"


def _stage_jsonl(con: ibis.BaseBackend, path: Path) -> Staged:
    """JSON lines (a BigQuery table exported as newline-delimited JSON): one record an
    object a line. Nested objects become columns named by their path (`service.id`, as
    `as_text` names a struct's fields); lists stay as their JSON. A line that is not a JSON
    object, or holds a number with more than 17 significant digits, is a record the reader
    could not take: kept with its line and reason, never dropped."""
    raw = con.con
    for name in ("cl_usage_rejects", "cl_usage_scans"):
        raw.execute(f"DROP TABLE IF EXISTS {name}")
    try:
        raw.execute(f"CREATE OR REPLACE TEMP TABLE {JSON_LINES} AS {_LINES}", [literal_path(path)])
    except duckdb.Error as exc:
        raise Unreadable(f"not readable as JSON lines: {first_line(exc)}") from None
    digits = (
        "list_max(list_transform(regexp_extract_all(j, ?, 1), "
        "x -> length(ltrim(replace(rtrim(CASE WHEN contains(x, '.') THEN rtrim(x, '0') ELSE x END, '.'), "
        "'.', ''), '0'))))"
    )
    raw.execute(
        f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT rowid AS line0, CASE "
        "WHEN NOT coalesce(json_valid(j), false) THEN 'not JSON' "
        "WHEN json_type(j::JSON) <> 'OBJECT' THEN 'not a JSON object' "
        f"WHEN coalesce({digits}, 0) > 17 THEN 'a number with more than 17 significant digits (JSON "
        "numbers are read as doubles: it would be rounded)' END AS problem, j "
        f"FROM {JSON_LINES}",
        [_LONG_NUMBER],
    )
    rejects = [
        (int(line0), text, problem)
        for line0, text, problem in raw.execute(
            f"SELECT line0, j, problem FROM {STAGE} "
            "WHERE problem IS NOT NULL AND trim(j) <> '' ORDER BY line0"
        ).fetchall()
    ]
    rejects += [
        (int(line) - 1, text or "", f"line cannot be read: {message}")
        for line, text, message in raw.execute(
            "SELECT line, any_value(csv_line), min(error_message) FROM cl_usage_rejects "
            "GROUP BY line ORDER BY line"
        ).fetchall()
    ]
    shape = raw.execute(
        f"SELECT json_group_structure(j::JSON) FROM {STAGE} WHERE problem IS NULL"
    ).fetchone()[0]
    if shape is None:
        raise Unreadable("no JSON object on any line: not JSON lines")
    leaves: list[list[str]] = []
    _leaves(json.loads(shape), [], leaves)
    names = [".".join(p) for p in leaves]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise Unreadable(f"two fields are one column to it: {dupes[0]!r} (a dotted key beside an object)")
    reserved = [n for n in names if n.lower() in RESERVED]
    if reserved:
        raise Unreadable(f"a field is named {reserved[0]!r}, which computeledger reserves")
    select = [sge.column("line0").as_(ROW, quoted=True)]
    for p, name in zip(leaves, names, strict=True):
        pointer = "/" + "/".join(k.replace("~", "~0").replace("/", "~1") for k in p)
        value = sge.Anonymous(this="json_extract_string", expressions=[sge.column("j"), sge.convert(pointer)])
        select.append(value.as_(name, quoted=True))
    sql = sge.select(*select).from_(STAGE).where("problem IS NULL AND j IS NOT NULL").sql("duckdb")
    raw.execute(f"CREATE OR REPLACE TEMP VIEW {NUMBERED} AS {sql}")
    return Staged(con.table(NUMBERED), names, 1, "jsonl", sorted(rejects))


def _leaves(shape: object, path: list[str], out: list[list[str]]) -> None:
    """The paths to the non-object values of a JSON structure (objects are walked into)."""
    if isinstance(shape, dict) and shape:
        for key, inner in shape.items():
            _leaves(inner, [*path, key], out)
    elif path:
        out.append(path)


def drop_scratch(con: ibis.BaseBackend) -> None:
    """Drop what staging left (views before the tables they read)."""
    drop_either(con, GATHER)
    for view in (MAPPED, MAPPED_FROM, UNNESTED, UNNEST_FROM, NUMBERED, SRC):
        con.con.execute(f"DROP VIEW IF EXISTS {view}")
    for name in (STAGE, REJECTS, REJECT_SCANS, USAGE_LINES, USAGE, JSON_LINES):
        con.con.execute(f"DROP TABLE IF EXISTS {name}")


def unnest_select(column: str, fields: list[str], stride: int, columns: list[str]) -> str:
    """SELECT over UNNEST_FROM: its rows, then a row for each element of the JSON list in
    `column` (see `Store.unnest`)."""
    src = sge.column(column, quoted=True)
    as_list = sge.TryCast(this=sge.TryCast(this=src, to=sge.DataType.build("JSON")),
                          to=sge.DataType.build("JSON[]"))  # fmt: skip
    each = sge.func("list_bool_and", sge.func("list_transform", as_list.copy(), sge.Lambda(
        this=sge.EQ(this=sge.func("json_type", sge.to_identifier("x")), expression=sge.convert("OBJECT")),
        expressions=[sge.to_identifier("x")],
    )))  # fmt: skip
    is_objects = sge.Case(ifs=[
        sge.If(this=as_list.copy().is_(sge.Null()), true=sge.false()),
        sge.If(this=sge.EQ(this=sge.func("len", as_list.copy()), expression=sge.convert(0)), true=sge.true()),
    ], default=sge.func("coalesce", each, sge.false()))  # fmt: skip
    blank = sge.or_(src.is_(sge.Null()), sge.EQ(this=sge.Trim(this=src.copy()), expression=sge.convert("")))
    bad = sge.and_(sge.Not(this=sge.Paren(this=blank)), sge.Not(this=sge.Paren(this=is_objects)))
    names = [f"{column}.{f}" for f in fields]
    own = [sge.column(c, quoted=True) for c in columns if c != ROW]
    nulls = [sge.Cast(this=sge.Null(), to=sge.DataType.build("VARCHAR")).as_(n, quoted=True) for n in names]
    rows = sge.select(
        sge.column(ROW, quoted=True), *own, *nulls,
        sge.Case(ifs=[sge.If(this=bad, true=sge.convert(-1))], default=sge.Null()).as_(ELEMENT, quoted=True),
    ).from_(UNNEST_FROM)  # fmt: skip
    element = sge.column("cl_e", table="cl_u")
    place = sge.column("cl_i", table="cl_u")
    picked = [
        sge.Anonymous(this="json_extract_string", expressions=[element.copy(), sge.convert(
            "/" + f.replace("~", "~0").replace("/", "~1"))]).as_(n, quoted=True)
        for f, n in zip(fields, names, strict=True)
    ]  # fmt: skip
    new_row = sge.Add(
        this=sge.column(ROW, quoted=True),
        expression=sge.Mul(this=place.copy(), expression=sge.convert(stride)),
    )
    inner = (
        f"SELECT *, unnest({as_list.sql('duckdb')}) AS cl_e, generate_subscripts({as_list.sql('duckdb')}, 1) "
        f"AS cl_i FROM {UNNEST_FROM} WHERE NOT ({bad.sql('duckdb')})"
    )
    listed = [new_row.as_(ROW, quoted=True), *[c.copy() for c in own], *picked,
              sge.Sub(this=place.copy(), expression=sge.convert(1)).as_(ELEMENT, quoted=True)]  # fmt: skip
    elements = f"SELECT {', '.join(e.sql('duckdb') for e in listed)} FROM ({inner}) AS cl_u"
    return f"{rows.sql('duckdb')} UNION ALL {elements}"


def drop_either(con: ibis.BaseBackend, name: str) -> None:
    """Drop a temporary view or table of this name, whichever it is."""
    for kind in ("VIEW", "TABLE"):
        try:
            con.con.execute(f"DROP {kind} IF EXISTS {name}")
        except duckdb.CatalogException:  # it is the other kind
            continue


def csv_to_parquet(path: Path, target: Path) -> None:
    """A CSV file to Parquet with every column as the text the file holds. A damaged or
    truncated compressed file, or one that does not split into columns, is refused (and no
    Parquet file is left behind)."""
    if path.name.lower().endswith(".gz"):
        import gzip
        import zlib

        try:
            with gzip.open(path, "rb") as f:
                while f.read(1 << 20):
                    pass
        except (OSError, EOFError, zlib.error) as exc:
            raise UsageError(f"{path}: cannot convert: the file may be damaged: {exc}") from None
    con = duckdb.connect()
    try:
        table = con.read_csv(literal_path(path), all_varchar=True, header=True)
        if len(table.columns) < 2:
            raise UsageError(f"{path}: cannot convert: it does not split into columns (is it a CSV?)")
        table.write_parquet(str(target))
    except duckdb.Error as exc:
        target.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot convert: {first_line(exc)} (ingest it on DuckDB)") from None
    finally:
        con.close()


# -- usage -----------------------------------------------------------------------------
# JSONL is read line by line as text, so that a damaged line is quarantined with its line
# number and text (a JSON reader would refuse the whole file, or skip the line unseen).
_LINES = """
SELECT * FROM read_csv(?, columns = {'j': 'VARCHAR'}, header = false, delim = chr(1), quote = '',
                       escape = '', auto_detect = false, max_line_size = 4194304,
                       store_rejects = true, rejects_table = 'cl_usage_rejects',
                       rejects_scan = 'cl_usage_scans')
"""
_EPOCH_MAX = openai_usage.EPOCH_MAX


def _attr(key: str, kind: str) -> str:
    """The value of a span attribute named `key` (a literal, safely quoted)."""
    return f"list_filter(sp.attributes, a -> a.key = {sge.convert(key).sql('duckdb')})[1].value.{kind}"


def _count(key: str) -> str:
    """A span's count attribute as text: its intValue (a JSON number, or a string of digits
    as proto3's JSON mapping writes int64), else the whole value as JSON (a doubleValue or
    a stringValue is a count present but not usable, never a zero). Read through JSON, so
    that a file mixing both spellings (which the reader types as JSON) reads the same."""
    value = f"list_filter(sp.attributes, a -> a.key = {sge.convert(key).sql('duckdb')})[1].value"
    return f"coalesce(json_extract_string(to_json({value}), '$.intValue'), to_json({value})::VARCHAR)"


def _nanos(column: str) -> str:
    """Epoch nanoseconds (a JSON number or a string of digits) to a timestamp; out of range
    is null."""
    n = f"TRY_CAST(json_extract_string(to_json({column}), '$') AS HUGEINT)"
    return (f"CASE WHEN {n} BETWEEN 0 AND {_EPOCH_MAX}000000000 "
            f"THEN make_timestamp(CAST({n} // 1000 AS BIGINT)) END")  # fmt: skip


def _otel(attributes: dict[str, str], size: int) -> str:
    a = attributes
    return f"""
WITH rs AS (SELECT unnest(resourceSpans) AS rs FROM read_json(?, maximum_object_size = {int(size)})),
ss AS (SELECT unnest(rs.scopeSpans) AS ss FROM rs),
spans AS (SELECT unnest(ss.spans) AS sp FROM ss)
SELECT
  CAST(NULL AS BIGINT) AS line,
  to_json(sp)::VARCHAR AS raw,
  true AS is_json,
  CAST(NULL AS VARCHAR) AS read_problem,
  {_nanos("sp.startTimeUnixNano")} AS period_start,
  {_nanos("sp.endTimeUnixNano")} AS period_end,
  {_attr("gen_ai.request.model", "stringValue")} AS model,
  {_attr(a["customer"], "stringValue")} AS customer,
  {_attr(a["channel"], "stringValue")} AS channel,
  {_attr("gen_ai.operation.name", "stringValue")} AS operation,
  coalesce({_attr("gen_ai.provider.name", "stringValue")},
           {_attr("gen_ai.system", "stringValue")}) AS provider,
  {_count("gen_ai.usage.cache_creation.input_tokens")} AS cache_write_tokens,
  {_count(a["requests"])} AS requests,
  {_count("gen_ai.usage.input_tokens")} AS input_tokens,
  {_count("gen_ai.usage.cache_read.input_tokens")} AS cached_input_tokens,
  {_count("gen_ai.usage.output_tokens")} AS output_tokens,
  {_count("gen_ai.usage.reasoning.output_tokens")} AS reasoning_tokens
FROM spans
"""


def read_usage(con: ibis.BaseBackend, path: Path, fmt: str, attributes: dict[str, str]) -> ir.Table:
    """A usage file's records: line (JSONL), raw text, whether it parsed, and the typed
    fields. OTLP's customer, channel and request-count attributes are named by the caller."""
    raw = con.con
    try:
        if fmt == "openai-usage":
            for name in ("cl_usage_rejects", "cl_usage_scans"):
                raw.execute(f"DROP TABLE IF EXISTS {name}")
            raw.execute(f"CREATE OR REPLACE TEMP TABLE {USAGE_LINES} AS {_LINES}", [literal_path(path)])
            # each line parsed once: whether it is a JSON object, told to the one query of records
            raw.execute(f"CREATE OR REPLACE TEMP TABLE {USAGE_LINES}_numbered AS SELECT rowid + 1 AS line, "
                        "j, CASE WHEN json_valid(j) THEN json_type(j) = 'OBJECT' ELSE false END AS is_json "
                        f"FROM {USAGE_LINES}")  # fmt: skip
            found = openai_usage.records(con.table(f"{USAGE_LINES}_numbered"))
            raw.execute(f"CREATE OR REPLACE TEMP TABLE {USAGE} AS {ibis.to_sql(found, dialect='duckdb')}")
            # a line the reader could not take (not UTF-8, too long, a raw control byte) is a
            # record with its reason, never the end of the file
            raw.execute(
                f"INSERT INTO {USAGE} (line, raw, is_json, read_problem) "
                "SELECT line, any_value(csv_line), false, 'line cannot be read: ' || min(error_message) "
                "FROM cl_usage_rejects GROUP BY line"
            )
        else:
            # an OTLP export is one JSON document: the reader's buffer must hold the whole file
            size = max(16 * 2**20, path.stat().st_size + 2**20)
            raw.execute(
                f"CREATE OR REPLACE TEMP TABLE {USAGE} AS {_otel(attributes, size)}", [literal_path(path)]
            )
    except duckdb.Error as exc:
        why = first_line(exc)
        if fmt != "openai-usage" and "resourceSpans" in why:
            why = "not an OTLP JSON export (no resourceSpans at the top)"
        elif fmt != "openai-usage" and "JSON" in why:
            why = "not one whole JSON document (damaged or truncated?)"
        raise Unreadable(f"not readable as {fmt}: {why}") from None
    return con.table(USAGE)


def first_line(exc: Exception) -> str:
    """The first line of an engine's error message."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
