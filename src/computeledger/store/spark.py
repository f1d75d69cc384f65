"""The ledger on Spark: each table a Parquet directory, read and written through one
SparkSession, queried through Ibis's PySpark backend.

What Ibis cannot express lives here, behind the operations every store offers
(`computeledger.store.base.Store`): read a table, append rows, delete or update rows,
replace a partition, a unit of work, the next id, a scratch copy, and reading a file.

Layout under the ledger folder: `charges/` partitioned by `x_ingest_id`, `allocations/`
by `rules_version`, the other tables as plain Parquet folders. Parquet has no
transactions, so the `ingests` table is the commit log: a file's charges become visible
when its ingest row says `loaded`, written last. A file that fails before that leaves
rows no reader sees. One writer at a time holds the folder's lock file.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot.expressions as sge

from computeledger.errors import LedgerInUse, UsageError
from computeledger.schema.tables import TABLES
from computeledger.store import duckdb_files, openai_usage
from computeledger.store.base import ELEMENT, Staged, Unreadable, Where, as_text, literal_path

ROW = "__row"  # the staged row number; the name ingest's FOCUS rules expect

ENV_MASTER = "COMPUTELEDGER_SPARK_MASTER"
PARTITIONS = {"charges": "x_ingest_id", "allocations": "rules_version"}
VISIBLE = "loaded"
_OPTIMIZER = "org.apache.spark.sql.catalyst.optimizer"


def session(master: str | None = None, conf: dict[str, str] | None = None):
    """A SparkSession: local on this machine unless `master` (or $COMPUTELEDGER_SPARK_MASTER)
    names a cluster. UTC, exact decimals (no silent precision loss), no UI."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - pyspark is a declared dependency
        raise UsageError("the Spark backend needs pyspark: pip install 'computeledger[spark]'") from None
    builder = SparkSession.builder.appName("computeledger")
    builder = builder.master(master or os.environ.get(ENV_MASTER) or "local[2]")
    settings = {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.decimalOperations.allowPrecisionLoss": "false",
        "spark.sql.shuffle.partitions": "8",
        "spark.ui.enabled": "false",
        "spark.sql.warehouse.dir": str(Path(tempfile.gettempdir()) / "computeledger-spark-warehouse"),
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.ansi.enabled": "false",
        "spark.sql.jsonGenerator.ignoreNullFields": "false",  # JSON keeps null keys, as DuckDB's
        # the FOCUS rules over a group of files read as a union: pushed into each file's
        # branch, the (large) projection is planned and compiled once per file
        "spark.sql.optimizer.excludedRules": f"{_OPTIMIZER}.PushProjectionThroughUnion",
    } | (conf or {})
    for key, value in settings.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkStore:
    """The ledger's tables in a folder, through one Spark session."""

    name = "spark"

    def __init__(self, root: str | Path, *, read_only: bool = False, master: str | None = None, **_: Any):
        self.root = Path(root).resolve()
        if read_only and not (self.root / "ingests").exists():
            raise UsageError(f"no ledger at {self.root}: load bills first with `computeledger ingest`")
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = None
        if not read_only:
            self._lock = (self.root / ".lock").open("w")
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise LedgerInUse(f"ledger in use: {self.root} is open in another process") from None
        self.spark = session(master)
        self.con = ibis.pyspark.connect(self.spark)
        if not read_only:
            for name in TABLES:
                self.path(name).mkdir(exist_ok=True)

    def close(self) -> None:
        shutil.rmtree(self.root / ".staged", ignore_errors=True)
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    # -- reading ---------------------------------------------------------------------
    def path(self, name: str) -> Path:
        return self.root / name

    def spark_schema(self, name: str):
        from ibis.backends.pyspark.datatypes import PySparkSchema

        return PySparkSchema.from_ibis(TABLES[name])

    def table(self, name: str) -> ir.Table:
        """The table as it is now (files listed afresh); charges only of committed ingests."""
        if name not in TABLES:
            raise UsageError(f"no table {name!r} in the ledger")
        df = self.spark.read.schema(self.spark_schema(name)).parquet(str(self.path(name)))
        view = f"cl_{name}"
        df.createOrReplaceTempView(view)
        t = self.con.table(view).select(*TABLES[name].names)  # partition columns back in place
        if name == "charges":
            ingests = self.table("ingests")
            done = ingests.filter(ingests.status == VISIBLE).select(cl_done=ingests.ingest_id)
            t = t.semi_join(done, t.x_ingest_id == done.cl_done)
        return t

    def exists(self, name: str) -> bool:
        return name in TABLES

    # -- writing ---------------------------------------------------------------------
    def dataframe(self, expr: ir.Table, params: dict | None = None):
        """An Ibis expression as a Spark DataFrame."""
        self.con._run_pre_execute_hooks(expr)
        return self.spark.sql(self.con.compile(expr, params=params))

    def append(self, name: str, rows: ir.Table, params: dict | None = None) -> None:
        """Add rows (an Ibis table or a Spark DataFrame) to a table."""
        df = rows if hasattr(rows, "write") else self.dataframe(rows, params)
        df = df.select(*TABLES[name].names)
        writer = df.write.mode("append")
        if name in PARTITIONS:
            writer = writer.partitionBy(PARTITIONS[name])
        writer.parquet(str(self.path(name)))

    def _stored(self, name: str) -> ir.Table:
        """Every row of the table's files, committed or not (what a rewrite must keep)."""
        df = self.spark.read.schema(self.spark_schema(name)).parquet(str(self.path(name)))
        view = f"cl_all_{name}"
        df.createOrReplaceTempView(view)
        return self.con.table(view).select(*TABLES[name].names)

    def pending(self, name: str, where: Where) -> ir.Table:
        """Rows written in this unit of work, committed or not (charges before their ingests row)."""
        t = self._stored(name)
        return t.filter(where(t))

    def delete(self, name: str, where: Where) -> None:
        """Partitioned tables: the partitions holding matching rows are rewritten without
        them; other tables are rewritten whole (they are small)."""
        t = self._stored(name)
        hit = where(t).fill_null(False)
        if name not in PARTITIONS:
            self.rewrite(name, t.filter(~hit))
            return
        column = PARTITIONS[name]
        touched = t.filter(hit).select(column).distinct()[column].to_pyarrow().to_pylist()
        if not touched:
            return
        kept = t.filter(t[column].isin(touched) & ~hit)
        with self.scratch(kept) as rows:
            for value in touched:  # partitions left empty would not be overwritten: drop them all first
                self.drop_partition(name, value)
            self.append(name, rows)

    def update(self, name: str, where: Where, values: dict[str, Callable[[ir.Table], ir.Value]]) -> None:
        t = self._stored(name)
        hit = where(t).fill_null(False)
        self.rewrite(name, t.mutate(**{c: ibis.ifelse(hit, f(t), t[c]) for c, f in values.items()}))

    def replace(self, name: str, key: dict[str, Any], rows: ir.Table) -> None:
        """The rows are computed first, then the old ones go: a failure leaves the old."""
        with self.scratch(rows) as new:
            if name in PARTITIONS and list(key) == [PARTITIONS[name]]:
                self.drop_partition(name, key[PARTITIONS[name]])
                self.append(name, new)
                return
            t = self._stored(name)
            cond = ibis.literal(True)
            for column, value in key.items():
                cond &= t[column] == value
            self.rewrite(name, t.filter(~cond.fill_null(False)).union(new.select(*TABLES[name].names)))

    def transaction(self):
        """Parquet has no transactions: a file's ingests row, written last, commits it."""
        return nullcontext()

    def next_id(self, name: str, column: str) -> int:
        got = self._stored(name)[column].max().to_pyarrow().as_py()
        return (got or 0) + 1

    def drop_partition(self, name: str, value: Any) -> None:
        shutil.rmtree(self.path(name) / f"{PARTITIONS[name]}={value}", ignore_errors=True)

    def rewrite(self, name: str, rows: ir.Table) -> None:
        """Replace a small table by `rows`: written beside it, then swapped in."""
        new = self.root / f".{name}.{uuid.uuid4().hex}"
        df = self.dataframe(rows).select(*TABLES[name].names)
        writer = df.write
        if name in PARTITIONS:
            writer = writer.partitionBy(PARTITIONS[name])
        writer.parquet(str(new))
        old = self.root / f".{name}.old.{uuid.uuid4().hex}"
        if self.path(name).exists():
            self.path(name).rename(old)
        new.rename(self.path(name))
        shutil.rmtree(old, ignore_errors=True)

    @contextmanager
    def scratch(self, rows: ir.Table) -> Iterator[ir.Table]:
        """Rows written once to a scratch folder and read back: one computation, many reads."""
        df = rows if hasattr(rows, "write") else self.dataframe(rows)
        where = self.root / ".scratch" / uuid.uuid4().hex
        try:
            df.write.parquet(str(where))
            view = f"cl_scratch_{where.name[:12]}"
            self.spark.read.parquet(str(where)).createOrReplaceTempView(view)
            yield self.con.table(view)
        finally:
            shutil.rmtree(where, ignore_errors=True)

    def memtable(self, rows: list[dict], name: str) -> ir.Table:
        return ibis.memtable(rows, schema=TABLES[name])

    # -- files -------------------------------------------------------------------------
    def stage(self, path: Path, fmt: str) -> Staged:
        """A Parquet bill as text columns with its 0-based row number; a CSV or JSON lines
        one as the DuckDB ledger stages it (`_via_duckdb`)."""
        if fmt in ("csv", "csv.gz", "jsonl", "jsonl.gz"):
            with _duckdb() as con:
                staged = duckdb_files.stage(con, path, fmt)
                return dataclasses.replace(staged, table=self._via_duckdb(con, staged.table, "cl_stage"))
        if fmt != "parquet":
            raise Unreadable(f"the Spark ledger does not read {fmt} files")
        try:
            df = self.spark.read.parquet(literal_path(Path(path).absolute()))  # the JVM has its own cwd
            columns = list(df.columns)
            df = df.select("*", "_metadata.row_index")
        except Exception as exc:  # Spark's analysis errors: not Parquet, damaged footer
            raise Unreadable(f"not a readable Parquet file: {str(exc).splitlines()[0]}") from None
        df.createOrReplaceTempView("cl_stage")
        src = self.con.table("cl_stage")
        text = as_text(src, columns)
        columns = list(text)
        text[ROW] = src["row_index"]
        return Staged(src.select(**text), columns, first_line=1, source="parquet")

    def gather(self, rows: ir.Table, first: bool, alone: bool = False) -> ir.Table:
        """The staged files as one view: each file's DataFrame (its plan fixed when taken,
        whatever view the next file replaces) joined to those before it by name."""
        df = self.dataframe(rows)
        self._gathered = df if first else self._gathered.unionByName(df)
        self._gathered.createOrReplaceTempView("cl_gather")
        return self.con.table("cl_gather")

    _gathered: Any = None

    def _via_duckdb(self, con: ibis.BaseBackend, rows: ir.Table, view: str) -> ir.Table:
        """Rows a file read on DuckDB gives (its CSV reader, with the rows it cannot split
        kept aside, and its JSON reader: the same rows and line numbers on both ledgers),
        written to a Parquet file under the ledger's `.staged/` (kept until the ledger is
        closed: Spark reads lazily) and read back as `view`."""
        target = self.root / ".staged" / f"{uuid.uuid4().hex}.parquet"
        target.parent.mkdir(exist_ok=True)
        sql = con.compile(rows)
        con.con.execute(f"COPY ({sql}) TO {sge.convert(str(target)).sql('duckdb')} (FORMAT parquet)")
        self.spark.read.parquet(literal_path(target)).createOrReplaceTempView(view)
        return self.con.table(view)

    def through(self, rows: ir.Table, select: sge.Select) -> ir.Table:
        self.dataframe(rows).createOrReplaceTempView("cl_mapped_from")
        self.spark.sql(select.from_("cl_mapped_from").sql("spark")).createOrReplaceTempView("cl_mapped")
        return self.con.table("cl_mapped")

    def unnest(self, rows: ir.Table, column: str, fields: list[str], stride: int) -> ir.Table:
        from pyspark.sql import functions as F

        def col(name: str):
            return F.col("`" + name.replace("`", "``") + "`")

        df = self.dataframe(rows)
        own = [c for c in df.columns if c != ROW]
        text = col(column)
        listed = F.from_json(text, "array<map<string,string>>")
        blank = text.isNull() | (F.trim(text) == "")
        # from_json reads an element that is not an object as null
        fine = listed.isNotNull() & (F.size(F.filter(listed, lambda m: m.isNull())) == 0)
        bad = ~blank & ~F.coalesce(fine, F.lit(False))
        names = [f"{column}.{f}" for f in fields]
        nulls = [F.lit(None).cast("string").alias(n) for n in names]
        plain = df.select(F.col(ROW), *[col(c) for c in own], *nulls,
                          F.when(bad, F.lit(-1)).cast("long").alias(ELEMENT))  # fmt: skip
        exploded = df.filter(~bad).select("*", F.posexplode(listed).alias("cl_i", "cl_e"))
        elements = exploded.select(
            (F.col(ROW) + (F.col("cl_i") + 1) * F.lit(stride)).alias(ROW),
            *[col(c) for c in own],
            *[F.col("cl_e")[f].alias(n) for f, n in zip(fields, names, strict=True)],
            F.col("cl_i").cast("long").alias(ELEMENT),
        )
        plain.unionByName(elements).createOrReplaceTempView("cl_unnested")
        return self.con.table("cl_unnested")

    def read_usage(self, path: Path, fmt: str, attributes: dict[str, str]) -> ir.Table:
        """OpenAI-style usage records (JSONL), each line numbered exactly; an OTLP export
        (one JSON document) as the DuckDB ledger reads it (`_via_duckdb`)."""
        if fmt != "openai-usage":
            with _duckdb() as con:
                records = duckdb_files.read_usage(con, path, fmt, attributes)
                return self._via_duckdb(con, records, "cl_read_usage")
        lines = self.spark.sparkContext.textFile(literal_path(Path(path).absolute())).zipWithIndex()
        df = self.spark.createDataFrame(lines.map(lambda p: (p[1] + 1, p[0])), "line long, j string")
        df.createOrReplaceTempView("cl_read_usage_lines")
        found = openai_usage.records(self.con.table("cl_read_usage_lines"))
        self.spark.sql(self.con.compile(found)).createOrReplaceTempView("cl_read_usage")
        return self.con.table("cl_read_usage")


@contextmanager
def _duckdb() -> Iterator[ibis.BaseBackend]:
    """An in-memory DuckDB session, for reading a file as the DuckDB ledger does."""
    con = ibis.duckdb.connect()
    try:
        yield con
    finally:
        con.disconnect()


def snapshot(path: str | Path, folder: Path) -> tuple[Path, str] | None:
    """The ledger folder itself, and its version: Spark reads the Parquet tables a commit
    left without a lock, so a reader needs no copy (`folder` is unused)."""
    root = Path(path)
    found = version(root)
    if found is None:
        raise UsageError(f"no ledger at {root}: load bills first with `computeledger ingest`")
    return root, found


def version(path: str | Path) -> str | None:
    """The ledger folder's version: its files' count and latest modification (None: no ledger)."""
    root = Path(path)
    if not (root / "ingests").is_dir():
        return None
    stamps = [p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file() and ".staged" not in p.parts]
    return f"{len(stamps)}:{max(stamps, default=0)}"
