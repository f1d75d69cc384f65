"""The store: the only code that knows the engine a ledger runs on.

Each engine is one module here with a class that offers `computeledger.store.base.Store`;
`STORES` names them. Adding an Ibis backend is one module plus its entry below and its
entries in `computeledger.portable` (see docs/design.md).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path

from computeledger.errors import UsageError
from computeledger.store.base import Staged, Store, Unreadable, Where

#: Store name -> "module:class".
STORES = {
    "duckdb": "computeledger.store.duckdb:DuckDBStore",
    "spark": "computeledger.store.spark:SparkStore",
}


#: Store name -> the bill formats its `stage` reads (checked before a store is opened: a
#: Spark session is slow to start and a new ledger folder should not be left behind).
READS = {"duckdb": ("csv", "csv.gz", "parquet"), "spark": ("parquet",)}


def open_store(backend: str, path: str | Path, *, read_only: bool = False, **options) -> Store:
    """The store of `backend` over the ledger at `path` (created unless `read_only`)."""
    if backend not in STORES:
        raise UsageError(f"backend {backend!r}: use one of {', '.join(STORES)}")
    module, _, cls = STORES[backend].partition(":")
    return getattr(import_module(module), cls)(path, read_only=read_only, **options)


def snapshot(backend: str, path: str | Path, folder: Path) -> tuple[Path, str] | None:
    """A read-only view of the ledger at `path` that holds no lock, and its version (None
    while a writer is changing it): what a long-running reader such as the server opens."""
    if backend not in STORES:
        raise UsageError(f"backend {backend!r}: use one of {', '.join(STORES)}")
    return import_module(STORES[backend].partition(":")[0]).snapshot(path, folder)


def regex_problem(pattern: str) -> str | None:
    """Why the engines would refuse a regular expression (None: they read it). Checked on
    DuckDB's RE2, the strictest of their readers, so a rules file runs on either."""
    from computeledger.store.duckdb import regex_problem as check

    return check(pattern)


def select_problem(selects: list[str]) -> tuple[int, str] | None:
    """The first SELECT of sqlglot's the engine cannot bind over no rows, as (index, why),
    or None: a mapping's expressions tried before any file is read."""
    from computeledger.store.duckdb import select_problem as check

    return check(selects)


def version(backend: str, path: str | Path) -> str | None:
    """The version of the ledger at `path` (None: no ledger there): it changes on every write."""
    return import_module(STORES[backend].partition(":")[0]).version(path)


__all__ = [
    "STORES",
    "Staged",
    "Store",
    "Unreadable",
    "Where",
    "open_store",
    "regex_problem",
    "select_problem",
    "snapshot",
    "version",
]
