"""The synthetic lab's other side: the tokens it served, what it billed for them, and its cash.

Tokens follow the bills: each model's served tokens in a month are its inference GPU-hours
(summed over the clouds' bills) times its throughput, split over channels, customers and
days. They are written as a gateway would log them, twice: OpenAI-style usage records
(`usage/openai/<month>.jsonl`) and OpenTelemetry GenAI spans in OTLP JSON
(`usage/otel/<month>.json`, one span per model, customer and day). Per-token channels are
invoiced monthly at the model's prices of the month, the app by subscription; invoices are
paid some days after they are issued; a revenue share is owed on partner channels; the
bank statement holds every cash movement, clouds paid some days after each billing period.

All counts are integers and all money is cents, so the truth files are exact sums of the
raw files.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np

from computeledger import money
from computeledger.synth.company import Channel, Company, Model

CENT = Decimal("0.01")
SHARE_DUE_DAYS = 20  # a revenue-share statement is paid this many days after its month ends
MILLION = Decimal(1_000_000)
TOKEN_COLUMNS = ("requests", "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")


@dataclass
class Sales:
    """What the cash statement needs from the sales side: dated receipts and payments."""

    receipts: list[tuple[date, str, str, Decimal]] = field(default_factory=list)  # date, payer, ref, amount
    shares: list[tuple[date, str, str, Decimal]] = field(default_factory=list)  # date, partner, ref, amount


def split(total: int, weights: list[int]) -> list[int]:
    """`total` in integer parts proportional to `weights`, adding up to `total` exactly
    (largest remainder; ties to the earlier part)."""
    scale = sum(weights)
    if total == 0 or scale == 0:
        return [0] * len(weights)
    parts = [total * w // scale for w in weights]
    order = sorted(range(len(weights)), key=lambda k: (-(total * weights[k] % scale), k))
    for k in order[: total - sum(parts)]:
        parts[k] += 1
    return parts


def _portion(value: int, share: Decimal) -> int:
    """floor(value x share), exactly."""
    return int(value * share)


def token_mix(model: Model, total: int) -> dict[str, int]:
    """One cell's served tokens as requests and token kinds (input includes cached input,
    output includes reasoning, as OpenAI and OpenTelemetry count them)."""
    inp = _portion(total, model.input_share)
    out = total - inp
    return {
        "requests": -(-total // model.tokens_per_request) if total else 0,
        "input_tokens": inp,
        "cached_input_tokens": _portion(inp, model.cached_share),
        "output_tokens": out,
        "reasoning_tokens": _portion(out, model.reasoning_share),
    }


def _customers(channel: Channel, seed: int) -> list[tuple[str, int]]:
    """A channel's customers with integer weights: a few large, many small."""
    if channel.subscription_price:
        return [(f"{channel.name}-subscribers", 1)]
    rng = np.random.default_rng([seed, zlib.crc32(channel.name.encode())])
    draws = rng.integers(500, 1500, channel.customers)
    return [
        (f"{channel.name}-customer-{k + 1:02d}", int(d) * 1000 // (k + 1))
        for k, d in enumerate(draws.tolist())
    ]


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=d) for d in range((end - start).days)]


