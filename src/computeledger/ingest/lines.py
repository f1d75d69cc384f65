"""Exact line numbers for CSV rows: where records span lines, or the reader rejected some."""

from __future__ import annotations

import csv
import gzip
import zlib
from pathlib import Path

import pyarrow as pa

from computeledger.ingest.results import Refused

ROW_COLUMN = "cl_row"
LINE_COLUMN = "cl_line"


def record_lines(path: Path, fmt: str, delimiter: str = ",", quote: str = '"') -> list[int]:
    """Line on which each data record starts (the header and blank lines skipped, as the
    reader skips them). A Python pass, only taken when line numbers need it; undecodable
    bytes are read as U+FFFD."""
    opener = gzip.open if fmt == "csv.gz" else open
    starts: list[int] = []
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.reader(f, delimiter=delimiter, quotechar=quote)
            end = 0
            for i, record in enumerate(reader):
                start, end = end + 1, reader.line_num
                if i == 0 or not record or record == [""]:
                    continue
                starts.append(start)
    except (OSError, EOFError, zlib.error) as exc:  # a damaged or truncated compressed file
        raise Refused(f"the file may be damaged: {exc}") from None
    except csv.Error as exc:
        raise Refused(f"the file may be damaged: line {end + 1}: {exc}") from None
    return starts


def line_map(starts: list[int], rejected: set[int]) -> pa.Table:
    """Row number (0-based among the rows read) to the line the row starts on."""
    lines = [line for i, line in enumerate(starts, start=1) if i not in rejected]
    return pa.table(
        {ROW_COLUMN: pa.array(range(len(lines)), pa.int64()), LINE_COLUMN: pa.array(lines, pa.int64())}
    )


def reject_line(starts: list[int], record: int) -> int:
    """The line of a record the reader rejected (its record number counts from 1)."""
    return starts[record - 1] if 0 < record <= len(starts) else record + 1
