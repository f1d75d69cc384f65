"""The AI APIs' costs and usage as their dashboards export them (CSV): the same ledger as
their JSON gives; and an API provider's own per-token cost export, with its tokens."""

from __future__ import annotations

import csv
import json
from decimal import Decimal, localcontext

import pytest

from computeledger.ledger import open_ledger
from computeledger.shipped import DATA
from tests.conftest import decimal_sum, totals

REPORTS = DATA / "reports"
COMPARED = (
    "ServiceProviderName", "HostProviderName", "InvoiceIssuerName", "BillingAccountId", "BillingAccountName",
    "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "ChargeCategory", "ChargeClass", "ChargeFrequency", "ChargeDescription", "BilledCost", "EffectiveCost",
    "ListCost", "ContractedCost", "PricingQuantity", "PricingUnit", "SkuId", "SkuMeter", "SkuPriceDetails",
    "SubAccountId", "ServiceName", "ServiceCategory", "ServiceSubcategory",
)  # fmt: skip


def _charges(lg) -> list[tuple]:
    rows = lg.charges.select(*COMPARED).to_pyarrow().to_pylist()
    return sorted((tuple(r[c] for c in COMPARED) for r in rows), key=repr)


def _quarantine(lg) -> list[tuple]:
    q = lg.store.table("quarantine")
    return [(r["source_line"], r["reason"]) for r in q.order_by("source_line").to_pyarrow().to_pylist()]


@pytest.mark.slow  # three ledgers
def test_openai_cost_export_is_the_bill_its_costs_api_gives(tmp_path):
    api = open_ledger(tmp_path / "json.duckdb")
    dashboard = open_ledger(tmp_path / "csv.duckdb")
    [a] = api.ingest([REPORTS / "openai_costs.json"])
    [b] = dashboard.ingest([REPORTS / "openai_costs_export.csv"])
    # before: refused, "not a FOCUS file: none of its columns is a FOCUS column"
    assert (b.status, b.mapping.endswith("openai_costs_export.toml"), b.rows_read) == ("loaded", True, 4)
    assert (b.rows_loaded, b.rows_quarantined) == (a.rows_loaded, 1) == (3, 1)
    assert _charges(dashboard) == _charges(api)
    assert b.rounding == a.rounding  # the 22-decimal amount, rounded with the same residue
    # the dashboard writes a day without cost as a row of times only: kept, with its reason
    [(line, reason)] = _quarantine(dashboard)
    assert line == 5 and reason.startswith("BilledCost (from amount_value): missing")
    first = dashboard.charges.order_by("ChargePeriodStart", "BilledCost").to_pyarrow().to_pylist()[0]
    assert json.loads(first["SkuPriceDetails"]) == {
        "ModelId": "gpt-4o-2024-08-06",
        "TokenCacheAction": "Uncached",
        "TokenDirection": "Input",
    }
    api.close()
    # a later save of the same month, as CSV, restates the JSON's bill: counted once
    both = open_ledger(tmp_path / "both.duckdb")
    both.ingest([REPORTS / "openai_costs.json"])
    [again] = both.ingest([REPORTS / "openai_costs_export.csv"])
    assert again.rows_replaced == 3
    assert totals(both)["OpenAI"]["BilledCost"] == totals(dashboard)["OpenAI"]["BilledCost"]
    with localcontext(prec=80):
        written = decimal_sum(["0.06", "1.2345678901234567890123", "12.5e-3"])
        assert (
            totals(both)["OpenAI"]["BilledCost"] + Decimal(again.rounding["BilledCost"]["residue"]) == written
        )


USAGE_COLUMNS = (
    "period_start", "period_end", "model", "customer", "operation", "requests", "input_tokens",
    "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
)  # fmt: skip


def _usage(lg) -> list[tuple]:
    rows = lg.store.table("usage").select(*USAGE_COLUMNS).to_pyarrow().to_pylist()
    return sorted((tuple(r[c] for c in USAGE_COLUMNS) for r in rows), key=repr)