def _unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def write_usage_and_revenue(
    out: Path, company: Company, starts: list[date], served: dict[tuple[str, int], int], seed: int,
    factor: Decimal = Decimal(1),
) -> Sales:  # fmt: skip
    """Usage logs, invoices, payments and revenue-share statements, with their truth.
    `served` holds each (model, month)'s inference GPU-hours x 100, from the bills."""
    sales = Sales()
    if not company.channels:
        return sales
    horizon = starts[-1]
    for sub in ("usage/openai", "usage/otel", "revenue"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    customers = {ch.name: _customers(ch, seed) for ch in company.channels}
    token_truth: dict[tuple[str, str, str], dict[str, int]] = {}
    revenue_truth: list[list] = []
    rng = np.random.default_rng([seed, zlib.crc32(b"payments")])
    with (
        (out / "revenue" / "invoices.csv").open("w", newline="") as inv_f,
        (out / "revenue" / "payments.csv").open("w", newline="") as pay_f,
        (out / "revenue" / "revenue_share.csv").open("w", newline="") as share_f,
    ):
        invoices, payments, shares = (csv.writer(f, lineterminator="\n") for f in (inv_f, pay_f, share_f))
        invoices.writerow([
            "invoice_id", "customer", "channel", "period_start", "period_end", "issued_on", "due_on",
            "model", "item", "quantity", "unit", "unit_price", "amount", "currency",
        ])  # fmt: skip
        payments.writerow(["payment_id", "invoice_id", "customer", "paid_on", "amount", "currency"])
        shares.writerow([
            "statement_id", "partner", "channel", "period_start", "period_end", "model", "revenue",
            "rate", "amount", "due_on", "currency",
        ])  # fmt: skip
        for i, (start, end) in enumerate(itertools.pairwise(starts)):
            days = _days(start, end)
            day_weights = [7 if d.weekday() >= 5 else 10 for d in days]
            cells = []  # (model, channel, customer, day index, mix)
            for model in company.models:
                total = served.get((model.name, i), 0) * model.tokens_per_gpu_hour // 100
                by_channel = split(total, [int(c.token_share * 10_000) for c in company.channels])
                for channel, ch_total in zip(company.channels, by_channel, strict=True):
                    people = customers[channel.name]
                    for (customer, _), c_total in zip(
                        people, split(ch_total, [w for _, w in people]), strict=True
                    ):
                        for d, t in enumerate(split(c_total, day_weights)):
                            if t:
                                cells.append((model, channel, customer, d, token_mix(model, t)))
            _write_usage(out, company, start, days, cells, seed)
            billed: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(dict)
            for model, channel, customer, _d, mix in cells:
                key = (model.name, channel.name)
                acc = token_truth.setdefault((f"{start:%Y-%m}", *key), dict.fromkeys(TOKEN_COLUMNS, 0))
                mine = billed[(channel.name, customer)].setdefault(
                    model.name, dict.fromkeys(TOKEN_COLUMNS, 0)
                )
                for k in TOKEN_COLUMNS:
                    acc[k] += mix[k]
                    mine[k] += mix[k]
            issued = end
            for channel in company.channels:
                by_model: dict[str, Decimal] = defaultdict(Decimal)
                for customer, _ in customers[channel.name]:
                    invoice = f"INV-{start:%Y%m}-{customer}"
                    lines = _invoice_lines(
                        company, channel, i, billed.get((channel.name, customer), {}), factor
                    )
                    if not lines:
                        continue
                    for model_name, item, qty, unit, price, amount in lines:
                        invoices.writerow([
                            invoice, customer, channel.name, start, end, issued,
                            issued + timedelta(days=30), model_name, item, qty, unit, price, amount,
                            company.currency,
                        ])  # fmt: skip
                        by_model[model_name] += amount
                    total = sum((line[-1] for line in lines), Decimal(0))
                    paid = issued + timedelta(
                        days=int(rng.integers(channel.payment_days[0], channel.payment_days[1] + 1))
                    )
                    if paid < horizon:
                        payments.writerow(
                            [f"PAY-{invoice[4:]}", invoice, customer, paid, total, company.currency]
                        )
                        sales.receipts.append((paid, customer, invoice, total))
                for model_name, revenue in sorted(by_model.items()):
                    share = (revenue * channel.revenue_share).quantize(CENT, ROUND_HALF_EVEN)
                    revenue_truth.append([f"{start:%Y-%m}", channel.name, model_name, revenue, share])
                    if channel.revenue_share:
                        due = issued + timedelta(days=SHARE_DUE_DAYS)
                        statement = f"RS-{start:%Y%m}-{channel.partner}"
                        shares.writerow([
                            statement, channel.partner, channel.name, start, end, model_name, revenue,
                            channel.revenue_share, share, due, company.currency,
                        ])  # fmt: skip
                        if due < horizon:
                            sales.shares.append((due, channel.partner, statement, share))
    _write_truth(out / "truth" / "tokens.csv", ["month", "model", "channel", *TOKEN_COLUMNS],
                 ([*k, *v.values()] for k, v in sorted(token_truth.items())))  # fmt: skip
    _write_truth(out / "truth" / "revenue.csv", ["month", "channel", "model", "revenue", "revenue_share"],
                 revenue_truth)  # fmt: skip
    return sales


def _invoice_lines(
    company: Company, channel: Channel, month: int, used: dict[str, dict[str, int]], factor: Decimal
) -> list:
    """(model, item, quantity, unit, unit price, amount) lines of one customer's monthly invoice."""
    if channel.subscription_price:
        subscribers = round(channel.subscribers * factor * money.power(1 + channel.subscriber_growth, month))
        amount = (subscribers * channel.subscription_price).quantize(CENT)
        return [("-", "subscription", subscribers, "subscriber-month", channel.subscription_price, amount)]
    lines = []
    for model in company.models:
        tokens = used.get(model.name)
        if not tokens:
            continue
        p_in, p_cached, p_out = model.prices(month)
        items = (
            ("input", tokens["input_tokens"] - tokens["cached_input_tokens"], p_in),
            ("cached_input", tokens["cached_input_tokens"], p_cached),
            ("output", tokens["output_tokens"], p_out),
        )
        for item, qty, price in items:
            if qty:
                amount = (qty * price / MILLION).quantize(CENT, ROUND_HALF_EVEN)
                lines.append((model.name, item, qty, "1M tokens", price, amount))
    return lines


def _write_usage(out: Path, company: Company, start: date, days: list[date], cells: list, seed: int) -> None:
    month = f"{start:%Y-%m}"
    spans = []
    with (out / "usage" / "openai" / f"{month}.jsonl").open("w") as f:
        for n, (model, channel, customer, d, mix) in enumerate(cells):
            t0 = _unix(days[d])
            embeddings = model.operation == "embeddings"
            record = {
                "object": f"organization.usage.{'embeddings' if embeddings else 'completions'}.result",
                "start_time": t0, "end_time": t0 + 86400, "project_id": customer, "model": model.name,
                "num_model_requests": mix["requests"], "input_tokens": mix["input_tokens"],
            }  # fmt: skip
            if not embeddings:
                record |= {
                    "input_cached_tokens": mix["cached_input_tokens"], "output_tokens": mix["output_tokens"],
                    "output_reasoning_tokens": mix["reasoning_tokens"], "batch": False,
                }  # fmt: skip
            record["metadata"] = {"channel": channel.name}
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
            ident = hashlib.blake2b(f"{seed}/{month}/{n}".encode(), digest_size=24).hexdigest()
            attrs = {
                "gen_ai.operation.name": model.operation, "gen_ai.provider.name": company.name,
                "gen_ai.request.model": model.name, "gen_ai.response.model": model.name,
                "gen_ai.usage.input_tokens": mix["input_tokens"],
                "gen_ai.usage.output_tokens": mix["output_tokens"],
                "gen_ai.usage.cache_read.input_tokens": mix["cached_input_tokens"],
                "gen_ai.usage.reasoning.output_tokens": mix["reasoning_tokens"],
                "lab.request_count": mix["requests"], "lab.customer": customer, "lab.channel": channel.name,
            }  # fmt: skip
            spans.append({
                "traceId": ident[:32], "spanId": ident[32:], "name": f"{model.operation} {model.name}",
                "kind": 2, "startTimeUnixNano": str(t0 * 10**9), "endTimeUnixNano": str((t0 + 86400) * 10**9),
                "attributes": [_otlp(k, v) for k, v in attrs.items()],
            })  # fmt: skip
    document = {"resourceSpans": [{
        "resource": {"attributes": [_otlp("service.name", "inference-gateway")]},
        "scopeSpans": [{"scope": {"name": "gateway.usage-rollup"}, "spans": spans}],
    }]}  # fmt: skip
    (out / "usage" / "otel" / f"{month}.json").write_text(json.dumps(document, separators=(",", ":")))


def _otlp(key: str, value: str | int) -> dict:
    """One OTLP JSON attribute (integers are strings there, as the protobuf JSON mapping says)."""
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def write_cash(
    out: Path, company: Company, starts: list[date], billed: dict[tuple[str, int], Decimal], sales: Sales,
    factor: Decimal = Decimal(1),
) -> None:  # fmt: skip
    """The bank statement (every cash movement, dated) and its monthly roll as truth. The
    opening balance and funding grow with the scale, like the lab's spend."""
    horizon = starts[-1]
    scale = Decimal(factor)
    opening = (company.opening_cash * scale).quantize(CENT)
    (out / "finance").mkdir(parents=True, exist_ok=True)
    moves: list[tuple[date, str, str, str, Decimal]] = []
    for f in company.funding:
        if f.month < len(starts) - 1:
            moves.append(
                (starts[f.month] + timedelta(days=f.day - 1), f.investor, "funding", f.round, f.amount)
            )
    for (provider, i), amount in billed.items():
        paid = starts[i + 1] + timedelta(days=company.cloud_payment_days)
        if amount and paid < horizon:
            moves.append((paid, provider, "cloud_bill", f"{starts[i]:%Y-%m}", -amount))
    moves += [(d, who, "customer_payment", ref, amount) for d, who, ref, amount in sales.receipts]
    moves += [(d, who, "revenue_share", ref, -amount) for d, who, ref, amount in sales.shares]
    moves.sort(key=lambda m: (m[0], m[2], m[1], m[3]))
    with (out / "finance" / "funding.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date", "round", "investor", "amount", "currency"])
        w.writerows(
            [d, ref, who, amount, company.currency]
            for d, who, kind, ref, amount in moves
            if kind == "funding"
        )
    with (out / "finance" / "bank.csv").open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["date", "counterparty", "kind", "reference", "amount", "currency"])
        w.writerow([starts[0], "", "opening_balance", "", opening, company.currency])
        w.writerows([*m, company.currency] for m in moves)
    kinds = ("customer_payment", "funding", "cloud_bill", "revenue_share")
    rows, balance = [], opening
    for start, end in itertools.pairwise(starts):
        flows = {
            k: sum((m[4] for m in moves if start <= m[0] < end and m[2] == k), Decimal(0)) for k in kinds
        }
        closing = balance + sum(flows.values(), Decimal(0))
        rows.append([f"{start:%Y-%m}", balance, flows["customer_payment"], flows["funding"],
                     -flows["cloud_bill"], -flows["revenue_share"], closing])  # fmt: skip
        balance = closing
    columns = [
        "month",
        "opening",
        "customer_receipts",
        "funding",
        "cloud_payments",
        "revenue_share_paid",
        "closing",
    ]
    _write_truth(out / "truth" / "cash.csv", columns, rows)


