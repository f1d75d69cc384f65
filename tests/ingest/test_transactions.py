"""One file, one transaction: duplicates, restatements, the lock, and a killed ingest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from computeledger import open_ledger
from tests.conftest import ROOT, read_rows, totals, write_rows


def test_same_file_twice_changes_nothing(ledger, sample):
    [first] = ledger.ingest([sample])
    before = totals(ledger)
    [again] = ledger.ingest([sample])
    assert again.status == "duplicate"
    assert again.message == f"identical to ingest #{first.ingest_id}: nothing changed"
    assert ledger.charges.count().execute() == 1000
    assert totals(ledger) == before


def _restated(sample, tmp_path, provider: str, factor: int, name: str):
    """A new export of one provider's rows with BilledCost multiplied."""
    header, rows = read_rows(sample)
    p, b = header.index("ProviderName"), header.index("BilledCost")
    out = [r[:b] + [str(Decimal(r[b]) * factor)] + r[b + 1 :] for r in rows if r[p] == provider]
    return write_rows(tmp_path / name, header, out), out


def test_new_export_of_a_period_replaces_the_old_rows(ledger, sample, tmp_path):
    [old] = ledger.ingest([sample])
    path, rows = _restated(sample, tmp_path, "Microsoft", 2, "microsoft_restated.csv")
    [new] = ledger.ingest([path])
    assert (new.status, new.rows_loaded, new.rows_replaced) == ("loaded", 51, 51)
    t = totals(ledger)
    assert t["Microsoft"]["BilledCost"] == Decimal("1.97651418586") * 2
    assert t["Microsoft"]["rows"] == 51
    assert t["AWS"]["BilledCost"] == Decimal("17.6646386184")  # other providers untouched
    ing = ledger.ingests.execute().set_index("ingest_id")
    assert ing.loc[old.ingest_id, "status"] == "loaded"  # still holds AWS and Oracle rows
    assert ing.loc[old.ingest_id, "rows_superseded"] == 51
    # a full re-export supersedes the first ingest entirely
    header, rows = read_rows(sample)
    b = header.index("BilledCost")
    full = write_rows(tmp_path / "full.csv", header,
                      [r[:b] + [str(Decimal(r[b]) * 3)] + r[b + 1 :] for r in rows])  # fmt: skip
    [last] = ledger.ingest([full])
    assert last.rows_replaced == 1000
    ing = ledger.ingests.execute().set_index("ingest_id")
    assert ing.loc[old.ingest_id, "status"] == "superseded"
    assert ing.loc[new.ingest_id, "status"] == "superseded"
    assert ing.loc[old.ingest_id, "superseded_by"] == last.ingest_id
    assert sum(v["BilledCost"] for v in totals(ledger).values()) == Decimal("20.52022672899") * 3


def test_parts_of_one_export_in_one_call_do_not_replace_each_other(ledger, sample, tmp_path):
    header, rows = read_rows(sample)
    a = write_rows(tmp_path / "part-1.csv", header, rows[:500])
    b = write_rows(tmp_path / "part-2.csv", header, rows[500:])
    results = ledger.ingest([a, b])
    assert [r.rows_replaced for r in results] == [0, 0]
    assert ledger.charges.count().execute() == 1000


