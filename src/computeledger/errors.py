"""Errors a user can act on. Each names what is wrong and where."""

from __future__ import annotations


class ComputeLedgerError(Exception):
    """Base of computeledger's errors: the CLI prints the message and exits non-zero."""


class LedgerInUse(ComputeLedgerError):
    """Another process holds the ledger."""


class UsageError(ComputeLedgerError):
    """A request that cannot be answered as asked (an unknown column, a bad option)."""
