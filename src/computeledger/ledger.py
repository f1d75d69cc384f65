"""The Ledger: one backend connection, the ledger's tables, and the operations on them.

The embedded default is a DuckDB file. Reads go through Ibis expressions so the
same code runs on another backend; writes happen one file per transaction.
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


def default_path() -> str:
    return os.environ.get(ENV_PATH) or DEFAULT_PATH


class Ledger:
    """An open ledger. Its tables are Ibis tables; its methods are what the CLI runs."""

    def __init__(self, con: ibis.BaseBackend, path: str):
        self.con = con
        self.path = path

    # -- tables -----------------------------------------------------------------
    @property
    def charges(self) -> ir.Table:
        return self.con.table("charges")

    @property
    def ingests(self) -> ir.Table:
        return self.con.table("ingests")

    @property
    def quarantine(self) -> ir.Table:
        return self.con.table("quarantine")

    @property
    def allocations(self) -> ir.Table:
        return self.con.table("allocations")

    @property
    def usage(self) -> ir.Table:
        return self.con.table("usage")

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
        from computeledger.allocate.engine import allocated_charges, allocated_dimensions
        from computeledger.summary import parse_by, summary

        names = {n.lower() for n in parse_by(by)}
        if rules_version is not None or names & allocated_dimensions(self):
            return summary(allocated_charges(self, rules_version), by)
        return summary(self.charges, by)

    def ingest_usage(self, paths: Sequence[str | Path]) -> list:
        """Load token usage: OpenAI-style usage records (.jsonl) or OTLP GenAI spans (.json)."""
        from computeledger.ingest.usage import ingest_usage

        return ingest_usage(self, paths)

    def allocate(self, rules: str | Path):
        """Place every charge by the rules file (see `computeledger.allocate.rules`)."""
        from computeledger.allocate.engine import allocate
        from computeledger.allocate.rules import load_rules

        return allocate(self, load_rules(rules))

    def close(self) -> None:
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


def open_ledger(path: str | Path | None = None, *, read_only: bool = False) -> Ledger:
    """Open the ledger at `path` (by default ./computeledger.duckdb or $COMPUTELEDGER_LEDGER),
    creating it unless `read_only`."""
    path = str(path) if path is not None else default_path()
    if read_only and path != ":memory:" and not Path(path).exists():
        raise UsageError(f"no ledger at {path}: load bills first with `computeledger ingest`")
    con = connect_duckdb(path, read_only=read_only)
    if not read_only:
        create_tables(con)
    return Ledger(con, path)