def test_openai_usage_export_reads_as_its_usage_api_json(tmp_path):
    api = open_ledger(tmp_path / "json.duckdb")
    dashboard = open_ledger(tmp_path / "csv.duckdb")
    api.ingest_usage([REPORTS / "openai_usage_completions.json"])
    [b] = dashboard.ingest_usage([REPORTS / "openai_usage_export.csv"])
    # before: 0 loaded, "requests: not a whole number: '5.0'", "period_start: not a date: '1730419200'"
    assert (b.status, b.rows_loaded, b.rows_quarantined) == ("loaded", 4, 0)
    assert _usage(dashboard) == _usage(api)
    rows = _usage(dashboard)
    assert {r[4] for r in rows if r[2] == "gpt-4o-mini-2024-07-18"} == {"chat-batch"}
    assert sum(r[6] for r in rows) == 1000 + 7 + 1001 + 7 + 2 * 9007199254740993  # exact past 2**53


def test_usage_export_with_epoch_times_only_and_a_fraction_that_is_not_whole(tmp_path):
    lg = open_ledger(tmp_path / "l.duckdb")
    path = tmp_path / "usage.csv"
    with (REPORTS / "openai_usage_export.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[2]["output_tokens"] = "500.5"
    keep = [
        "start_time",
        "end_time",
        "model",
        "project_id",
        "num_model_requests",
        "input_tokens",
        "output_tokens",
    ]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, keep, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    [r] = lg.ingest_usage([path])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 3, 1)
    [(line, reason)] = [
        (q["source_line"], q["reason"]) for q in lg.store.table("quarantine").to_pyarrow().to_pylist()
    ]
    assert (line, reason) == (4, "output_tokens: not a whole number: '500.5'")
    u = lg.store.table("usage").order_by("period_start").to_pyarrow().to_pylist()
    assert (u[0]["period_start"].isoformat(), u[0]["period_end"].isoformat()) == (
        "2024-11-01T00:00:00", "2024-11-02T00:00:00")  # fmt: skip


@pytest.mark.slow  # an ingest and an allocation
def test_a_provider_cost_export_loads_with_its_tokens_and_cost_per_million(tmp_path):
    lg = open_ledger(tmp_path / "l.duckdb")
    [r] = lg.ingest([REPORTS / "token_cost_export.csv"])
    assert (r.status, r.mapping.endswith("token_cost_export.toml"), r.rows_loaded, r.rows_quarantined) == (
        "loaded", True, 6, 0)  # fmt: skip
    with (REPORTS / "token_cost_export.csv").open(newline="") as f:
        source = list(csv.DictReader(f))
    t = totals(lg)["Anthropic"]
    residue = Decimal(r.rounding["BilledCost"]["residue"])
    assert t["BilledCost"] + residue == decimal_sum(s["cost_usd"] for s in source)
    c = lg.charges
    rows = (
        c.select("ConsumedQuantity", "ConsumedUnit", "SkuPriceDetails", "BillingCurrency")
        .to_pyarrow()
        .to_pylist()
    )
    assert sum(x["ConsumedQuantity"] for x in rows) == sum(int(s["tokens"]) for s in source)
    assert {x["ConsumedUnit"] for x in rows} == {"Tokens"} and {x["BillingCurrency"] for x in rows} == {"USD"}
    details = sorted(json.dumps(json.loads(x["SkuPriceDetails"]), sort_keys=True) for x in rows)
    assert details == sorted(json.dumps(d, sort_keys=True) for d in [
        {"ModelId": "claude-sonnet-4-5", "TokenDirection": "Input", "TokenCacheAction": "Uncached"},
        {"ModelId": "claude-sonnet-4-5", "TokenDirection": "Output"},
        {"ModelId": "claude-sonnet-4-5", "TokenDirection": "Input", "TokenCacheAction": "Read"},
        {"ModelId": "claude-haiku-4-5", "TokenDirection": "Input", "TokenCacheAction": "Uncached"},
        {"ModelId": "claude-haiku-4-5", "TokenDirection": "Output"},
        {"ModelId": "claude-sonnet-4-5", "TokenDirection": "Input", "TokenCacheAction": "Write"},
    ])  # fmt: skip
    lg.allocate("token-bills")
    per_model = {x["model"]: x for x in lg.unit_costs("model,month").rows}
    sonnet = per_model["claude-sonnet-4-5"]
    assert (sonnet["billed_input_tokens"], sonnet["billed_output_tokens"]) == (3_300_000, 300_000)
    assert sonnet["inference_cost"] == Decimal("9.075")
    with localcontext(prec=40):
        assert abs(sonnet["cost_per_million_billed_tokens"] - Decimal("9.075") / Decimal("3.6")) < Decimal(
            "1e-17"
        )


