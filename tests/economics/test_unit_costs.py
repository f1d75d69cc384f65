"""Cost per million tokens against the lab's truth, spreads that add up, gaps that stay unknown."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from decimal import Decimal, localcontext

from hypothesis import given
from hypothesis import strategies as st

from computeledger import open_ledger
from computeledger.economics.unit_costs import spread, unit_costs
from tests.conftest import truth


def _truth_cost_per_million(out) -> dict[tuple[str, str], Decimal]:
    cost: dict = defaultdict(Decimal)
    tokens: dict = defaultdict(int)
    for r in truth(out):
        if r["workload"] == "inference":
            cost[(r["model"], r["charge_month"])] += Decimal(r["effective_cost"])
    for r in truth(out, "tokens"):
        tokens[(r["model"], r["month"])] += int(r["input_tokens"]) + int(r["output_tokens"])
    with localcontext(prec=60):
        return {k: cost[k] * 1_000_000 / tokens[k] for k in cost if tokens[k]}


def _significant(value: Decimal, digits: int = 12) -> Decimal:
    return Decimal(f"{value:.{digits - 1}e}")


def test_cost_per_million_tokens_per_model_and_month_is_the_truths(allocated):
    path, _, out = allocated
    expected = _truth_cost_per_million(out)
    with open_ledger(path, read_only=True) as lg:
        got = unit_costs(lg, "model,month", cost="direct")
    rows = {(r["model"], r["month"].strftime("%Y-%m")): r for r in got.rows}
    assert set(rows) == set(expected) and len(expected) == 12
    for key, value in expected.items():
        assert _significant(rows[key]["cost_per_million_tokens"]) == _significant(value), key
        assert rows[key]["provenance"] == "allocated"
        assert rows[key]["coverage_cost_with_tokens"] == rows[key]["coverage_tokens_with_cost"] == Decimal(1)
    assert got.gaps == []


def test_input_and_output_parts_add_up_to_the_cost(allocated):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        got = unit_costs(lg, "model", output_weight=Decimal(4))
    for r in got.rows:
        if not r["output_tokens"]:
            assert r["cost_per_million_output_tokens"] is None
            continue
        cost_in = r["cost_per_million_input_tokens"] * r["input_tokens"] / 1_000_000
        cost_out = r["cost_per_million_output_tokens"] * r["output_tokens"] / 1_000_000
        assert abs(cost_in + cost_out - r["inference_cost"]) < Decimal("1e-6")
        # an output token weighs four input tokens
        assert abs(r["cost_per_million_output_tokens"] / r["cost_per_million_input_tokens"] - 4) < Decimal(
            "1e-12"
        )
        assert r["split_method"] == "given output weight"


def test_customer_parts_add_up_to_each_model_months_cost_exactly(allocated):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        whole = {(r["model"], r["month"]): r for r in unit_costs(lg, "model,month").rows}
        parts = unit_costs(lg, "model,month,customer,channel").rows
    summed: dict = defaultdict(Decimal)
    for r in parts:
        summed[(r["model"], r["month"])] += r["inference_cost"]
        assert r["provenance"] == "allocated, estimated"
    assert {k: v["inference_cost"] for k, v in whole.items()} == dict(summed)


@given(
    st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=18, allow_nan=False),
    st.lists(st.integers(min_value=0, max_value=10**15), min_size=1, max_size=12).filter(any),
)
def test_a_spread_adds_up_exactly_and_follows_the_weights(total, weights):
    parts = spread(total, weights)
    with localcontext(prec=80):  # the default 28 digits would round the reference
        assert sum(parts, Decimal(0)) == total
        whole = sum(weights)
        for part, w in zip(parts[:-1], weights[:-1], strict=True):
            assert abs(part - total * w / whole) < Decimal("1e-17")


def test_a_month_without_usage_is_a_gap_not_a_zero(allocated, tmp_path):
    path, _, _ = allocated
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    with open_ledger(copy) as lg:
        u = lg.usage
        june = u.filter(u.period_start.month() == 6).source_file.execute().iloc[0]
        lg.store.delete("usage", lambda t: t.source_file == june)
        got = unit_costs(lg, "model,month")
    june_rows = [r for r in got.rows if r["month"].month == 6]
    assert june_rows and all(r["cost_per_million_tokens"] is None for r in june_rows)
    assert all(r["inference_cost"] > 0 and r["input_tokens"] is None for r in june_rows)
    assert {(g["model"], g["month"].month, g["gap"]) for g in got.gaps} == {
        (r["model"], 6, "cost but no tokens") for r in june_rows
    }


def test_a_model_mapped_to_the_catalogue_splits_by_the_capacity_models_gpu_time(allocated):
    from computeledger.capacity import catalog
    from computeledger.capacity.compare import output_weights

    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        weights = output_weights(lg, {"atlas-l": "Llama-3.3-70B"}, catalog.calibrations())
        got = unit_costs(lg, "model", catalogue={"atlas-l": "Llama-3.3-70B"})
    # decode is bandwidth-bound: an output token takes a few input tokens' GPU time
    assert set(weights) == {"atlas-l"} and Decimal(2) < weights["atlas-l"] < Decimal(10)
    rows = {r["model"]: r for r in got.rows}
    atlas, swift = rows["atlas-l"], rows["swift-s"]
    assert atlas["split_method"] == "capacity model GPU time"
    assert swift["split_method"] == "list-price ratio"
    ratio = atlas["cost_per_million_output_tokens"] / atlas["cost_per_million_input_tokens"]
    assert abs(ratio - weights["atlas-l"]) < Decimal("1e-9")


def test_tokens_a_bill_counts_stand_beside_the_telemetry(tmp_path):
    """The FOCUS post-1.3 draft's per-token AI billing example (issue 31): an organisation
    that buys tokens sees what its bills count and what a million of them cost, with no
    telemetry of its own (that stays a gap: unknown, not 0); the lab's GPU bills count no
    tokens, so their billed figures are unknown."""
    from tests.conftest import SPEC

    example = SPEC / "working-draft-post-1.3" / "ai_model_billing" / "per_token_ai_model_api.csv"
    with open_ledger(tmp_path / "tokens.duckdb") as lg:
        lg.ingest([example])
        lg.allocate("token-bills")
        got = unit_costs(lg, "model,month")
    [row] = got.rows
    assert (row["model"], row["billed_input_tokens"], row["billed_output_tokens"]) == (
        "solora-saturn-4.8", 8_400_000, 2_100_000,
    )  # fmt: skip
    assert row["cost_per_million_billed_tokens"] == Decimal("9")  # 94.50 over 10.5M tokens
    assert row["input_tokens"] is None and row["cost_per_million_tokens"] is None
    assert [g["gap"] for g in got.gaps] == ["cost but no tokens"]


def test_gpu_bills_count_no_tokens_of_their_own(allocated):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        got = unit_costs(lg, "model,month")
    assert got.rows and all(r["cost_per_million_billed_tokens"] is None for r in got.rows)


def test_the_cash_basis_reads_the_contracts_it_is_given(books, tmp_path):
    """Unit costs on the cash basis pay each bill by the contracts given (the statement's),
    not by whatever the working folder configures: with 90-day terms instead of 30, the
    last bill, which no bank line pays, is paid two months later, in the API, the CLI and
    the forecast's history alike."""
    from typer.testing import CliRunner

    from computeledger.cli import app
    from computeledger.forecast.series import history
    from tests.conftest import CONTRACTS

    ledger, _, contracts = books
    later = tmp_path / "later.toml"
    later.write_text(
        CONTRACTS.replace("default = 30", "default = 90").replace("Microsoft = 20", "Microsoft = 80")
    )
    with open_ledger(ledger, read_only=True) as lg:
        by_terms = {
            path: {str(r["month"]): r["inference_cost"] for r in lg.unit_costs("month", basis="cash",
                                                                                  contracts=path).rows}
            for path in (contracts, later)
        }  # fmt: skip
        per_model = history(lg, "inference", by="model", basis="cash", contracts=later)
    usual, slow = by_terms[contracts], by_terms[later]
    assert max(usual) == "2024-07-01" and max(slow) == "2024-09-01"
    assert slow["2024-09-01"] == usual["2024-07-01"] == Decimal("888091.268092339437960000")
    assert {m: v for m, v in slow.items() if m < "2024-07-01"} == {
        m: v for m, v in usual.items() if m < "2024-07-01"
    }
    september = [v for series in per_model for p, v in zip(series.periods, series.values, strict=True)
                 if str(p) == "2024-09-01" and v]  # fmt: skip
    assert sum(september) == slow["2024-09-01"]
    argv = [
        "unit-costs",
        "--by",
        "month",
        "--basis",
        "cash",
        "--contracts",
        str(later),
        "--ledger",
        str(ledger),
    ]
    got = CliRunner().invoke(app, [*argv, "--format", "json"])
    assert got.exit_code == 0, got.output
    shown = {r["month"]: r["inference_cost"] for r in json.loads(got.output)}
    assert all(v is None or isinstance(v, str) for v in shown.values())  # money as text
    assert {m: None if v is None else Decimal(v) for m, v in shown.items()} == slow
