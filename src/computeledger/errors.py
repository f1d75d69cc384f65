"""Errors a user can act on. Each names what is wrong and where."""

from __future__ import annotations


class ComputeLedgerError(Exception):
    """Base of computeledger's errors: the CLI prints the message and exits non-zero."""


class LedgerInUse(ComputeLedgerError):
    """Another process holds the ledger."""


class EngineLimit(ComputeLedgerError):
    """The engine reached a limit of its own (memory, the range of its numbers): the
    ledger is as it was; the request may succeed with more memory or less at once."""


class UsageError(ComputeLedgerError):
    """A request that cannot be answered as asked (an unknown column, a bad option)."""


def engine_limit(exc: Exception) -> str | None:
    """What an engine's own limit means to the user (None: not a limit, a bug to show whole)."""
    if "OutOfMemory" in type(exc).__name__:
        return "the engine ran out of memory (the ledger is as it was: each file is one unit of work)"
    if _overflow(exc):
        return "a total exceeds the range of the ledger's numbers (20 digits before the point, 18 after)"
    return None


def _overflow(exc: Exception) -> bool:
    """An engine's arithmetic overflow (a sum beyond 38 digits), whichever engine raised it."""
    engine = type(exc).__module__.split(".")[0] in ("duckdb", "_duckdb", "pyspark", "py4j")
    return engine and "overflow" in str(exc).lower()