def _export(path, rows: list[list[str]]) -> None:
    path.write_text("\n".join(",".join(r) for r in rows) + "\n")


@pytest.mark.slow  # two ingests, one through a mapping of its own
def test_a_provider_export_without_its_provider_or_currency_is_quarantined_saying_so(tmp_path):
    lg = open_ledger(tmp_path / "l.duckdb")
    path = tmp_path / "console.csv"
    _export(path, [["date", "model", "token_type", "tokens", "cost"],
                   ["2025-11-01", "m1", "input", "1000", "0.5"]])  # fmt: skip
    [r] = lg.ingest([path])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 0, 1)
    [(line, reason)] = _quarantine(lg)
    assert line == 2 and "BillingCurrency: missing" in reason and "ServiceProviderName: missing" in reason
    # the user names the provider in a mapping of their own, extending the shipped one
    mapping = tmp_path / "console.toml"
    mapping.write_text(
        'name = "my-console"\nextends = "token-cost-export"\n'
        '[constants]\nServiceProviderName = "Mistral"\nHostProviderName = "Mistral"\n'
        'InvoiceIssuerName = "Mistral"\nServiceName = "Mistral API"\nBillingCurrency = "EUR"\n'
    )
    [again] = lg.ingest([path], mapping=str(mapping))
    assert (again.status, again.rows_loaded, again.rows_quarantined) == ("loaded", 1, 0)
    t = totals(lg)["Mistral"]
    assert (t["BilledCost"], t["rows"]) == (Decimal("0.5"), 1)


def test_a_damaged_provider_export_names_line_column_and_value(tmp_path):
    lg = open_ledger(tmp_path / "l.duckdb")
    path = tmp_path / "tokens.csv"
    _export(path, [["usage_date", "provider", "model_id", "usage_type", "token_count", "amount_usd"],
                   ["2025-11-01", "Acme", "m1", "output_tokens", "1000", "0.5"],
                   ["2025-11-01", "Acme", "m1", "input_tokens", "1000", "\"1,5\""],
                   ["2025-11-31", "Acme", "m1", "input_tokens", "1000", "1.5"]])  # fmt: skip
    [r] = lg.ingest([path])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 1, 2)
    reasons = dict(_quarantine(lg))
    assert "BilledCost" in reasons[3] and "1,5" in reasons[3]
    assert "ChargePeriodStart" in reasons[4] and "2025-11-31" in reasons[4]
    # a column the mapping needs is missing: named, and nothing is loaded
    _export(tmp_path / "short.csv", [["usage_date", "provider", "model_id", "usage_type", "amount_usd"],
                                     ["2025-11-01", "Acme", "m1", "output_tokens", "0.5"]])  # fmt: skip
    [short] = lg.ingest([tmp_path / "short.csv"], mapping="token-cost-export")
    assert short.status == "refused" and "tokens, token_count" in short.message


def test_each_export_given_to_the_other_command_says_where_it_belongs(tmp_path):
    lg = open_ledger(tmp_path / "l.duckdb")
    [usage_as_bill] = lg.ingest([REPORTS / "openai_usage_export.csv"])
    assert usage_as_bill.status == "refused"
    assert usage_as_bill.message.endswith(
        "its token counts make it usage: load it with `computeledger ingest-usage`"
    )
    [bill_as_usage] = lg.ingest_usage([REPORTS / "openai_costs_export.csv"])
    assert bill_as_usage.status == "refused"
    assert bill_as_usage.message == (
        "not a usage CSV: missing column(s) model, input_tokens; its costs make it a bill: load it with "
        "`computeledger ingest`"
    )
    assert lg.charges.count().to_pyarrow().as_py() == 0
    assert lg.store.table("usage").count().to_pyarrow().as_py() == 0
