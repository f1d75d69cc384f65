"""A ledger of the synthetic lab (the shared test company), allocated by the shipped rules."""

from __future__ import annotations

import pytest

from computeledger import open_ledger
from computeledger.cli import INVOICE_MAPPING
from tests.conftest import RULES


@pytest.fixture(scope="session")
def allocated(company, tmp_path_factory):
    out, _ = company
    path = tmp_path_factory.mktemp("allocated") / "ledger.duckdb"
    with open_ledger(path) as lg:
        lg.ingest([out / "focus"])
        lg.ingest([out / "invoices"], mapping=INVOICE_MAPPING)
        run = lg.allocate(RULES)
    return path, run, out
