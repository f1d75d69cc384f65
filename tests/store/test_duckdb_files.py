"""Staging a CSV file on DuckDB: the plain read (the header's dialect, no sniffer) stages
exactly what the sniffer's read stages, or steps aside for it."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

import ibis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from computeledger.store import duckdb_files
from computeledger.store.duckdb_files import NUMBERED, REJECT_SCANS, REJECTS, stage

TEXT = st.text(alphabet=st.sampled_from(list("ab1 ,;\"'\\\n.-é")), max_size=8)


def _sniffed(con, path: Path) -> tuple[list[str], list[tuple], list[tuple]] | None:
    """Columns, rows and rejects as the sniffer alone stages them (the path before the
    plain read existed); None where its reading looks wrong (staging then reads the file
    with the header's dialect, whatever came first)."""
    for name in (REJECTS, REJECT_SCANS):
        con.con.execute(f"DROP TABLE IF EXISTS {name}")
    columns, misread = duckdb_files._read_sniffed(con.con, path)
    if misread:
        return None
    rows = con.con.execute(f"SELECT * FROM {duckdb_files.STAGE} ORDER BY rowid").fetchall()
    return columns, rows, duckdb_files._csv_rejects(con)


def _staged(con, path: Path) -> tuple[list[str], list[tuple], list[tuple]]:
    staged = stage(con, path, "csv")
    rows = con.con.execute(f"SELECT * EXCLUDE (__row) FROM {NUMBERED} ORDER BY __row").fetchall()
    return staged.columns, rows, staged.rejects


@pytest.mark.slow  # a hundred files, each staged both ways
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.tuples(TEXT, TEXT, TEXT), min_size=1, max_size=6),
    delimiter=st.sampled_from([",", ";", "\t"]),
    escape=st.sampled_from(['"', "\\"]),
)
def test_the_plain_read_stages_what_the_sniffer_stages(rows, delimiter, escape):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bill.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, delimiter=delimiter, escapechar=escape if escape != '"' else None,
                                doublequote=escape == '"', quoting=csv.QUOTE_MINIMAL)  # fmt: skip
            writer.writerow(["BilledCost", "ServiceName", "x_Note"])
            writer.writerows(rows)
        con = ibis.duckdb.connect()
        try:
            plain = _staged(con, path)
            sniffed = _sniffed(con, path)
        finally:
            con.disconnect()
    if sniffed and not sniffed[2]:  # where the sniffer reads every row, the plain read is the same
        assert plain == sniffed


def test_a_field_opening_with_an_apostrophe_is_left_to_the_sniffer(tmp_path):
    """The sniffer may take ' for the quote character (`''` is then an empty value): where a
    field opens with one, its reading stands (found by the property above)."""
    bill = tmp_path / "bill.csv"
    bill.write_text("BilledCost,ServiceName,x_Note\n,,''\n", encoding="utf-8")
    con = ibis.duckdb.connect()
    try:
        assert duckdb_files._read_plainly(con.con, bill) is None
        assert _staged(con, bill) == _sniffed(con, bill)
    finally:
        con.disconnect()


def test_an_rfc_4180_bill_is_read_plainly_and_a_backslash_escaped_one_by_the_sniffer(tmp_path):
    rfc = tmp_path / "rfc.csv"
    rfc.write_text('BilledCost,ServiceName\n1.5,"GPU, ""large"""\n2,plain\n', encoding="utf-8")
    escaped = tmp_path / "escaped.csv"
    escaped.write_text('BilledCost,ServiceName\n1.5,"GPU \\"large\\""\n2,plain\n', encoding="utf-8")
    padded = tmp_path / "padded.csv"
    padded.write_text(" BilledCost ,ServiceName,\n1.5,GPU,\n", encoding="utf-8")
    con = ibis.duckdb.connect()
    try:
        raw = con.con
        assert duckdb_files._read_plainly(raw, rfc) == ["BilledCost", "ServiceName"]
        assert _staged(con, rfc)[1] == [("1.5", 'GPU, "large"'), ("2", "plain")]
        assert duckdb_files._read_plainly(raw, escaped) is None  # a rejected line: the sniffer reads it
        assert _staged(con, escaped) == (
            ["BilledCost", "ServiceName"],
            [("1.5", 'GPU "large"'), ("2", "plain")],
            [],
        )
        assert duckdb_files._read_plainly(raw, padded) is None  # names the sniffer trims and invents
        assert _staged(con, padded)[0] == ["BilledCost", "ServiceName", "column2"]
    finally:
        con.disconnect()
