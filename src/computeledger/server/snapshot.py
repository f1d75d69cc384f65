"""The copy of the ledger the server reads, refreshed when the ledger changes.

The server never opens the ledger itself: a DuckDB file allows one writer and, while a
reader holds it, no writer. It reads a snapshot the store takes without a lock
(`computeledger.store.snapshot`), and takes a new one when the ledger's version moves;
while a writer is mid-way, it goes on serving the last one and says as of when.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from computeledger.accounting.contracts import Contracts
from computeledger.errors import ComputeLedgerError, EngineLimit, LedgerInUse, engine_limit
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
    #: questions run on the engine at once (others wait): memory stays bounded under load
    queries: int = 2
    #: the folder the snapshots are kept in (None: the system's temporary folder)
    scratch: Path | None = None


@dataclass
class Snapshot:
    """The snapshot now served: its path, the ledger version it copies, and when it was taken."""

    path: Path | None = None
    version: str | None = None
    taken: datetime | None = None
    folder: Path | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: set by `server.create` from `Settings.queries`
    running: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))
    #: answers given on this version, by question (a snapshot does not change: nor do they)
    answers: OrderedDict[str, str] = field(default_factory=OrderedDict)
    answers_size: int = 0


#: the answers kept at most (bytes of text): memory stays bounded, the oldest go first
ANSWERS_KEPT = 64 * 2**20


@dataclass(frozen=True)
class Current:
    """One snapshot as a request reads it: its file, the ledger version it copies, when taken."""

    path: Path
    version: str
    taken: datetime


def refresh(settings: Settings, snap: Snapshot) -> Current:
    """The snapshot to read: a new one if the ledger moved since the last (the last while a
    writer is mid-way); the first call waits for a consistent copy. The two newest files
    are kept (a request may still be opening the one before), older ones removed."""
    with snap.lock:
        now = version(settings.backend, settings.ledger)
        if snap.path is None or now != snap.version or not snap.path.exists():
            assert snap.folder is not None
            snap.folder.mkdir(parents=True, exist_ok=True)  # a server stopped and started again
            for _ in range(50 if snap.path is None else 1):
                got = snapshot(settings.backend, settings.ledger, snap.folder)
                if got is not None:
                    snap.path, snap.version, snap.taken = got[0], got[1], datetime.now(UTC)
                    snap.answers.clear()  # given on the old version
                    snap.answers_size = 0
                    if snap.path.parent == snap.folder:
                        for old in sorted(snap.folder.glob("snapshot-*"), key=lambda f: f.stat().st_mtime)[
                            :-2
                        ]:
                            old.unlink(missing_ok=True)
                    break
                threading.Event().wait(0.1)
        if snap.path is None or snap.version is None or snap.taken is None:
            raise LedgerInUse(
                f"ledger in use: {settings.ledger} is being written; no snapshot yet, try again"
            )
        return Current(snap.path, snap.version, snap.taken)


def answer(
    settings: Settings, snap: Snapshot, question: str, ask: Callable[[Ledger], str]
) -> tuple[str, datetime]:
    """The text `ask` gives on the current snapshot, and as of when: given once per ledger
    version and question, then kept (up to `ANSWERS_KEPT` bytes), so a repeated question
    waits for no engine."""
    current = refresh(settings, snap)
    with snap.lock:
        kept = snap.answers.get(question) if snap.version == current.version else None
        if kept is not None:
            snap.answers.move_to_end(question)
            return kept, current.taken
    with reading(settings, snap, current) as (lg, read):
        text = ask(lg)
    with snap.lock:
        # (two askers of one question at once: the second's copy is not counted again)
        if snap.version == read.version and len(text) <= ANSWERS_KEPT and question not in snap.answers:
            snap.answers[question] = text
            snap.answers_size += len(text)
            while snap.answers_size > ANSWERS_KEPT:
                _, old = snap.answers.popitem(last=False)
                snap.answers_size -= len(old)
    return text, read.taken


@contextmanager
def reading(
    settings: Settings, snap: Snapshot, checked: Current | None = None
) -> Iterator[tuple[Ledger, Current]]:
    """The snapshot's ledger, opened read-only for one request, and which snapshot it is;
    at most `settings.queries` at once. An engine's limit is an `EngineLimit` (its words).
    `checked`: the snapshot the request has just found current. A copy is checked again
    once the request's turn comes (it may have been replaced and removed meanwhile); a
    snapshot that is the ledger itself (Spark's folder, read without a lock) is not, as
    finding its version walks the folder."""
    with snap.running:
        in_place = checked is not None and snap.folder is not None and checked.path.parent != snap.folder
        current = checked if checked is not None and in_place else refresh(settings, snap)
        try:
            store = open_store(settings.backend, current.path, read_only=True, master=settings.spark_master)
            with Ledger(store) as lg:
                yield lg, current
        except ComputeLedgerError:
            raise
        except Exception as exc:
            why = engine_limit(exc)
            if why is None:
                raise
            raise EngineLimit(why) from None
