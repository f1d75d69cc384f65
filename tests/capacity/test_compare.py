"""Bills against physics on the synthetic lab: billed GPU-hours against needed ones."""

from __future__ import annotations

import csv
from collections import defaultdict
from decimal import Decimal

import pytest

from computeledger import open_ledger
from computeledger.capacity import catalog
from computeledger.capacity.compare import compare, parse_map
from computeledger.errors import UsageError

MAP = ["swift-s=Llama-3.1-8B", "atlas-l=Llama-3.3-70B", "sage-r=Qwen3-235B-A22B"]


@pytest.fixture(scope="module")
def rows(lab_ledger):
    path, out = lab_ledger
    with open_ledger(path, read_only=True) as lg:
        return compare(lg, parse_map(MAP), catalog.calibrations()), out


def test_billed_gpu_hours_and_tokens_are_the_labs_truth(rows):
    got, out = rows
    with (out / "truth" / "costs.csv").open() as f:
        hours = defaultdict(Decimal)
        for r in csv.DictReader(f):
            if r["workload"] == "inference":
                hours[(r["model"], r["charge_month"])] += Decimal(r["gpu_hours"])
    with (out / "truth" / "tokens.csv").open() as f:
        tokens = defaultdict(int)
        for r in csv.DictReader(f):
            tokens[(r["model"], r["month"])] += int(r["output_tokens"])
    assert len(got) == len(hours) == 12  # 3 models x 4 months: sage-r launches in month 6
    for r in got:
        key = (r["model"], r["month"].strftime("%Y-%m"))
        assert r["billed_gpu_hours"] == hours[key]
        assert r["output_tokens"] == tokens[key]


def test_needed_gpu_hours_and_the_implied_utilization(rows):
    got, _ = rows
    atlas = [r for r in got if r["model"] == "atlas-l"]
    for r in atlas:
        assert r["catalogue_model"] == "Llama-3.3-70B" and r["source"] == "billed; estimated"
        assert r["needed_gpu_hours_low"] < r["needed_gpu_hours"] < r["needed_gpu_hours_high"]
        share = r["needed_gpu_hours"] * 100 / r["billed_gpu_hours"]
        assert abs(r["implied_utilization_pct"] - share) < Decimal("0.006")  # needed is shown to the cent
    # the same request shape each month: GPU-hours needed grow with the tokens, to rounding
    a, b = atlas[0], atlas[-1]
    ratio = b["output_tokens"] / a["output_tokens"]
    assert float(b["needed_gpu_hours"] / a["needed_gpu_hours"]) == pytest.approx(ratio, rel=1e-3)


def test_what_cannot_be_estimated_stays_unknown(rows):
    got, _ = rows
    embed = [r for r in got if r["model"] == "embed-e"]
    assert embed and all(
        r["needed_gpu_hours"] is None and r["implied_utilization_pct"] is None for r in embed
    )
    assert {r["note"] for r in embed} == {
        "no output tokens (embeddings?): the serving model needs decode steps"
    }
    assert not [r for r in got if r["model"] == "sage-r"]  # not launched yet: nothing billed, no row


def test_map_errors():
    with pytest.raises(UsageError, match="write LEDGER_MODEL=CATALOGUE_MODEL"):
        parse_map(["atlas-l"])
    with pytest.raises(UsageError, match="unknown model 'GPT-9'"):
        parse_map(["atlas-l=GPT-9"])
