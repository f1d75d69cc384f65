"""A 12-month lab whose last two months of bills are withheld (the future to project),
with two injected spikes (a day's usage tripled) for the anomaly detector."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import built_once, load_lab, own_copy

KEPT = 10  # months of bills in the ledger: 2024-01 to 2024-10
SPIKES = {("aws", "2024-05"): "2024-05-14", ("microsoft", "2024-08"): "2024-08-20"}
COSTS = ("BilledCost", "EffectiveCost", "ContractedCost", "ListCost", "ConsumedQuantity", "PricingQuantity")


def triple_day(path, day: str) -> int:
    """Multiply the usage rows of `day` by three (costs and quantities): returns rows changed."""
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    changed = 0
    for r in rows:
        if r["ChargePeriodStart"].startswith(day) and r["ChargeCategory"] == "Usage" and r["BilledCost"]:
            for c in COSTS:
                if r.get(c):
                    r[c] = str(Decimal(r[c]) * 3)
            changed += 1
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return changed


@pytest.fixture(scope="session")
def future_lab(tmp_path_factory):
    """(ledger path, lab folder): read-only for the tests that share it."""
    from computeledger.synth import generate
    from computeledger.synth.company import default_config, load_company

    def build(out: Path) -> None:
        # the embeddings model on 20 nodes, not 2: a whole node more or less (the generator
        # rounds) then moves its tokens by 2-3%, not by half
        company = out / "company.toml"
        text = default_config().read_text(encoding="utf-8")
        embed = text.index('name = "embed-e"')
        company.write_text(
            text[:embed] + text[embed:].replace("inference_nodes = 2\n", "inference_nodes = 20\n", 1)
        )
        assert load_company(company).models[-1].inference_nodes == 20
        generate(out, months=12, start="2024-01", seed=5, config=company)
        for folder in ("focus", "invoices"):
            for f in (out / folder).glob("*/*.csv"):
                if f.stem >= f"2024-{KEPT + 1:02d}":
                    f.unlink()
        for (provider, month), day in SPIKES.items():
            assert triple_day(out / "focus" / provider / f"{month}.csv", day) > 10
        load_lab(out, out / "ledger.duckdb")

    out, _ = built_once(tmp_path_factory, "future", build)
    return own_copy(tmp_path_factory, out / "ledger.duckdb"), out
