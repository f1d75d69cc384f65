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


def test_at_the_labs_own_concurrency_the_bills_and_the_physics_agree(lab_ledger):
    """The lab serves its tokens at the throughput its company file states; it also says the
    requests in flight that throughput stands for (8 a replica for swift-s and atlas-l). At
    that point the capacity model needs the GPU-hours the lab billed, within the
    calibration's error (at the throughput-optimal batch it needs 5-8% of them)."""
    from computeledger.capacity.compare import parse_concurrency, per_model
    from computeledger.synth.company import load_company

    mapping = parse_map(MAP)
    at = {m.name: m.concurrency for m in load_company().models if m.concurrency and m.name in mapping}
    assert at == {"swift-s": 8, "atlas-l": 8, "sage-r": 64}
    path, _ = lab_ledger
    with open_ledger(path, read_only=True) as lg:
        monthly = compare(lg, mapping, catalog.calibrations(), concurrency=at)
        optimal = per_model(compare(lg, mapping, catalog.calibrations()))
    models = {r["model"]: r for r in per_model(monthly, at)}
    error = catalog.calibrations()[("h100 sxm", "trtllm", "fp8")].median_abs_error
    for name in ("swift-s", "atlas-l"):
        got = models[name]
        assert got["point"] == "concurrency 8" and got["note"] == "estimated: concurrency 8 on the billed GPU"
        assert abs(got["implied_utilization_pct"] - 100) <= 100 * Decimal(repr(error))
        months = {r["implied_utilization_pct"] for r in monthly if r["model"] == name}
        assert months == {got["implied_utilization_pct"]}  # tokens = GPU-hours x throughput, each month
        assert all(
            "concurrency 8; calibration fitted (trtllm)" in r["note"] for r in monthly if r["model"] == name
        )
    assert {r["model"]: r["point"] for r in optimal if r["implied_utilization_pct"] is not None} == {
        "swift-s": "throughput-optimal",
        "atlas-l": "throughput-optimal",
    }
    assert all(r["implied_utilization_pct"] < 10 for r in optimal if r["implied_utilization_pct"] is not None)
    assert parse_concurrency(["16"], mapping) == dict.fromkeys(mapping, 16)
    with pytest.raises(UsageError, match="'embed-e' is not a mapped model"):
        parse_concurrency(["embed-e=8"], mapping)
    with pytest.raises(UsageError, match="a whole number of at least 1"):
        parse_concurrency(["atlas-l=-2"], mapping)


def test_requests_that_do_not_fit_in_memory_are_said_not_zero(lab_ledger):
    path, _ = lab_ledger
    with open_ledger(path, read_only=True) as lg:
        got = compare(lg, parse_map(MAP), catalog.calibrations(), concurrency={"atlas-l": 10**6})
    atlas = [r for r in got if r["model"] == "atlas-l"]
    assert atlas and all(
        r["needed_gpu_hours"] is None and r["implied_utilization_pct"] is None for r in atlas
    )
    assert {r["note"] for r in atlas} == {
        "Llama-3.3-70B: 1000000 requests in flight do not fit on a node of H100 SXM"
    }
