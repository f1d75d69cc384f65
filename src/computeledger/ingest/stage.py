"""Reading a file into a table of text columns: the one backend-specific step of ingest.

Everything after staging (FOCUS rules, typing, provenance) is an Ibis expression.
This is the DuckDB implementation: its CSV reader splits the file; rows it cannot
split are kept as rejects with their line and raw text, never dropped.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot.expressions as sge

from computeledger.ingest.normalize import ROW

SRC = "cl_src"
STAGE = "cl_stage"
NUMBERED = "cl_numbered"
MAPPED = "cl_mapped"
REJECTS = "cl_rejects"
REJECT_SCANS = "cl_reject_scans"


class Unreadable(Exception):
    """The file cannot be read as the format its name says."""


@dataclass
class Reject:
    line: int
    raw: str
    reason: str


@dataclass
class Staged:
    table: ir.Table  # the file's columns as text, plus ROW (0-based, in file order)
    columns: list[str]
    first_line: int  # line of ROW 0 when rows and lines go one to one
    source: str = "csv"  # csv, parquet, or mapped


def stage(con: ibis.BaseBackend, path: Path, fmt: str) -> Staged:
    if fmt == "parquet":
        return _stage_parquet(con, path)
    return _stage_csv(con, path)


def _stage_csv(con: ibis.BaseBackend, path: Path) -> Staged:
    """The file as text columns, its rows numbered in file order."""
    for name in (REJECTS, REJECT_SCANS):
        con.con.execute(f"DROP TABLE IF EXISTS {name}")
    options = {
        "all_varchar": True,
        "header": True,
        "store_rejects": True,
        "rejects_table": REJECTS,
        "rejects_scan": REJECT_SCANS,
    }
    call = sge.Anonymous(
        this="read_csv",
        expressions=[sge.convert(str(path))]
        + [sge.EQ(this=sge.column(k), expression=sge.convert(v)) for k, v in options.items()],
    ).sql("duckdb")
    # Staged into a table, which the reader fills in parallel and in file order: its
    # rowid numbers the rows, and the FOCUS rules then run in parallel over it. (Numbering
    # the reader's rows directly, WITH ORDINALITY or a window, serialises what follows.)
    # The file is read once: its header is checked on the staged table.
    try:
        con.con.execute(f"CREATE OR REPLACE TEMP TABLE {STAGE} AS SELECT * FROM {call}")
    except duckdb.Error as exc:
        raise Unreadable(f"not a readable CSV file: {_first_line(exc)}") from exc
    columns = [r[0] for r in con.con.execute(f"DESCRIBE {STAGE}").fetchall()]
    if ROW in columns:
        raise Unreadable(f"a column is named {ROW!r}, which computeledger reserves")
    quoted = [c for c in columns if len(c) > 1 and c[0] == c[-1] and c[0] in "\"'"]
    if quoted and len(quoted) * 2 > len(columns):
        raise Unreadable(
            "the CSV's quoting could not be detected (its column names still carry quotes, "
            f"e.g. {quoted[0]}): the file may be damaged"
        )
    if len(columns) == 1 and any(sep in columns[0] for sep in ",;\t|"):
        raise Unreadable(
            "the CSV could not be split into columns (is it damaged, or compressed other than "
            f"its name says?); its first line reads {columns[0][:80]!r}"
        )
    con.con.execute(f"CREATE OR REPLACE TEMP VIEW {NUMBERED} AS SELECT rowid AS {ROW}, * FROM {STAGE}")
    return Staged(con.table(NUMBERED), columns, first_line=2)


def _stage_parquet(con: ibis.BaseBackend, path: Path) -> Staged:
    try:
        src = con.read_parquet(str(path), table_name=SRC, file_row_number=True)
    except duckdb.Error as exc:
        raise Unreadable(f"not a readable Parquet file: {_first_line(exc)}") from exc
    columns = [c for c in src.columns if c != "file_row_number"]
    text = {}
    for c in columns:
        typ = src[c].type()
        if typ.is_string():
            text[c] = src[c]
        elif typ.is_map() or typ.is_struct() or typ.is_array() or typ.is_json():
            text[c] = src[c].cast("json").cast("string")
        else:
            text[c] = src[c].cast("string")
    text[ROW] = src["file_row_number"]
    return Staged(src.select(**text), columns, first_line=1, source="parquet")


def apply_mapping(con: ibis.BaseBackend, staged: Staged, mapping) -> Staged:
    """The staged file seen through a mapping: FOCUS-named text columns, then its own as x_."""
    from computeledger.ingest.mapping import mapped_select, numeric_operands

    scales = {}
    for name in sorted(numeric_operands(mapping) & set(staged.columns)):
        col = sge.column(name, quoted=True).sql("duckdb")
        digits, exp = con.con.execute(
            f"SELECT max(length(split_part(trim({col}), '.', 2))), "
            f"bool_or(contains(lower({col}), 'e')) FROM {NUMBERED}"
        ).fetchone()
        if exp:
            raise Unreadable(
                f"column {name!r} has numbers in E notation; mapped arithmetic needs plain decimals"
            )
        if (digits or 0) > 18:
            raise Unreadable(f"column {name!r} has numbers with more than 18 decimal places")
        scales[name] = digits or 0
    select = mapped_select(mapping, staged.columns, scales, ROW)
    con.con.execute(f"CREATE OR REPLACE TEMP VIEW {MAPPED} AS {select} FROM {NUMBERED}")
    table = con.table(MAPPED)
    return Staged(table, [c for c in table.columns if c != ROW], staged.first_line, source="mapped")


def csv_rejects(con: ibis.BaseBackend) -> list[tuple[int, str, str]]:
    """(record number, raw line, message) of the rows the CSV reader could not split."""
    if REJECTS not in con.list_tables():
        return []
    rows = con.con.execute(
        # the reader logs a short row once per missing column: one entry per line
        f"SELECT line, any_value(csv_line), min_by(error_message, column_idx) FROM {REJECTS} "
        "GROUP BY line ORDER BY line"
    ).fetchall()
    # DuckDB numbers records, counting the header as 1.
    return [(int(line) - 1, raw or "", msg) for line, raw, msg in rows]


def record_lines(con: ibis.BaseBackend, path: Path, fmt: str) -> list[int]:
    """Line on which each data record starts, for files where records span lines
    or rows were rejected. A Python pass: only taken when line numbers need it. The
    dialect is the one the reader used (undecodable bytes are read as U+FFFD here)."""
    opener = gzip.open if fmt == "csv.gz" else open
    dialect = None
    if REJECT_SCANS in con.list_tables():
        dialect = con.con.execute(f"SELECT delimiter, quote FROM {REJECT_SCANS} LIMIT 1").fetchone()
    delimiter = dialect[0] if dialect and len(dialect[0] or "") == 1 else ","
    quote = dialect[1] if dialect and len(dialect[1] or "") == 1 else '"'
    starts: list[int] = []
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, quotechar=quote)
        end = 0
        for i, record in enumerate(reader):
            start, end = end + 1, reader.line_num
            if i == 0 or not record or record == [""]:
                continue  # the header, and blank lines (the CSV reader skips them too)
            starts.append(start)
    return starts


def line_map(starts: list[int], rejected: set[int]) -> pa.Table:
    """ROW (0-based among the rows read) to the line the row starts on."""
    lines = [line for i, line in enumerate(starts, start=1) if i not in rejected]
    return pa.table({ROW: pa.array(range(len(lines)), pa.int64()), "line": pa.array(lines, pa.int64())})


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
