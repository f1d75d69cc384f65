"""The DuckDB store's tables: created whole on a new ledger, migrated on an old one."""

from __future__ import annotations

import duckdb

from computeledger import open_ledger
from computeledger.schema.tables import TABLES


def _columns(path) -> dict[str, list[tuple[str, str]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.sql(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
            "AND schema_name = 'main' ORDER BY table_name, column_index"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows:
        out.setdefault(table, []).append((column, kind))
    return out


def test_a_new_ledger_has_every_table_with_its_columns(tmp_path):
    with open_ledger(tmp_path / "new.duckdb"):
        pass
    got = _columns(tmp_path / "new.duckdb")
    assert set(got) == set(TABLES)
    for name, schema in TABLES.items():
        assert [c for c, _ in got[name]] == list(schema.names), name
    assert dict(got["charges"])["BilledCost"] == "DECIMAL(38,18)"


def test_an_earlier_ledger_gains_the_columns_added_since_and_keeps_its_rows(tmp_path, sample):
    path = tmp_path / "old.duckdb"
    with open_ledger(path) as lg:
        [r] = lg.ingest([sample])
    con = duckdb.connect(str(path))
    con.execute('ALTER TABLE ingests DROP COLUMN "rounding"')
    con.execute('ALTER TABLE charges DROP COLUMN "x_extensions"')
    con.close()
    with open_ledger(path) as lg:
        assert lg.charges.count().execute() == 1000
        [row] = lg.ingests.to_pyarrow().to_pylist()
        assert row["ingest_id"] == r.ingest_id and row["rounding"] is None
    got = _columns(path)
    assert [c for c, _ in got["ingests"]][-1] == "rounding"  # added at the end
    assert "x_extensions" in dict(got["charges"])
