"""A six-month lab (Series C in its fifth month, a 12-month reservation, a credit grant
used up, a revenue share) with bills, invoices, usage, revenue, allocation and cash."""

from __future__ import annotations

import pytest

from computeledger import open_ledger
from computeledger.shipped import INVOICE_MAPPING, SYNTH_RULES

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

    out = tmp_path_factory.mktemp("books")
    generate(out, months=6, start="2024-01", seed=5)
    path = out / "ledger.duckdb"
    results = load_lab(out, path)
    assert [(r.status, r.rows_quarantined) for r in results] == [("loaded", 0), ("loaded", 0)]
    contracts = out / "contracts.toml"
    contracts.write_text(CONTRACTS)
    return path, out, contracts


@pytest.fixture
def books_ledger(books):
    with open_ledger(books[0], read_only=True) as lg:
        yield lg
