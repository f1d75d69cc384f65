"""The scenario run every interface shows (the API's `Ledger.scenario`, `scenario run`,
`scenario compare`): a scenario file's, or the ledger's own trends. One place, so that the
same arguments give the same figures everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from computeledger.forecast.cash import trends
from computeledger.forecast.scenario import Result, baseline, load_scenario, run

if TYPE_CHECKING:
    from computeledger.accounting.contracts import Contracts
    from computeledger.store.base import Tables


def scenario(
    ledger: Tables,
    path: str | Path | None = None,
    *,
    basis: str = "effective",
    contracts: Contracts | str | Path | None = None,
    rules_version: str | None = None,
) -> Result:
    """The run every interface shows: a scenario file's, on the basis its `[scenario]
    basis` names (else `basis`); without a file, the ledger's own trends over the runway
    horizon (the cash engine's run, whose runway the statement and forecast print)."""
    if path is None:
        result: Result = trends(ledger, basis=basis, contracts=contracts, rules_version=rules_version)
        result.name = "the ledger's trends"
        return result
    doc = load_scenario(path)
    basis = doc.get("scenario", {}).get("basis", basis)
    got: Result = run(baseline(ledger, basis=basis, contracts=contracts, rules_version=rules_version), doc)
    return got
