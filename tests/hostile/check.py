"""Run one corpus case through the command line, in process, and hold it to its outcome."""

from __future__ import annotations

import json
import shutil
import signal
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from computeledger.cli import app
from tests.hostile.corpus import Case, write

runner = CliRunner()
BOUND = 60  # seconds a case may take before it counts as a hang
FORMULA = ("=", "+", "-", "@")


class Hang(Exception):
    """A case ran past its bound."""


@contextmanager
def bounded(seconds: int):
    def stop(*_):
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def fingerprint(path: Path) -> dict:
    """Every table of a ledger file: its row count and the sum of its rows' hashes (order
    free, duplicates counted), with the ingests and quarantine rows themselves."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [t for (t,) in con.sql("SELECT table_name FROM information_schema.tables").fetchall()]
        out = {}
        for t in sorted(tables):
            out[t] = con.sql(f'SELECT count(*), sum(hash(x)::HUGEINT) FROM "{t}" x').fetchone()
        out["_ingests"] = (
            con.sql("SELECT * FROM ingests ORDER BY ingest_id").fetchall() if "ingests" in tables else []
        )
        out["_quarantine"] = (
            con.sql("SELECT ingest_id, source_line, reason FROM quarantine").fetchall()
            if "quarantine" in tables
            else []
        )
        return out
    finally:
        con.close()


_BASES: dict[Path, dict] = {}


def _base_fingerprint(base: Path) -> dict:
    """A base ledger's fingerprint, taken once: every case starts from a copy of it."""
    if base not in _BASES:
        _BASES[base] = fingerprint(base)
    return _BASES[base]


def prepare(case: Case, folder: Path, bases: dict) -> dict[str, str]:
    """The case's files and its ledger copy; the placeholders of its command lines."""
    write(case, folder)
    ledger = folder / "ledger.duckdb"
    if case.base != "none":
        shutil.copyfile(bases[case.base], ledger)
    if case.extra.get("truncate"):
        data = Path(bases["lab"]).read_bytes()
        (folder / "half.duckdb").write_bytes(data[: len(data) // 2])
    return {"{d}": str(folder), "{ledger}": str(ledger), "{contracts}": str(bases["contracts"])}


def run(case: Case, folder: Path, bases: dict) -> None:
    """The case, asserted: exit code, message, no traceback, no hang, the ledger's state."""
    places = prepare(case, folder, bases)
    ledger = Path(places["{ledger}"])
    if case.base != "none":
        before = _base_fingerprint(Path(bases[case.base]))
    else:
        before = fingerprint(ledger) if ledger.exists() else None
    given = {
        p: p.read_bytes()
        for p in [*(Path(places["{d}"], n) for n, _ in case.files), Path(places["{contracts}"])]
    }
    outputs = []
    for i, step in enumerate(case.steps):
        argv = [_fill(a, places) for a in step]
        if 0 < i == len(case.steps) - 1 and case.outcome == "refused":
            before = fingerprint(ledger)  # the refusal leaves the ledger as the steps before it made it
        with bounded(BOUND * (3 if case.slow else 1)):
            result = runner.invoke(app, argv)
        text = result.output
        outputs.append(text)
        assert "Traceback" not in text, text
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"{argv}: {type(result.exception).__name__}: {result.exception}")
        last = i == len(case.steps) - 1
        if not last or case.outcome != "refused":
            assert result.exit_code == 0, f"{argv} exited {result.exit_code}: {text}"
    for path, data in given.items():  # no command writes over a file it was given
        assert path.read_bytes() == data, f"{path.name} changed by {case.id}"
    flat = " ".join(outputs[-1].split())
    if case.outcome == "refused":
        _refused(case, result.exit_code, outputs[-1], flat, ledger, before, places)
    elif case.outcome == "partial":
        _partial(case, ledger, before)
    else:
        _ok(case, ledger, before, outputs)
    for needle in case.says:
        if case.outcome != "partial":
            assert " ".join(needle.split()) in flat, f"{needle!r} not in: {outputs[-1]}"


def _fill(arg: str, places: dict[str, str]) -> str:
    for k, v in places.items():
        arg = arg.replace(k, v)
    return arg


def _refused(case, code, text, flat, ledger, before, places) -> None:
    assert code in (1, 2), f"exit {code}: {text}"
    errors = [line for line in text.splitlines() if line.startswith("error:")]
    usage = "Usage:" in text and ("Error" in text or "Invalid value" in text)
    refused = [line for line in text.splitlines() if line.startswith("refused")]
    if code == 2:
        assert len(errors) == 1 or usage, f"not one error line: {text}"
    else:  # a file refused (ingest) or found in error (validate), in the command's table
        assert refused or "refused" in text or "error" in text, f"exit 1 without a refused file: {text}"
    if before is not None:
        after = fingerprint(ledger)
        for table, fp in before.items():
            if table in ("ingests", "_ingests"):
                continue
            assert after[table] == fp, f"{table} changed by a refused command"
        new = after["_ingests"][len(before["_ingests"]) :]
        assert all(row[11] == "refused" and not row[8] for row in new), new
    if "no/such/folder" in " ".join(s for step in case.steps for s in step):
        assert not Path(places["{d}"], "no").exists(), "a refused command left a folder behind"


def _new_ingests(ledger: Path, before) -> tuple[list, list]:
    after = fingerprint(ledger)
    new = after["_ingests"][len(before["_ingests"]) :]
    ids = {row[0] for row in new}
    held = [q for q in after["_quarantine"] if q[0] in ids]
    return new, held


def _partial(case, ledger, before) -> None:
    new, held = _new_ingests(ledger, before)
    assert new, "nothing was ingested"
    for row in new:
        read, loaded, quarantined, status = row[7], row[8], row[9], row[11]
        assert status == "loaded", row
        assert read == loaded + quarantined, row
    assert sum(r[9] for r in new) == len(held) >= 1, (new, held)
    if case.line is not None:
        lines = {q[1]: q[2] for q in held}
        assert set(lines) == {case.line}, lines
        for needle in case.says:
            assert needle in lines[case.line], (needle, lines[case.line])


def _ok(case, ledger, before, outputs) -> None:
    new, held = _new_ingests(ledger, before) if before is not None else ([], [])
    for row in new:
        assert row[7] == row[8] + row[9], row
    if case.value is not None:
        con = duckdb.connect(str(ledger), read_only=True)
        ingest = new[0][0]
        [(cost,)] = con.sql(
            f"SELECT BilledCost FROM charges WHERE x_ingest_id = {ingest} AND x_source_line = 3"
        ).fetchall()
        con.close()
        assert cost == Decimal(case.value), (cost, case.value)
        assert len(held) == 0, held
    if "rows" in case.extra:
        assert sum(r[8] for r in new) == case.extra["rows"], new
    if "text" in case.extra:
        text = case.extra["text"]
        con = duckdb.connect(str(ledger), read_only=True)
        names = {n for (n,) in con.sql("SELECT DISTINCT ServiceName FROM charges").fetchall()}
        con.close()
        assert text in names  # stored exactly
        csv_out = outputs[1]
        if text.startswith(FORMULA):
            assert f"'{text}"[:40] in csv_out.replace('""', '"') and f",{text[:20]}" not in csv_out
    if "extensions" in case.extra:
        con = duckdb.connect(str(ledger), read_only=True)
        [(ext,)] = con.sql(
            f"SELECT x_extensions FROM charges WHERE x_ingest_id = {new[0][0]} LIMIT 1"
        ).fetchall()
        con.close()
        assert case.extra["extensions"].items() <= json.loads(ext).items(), ext
