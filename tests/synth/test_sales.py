"""The lab's tokens, revenue and cash: consistent with its bills, and recoverable from the raw files."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from computeledger.synth.company import load_company
from computeledger.synth.sales import TOKEN_COLUMNS, split
from tests.conftest import truth

MONTHS = ("2024-05", "2024-06", "2024-07", "2024-08")


@given(st.integers(0, 10**15), st.lists(st.integers(0, 10**6), min_size=1, max_size=40))
def test_split_adds_up_and_stays_within_one_of_the_exact_share(total, weights):
    parts = split(total, weights)
    assert len(parts) == len(weights)
    if sum(weights) == 0:
        assert parts == [0] * len(weights)
        return
    assert sum(parts) == total
    for part, w in zip(parts, weights, strict=True):
        exact = Decimal(total) * w / sum(weights)
        assert abs(part - exact) < 1


def test_tokens_are_gpu_hours_times_throughput(company):
    out, _ = company
    models = {m.name: m for m in load_company().models}
    hours: dict = defaultdict(Decimal)
    for r in truth(out):
        if r["workload"] == "inference":
            hours[(r["month"], r["model"])] += Decimal(r["gpu_hours"])
    served: dict = defaultdict(int)
    for r in truth(out, "tokens"):
        served[(r["month"], r["model"])] += int(r["input_tokens"]) + int(r["output_tokens"])
        assert int(r["cached_input_tokens"]) <= int(r["input_tokens"])
        assert int(r["reasoning_tokens"]) <= int(r["output_tokens"])
    assert set(served) == {k for k, v in hours.items() if v}
    for (month, model), h in hours.items():
        assert served[(month, model)] == int(h * models[model].tokens_per_gpu_hour), (month, model)
    # the reasoning model is the one that reasons; the embedding model only reads
    by_model = defaultdict(lambda: defaultdict(int))
    for r in truth(out, "tokens"):
        for k in TOKEN_COLUMNS:
            by_model[r["model"]][k] += int(r[k])
    assert by_model["embed-e"]["output_tokens"] == 0
    assert by_model["atlas-l"]["reasoning_tokens"] == 0


def test_usage_logs_in_both_formats_add_up_to_the_truth(company):
    out, _ = company
    expected = {(r["month"], r["model"], r["channel"]): r for r in truth(out, "tokens")}
    openai: dict = defaultdict(lambda: defaultdict(int))
    otel: dict = defaultdict(lambda: defaultdict(int))
    for month in MONTHS:
        for line in (out / "usage" / "openai" / f"{month}.jsonl").read_text().splitlines():
            rec = json.loads(line)
            assert date.fromtimestamp(rec["start_time"]).strftime("%Y-%m") == month
            acc = openai[(month, rec["model"], rec["metadata"]["channel"])]
            acc["requests"] += rec["num_model_requests"]
            acc["input_tokens"] += rec["input_tokens"]
            acc["cached_input_tokens"] += rec.get("input_cached_tokens", 0)
            acc["output_tokens"] += rec.get("output_tokens", 0)
            acc["reasoning_tokens"] += rec.get("output_reasoning_tokens", 0)
        doc = json.loads((out / "usage" / "otel" / f"{month}.json").read_text())
        for span in doc["resourceSpans"][0]["scopeSpans"][0]["spans"]:
            attrs = {a["key"]: next(iter(a["value"].values())) for a in span["attributes"]}
            acc = otel[(month, attrs["gen_ai.request.model"], attrs["lab.channel"])]
            acc["requests"] += int(attrs["lab.request_count"])
            acc["input_tokens"] += int(attrs["gen_ai.usage.input_tokens"])
            acc["cached_input_tokens"] += int(attrs["gen_ai.usage.cache_read.input_tokens"])
            acc["output_tokens"] += int(attrs["gen_ai.usage.output_tokens"])
            acc["reasoning_tokens"] += int(attrs["gen_ai.usage.reasoning.output_tokens"])
    for logs in (openai, otel):
        assert set(logs) == set(expected)
        for key, row in expected.items():
            assert {k: logs[key][k] for k in TOKEN_COLUMNS} == {k: int(row[k]) for k in TOKEN_COLUMNS}, key


def _read(out, name):
    with (out / name).open() as f:
        return list(csv.DictReader(f))


def test_invoices_price_the_tokens_and_add_up_to_the_revenue_truth(company):
    out, _ = company
    lines = _read(out, "revenue/invoices.csv")
    revenue: dict = defaultdict(Decimal)
    for line in lines:
        amount = Decimal(line["amount"])
        if line["unit"] == "1M tokens":
            assert amount == (int(line["quantity"]) * Decimal(line["unit_price"]) / 10**6).quantize(
                Decimal("0.01")
            )
        else:
            assert amount == int(line["quantity"]) * Decimal("20.00")
        revenue[(line["period_start"][:7], line["channel"], line["model"])] += amount
    expected = {(r["month"], r["channel"], r["model"]): Decimal(r["revenue"]) for r in truth(out, "revenue")}
    assert revenue == expected
    assert {c for _, c, _ in expected} == {"api", "cloud-partner", "app"}
    # atlas-l's price cut in month 8 is not in these first four months; its input price is 2.50
    atlas = {
        Decimal(line["unit_price"])
        for line in lines
        if line["model"] == "atlas-l" and line["item"] == "input"
    }
    assert atlas == {Decimal("2.5000")}
    # the revenue share is 20% of the partner channel's revenue, and nothing elsewhere
    for r in truth(out, "revenue"):
        rate = Decimal("0.20") if r["channel"] == "cloud-partner" else 0
        assert Decimal(r["revenue_share"]) == (Decimal(r["revenue"]) * rate).quantize(Decimal("0.01"))


def test_invoices_are_paid_in_full_30_to_60_days_after_issue(company):
    out, _ = company
    totals: dict = defaultdict(Decimal)
    issued = {}
    for line in _read(out, "revenue/invoices.csv"):
        totals[line["invoice_id"]] += Decimal(line["amount"])
        issued[line["invoice_id"]] = (date.fromisoformat(line["issued_on"]), line["channel"])
    payments = _read(out, "revenue/payments.csv")
    assert payments  # some invoices of May to July are paid before the end of August
    for p in payments:
        assert Decimal(p["amount"]) == totals[p["invoice_id"]]
        day, channel = issued[p["invoice_id"]]
        delay = (date.fromisoformat(p["paid_on"]) - day).days
        assert (2 <= delay <= 5) if channel == "app" else (30 <= delay <= 60)
        assert date.fromisoformat(p["paid_on"]) < date(2024, 9, 1)  # nothing after the horizon


def test_the_bank_statement_rolls_up_to_the_cash_truth(company):
    out, _ = company
    bank = _read(out, "finance/bank.csv")
    assert bank[0]["kind"] == "opening_balance"
    balance = Decimal(bank[0]["amount"])
    closing = {}
    assert all(b["date"] < "2024-09-01" for b in bank)  # nothing after the horizon
    for month in MONTHS:
        balance += sum((Decimal(b["amount"]) for b in bank[1:] if b["date"][:7] == month), Decimal(0))
        closing[month] = balance
    cash = {r["month"]: r for r in truth(out, "cash")}
    assert {m: Decimal(cash[m]["closing"]) for m in MONTHS} == closing
    # the lab burns cash between funding rounds: compute costs more than revenue brings in
    assert all(Decimal(cash[m]["closing"]) < Decimal(cash[m]["opening"]) for m in MONTHS[1:])
    assert all(Decimal(cash[m]["funding"]) == 0 for m in MONTHS)  # the first round comes in month 4
    # clouds are paid 20 days after each billing period, the amount each bill says
    billed = defaultdict(Decimal)
    for r in truth(out):
        billed[(r["provider"], r["month"])] += Decimal(r["billed_cost"])
    paid = {
        (b["counterparty"], b["reference"]): -Decimal(b["amount"]) for b in bank if b["kind"] == "cloud_bill"
    }
    assert paid and all(billed[key] == amount for key, amount in paid.items())
    assert ("AWS", "2024-07") in paid and ("AWS", "2024-08") not in paid  # due 2024-09-21, after the horizon
