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


def test_tables_are_bound_from_the_schema_only_where_the_ledger_holds_it(tmp_path, sample):
    """Each table's Ibis schema is what DuckDB reports, whether bound from the declared
    schema (a ledger at the current schema) or looked up (an earlier one opened read-only)."""
    path = tmp_path / "ledger.duckdb"
    with open_ledger(path) as lg:
        lg.ingest([sample])
        assert lg.store._current == set(TABLES)
        for name in TABLES:
            assert lg.store.table(name).schema() == lg.store.con.table(name).schema(), name
    with open_ledger(path, read_only=True) as lg:  # reopened, the same: bound, not looked up
        assert lg.store._current == set(TABLES)
    con = duckdb.connect(str(path))
    con.execute('ALTER TABLE charges DROP COLUMN "x_extensions"')
    con.execute('ALTER TABLE ingests ALTER "rows_read" TYPE INTEGER')  # same names, another type
    con.close()
    with open_ledger(path, read_only=True) as lg:
        assert lg.store._current == set(TABLES) - {"charges", "ingests"}  # earlier tables: looked up
        assert lg.store.table("ingests").schema()["rows_read"].is_int32()
        assert "x_extensions" not in lg.store.table("charges").columns
        for name in TABLES:
            assert lg.store.table(name).schema() == lg.store.con.table(name).schema(), name
        assert lg.charges.count().execute() == 1000
    with open_ledger(path) as lg:  # migrated: its new column comes last, so it is still looked up
        assert "x_extensions" in lg.store.table("charges").columns
        assert lg.store.table("charges").schema() == lg.store.con.table("charges").schema()
