"""Cost per million tokens: invoice-grade inference cost joined to token counts.

Rules:
- A model-month's cost (on the chosen basis, direct or loaded) is spread over its
  customers and channels by their tokens (input + output): each part the cost times the
  customer's share truncated to 18 decimals, the last part the remainder, so parts add
  up to the cost exactly. GPU-hours are spread the same way.
- Cost per million tokens = cost / (input + output) x 10^6; GPU-hours per million tokens
  likewise. Input counts cached input, output counts reasoning (as OpenAI and
  OpenTelemetry count them).
- Cost per million input and output tokens splits the cost by GPU time with an output
  token weighing `w` input tokens: input part = cost x input / (input + w x output).
  `w` is given, or the ratio of the model's list prices (output over input, from the
  invoices), or 1 (labelled `equal`).
- A group with cost but no tokens, or tokens but no cost, is a gap: its ratios are unknown
  (None), never 0, and `gaps` lists it. Cost of a provider has no tokens of its own (usage
  does not say where a token was served): by provider, tokens are unknown.
- Where a provider bills by the token (FOCUS rows whose ConsumedUnit is tokens), the
  bills' own token counts stand beside the telemetry's: billed input and output tokens and
  the cost of those rows per million of them, whether or not telemetry is there.
- Every division runs in `computeledger.money`; ratios are rounded half-even to 18 decimals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from computeledger import money
from computeledger.economics.inputs import (
    TOKENS,
    billed_tokens,
    inference_costs,
    output_weights,
    token_counts,
)
from computeledger.errors import UsageError
from computeledger.money import spread

DIMENSIONS = ("model", "customer", "channel", "provider", "month", "quarter")
MILLION = Decimal(1_000_000)
_PLACES = Decimal(1).scaleb(-18)


@dataclass
class Cell:
    """The finest grain: a model, month, customer, channel (and provider, when asked)."""

    key: dict
    cost: Decimal | None = None
    gpu_hours: Decimal | None = None
    tokens: dict[str, int] | None = None
    currency: str | None = None
    estimated: bool = False  # cost spread over customers by tokens


@dataclass
class UnitCosts:
    """The rows asked for, the gaps found, and how input and output costs were split."""

    rows: list[dict]
    gaps: list[dict] = field(default_factory=list)
    dimensions: list[str] = field(default_factory=list)
    weights: dict[str, tuple[Decimal, str]] = field(default_factory=dict)


def parse_dimensions(by: str | list[str], known: tuple[str, ...] = DIMENSIONS) -> list[str]:
    """The grouping asked for: names from `known`, comma-separated; month or quarter."""
    names = [b.strip().lower() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UsageError(f"unknown dimension {unknown[0]!r}: use {', '.join(known)}")
    if "month" in names and "quarter" in names:
        raise UsageError("group by month or by quarter, not both")
    return names


def quarter(month: date) -> str:
    """'2025-Q3' for a month of the third quarter of 2025."""
    return f"{month.year}-Q{(month.month - 1) // 3 + 1}"


@money.exact
def cells(
    ledger, dims: list[str], basis: str, cost: str, rules_version: str | None, contracts=None
) -> list[Cell]:
    """Cost and tokens at the finest grain the dimensions need (`contracts`: what the cash
    basis reads, as `inference_costs`)."""
    costs = inference_costs(ledger, basis, cost, rules_version, contracts=contracts)
    tokens = token_counts(ledger)
    by_provider = "provider" in dims
    per_customer = bool({"customer", "channel"} & set(dims))
    cost_index: dict[tuple, dict] = defaultdict(dict)
    for k, v in costs.items():
        cost_index[(k[0], k[2])][k] = v
    token_index: dict[tuple, list] = defaultdict(list)
    for (m, mo, c, ch), t in tokens.items():
        token_index[(m, mo)].append(((c, ch), t))
    out: list[Cell] = []
    for model, month in sorted(set(cost_index) | set(token_index), key=lambda k: (str(k[0]), k[1])):
        mine = cost_index.get((model, month), {})
        users = sorted(token_index.get((model, month), []), key=lambda u: (str(u[0][0]), str(u[0][1])))
        groups = (
            [({"provider": p}, {k: v}) for k, v in mine.items() for p in [k[1]]]
            if by_provider
            else [({}, mine)]
        )
        for extra, group in groups:
            total, hours, currency = _sum_cells(group.values())
            base = {"model": model, "month": month} | extra
            if by_provider:  # usage says nothing of the provider: tokens unknown here
                out.append(Cell(base, total, hours, None, currency))
                continue
            if not per_customer or not users:
                t = _sum_tokens(u for _, u in users) if users else None
                out.append(Cell(base | {"customer": None, "channel": None}, total, hours, t, currency))
                continue
            weights = [u["input_tokens"] + u["output_tokens"] for _, u in users]
            for ((customer, channel), u), c, g in zip(
                users, spread(total, weights), spread(hours, weights), strict=True
            ):
                cell = Cell(base | {"customer": customer, "channel": channel}, c, g, dict(u), currency)
                cell.estimated = total is not None
                out.append(cell)
    return out


def _sum_cells(values) -> tuple[Decimal | None, Decimal | None, str | None]:
    total: Decimal | None = Decimal(0)
    hours: Decimal | None = Decimal(0)
    currencies = set()
    n = 0
    for v in values:
        n += 1
        total = None if total is None or v.cost is None else total + v.cost
        hours = None if hours is None or v.gpu_hours is None else hours + v.gpu_hours
        if v.cost is not None:  # a cell with tokens and no bill has no currency to agree on
            currencies.add(v.currency)
    if n == 0 or not currencies:
        return (None, None, None) if n == 0 else (total, hours, None)
    if len(currencies) > 1 or None in currencies:
        raise UsageError(
            "inference cost in more than one currency ("
            + ", ".join(sorted(str(c) for c in currencies))
            + "): no exchange rate is guessed; split the ledger by currency"
        )
    return total, hours, currencies.pop()


def _sum_tokens(items) -> dict[str, int]:
    out = dict.fromkeys(TOKENS, 0)
    for t in items:
        for k in TOKENS:
            out[k] += t[k]
    return out


def _group_key(cell: Cell, dims: list[str]) -> tuple:
    values = []
    for d in dims:
        if d == "quarter":
            values.append(quarter(cell.key["month"]))
        else:
            values.append(cell.key.get(d))
    return tuple(values)


@money.exact
def unit_costs(
    ledger,
    by: str | list[str] = "model,month",
    *,
    basis: str = "effective",
    cost: str = "loaded",
    output_weight: Decimal | None = None,
    catalogue: dict[str, str] | None = None,
    rules_version: str | None = None,
    contracts=None,
) -> UnitCosts:
    """Per group: requests, tokens, inference cost, GPU-hours, cost per million tokens
    (all, input, output), GPU-hours per million tokens, provenance and coverage.
    `catalogue` maps ledger models to the capacity catalogue's: their output weight is the
    capacity model's GPU time of an output token over an input token. `contracts`: the
    payment terms and contracts the cash basis reads (a `Contracts`, a path, or None for
    the configured ones)."""
    dims = parse_dimensions(by)
    found = cells(ledger, dims, basis, cost, rules_version, contracts)
    listed: dict[str, tuple[Decimal, str]] = {}
    if output_weight is None:
        listed = {m: (w, "list-price ratio") for m, w in output_weights(ledger).items()}
        if catalogue:
            from computeledger.capacity import catalog
            from computeledger.capacity.compare import output_weights as physics_weights

            found_weights = physics_weights(ledger, catalogue, catalog.calibrations())
            listed |= {m: (w, "capacity model GPU time") for m, w in found_weights.items()}
    groups: dict[tuple, list[Cell]] = defaultdict(list)
    for c in found:
        groups[_group_key(c, dims)].append(c)
    rows, gaps, weights = [], [], {}
    billed = billed_tokens(ledger, basis, rules_version) if not {"customer", "channel"} & set(dims) else {}
    for key in sorted(groups, key=lambda k: tuple(str(v) for v in k)):
        members = groups[key]
        row = dict(zip(dims, key, strict=True))
        row |= _figures(members, output_weight, listed, weights, basis, cost)
        row |= _billed(members, billed)
        rows.append(row)
    for c in found:
        has_cost = c.cost is not None and c.cost != 0
        has_tokens = c.tokens is not None and (c.tokens["input_tokens"] + c.tokens["output_tokens"]) > 0
        if has_cost and not has_tokens and "provider" not in dims:
            gaps.append(c.key | {"gap": "cost but no tokens", "cost": c.cost})
        elif has_tokens and c.cost is None:
            gaps.append(c.key | {"gap": "tokens but no cost", "cost": None})
    return UnitCosts(rows, gaps, dims, weights)


def _figures(members: list[Cell], given, listed, weights, basis: str, cost: str) -> dict:
    known = [c for c in members if c.tokens is not None]
    tokens = _sum_tokens(c.tokens for c in known) if known else None
    total, hours, currency = _sum_cells(members)
    priced = [c for c in members if c.tokens is not None and c.cost is not None]
    cost_with_tokens = sum((c.cost for c in priced if _served(c)), Decimal(0))
    served = (tokens["input_tokens"] + tokens["output_tokens"]) if tokens else 0
    served_with_cost = sum(c.tokens["input_tokens"] + c.tokens["output_tokens"] for c in priced)
    row: dict = {"requests": tokens["requests"] if tokens else None}
    row |= {k: tokens[k] if tokens else None for k in TOKENS[1:]}
    row |= {"inference_cost": total, "gpu_hours": hours, "currency": currency}
    complete = total is not None and tokens is not None and served > 0 and served_with_cost == served
    complete &= all(_served(c) or not c.cost for c in members)
    row["cost_per_million_tokens"] = _per_million(total, served) if complete else None
    row["gpu_hours_per_million_tokens"] = (
        _per_million(hours, served) if complete and hours is not None else None
    )
    split_in = split_out = None
    method = None
    if complete:
        w, method = _weight(members, given, listed)
        weights[str(members[0].key.get("model"))] = (w, method)
        i, o = tokens["input_tokens"], tokens["output_tokens"]
        denominator = Decimal(i) + w * o
        if denominator > 0:
            part_in = total * money.divide(i, denominator)
            split_in = _per_million(part_in, i) if i else None
            split_out = _per_million(total - part_in, o) if o else None
    row["cost_per_million_input_tokens"] = split_in
    row["cost_per_million_output_tokens"] = split_out
    row["split_method"] = method
    row["provenance"] = "allocated, estimated" if any(c.estimated for c in members) else "allocated"
    row["basis"] = f"{basis}, {cost}"
    row["coverage_cost_with_tokens"] = _share(cost_with_tokens, total)
    row["coverage_tokens_with_cost"] = _share(Decimal(served_with_cost), Decimal(served)) if served else None
    return row


def _billed(members: list[Cell], billed: dict) -> dict:
    """The tokens the group's bills count themselves (per-token billing), beside the
    telemetry's, and what those billed rows cost per million of them; None where no bill
    of the group counts tokens (or by customer and channel, which bills do not know)."""
    seen = {(c.key["model"], c.key["month"]) for c in members}
    mine = [billed[k] for k in sorted(seen, key=str) if k in billed]
    if not mine:
        return {
            "billed_input_tokens": None,
            "billed_output_tokens": None,
            "cost_per_million_billed_tokens": None,
        }
    tokens = {d: sum((m[d] for m in mine), Decimal(0)) for d in ("input", "output", "other", "cost")}
    count = tokens["input"] + tokens["output"] + tokens["other"]
    per = money.divide(tokens["cost"] * MILLION, count).quantize(_PLACES, ROUND_HALF_EVEN) if count else None
    return {
        "billed_input_tokens": _whole(tokens["input"]),
        "billed_output_tokens": _whole(tokens["output"]),
        "cost_per_million_billed_tokens": per,
    }


def _whole(count: Decimal) -> int | Decimal:
    """A token count as a whole number when it is one (bills write 8400000.00)."""
    return int(count) if count == count.to_integral_value() else count


def _served(c: Cell) -> bool:
    return c.tokens is not None and (c.tokens["input_tokens"] + c.tokens["output_tokens"]) > 0


def _per_million(amount: Decimal | None, count: int) -> Decimal | None:
    if amount is None or not count:
        return None
    return money.divide(amount * MILLION, count).quantize(_PLACES, ROUND_HALF_EVEN, context=money.CONTEXT)


def _share(part: Decimal, whole: Decimal | None) -> Decimal | None:
    if whole is None or whole == 0:
        return None
    return money.divide(part, whole).quantize(Decimal("0.0001"), ROUND_HALF_EVEN, context=money.CONTEXT)


def _weight(members: list[Cell], given, listed: dict[str, tuple[Decimal, str]]) -> tuple[Decimal, str]:
    if given is not None:
        return Decimal(given), "given output weight"
    models = {c.key.get("model") for c in members}
    found = {listed.get(m) for m in models}
    if len(found) == 1 and None not in found:
        return found.pop()
    return Decimal(1), "equal"