def write_contracts(
    out: Path, company: Company, starts: list[date], reservations: list[tuple[str, str, str, int]]
) -> None:
    """finance/contracts.toml: what the lab's contracts say and its bills do not (payment
    terms, the reservations' terms, the credit grants, the revenue-share agreements), in
    the format `computeledger --contracts` reads."""
    lines = ["# The lab's contracts: computeledger statement --contracts lab/finance/contracts.toml", "",
             "[payment_terms]", f"default = {company.cloud_payment_days}", ""]  # fmt: skip
    for provider, rid, total, months in reservations:
        lines += ["[[commitments]]", f'id = "{rid}"', f'provider = "{provider}"', f'total = "{total}"',
                  f'currency = "{company.currency}"', f"start = {starts[0].isoformat()}",
                  f"months = {months}", 'workload = "inference"', ""]  # fmt: skip
    for cloud in company.clouds:
        if cloud.credit_grant:
            lines += ["[[credits]]", f'id = "{_slug(cloud.provider)}-credits"',
                      f'provider = "{cloud.provider}"', f'amount = "{cloud.credit_grant}"',
                      f'currency = "{company.currency}"', f"start = {starts[0].isoformat()}", ""]  # fmt: skip
    for ch in company.channels:
        if ch.partner and ch.revenue_share:
            lines += ["[[revenue_share]]", f'partner = "{ch.partner}"', f'rate = "{ch.revenue_share}"',
                      f'channels = ["{ch.name}"]', 'settlement = "month"',
                      f"lag_days = {SHARE_DUE_DAYS}", ""]  # fmt: skip
    (out / "finance" / "contracts.toml").write_text("\n".join(lines))


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _write_truth(path: Path, header: list[str], rows) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
