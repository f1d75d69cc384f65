"""The ledger in one DuckDB file: the embedded default.

Writes are SQL built by sqlglot from Ibis expressions (never user text formatted into
SQL); a file's ingest is one DuckDB transaction. Reading files (CSV, Parquet, JSON
usage) is in `computeledger.store.duckdb_files`.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.expr.operations.udf import InputType

from computeledger.errors import LedgerInUse, UsageError
from computeledger.schema.tables import TABLES
from computeledger.store import duckdb_files
from computeledger.store.base import Staged, Unreadable, Where

ENV_MEMORY = "COMPUTELEDGER_MEMORY_LIMIT"


def connect(path: str, *, read_only: bool = False) -> ibis.BaseBackend:
    """An Ibis DuckDB connection in UTC with bounded memory; 'ledger in use' if locked."""
    memory = os.environ.get(ENV_MEMORY, "1GB")
    _check_ledger_path(path)
    try:
        con = ibis.duckdb.connect(path, read_only=read_only)
    except duckdb.Error as exc:
        text = str(exc).lower()
        if "could not set lock" in text or "conflicting lock" in text:
            raise LedgerInUse(
                f"ledger in use: {path} is open for writing in another process (DuckDB allows one writer "
                "and, while it writes, no other reader); try again when it finishes, or read a copy "
                f"(cp {path} snapshot.duckdb; computeledger ... --ledger snapshot.duckdb)"
            ) from exc
        first = str(exc).strip().splitlines()[0]
        raise UsageError(
            f"{path}: cannot open the ledger: not a DuckDB ledger, or a damaged or truncated one ({first})"
        ) from None
    raw = con.con
    raw.execute("SET TimeZone = 'UTC'")
    raw.execute("SET enable_progress_bar = false")
    raw.execute(f"SET memory_limit = '{_checked_memory(memory)}'")  # validated: no injection
    return con


def _check_ledger_path(path: str) -> None:
    """Say plainly what a ledger path is when it cannot be a ledger file."""
    if path == ":memory:":
        return
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{path} is a folder, not a ledger file (a Spark ledger? use --backend spark)")
    if not p.parent.exists():
        raise UsageError(f"{path}: the folder {p.parent} does not exist")
    if p.exists() and p.stat().st_size == 0:
        raise UsageError(f"{path}: an empty file, not a ledger (remove it, and ingest again)")
    if p.exists() and p.is_file():
        with p.open("rb") as f:
            head = f.read(16)
        if len(head) >= 12 and head[8:12] != b"DUCK":
            raise UsageError(f"{path}: not a DuckDB ledger (its first bytes are not DuckDB's)")


def _checked_memory(value: str) -> str:
    """A DuckDB memory size such as '1GB' or '512MB', refused if it is anything else."""
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value, re.I):
        raise UsageError(f"{ENV_MEMORY}: not a memory size such as 1GB: {value!r}")
    return value.strip()


class DuckDBStore:
    """The ledger's tables in a DuckDB file (or `:memory:`)."""

    name = "duckdb"

    def __init__(self, path: str | Path, *, read_only: bool = False, **_: Any):
        path = str(path)
        if read_only and path != ":memory:" and not Path(path).exists():
            raise UsageError(f"no ledger at {path}: load bills first with `computeledger ingest`")
        self.root = path
        self.con = connect(path, read_only=read_only)
        self.raw = self.con.con
        self._tables: dict[str, ir.Table] = {}
        self._dropped: list[str] = []  # scratch tables to drop when the unit of work ends
        have = self._catalogue()
        if not read_only:
            have = self._create_or_migrate(have)
        # Tables whose columns and types are the current schema's, in its order, are bound
        # from it; others (an earlier version's ledger opened read-only) are looked up.
        self._current = {name for name, columns in have.items() if columns == self._declared(name)}

    def _declared(self, name: str) -> list[tuple[str, str]] | None:
        """A table's (column, type) pairs as DuckDB's catalogue names them for the current
        schema: the ledger's tables created once per process in an empty database."""
        if not _DECLARED:
            scratch = duckdb.connect()
            try:
                scratch.execute(";\n".join(_create_table(self.con, n) for n in TABLES))
                for table, column, kind in scratch.execute(
                    "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
                    "ORDER BY table_name, column_index"
                ).fetchall():
                    _DECLARED.setdefault(table, []).append((column, kind))
            finally:
                scratch.close()
        return _DECLARED.get(name)

    def _catalogue(self) -> dict[str, list[tuple[str, str]]]:
        """The ledger's tables and their (column, type) pairs in order: one catalogue query."""
        have: dict[str, list[tuple[str, str]]] = {}
        for table, column, kind in self.raw.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE NOT internal "
            "AND schema_name = 'main' AND database_name = current_database() "
            "ORDER BY table_name, column_index"
        ).fetchall():
            have.setdefault(table, []).append((column, kind))
        return have

    def _create_or_migrate(self, have: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        """Create the tables a new ledger lacks, and add to a ledger written by an earlier
        version the columns added since (null in its earlier rows), so that every write
        sees the current schema: one script. The tables' columns after it."""
        script = []
        have = {name: list(columns) for name, columns in have.items()}
        for name, schema in TABLES.items():
            if name not in have:
                script.append(_create_table(self.con, name))
                have[name] = self._declared(name) or []
                continue
            present = {column for column, _ in have[name]}
            for column, kind in schema.items():
                if column not in present:
                    add = sge.Alter(this=sg.table(name, quoted=True), kind="TABLE",
                                    actions=[_column(self.con, column, kind)])  # fmt: skip
                    script.append(add.sql("duckdb"))
                    have[name].append((column, "added"))  # looked up: it comes last
        if script:
            self.raw.execute(";\n".join(script))
        return have

    # -- reading ---------------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        if name not in TABLES:
            raise UsageError(f"no table {name!r} in the ledger")
        if name not in self._tables:  # the schema is fixed: bound once per connection
            if name in self._current:  # no catalogue lookup (and type parsing) per table
                self._tables[name] = ops.DatabaseTable(
                    name, schema=stored_schema(name), source=self.con, namespace=ops.Namespace()
                ).to_expr()
            else:
                self._tables[name] = self.con.table(name)
        return self._tables[name]

    def exists(self, name: str) -> bool:
        return name in self.con.list_tables()

    def _sql(self, expr: ir.Expr, params: dict | None = None) -> tuple[str, dict]:
        """An expression's SQL and its bound values. Compiled once per expression object:
        parameters become named placeholders, so an expression reused with other values
        (ingest: one per file layout; the FOCUS rules are the costly part) is not
        compiled again."""
        got = _COMPILED.get(id(expr))
        if got is None or got[0] is not expr:
            got = (expr, self._compile(expr, list(params or {})), _needs_hooks(expr))
            _COMPILED[id(expr)] = got
            if len(_COMPILED) > 64:  # bounded: the oldest expression goes first
                _COMPILED.pop(next(iter(_COMPILED)))
        if got[2]:  # registers the in-memory tables it reads (a walk of the whole expression)
            self.con._run_pre_execute_hooks(expr)
        sql, names = got[1]
        return sql, {names[p]: v for p, v in (params or {}).items()}

    def _compile(self, expr: ir.Expr, params: list) -> tuple[str, dict]:
        if not params:
            return self.con.compile(expr), {}
        # each parameter compiled as a sentinel literal, then swapped for a placeholder
        sentinels = {p: (f"cl-param-{i}-{uuid.uuid4().hex}" if p.type().is_string() else 9007199254740000 + i)
                     for i, p in enumerate(params)}  # fmt: skip
        names = {p: f"p{i}" for i, p in enumerate(params)}
        by_text = {str(v): names[p] for p, v in sentinels.items()}

        def placeholder(node: sge.Expression) -> sge.Expression:
            if isinstance(node, sge.Literal) and node.this in by_text:
                return sge.Placeholder(this=by_text[node.this])
            return node

        ast = self.con.compiler.to_sqlglot(expr, params=sentinels)
        return ast.transform(placeholder).sql("duckdb"), names

    def _clause(self, name: str, where: Where, values=None) -> sge.Select:
        t = self.table(name)
        expr = t.filter(where(t))
        if values:
            expr = expr.select(**{c: f(t) for c, f in values.items()})
        self.con._run_pre_execute_hooks(expr)
        return sg.parse_one(self.con.compile(expr), read="duckdb")

    # -- writing ---------------------------------------------------------------------
    def append(self, name: str, rows: ir.Table, params: dict | None = None) -> None:
        columns = ", ".join(sge.to_identifier(c, quoted=True).sql("duckdb") for c in TABLES[name].names)
        target = sge.to_identifier(name, quoted=True).sql("duckdb")
        sql, values = self._sql(rows, params)
        try:
            self.raw.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM ({sql})", values)
        except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            # a value the staged text cannot become (a reader's late surprise): the file's fault
            raise Unreadable(f"not a readable file: {duckdb_files.first_line(exc)}") from exc

    def pending(self, name: str, where: Where) -> ir.Table:
        t = self.table(name)
        return t.filter(where(t))

    def delete(self, name: str, where: Where) -> None:
        q = self._clause(name, where)
        stmt = sge.Delete(this=_arg(q, "from").this, where=q.args["where"])
        self._run_with(stmt, q)

    def update(self, name: str, where: Where, values: dict[str, Callable[[ir.Table], ir.Value]]) -> None:
        q = self._clause(name, where, values)
        sets = [sge.EQ(this=sge.column(e.alias, quoted=True), expression=e.this) for e in q.expressions]
        stmt = sge.Update(this=_arg(q, "from").this, expressions=sets, where=q.args["where"])
        self._run_with(stmt, q)

    def _run_with(self, stmt: sge.Expression, q: sge.Select) -> None:
        with_ = _arg(q, "with")
        if with_ is not None:
            stmt.set("with", with_)
        self.raw.execute(stmt.sql("duckdb"))

    def replace(self, name: str, key: dict[str, Any], rows: ir.Table) -> None:
        with self.transaction():
            self.delete(name, lambda t: _equal(t, key))
            self.append(name, rows)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.raw.execute("BEGIN TRANSACTION")
        self._depth = 1
        try:
            yield
            self.raw.execute("COMMIT")
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
            for view in self._dropped:
                self.raw.execute(f"DROP TABLE IF EXISTS {view}")
            self._dropped.clear()

    _depth = 0
    _gathered: ir.Table | None = None

    def next_id(self, name: str, column: str) -> int:
        got = self.table(name)[column].max().to_pyarrow().as_py()
        return (got or 0) + 1

    @contextmanager
    def scratch(self, rows: ir.Table) -> Iterator[ir.Table]:
        view = f"cl_scratch_{uuid.uuid4().hex[:12]}"
        sql, values = self._sql(rows)
        self.raw.execute(f"CREATE TEMP TABLE {view} AS {sql}", values)
        try:
            yield self.con.table(view)
        finally:
            if not self._depth:  # inside a unit of work, it goes with the connection's temp tables
                self.raw.execute(f"DROP TABLE IF EXISTS {view}")
            else:
                self._dropped.append(view)

    def memtable(self, rows: list[dict], name: str) -> ir.Table:
        return ibis.memtable(rows, schema=TABLES[name])

    # -- files -------------------------------------------------------------------------
    def stage(self, path: Path, fmt: str) -> Staged:
        return duckdb_files.stage(self.con, path, fmt)

    def gather(self, rows: ir.Table, first: bool, alone: bool = False) -> ir.Table:
        sql, values = self._sql(rows)
        if first:
            name = duckdb_files.GATHER
            duckdb_files.drop_either(self.con, name)  # the last group's, a view or a table
            # a file alone is read through a view of its staging: no copy of its rows
            self.raw.execute(f"CREATE TEMP {'VIEW' if alone else 'TABLE'} {name} AS {sql}", values)
            self._gathered = self.con.table(name)  # the schema, read once a group
        else:
            self.raw.execute(f"INSERT INTO {duckdb_files.GATHER} BY NAME {sql}", values)
        return self._gathered

    def through(self, rows: ir.Table, select: sge.Select) -> ir.Table:
        sql, _ = self._sql(rows)
        self.raw.execute(f"CREATE OR REPLACE TEMP VIEW {duckdb_files.MAPPED_FROM} AS {sql}")
        mapped = select.from_(duckdb_files.MAPPED_FROM).sql("duckdb")
        self.raw.execute(f"CREATE OR REPLACE TEMP VIEW {duckdb_files.MAPPED} AS {mapped}")
        return self.con.table(duckdb_files.MAPPED)

    def unnest(self, rows: ir.Table, column: str, fields: list[str], stride: int) -> ir.Table:
        sql, _ = self._sql(rows)
        self.raw.execute(f"CREATE OR REPLACE TEMP VIEW {duckdb_files.UNNEST_FROM} AS {sql}")
        select = duckdb_files.unnest_select(column, fields, stride, rows.columns)
        self.raw.execute(f"CREATE OR REPLACE TEMP VIEW {duckdb_files.UNNESTED} AS {select}")
        return self.con.table(duckdb_files.UNNESTED)

    def read_usage(self, path: Path, fmt: str, attributes: dict[str, str]) -> ir.Table:
        return duckdb_files.read_usage(self.con, path, fmt, attributes)

    def close(self) -> None:
        duckdb_files.drop_scratch(self.con)
        self.con.disconnect()


#: Compiled SQL per expression object, for every DuckDB ledger of the process (the SQL
#: depends on the expression alone; ingest's FOCUS rules are built once per file layout),
#: with whether running it needs Ibis's pre-execute hooks.
_COMPILED: dict[int, tuple[ir.Expr, tuple[str, dict], bool]] = {}
_DECLARED: dict[str, list[tuple[str, str]]] = {}  # the current schema as DuckDB's catalogue names it


def stored_schema(name: str) -> ibis.Schema:
    """A ledger table's schema as DuckDB reports it back: the declared one, with its
    timestamps at DuckDB's microseconds."""
    return ibis.schema({
        column: dt.Timestamp(timezone=kind.timezone, scale=6, nullable=kind.nullable)
        if kind.is_timestamp() and kind.scale is None else kind
        for column, kind in TABLES[name].items()
    })  # fmt: skip


def _column(con: Any, column: str, kind: Any) -> sge.ColumnDef:
    """A column's definition in DuckDB's types, as Ibis maps them."""
    kind_sql = con.compiler.type_mapper.from_ibis(kind)
    return sge.ColumnDef(this=sg.to_identifier(column, quoted=True), kind=kind_sql)


_DDL: dict[str, str] = {}


def _create_table(con: Any, name: str) -> str:
    """`CREATE TABLE` of a ledger table, written once per process."""
    if name not in _DDL:
        columns = [_column(con, column, kind) for column, kind in TABLES[name].items()]
        schema = sge.Schema(this=sg.table(name, quoted=True), expressions=columns)
        _DDL[name] = sge.Create(this=schema, kind="TABLE").sql("duckdb")
    return _DDL[name]


def _needs_hooks(expr: ir.Expr) -> bool:
    """Whether `expr` reads in-memory tables or UDFs of its own, which Ibis registers
    before each run; the FOCUS rules read neither, and walking them costs ~10 ms a file."""
    op = expr.op()
    if op.find(ops.InMemoryTable):
        return True
    return any(u.__input_type__ is not InputType.BUILTIN for u in op.find(ops.ScalarUDF))


def _arg(q: sge.Expression, name: str) -> Any:
    """An argument of a sqlglot node: sqlglot 28 and later name `from` and `with` with a
    trailing underscore."""
    return q.args.get(name + "_", q.args.get(name))


def _equal(t: ir.Table, key: dict[str, Any]) -> ir.BooleanValue:
    cond = ibis.literal(True)
    for column, value in key.items():
        cond &= t[column] == value
    return cond


def snapshot(path: str | Path, folder: Path) -> tuple[Path, str] | None:
    """A consistent copy of the ledger file in `folder`, for a reader that must never hold
    the ledger's lock (the server), and its version; None while a writer is changing it.

    The copy takes no lock, so a writer is never refused. It is taken from the file's
    last checkpoint (a writer's uncommitted work stays in its WAL) and kept only if the
    file did not change while it was copied (size and modification time, before and after).
    """
    import shutil

    source = Path(path)
    before = version(source)
    if before is None:
        raise UsageError(f"no ledger at {source}: load bills first with `computeledger ingest`")
    target = folder / f"snapshot-{uuid.uuid4().hex}.duckdb"
    shutil.copyfile(source, target)
    if version(source) != before:
        target.unlink(missing_ok=True)
        return None
    return target, before


def version(path: str | Path) -> str | None:
    """The ledger file's version as its size and modification time (None: no such file)."""
    try:
        st = Path(path).stat()
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def regex_problem(pattern: str) -> str | None:
    """Why DuckDB's RE2 would refuse `pattern` (its first line), or None: the check a rules
    file gets before it runs, on the strictest of the engines' readers."""
    try:
        duckdb.connect().execute("SELECT regexp_matches('', ?)", [pattern]).fetchall()
    except duckdb.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def select_problem(selects: list[str]) -> tuple[int, str] | None:
    """The first SELECT DuckDB cannot bind over no rows, as (its index, the first line of
    why), or None: a mapping's expressions tried before any file is read, on one
    connection (each SELECT is built by sqlglot, never typed)."""
    con = duckdb.connect()
    try:
        for i, select in enumerate(selects):
            try:
                con.execute(f"{select} LIMIT 0")
            except duckdb.Error as exc:
                return i, str(exc).strip().splitlines()[0]
        return None
    finally:
        con.close()
