"""The snapshot a request reads: its version found once a question where finding it is
costly (a Spark ledger is read in place, and its version walks the folder), and checked
again where the snapshot is a copy that may be replaced while the request waits."""

from __future__ import annotations

from pathlib import Path

from computeledger.accounting.contracts import Contracts
from computeledger.server import snapshot as served


def _count(lg) -> str:
    return str(lg.charges.count().to_pyarrow().as_py())


def test_a_ledger_read_in_place_has_its_version_found_once_a_question(books, monkeypatch, tmp_path):
    ledger = Path(books[0])
    walks: list[Path] = []
    monkeypatch.setattr(served, "version", lambda backend, path: walks.append(path) or "v1")
    monkeypatch.setattr(served, "snapshot", lambda backend, path, folder: (Path(path), "v1"))  # as Spark's
    settings = served.Settings(ledger=ledger, backend="duckdb", contracts=Contracts())
    snap = served.Snapshot(folder=tmp_path / "snapshots")
    first, _ = served.answer(settings, snap, "count", _count)
    assert int(first) > 0 and walks == [ledger]
    again, _ = served.answer(settings, snap, "count", _count)  # kept: one check, no query
    other, _ = served.answer(settings, snap, "count twice", lambda lg: _count(lg) * 2)
    assert again == first and other == first * 2 and len(walks) == 3


def test_a_copy_is_checked_again_when_the_requests_turn_comes(books, tmp_path, monkeypatch):
    ledger = Path(books[0])
    real = served.version
    walks: list[Path] = []
    monkeypatch.setattr(served, "version", lambda backend, path: walks.append(path) or real(backend, path))
    settings = served.Settings(ledger=ledger, backend="duckdb", contracts=Contracts())
    snap = served.Snapshot(folder=tmp_path / "snapshots")
    got, _ = served.answer(settings, snap, "count", _count)
    assert int(got) > 0 and len(walks) == 2  # before the kept answers, and under the query bound
    assert snap.path is not None and snap.path.parent == tmp_path / "snapshots"
