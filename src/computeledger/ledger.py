"""The Ledger: one backend connection, the ledger's tables, and the operations on them.

The embedded default is a DuckDB file; `backend="spark"` keeps the ledger as Parquet
folders run by Spark (see `computeledger.backends.spark`). Reads go through Ibis
expressions, so the same code runs on both; writes happen one file per transaction on
DuckDB and are committed by the ingests table on Spark.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import duckdb
import ibis
import ibis.expr.types as ir

from computeledger.errors import LedgerInUse, UsageError
from computeledger.schema.tables import TABLES

DEFAULT_PATH = "computeledger.duckdb"
ENV_PATH = "COMPUTELEDGER_LEDGER"
ENV_MEMORY = "COMPUTELEDGER_MEMORY_LIMIT"
ENV_BACKEND = "COMPUTELEDGER_BACKEND"
BACKENDS = ("duckdb", "spark")
CONFIG_FILE = "computeledger.toml"


def default_path() -> str:
    return os.environ.get(ENV_PATH) or settings().get("path") or DEFAULT_PATH


class Ledger:
    """An open ledger. Its tables are Ibis tables; its methods are what the CLI runs."""

    def __init__(self, con: ibis.BaseBackend, path: str, store=None):
        self.con = con
        self.path = path
        self.store = store  # the Spark store; None on DuckDB

    @property
    def backend(self) -> str:
        return "spark" if self.store is not None else "duckdb"

    # -- tables -----------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        return self.store.table(name) if self.store is not None else self.con.table(name)

    def has_table(self, name: str) -> bool:
        return self.store.exists(name) if self.store is not None else name in self.con.list_tables()

    @property
    def charges(self) -> ir.Table:
        return self.table("charges")

    @property
    def ingests(self) -> ir.Table:
        return self.table("ingests")

    @property
    def quarantine(self) -> ir.Table:
        return self.table("quarantine")

    @property
    def allocations(self) -> ir.Table:
        return self.table("allocations")

    @property
    def allocation_runs(self) -> ir.Table:
        return self.table("allocation_runs")

    @property
    def usage(self) -> ir.Table:
        return self.table("usage")

    # -- operations ---------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        strict: bool = False,
        mapping: str | Path | None = None,
        on_file: Callable | None = None,
    ) -> list:
        """Load FOCUS files (or folders of them), or other billing CSVs through a mapping
        file (see `computeledger.ingest.mapping`); one transaction per file."""
        from computeledger.ingest.focus import ingest_files
        from computeledger.ingest.mapping import load_mapping

        parsed = load_mapping(mapping) if mapping is not None else None
        return ingest_files(self, paths, strict=strict, mapping=parsed, on_file=on_file)

    def summary(
        self, by: str | Iterable[str] = ("provider",), *, rules_version: str | None = None
    ) -> ir.Table:
        """Totals of the four FOCUS cost columns grouped by the given dimensions. Allocated
        dimensions (workload, model, team, environment, gpu_model, split, and the rules'
        own) read the allocation (the latest, or `rules_version`), and add GPU-hours."""
        from computeledger.allocate.engine import allocated_charges, allocated_dimensions, allocation_parts
        from computeledger.summary import parse_by, summary

        names = {n.lower() for n in parse_by(by)}
        if rules_version is not None or names & allocated_dimensions(self):
            parts = allocation_parts(self, names, rules_version)
            return summary(parts if parts is not None else allocated_charges(self, rules_version), by)
        return summary(self.charges, by)

    def ingest_usage(self, paths: Sequence[str | Path]) -> list:
        """Load token usage: OpenAI-style usage records (.jsonl) or OTLP GenAI spans (.json)."""
        from computeledger.ingest.usage import ingest_usage

        if self.store is not None:
            raise UsageError("token usage is read on the DuckDB ledger (its JSONL reader is line-exact)")
        return ingest_usage(self, paths)

    def allocate(self, rules: str | Path):
        """Place every charge by the rules file (see `computeledger.allocate.rules`)."""
        from computeledger.allocate.engine import allocate
        from computeledger.allocate.rules import load_rules

        return allocate(self, load_rules(rules))

    def close(self) -> None:
        if self.store is not None:
            self.store.close()  # the Spark session stays for the process: starting one is slow
            return
        self.con.disconnect()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def connect_duckdb(path: str, *, read_only: bool = False) -> ibis.BaseBackend:
    """An Ibis DuckDB connection in UTC with bounded memory; 'ledger in use' if locked."""
    memory = os.environ.get(ENV_MEMORY, "1GB")
    try:
        con = ibis.duckdb.connect(path, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise LedgerInUse(
                f"ledger in use: {path} is open in another process; try again when it finishes"
            ) from exc
        raise
    raw = con.con
    raw.execute("SET TimeZone = 'UTC'")
    raw.execute("SET enable_progress_bar = false")
    raw.execute(f"SET memory_limit = '{_checked_memory(memory)}'")  # validated: no injection
    return con


def _checked_memory(value: str) -> str:
    """A DuckDB memory size such as '1GB' or '512MB', refused if it is anything else."""
    if not re.fullmatch(r"\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*", value, re.I):
        raise UsageError(f"{ENV_MEMORY}: not a memory size such as 1GB: {value!r}")
    return value.strip()


def create_tables(con: ibis.BaseBackend) -> None:
    existing = set(con.list_tables())
    for name, schema in TABLES.items():
        if name not in existing:
            con.create_table(name, schema=schema)


def settings(path: Path | None = None) -> dict:
    """The `[ledger]` table of ./computeledger.toml (backend, path, spark_master), if any."""
    import tomllib

    path = path or Path(CONFIG_FILE)
    if not path.exists():
        return {}
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: not TOML: {exc}") from None
    ledger = doc.get("ledger", {})
    unknown = set(ledger) - {"backend", "path", "spark_master"}
    if unknown:
        name = sorted(unknown)[0]
        raise UsageError(f"{path}: [ledger] has no setting {name!r} (backend, path, spark_master)")
    return ledger


def resolve_backend(backend: str | None) -> str:
    """The backend asked for, else $COMPUTELEDGER_BACKEND, else the config file, else DuckDB."""
    chosen = backend or os.environ.get(ENV_BACKEND) or settings().get("backend") or "duckdb"
    if chosen not in BACKENDS:
        raise UsageError(f"backend {chosen!r}: use one of {', '.join(BACKENDS)}")
    return chosen


def open_ledger(
    path: str | Path | None = None, *, read_only: bool = False, backend: str | None = None
) -> Ledger:
    """Open the ledger at `path` (by default ./computeledger.duckdb or $COMPUTELEDGER_LEDGER),
    creating it unless `read_only`. `backend="spark"` opens a ledger folder on Spark (the
    master from the config file's `spark_master` or $COMPUTELEDGER_SPARK_MASTER)."""
    path = str(path) if path is not None else default_path()
    if resolve_backend(backend) == "spark":
        from computeledger.backends.spark import SparkStore

        store = SparkStore(path, read_only=read_only, master=settings().get("spark_master"))
        if not read_only:
            for name in TABLES:
                store.path(name).mkdir(exist_ok=True)
        return Ledger(store.con, str(store.root), store)
    if read_only and path != ":memory:" and not Path(path).exists():
        raise UsageError(f"no ledger at {path}: load bills first with `computeledger ingest`")
    con = connect_duckdb(path, read_only=read_only)
    if not read_only:
        create_tables(con)
    return Ledger(con, path)
