"""Shared fixtures: the real public data vendored under tests/data (and the FOCUS sample
the package bundles), fresh ledgers, and the synthetic companies several suites share."""

from __future__ import annotations

import os

if os.environ.get("PYTEST_XDIST_WORKER"):  # xdist workers set an 80-column terminal: tables as piped
    for _name in ("COLUMNS", "LINES"):
        os.environ.pop(_name, None)

import csv
import fcntl
import io
import pickle
import shutil
import tempfile
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

from computeledger import open_ledger
from computeledger.shipped import FOCUS_SAMPLE, INVOICE_MAPPING, SYNTH_RULES

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAMPLE = FOCUS_SAMPLE
SPEC = DATA / "focus-spec-examples"
NATIVE = DATA / "native"
RULES = SYNTH_RULES

# no example database: Hypothesis would write `.hypothesis/` into the working folder, and
# tests write only in their own temporary folders (a failing example is printed instead)
settings.register_profile("ci", deadline=None, print_blob=True, database=None)
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="computeledger-hypothesis-"))  # its caches too
settings.load_profile("ci")


def shared(path: Path) -> Path:
    """A vendored data file, which must be there (a missing one is a broken checkout)."""
    if not path.exists():
        pytest.fail(f"the vendored test data is missing: {path}")
    return path


@pytest.fixture
def sample() -> Path:
    return shared(SAMPLE)


@pytest.fixture
def ledger(tmp_path):
    lg = open_ledger(tmp_path / "ledger.duckdb")
    yield lg
    lg.close()


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def decimal_sum(values) -> Decimal:
    with localcontext(prec=80):  # the default 28 digits would round the reference
        return sum((Decimal(v) for v in values), Decimal(0))


def totals(ledger, by: str = "provider") -> dict:
    table = ledger.summary(by).to_pyarrow().to_pylist()
    return {tuple(r[b] for b in by.split(",")) if "," in by else r[by]: r for r in table}


def truth(folder, name: str = "costs") -> list[dict]:
    """A truth file of a synthetic company, as dicts of text."""
    with (folder / "truth" / f"{name}.csv").open() as f:
        return list(csv.DictReader(f))


def built_once(tmp_path_factory, name: str, build: Callable[[Path], Any]) -> tuple[Path, Any]:
    """A folder `build` fills once per test run, shared by the run's xdist workers (the
    first to ask builds it under a file lock, the others wait and read it), and what
    `build` returned: read-only for its users, in the run's own temporary folder."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, of which each worker's is a subfolder
    folder, done = root / f"shared-{name}", root / f"shared-{name}.pickle"
    with (root / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            done.write_bytes(pickle.dumps(build(folder)))
    return folder, pickle.loads(done.read_bytes())


def own_copy(tmp_path_factory, ledger: Path) -> Path:
    """A worker's own copy of a shared ledger file (DuckDB locks a file per process)."""
    target = tmp_path_factory.mktemp("own") / ledger.name
    shutil.copy(ledger, target)
    return target


@pytest.fixture(scope="session")
def company(tmp_path_factory):
    """A synthetic company of four months from May 2024, seed 11 (shared by several suites)."""
    from computeledger.synth import generate

    def build(out: Path):
        return generate(out, months=4, start="2024-05", seed=11)

    return built_once(tmp_path_factory, "company", build)


@pytest.fixture(scope="session")
def allocated(company, tmp_path_factory):
    """The shared test company's bills, token usage and revenue, allocated by the shipped rules:
    one ledger for every suite that only reads it (writers copy it first)."""
    out, _ = company

    def build(folder: Path):
        with open_ledger(folder / "ledger.duckdb") as lg:
            lg.ingest([out / "focus"])
            lg.ingest([out / "invoices"], mapping=INVOICE_MAPPING)
            lg.ingest_usage([out / "usage" / "openai"])
            lg.ingest_revenue([out / "revenue"])
            return lg.allocate(RULES)

    folder, run = built_once(tmp_path_factory, "allocated", build)
    return own_copy(tmp_path_factory, folder / "ledger.duckdb"), run, out


# -- the six-month lab: Series C in its fifth month, a 12-month reservation, a credit grant
# used up, a revenue share; bills, invoices, usage, revenue, allocation and cash
CONTRACTS = """
[payment_terms]
default = 30
Microsoft = 20

[[commitments]]
id = "microsoft/reservations/Standard_ND96isr_H100_v5-4x"
provider = "Microsoft"
total = "1900014.336"
currency = "USD"
start = 2024-01-01
months = 12

[[commitments]]
id = "cw-capacity"
provider = "CoreWeave"
total = "3600000.00"
currency = "USD"
start = 2024-03-01
months = 36
workload = "training"
payments = [{ date = 2024-03-15, amount = "1200000.00" }, { date = 2025-03-15, amount = "1200000.00" },
            { date = 2026-03-15, amount = "1200000.00" }]

[[credits]]
id = "gcp-startup"
provider = "Google Cloud"
amount = "750000.00"
currency = "USD"
start = 2024-01-01
expires = 2025-01-01

[[revenue_share]]
partner = "Microsoft"
rate = "0.20"
channels = ["cloud-partner"]
lag_days = 20
"""


def load_lab(out, path) -> list:
    """A lab folder's bills, GPU-cloud invoices, usage, revenue, allocation and cash, into
    the ledger at `path` (the order a user follows): the cash files' results."""
    with open_ledger(path) as lg:
        lg.ingest([out / "focus"])
        lg.ingest([out / "invoices"], mapping=INVOICE_MAPPING)
        lg.ingest_usage([out / "usage" / "openai"])
        lg.ingest_revenue([out / "revenue"])
        lg.allocate(SYNTH_RULES)
        return lg.ingest_cash([out / "finance"])


@pytest.fixture(scope="session")
def books(tmp_path_factory):
    """(ledger path, lab folder, contracts file): read-only for the tests that share it."""
    from computeledger.synth import generate

    def build(out: Path):
        generate(out, months=6, start="2024-01", seed=5)
        results = load_lab(out, out / "ledger.duckdb")
        (out / "contracts.toml").write_text(CONTRACTS)
        return [(r.status, r.rows_quarantined) for r in results]

    out, results = built_once(tmp_path_factory, "books", build)
    assert results == [("loaded", 0), ("loaded", 0)]
    return own_copy(tmp_path_factory, out / "ledger.duckdb"), out, out / "contracts.toml"


#: The longest test files, started first (each worker takes a file at a time, `--dist
#: loadfile`): run last, one of them would leave the other workers idle at the end.
LONGEST_FIRST = (
    "tests/backends/test_spark.py",
    "tests/test_readme.py",
    "tests/hostile/test_corpus_files.py",
    "tests/hostile/test_corpus_inputs.py",
    "tests/synth/test_generate.py",
    "tests/hostile/test_corpus.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The collected tests, the longest files first (in order otherwise)."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def key(item: pytest.Item) -> int:
        path = Path(str(item.path)).resolve().relative_to(ROOT).as_posix()
        return rank.get(path, len(rank))

    items.sort(key=key)
