"""The copy of the ledger the server reads, refreshed when the ledger changes.

The server never opens the ledger itself: a DuckDB file allows one writer and, while a
reader holds it, no writer. It reads a snapshot the store takes without a lock
(`computeledger.store.snapshot`), and takes a new one when the ledger's version moves;
while a writer is mid-way, it goes on serving the last one and says as of when.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from computeledger.accounting.contracts import Contracts
from computeledger.errors import LedgerInUse
from computeledger.ledger import Ledger
from computeledger.store import open_store, snapshot, version


@dataclass(frozen=True)
class Settings:
    """What the server serves, resolved once by the command: nothing below reads the
    working folder or the environment."""

    ledger: Path
    backend: str
    contracts: Contracts
    contracts_path: Path | None = None
    #: figures files the API may read, by name (shipped examples and `--figures` files)
    figures: dict[str, Path] = field(default_factory=dict)
    #: scenario files the API may run, by name (`--scenario` files)
    scenarios: dict[str, Path] = field(default_factory=dict)
    token: str | None = None
    spark_master: str | None = None


@dataclass
class Snapshot:
    """The snapshot now served: its path, the ledger version it copies, and when it was taken."""

    path: Path | None = None
    version: str | None = None
    taken: datetime | None = None
    folder: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def refresh(settings: Settings, snap: Snapshot) -> Snapshot:
    """Take a new snapshot if the ledger moved since the last (keep the last while a writer
    is mid-way); the first call waits for a consistent copy."""
    with snap.lock:
        now = version(settings.backend, settings.ledger)
        if snap.path is not None and now == snap.version:
            return snap
        assert snap.folder is not None
        for _ in range(50 if snap.path is None else 1):
            got = snapshot(settings.backend, settings.ledger, snap.folder)
            if got is not None:
                old = snap.path
                snap.path, snap.version, snap.taken = got[0], got[1], datetime.now(UTC)
                if old is not None and old != snap.path and old.parent == snap.folder:
                    old.unlink(missing_ok=True)
                break
            threading.Event().wait(0.1)
        return snap


@contextmanager
def reading(settings: Settings, snap: Snapshot) -> Iterator[tuple[Ledger, datetime]]:
    """The snapshot's ledger, opened read-only for one request, and as of when it is."""
    current = refresh(settings, snap)
    path, taken = current.path, current.taken
    if path is None or taken is None:
        raise LedgerInUse(f"ledger in use: {settings.ledger} is being written; no snapshot yet, try again")
    with Ledger(open_store(settings.backend, path, read_only=True, master=settings.spark_master)) as lg:
        yield lg, taken