@pytest.mark.slow  # three more Python processes
def test_second_writer_gets_ledger_in_use(tmp_path, sample):
    path = tmp_path / "busy.duckdb"
    with open_ledger(path):
        proc = subprocess.run(
            [sys.executable, "-m", "computeledger", "ingest", str(sample), "--ledger", str(path)],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
        )  # fmt: skip
        assert proc.returncode != 0
        assert "ledger in use" in proc.stderr
        code = (
            "import sys\nfrom computeledger import open_ledger, LedgerInUse\n"
            f"try:\n    open_ledger({str(path)!r})\nexcept LedgerInUse as e:\n    sys.exit(7)\n"
        )
        assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 7
    # once the first writer is gone, the same command loads the file
    proc = subprocess.run(
        [sys.executable, "-m", "computeledger", "ingest", str(sample), "--ledger", str(path)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with open_ledger(path) as lg:
        assert lg.charges.count().execute() == 1000


GENERATE = """
COPY (SELECT '2024-09-01T00:00:00Z' AS BillingPeriodStart, '2024-10-01T00:00:00Z' AS BillingPeriodEnd,
  '2024-09-01T00:00:00Z' AS ChargePeriodStart, '2024-09-01T01:00:00Z' AS ChargePeriodEnd,
  'big-acct' AS BillingAccountId, 'Big' AS BillingAccountName, 'USD' AS BillingCurrency,
  (i % 1000) * 0.01 AS BilledCost, (i % 1000) * 0.01 AS EffectiveCost, (i % 1000) * 0.01 AS ListCost,
  (i % 1000) * 0.01 AS ContractedCost, 'Usage' AS ChargeCategory, NULL AS ChargeClass,
  'row ' || i AS ChargeDescription, 'Amazon Web Services, Inc.' AS InvoiceIssuerName,
  1 AS PricingQuantity, 'Hours' AS PricingUnit, 'AWS' AS ProviderName, 'AWS' AS PublisherName,
  'Compute' AS ServiceCategory, 'EC2' AS ServiceName, '{"k": "v"}' AS Tags
  FROM range(?) t(i)) TO '{path}' (HEADER)
"""


def _ingest_killed_while_writing(path: Path, ledger_path: Path) -> None:
    """`computeledger ingest path` in its own process, killed while it writes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "computeledger", "ingest", str(path), "--ledger", str(ledger_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _kill_while_writing(proc, ledger_path)


def _kill_while_writing(proc: subprocess.Popen, ledger_path) -> None:
    """Kill the ingest once its rows are being written (DuckDB writes big inserts ahead)."""
    wal = ledger_path.with_name(ledger_path.name + ".wal")

    def size() -> int:
        return sum(p.stat().st_size for p in (ledger_path, wal) if p.exists())

    start = size()
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if size() > start + 2_000_000:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the ingest finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_killed_ingest_leaves_the_ledger_as_it_was(tmp_path, sample):
    ledger_path = tmp_path / "atomic.duckdb"
    with open_ledger(ledger_path) as lg:
        lg.ingest([sample])
        before = totals(lg)
    big = tmp_path / "big.csv"
    duckdb.execute(GENERATE.replace("{path}", str(big)), [800_000])
    _ingest_killed_while_writing(big, ledger_path)
    with open_ledger(ledger_path) as lg:
        assert totals(lg) == before
        assert lg.charges.count().execute() == 1000
        assert lg.ingests.count().execute() == 1
        [r] = lg.ingest([big])  # and the file loads whole afterwards
        assert r.rows_loaded == 800_000


@pytest.mark.slow
def test_a_killed_call_of_many_files_leaves_each_file_wholly_in_or_out(tmp_path, sample):
    """Files of one layout go through the rules together and are written in one
    transaction: killed while writing, no file is half in, and every ingests row's count
    is the charges it holds."""
    ledger_path = tmp_path / "atomic.duckdb"
    with open_ledger(ledger_path) as lg:
        lg.ingest([sample])
        before = totals(lg)
    parts = tmp_path / "parts"
    parts.mkdir()
    for i in range(4):  # four parts of one export (distinct resources), 250,000 rows each
        query = GENERATE.replace("{path}", str(parts / f"part-{i}.csv")).replace(
            "'row ' || i AS ChargeDescription", f"'part {i} row ' || i AS ChargeDescription"
        )
        duckdb.execute(query, [250_000])
    _ingest_killed_while_writing(parts, ledger_path)
    with open_ledger(ledger_path) as lg:
        assert totals(lg) == before
        assert lg.ingests.count().execute() == 1
        results = lg.ingest([parts])  # and the parts load whole afterwards, each its own ingest
        assert [(r.status, r.rows_loaded, r.rows_replaced) for r in results] == [("loaded", 250_000, 0)] * 4
        held = lg.charges.group_by("x_ingest_id").aggregate(n=lg.charges.count()).execute()
        counts = dict(zip(held.x_ingest_id, held.n, strict=True))
        assert [counts[r.ingest_id] for r in results] == [250_000] * 4
        lines = lg.charges.filter(lg.charges.x_ingest_id == results[2].ingest_id).x_source_line
        assert (lines.min().execute(), lines.max().execute()) == (2, 250_001)


def test_a_group_the_engine_fails_late_is_loaded_again_file_by_file(ledger, sample, tmp_path, monkeypatch):
    """Damaged rows met only while the group is written (a reader's late surprise) roll
    the group back; each file is then staged and loaded alone, so that only a damaged one
    would be refused."""
    from computeledger.store import Unreadable

    header, rows = read_rows(sample)
    a = write_rows(tmp_path / "part-1.csv", header, rows[:600])
    b = write_rows(tmp_path / "part-2.csv", header, rows[600:])
    store = ledger.store
    real = type(store).append
    seen = []

    def append(self, name, table, params=None):
        if name == "charges" and not seen:
            seen.append(name)
            raise Unreadable("not a readable file: late")
        return real(self, name, table, params)

    monkeypatch.setattr(type(store), "append", append)
    first, second = ledger.ingest([a, b])
    assert seen == ["charges"]
    assert [(r.status, r.rows_loaded, r.rows_quarantined) for r in (first, second)] == [
        ("loaded", 600, 0), ("loaded", 400, 0)]  # fmt: skip
    assert first.ingest_id != second.ingest_id
    assert ledger.charges.count().execute() == 1000
    assert ledger.ingests.count().execute() == 2
    assert totals(ledger) == totals_of_sample(sample, tmp_path)


def totals_of_sample(sample, tmp_path) -> dict:
    with open_ledger(tmp_path / "whole.duckdb") as lg:
        lg.ingest([sample])
        return totals(lg)
