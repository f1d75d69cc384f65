"""Gross margin of serving: revenue accrued by service period, the partners' revenue share,
and inference cost (loaded by default), per model, customer or channel and period.

Rules:
- Revenue is the invoice lines' amounts in their service month (credit notes negative).
- Revenue share is what the partners' statements say is owed for a channel, model and
  month; by customer, it is spread over the channel's customers by their revenue (exact
  parts, as in `unit_costs.spread`).
- Inference cost is `unit_costs`' cost of the same model-months, spread over customers by
  tokens.
- Revenue of no model (subscriptions: the app channel sells access, not a model) is
  attributed to the models that served the same customer and channel that month, in
  proportion to their tokens (exact parts, the last the remainder), labelled `estimated`
  (`attributed by tokens`); with no such tokens, to the channel's models that month; with
  none, it stays under no model. `attribute=False` keeps it under no model (the
  unattributed view): a group holding both it and the tokens it paid for still has a
  known cost (the cost of those tokens).
- Gross margin = revenue - revenue share - inference cost; margin % = margin / revenue.
  A group without cost (revenue of no model, or of a model-month with no bill) has an
  unknown cost and margin, never 0; `gaps` lists it.
- One currency: revenue, shares and cost in different currencies are refused (no rate is
  guessed).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from computeledger import money
from computeledger.economics.inputs import revenue_by_period, revenue_share_owed
from computeledger.economics.unit_costs import MILLION, cells, parse_dimensions, quarter, spread
from computeledger.errors import UsageError

DIMENSIONS = ("model", "customer", "channel", "month", "quarter")


@dataclass
class Margin:
    """The rows asked for and the gaps found."""

    rows: list[dict]
    gaps: list[dict] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)


@money.exact
def margin(
    ledger,
    by: str | list[str] = "model,month",
    *,
    basis: str = "effective",
    cost: str = "loaded",
    rules_version: str | None = None,
    attribute: bool = True,
    start: date | None = None,
    end: date | None = None,
) -> Margin:
    """Per group: revenue, revenue share, inference cost, gross margin and margin %,
    tokens, and revenue and margin per million tokens (`attribute`: subscription revenue
    spread over the models by tokens; `start`, `end`: the months kept, end exclusive)."""
    if basis == "cash":
        raise UsageError(
            "margin on the cash basis needs receipts per model, which payments do not say: "
            "see `computeledger statement --basis cash` (receipts, shares paid and compute paid), "
            "or `unit-costs --basis cash` (compute paid per model)"
        )
    dims = parse_dimensions(by, DIMENSIONS)
    revenue, currencies = revenue_by_period(ledger)
    shares, share_currencies = revenue_share_owed(ledger)
    finest = cells(ledger, ["customer", "channel"], basis, cost, rules_version)
    cost_currencies = {c.currency for c in finest if c.cost is not None}
    every = {c for c in currencies | share_currencies | cost_currencies if c is not None}
    if len(every) > 1:
        raise UsageError(
            f"revenue and cost in more than one currency ({', '.join(sorted(every))}): "
            "no exchange rate is guessed"
        )
    # (model, month, customer, channel) -> figures
    table: dict[tuple, dict] = defaultdict(lambda: {"revenue": None, "share": None, "cost": None,
                                                   "costed": False, "tokens": None, "gpu": None,
                                                   "attributed": False})  # fmt: skip
    made: set[tuple] = set()
    if attribute:
        revenue, made = _attribute(revenue, finest)
        owed, _ = _attribute({(m, mo, None, ch): a for (m, mo, ch), a in shares.items()}, finest)
        shares = defaultdict(Decimal)
        for (m, mo, _, ch), a in owed.items():
            shares[(m, mo, ch)] += a
    for key, amount in revenue.items():
        table[key]["revenue"] = amount
        table[key]["attributed"] = key in made
    customers: dict[tuple, list[tuple[str, Decimal]]] = defaultdict(list)
    for (model, month, customer, channel), amount in revenue.items():
        customers[(model, month, channel)].append((customer, amount))
    for (model, month, channel), amount in shares.items():
        payers = sorted(customers.get((model, month, channel), []), key=lambda p: str(p[0]))
        if not payers:
            table[(model, month, None, channel)]["share"] = amount
            continue
        for (customer, _), part in zip(payers, spread(amount, [a for _, a in payers]), strict=True):
            table[(model, month, customer, channel)]["share"] = part
    for c in finest:
        k = (c.key["model"], c.key["month"], c.key["customer"], c.key["channel"])
        f = table[k]
        f["costed"] = True
        f["cost"] = c.cost
        if c.tokens is not None:
            f["tokens"] = c.tokens["input_tokens"] + c.tokens["output_tokens"]
    if start is not None or end is not None:
        table = {k: f for k, f in table.items()
                 if (start is None or k[1] >= start) and (end is None or k[1] < end)}  # fmt: skip
    groups: dict[tuple, list[tuple[tuple, dict]]] = defaultdict(list)
    for k, f in table.items():
        groups[_key(k, dims)].append((k, f))
    rows, gaps = [], []
    for key in sorted(groups, key=lambda g: tuple(str(v) for v in g)):
        rows.append(dict(zip(dims, key, strict=True)) | _figures(groups[key], basis, cost))
    for (model, month, customer, channel), f in sorted(table.items(), key=lambda kv: tuple(map(str, kv[0]))):
        if f["revenue"] and not f["tokens"]:
            gaps.append({"model": model, "month": month, "customer": customer, "channel": channel,
                         "gap": "revenue but no tokens", "revenue": f["revenue"]})  # fmt: skip
    return Margin(rows, gaps, dims)


def _attribute(amounts: dict[tuple, Decimal], finest) -> tuple[dict[tuple, Decimal], set[tuple]]:
    """Amounts keyed (model, month, customer, channel), those of no model spread over the
    models that served the same month, customer and channel by their tokens (else the same
    month and channel); and the keys that received a part."""
    same: dict[tuple, list[tuple[tuple, int]]] = defaultdict(list)
    channel: dict[tuple, list[tuple[tuple, int]]] = defaultdict(list)
    for c in finest:
        count = c.tokens["input_tokens"] + c.tokens["output_tokens"] if c.tokens else 0
        if c.key["model"] is None or not count:
            continue
        k = (c.key["model"], c.key["month"], c.key["customer"], c.key["channel"])
        same[k[1:]].append((k, count))
        channel[(k[1], k[3])].append((k, count))
    out: dict[tuple, Decimal] = defaultdict(Decimal)
    made: set[tuple] = set()
    for key, amount in amounts.items():
        model, month, customer, chan = key
        targets = (same.get((month, customer, chan)) or channel.get((month, chan))) if model is None else None
        if not targets:
            out[key] += amount
            continue
        targets = sorted(targets, key=lambda t: tuple(map(str, t[0])))
        for (k, _), part in zip(targets, spread(amount, [n for _, n in targets]), strict=True):
            out[k] += part
            made.add(k)
    return dict(out), made


def _key(k: tuple, dims: list[str]) -> tuple:
    model, month, customer, channel = k
    values = {"model": model, "month": month, "customer": customer, "channel": channel}
    return tuple(quarter(month) if d == "quarter" else values[d] for d in dims)


def _total(values) -> Decimal | None:
    """Sum of the known values; None if there are none."""
    known = [v for v in values if v is not None]
    return sum(known, Decimal(0)) if known else None


def _figures(keyed: list[tuple[tuple, dict]], basis: str, cost: str) -> dict:
    members = [f for _, f in keyed]
    revenue = _total(f["revenue"] for f in members) or Decimal(0)
    share = _total(f["share"] for f in members) or Decimal(0)
    costed = [f for f in members if f["costed"]]
    served = {k[1:] for k, f in keyed if f["costed"] and f["tokens"]}
    unknown_cost = not costed or any(f["cost"] is None for f in costed)
    # revenue without a cost of its own is costed by the group only when the group holds
    # the tokens it paid for (a subscription's month, customer and channel)
    unknown_cost |= any(f["revenue"] and not f["costed"] and not (k[0] is None and k[1:] in served)
                        for k, f in keyed)  # fmt: skip
    inference = None if unknown_cost else _total(f["cost"] for f in costed)
    tokens = sum(f["tokens"] or 0 for f in members)
    with_tokens = _total(f["revenue"] for f in members if f["tokens"]) or Decimal(0)
    margin = None if inference is None else revenue - share - inference
    return {
        "revenue": revenue,
        "revenue_share": share,
        "inference_cost": inference,
        "gross_margin": margin,
        "margin_pct": _ratio(margin * 100, revenue, "0.01") if margin is not None and revenue else None,
        "tokens": tokens if tokens else None,
        "revenue_per_million_tokens": _ratio(revenue * MILLION, tokens) if tokens else None,
        "margin_per_million_tokens": _ratio(margin * MILLION, tokens)
        if tokens and margin is not None
        else None,
        "coverage_revenue_with_tokens": _ratio(with_tokens, revenue, "0.0001") if revenue else None,
        "provenance": "billed revenue, allocated cost"
        + (", estimated split" if len(members) > 1 else "")
        + (
            ", estimated: subscription revenue attributed by tokens"
            if any(f["attributed"] for f in members)
            else ""
        ),
        "basis": f"{basis}, {cost}",
    }


def _ratio(a: Decimal, b: Decimal | int, places: str = "1e-18") -> Decimal:
    return money.divide(a, b).quantize(Decimal(places), ROUND_HALF_EVEN, context=money.CONTEXT)
