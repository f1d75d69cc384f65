"""The base ledgers the hostile corpus runs against (copied for every case)."""

from __future__ import annotations

import pytest

from computeledger import open_ledger
from computeledger.shipped import FOCUS_SAMPLE


@pytest.fixture(scope="session")
def bases(tmp_path_factory, books) -> dict:
    """{"sample": the FOCUS sample's ledger, "lab": the six-month lab of tests/conftest.py
    with everything loaded and allocated, "contracts": the lab's own contracts file}."""
    sample = tmp_path_factory.mktemp("hostile-bases") / "sample.duckdb"
    with open_ledger(sample) as lg:
        lg.ingest([FOCUS_SAMPLE])
    ledger, lab, _ = books
    return {"sample": sample, "lab": ledger, "contracts": lab / "finance" / "contracts.toml"}
