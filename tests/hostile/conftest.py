"""The base ledgers the hostile corpus runs against (copied for every case)."""

from __future__ import annotations

import pytest

from computeledger import open_ledger
from computeledger.shipped import FOCUS_SAMPLE


@pytest.fixture(scope="session")
def bases(tmp_path_factory) -> dict:
    """{"sample": the FOCUS sample's ledger, "lab": a six-month lab with everything loaded
    and allocated, "contracts": the lab's contracts file}."""
    from computeledger.synth import generate
    from tests.accounting.conftest import load_lab

    root = tmp_path_factory.mktemp("hostile-bases")
    sample = root / "sample.duckdb"
    with open_ledger(sample) as lg:
        lg.ingest([FOCUS_SAMPLE])
    lab = root / "lab"
    generate(lab, months=6, start="2024-01", seed=5)
    load_lab(lab, root / "lab.duckdb")
    return {"sample": sample, "lab": root / "lab.duckdb", "contracts": lab / "finance" / "contracts.toml"}
