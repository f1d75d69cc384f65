"""The report's sections: each is a function of the application layer's answers for the
page (`results.Results`: the functions the commands and the API call, aggregates made in
the engine, never rows) to a small model of the section: its charts, its table, one line
of reading in words and where its numbers come from. Rendering is `page`'s.

A section that cannot be made (no allocation, no usage, no bank statement) says why in
place of its chart: unknown is shown as unknown, never as 0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from typing import TYPE_CHECKING, Any

import altair as alt

from computeledger import money
from computeledger.errors import ComputeLedgerError
from computeledger.report.options import Options
from computeledger.report.results import Results

if TYPE_CHECKING:
    from computeledger.forecast.cash import Runway
    from computeledger.ledger import Ledger

CENT = Decimal("0.01")
Row = dict[str, Any]  # a row of a table or of a chart's data


@dataclass
class Section:
    """One part of the page."""

    key: str
    title: str
    reading: str = ""
    charts: list[tuple[str, alt.TopLevelMixin]] = field(default_factory=list)  # (name, chart)
    table: list[Row] = field(default_factory=list)
    provenance: str = ""
    unknown: str | None = None  # why the section has no figures
    totals: dict[str, Decimal] = field(default_factory=dict)  # printed, checked against the ledger
    notes: list[str] = field(default_factory=list)
    captions: dict[str, str] = field(default_factory=dict)  # chart name -> one line in words
    runways: list[Runway] = field(default_factory=list)  # both methods


def _count(v: Any) -> str:
    return "unknown" if v is None else f"{int(v):,}"


def _money(v: Any) -> float | None:
    """For the chart's axis only: tables and totals keep the decimal."""
    return None if v is None else float(v)


def _month(v: Any) -> str:
    return f"{v:%Y-%m}" if hasattr(v, "strftime") else str(v)[:7]


def _within(opts: Options, month: Any) -> bool:
    m = month if isinstance(month, date) else date.fromisoformat(str(month)[:10])
    return (opts.start is None or m >= opts.start) and (opts.end is None or m < opts.end)


def _no_charges(opts: Options) -> str:
    of = f" of {opts.provider}" if opts.provider else ""
    return f"no charges{of} in the ledger for this period"


def overview(got: Results) -> Section:
    """The ledger's totals for the period: what every other section divides up."""
    if got.opts.model is not None:
        return _model_overview(got)
    row = got.totals().detail
    s = Section("overview", "The ledger at a glance")
    if row is None:
        s.unknown = _no_charges(got.opts)
        return s
    s.totals = {"billed_cost": row["billed"], "effective_cost": row["effective"]}
    s.table = [
        {"figure": "charges", "value": row["charges"]},
        {"figure": "billed cost", "value": row["billed"]},
        {"figure": "effective cost", "value": row["effective"]},
        {"figure": "currency", "value": ", ".join(row["currencies"])},
        {"figure": "providers", "value": row["providers"]},
        {"figure": "first charge", "value": f"{row['first']:%Y-%m-%d}"},
        {"figure": "last charge", "value": f"{row['last']:%Y-%m-%d}"},
    ]
    s.reading = (
        f"{row['charges']:,} charges from {row['providers']} providers, {row['first']:%Y-%m} to "
        f"{row['last']:%Y-%m}: {row['effective'].quantize(CENT):,} effective cost."
    )
    s.provenance = "billed: the FOCUS columns BilledCost and EffectiveCost, summed exactly"
    return s


def _model_overview(got: Results) -> Section:
    """One model's totals for the period: its allocated parts (bills are not per model)."""
    opts = got.opts
    s = Section("overview", f"The model {opts.model} at a glance")
    rows = _scoped(got, ())
    if not rows:
        s.unknown = f"no cost allocated to the model {opts.model} in this period"
        return s
    billed = sum((r["BilledCost"] for r in rows), Decimal(0))
    effective = sum((r["EffectiveCost"] for r in rows), Decimal(0))
    months = sorted(_month(r["month"]) for r in rows)
    s.totals = {"allocated_billed_cost": billed, "allocated_effective_cost": effective}
    s.table = [
        {"figure": "model", "value": opts.model},
        {"figure": "allocated billed cost", "value": billed},
        {"figure": "allocated effective cost", "value": effective},
        {"figure": "first month", "value": months[0]},
        {"figure": "last month", "value": months[-1]},
    ]
    s.reading = (
        f"{effective.quantize(CENT):,} effective cost allocated to {opts.model}, {months[0]} to {months[-1]}."
    )
    s.provenance = "allocated: the latest allocation's parts placed on the model, summed exactly"
    return s


def _scoped(got: Results, dims: tuple[str, ...]) -> list[Row]:
    """Allocated totals by `dims` and month within the report's period, of the provider
    and the model the options name (each read as a dimension of the allocation, then
    kept to its value)."""
    opts = got.opts
    extra = tuple(d for d, v in (("provider", opts.provider), ("model", opts.model)) if v and d not in dims)
    rows = got.summary(",".join([*dims, *extra, "month"])).table.to_pylist()
    return [
        r for r in rows
        if _within(opts, r["month"])
        and (opts.provider is None or r["provider"] == opts.provider)
        and (opts.model is None or r["model"] == opts.model)
    ]  # fmt: skip


def spend(got: Results) -> Section:
    """Spend by provider and by workload over time (stacked), by model, GPU and pricing."""
    opts = got.opts
    s = Section("spend", "Where the money goes")
    cost = "EffectiveCost" if opts.basis != "billed" else "BilledCost"
    if opts.model is None:
        rows = [
            r for r in got.summary("provider,month").table.to_pylist()
            if _within(opts, r["month"]) and (opts.provider is None or r["provider"] == opts.provider)
        ]  # fmt: skip
        if not rows:
            s.unknown = _no_charges(opts)
            return s
    else:
        rows = _scoped(got, ("provider",))
        if not rows:
            s.unknown = f"no cost allocated to the model {opts.model} in this period"
            return s
    data = [{"month": _month(r["month"]), "provider": r["provider"], "cost": _money(r[cost])} for r in rows]
    s.charts.append(("spend by provider", _stacked(data, "provider", f"{cost} by provider and month")))
    by_provider: dict[str, Decimal] = defaultdict(Decimal)
    for r in rows:
        by_provider[r["provider"]] += r[cost]
    top = max(by_provider, key=lambda p: by_provider[p])
    with localcontext(money.CONTEXT):
        total = sum(by_provider.values(), Decimal(0))
    s.reading = f"{top} carries {by_provider[top] / total:.0%} of the {cost} of the period." if total else ""
    months = sorted({_month(r["month"]) for r in rows})
    s.captions["spend by provider"] = (
        f"USD per month, {months[0]} to {months[-1]}, stacked by provider; the largest is {top}."
    )
    try:
        work = _scoped(got, ("workload",))
        data = [
            {"month": _month(r["month"]), "workload": r["workload"], "cost": _money(r[cost])} for r in work
        ]
        s.charts.append(("spend by workload", _stacked(data, "workload", f"{cost} by workload and month")))
        shares: dict[str, Decimal] = defaultdict(Decimal)
        for r in work:
            shares[r["workload"]] += r[cost]
        lead = max(shares, key=lambda w: shares[w]) if shares else "none"
        s.captions["spend by workload"] = f"USD per month by workload (allocated); {lead} is the largest."
        per_gpu = _within_period(got, ("gpu_model", "PricingCategory"), cost)
        s.table = [
            {
                "gpu_model": r["gpu_model"],
                "pricing_category": r["PricingCategory"],
                "cost": r[cost],
                "gpu_hours": r.get("gpu_hours"),
                "cost_per_gpu_hour": money.divide(r[cost], r["gpu_hours"]).quantize(CENT)
                if r.get("gpu_hours")
                else None,
            }
            for r in per_gpu
        ]
        models = _within_period(got, ("model",), cost)
        data = [{"model": r["model"] or "(none)", "cost": _money(r[cost])} for r in models]
        s.charts.append(("spend by model", _bars(data, "model", f"{cost} by model (the period)")))
        s.captions["spend by model"] = "USD over the period per model (allocated; (none): not a model's)."
        s.provenance = (
            "billed (by provider); allocated (by workload, model, GPU: the latest allocation's parts)"
            if opts.model is None
            else f"allocated: the parts of the latest allocation placed on the model {opts.model}"
        )
    except ComputeLedgerError as exc:
        s.provenance = f"billed; by workload unknown: {exc}"
    return s


def _within_period(got: Results, dims: tuple[str, ...], cost: str) -> list[Row]:
    """Allocated totals by `dims` over the report's months (of the provider and model the
    options name): `cost` and GPU-hours (unknown if any month's is), summed exactly from
    the monthly summary."""
    out: dict[tuple[Any, ...], Row] = {}
    for r in _scoped(got, dims):
        key = tuple(r[d] for d in dims)
        t = out.setdefault(
            key, dict(zip(dims, key, strict=True)) | {cost: Decimal(0), "gpu_hours": Decimal(0)}
        )
        t[cost] += r[cost] if r[cost] is not None else 0
        if t["gpu_hours"] is not None:
            t["gpu_hours"] = None if r.get("gpu_hours") is None else t["gpu_hours"] + r["gpu_hours"]
    return sorted(out.values(), key=lambda t: tuple(str(t[d]) for d in dims))


def quality(got: Results) -> Section:
    """Unallocated spend and its largest resources, quarantined rows by reason, coverage."""
    opts = got.opts
    s = Section("quality", "Data quality: what is not known")
    reasons = got.quarantine_reasons().table.to_pylist()
    if opts.provider or opts.model:  # rows not loaded have no provider or model of the ledger's
        s.notes.append(
            f"Quarantined rows are not counted under a filter ({opts.filtered()}): see them unfiltered."
        )
        reasons = []
    s.table = [{"quarantined_reason": r["reason"][:120], "rows": r["rows"]} for r in reasons]
    if reasons:
        data = [{"reason": r["reason"][:60], "rows": r["rows"]} for r in reasons]
        s.charts.append(("quarantine", _bars(data, "reason", "Quarantined rows by reason", value="rows")))
        s.captions["quarantine"] = (
            "Rows not loaded, by reason: each is listed with file and line by `quarantine`."
        )
    try:
        if opts.model is not None:  # unallocated spend is no model's
            raise ComputeLedgerError(f"spend left unallocated is no model's, {opts.model}'s included")
        top = got.unallocated().table.to_pylist()
        s.table += [
            {
                "unallocated_resource": r["resource"],
                "provider": r["provider"],
                "effective_cost": r["EffectiveCost"],
            }
            for r in top
        ]
        quarantined = (
            f"{sum(r['rows'] for r in reasons):,} rows quarantined ({len(reasons)} reasons); "
            if not (opts.provider or opts.model) else ""
        )  # fmt: skip
        s.reading = f"{quarantined}largest unallocated resource: {top[0]['resource'] if top else 'none'}."
    except ComputeLedgerError as exc:
        s.reading = f"no allocation: {exc}" if opts.model is None else str(exc)
    _coverage(got, s)
    s.provenance = (
        "the quarantine table (each row with file, line and reason); the allocation's unallocated part"
    )
    return s


def _coverage(got: Results, s: Section) -> None:
    """Coverage of tokens vs cost per month: where cost per token is known."""
    opts = got.opts
    if opts.provider is not None:  # tokens are not per cloud provider
        return
    try:
        by = "month" if opts.model is None else "model,month"
        rows = got.unit_costs(by).detail.rows
    except ComputeLedgerError:
        return
    rows = [r for r in rows if opts.model is None or r["model"] == opts.model]
    data: list[Row] = []
    pairs = (
        ("cost with tokens", "coverage_cost_with_tokens"),
        ("tokens with cost", "coverage_tokens_with_cost"),
    )
    for r in rows:
        if not _within(opts, r["month"]):
            continue
        for name, key in pairs:
            if r[key] is not None:
                data.append({"month": _month(r["month"]), "series": name, "share": _money(r[key])})
    if data:
        title = "Coverage: share of inference cost with tokens, and of tokens with cost"
        s.charts.append(("coverage", _lines(data, "series", title, "share (1 = all)", value="share")))
        low = min(d["share"] for d in data)
        s.captions["coverage"] = (
            f"Lowest monthly coverage {low:.1%}: below 100%, part of the cost per token is unknown."
        )


def economics(got: Results) -> Section:
    """Cost and revenue per million tokens per model over time; margin per model and channel."""
    opts = got.opts
    s = Section("economics", "Unit economics: per million tokens")
    try:
        monthly = got.margin("model,month").detail.rows
    except ComputeLedgerError as exc:
        s.unknown = str(exc)
        return s
    data = []
    for r in monthly:
        if r["model"] is None or not _within(opts, r["month"]) or not r["tokens"]:
            continue
        if opts.model is not None and r["model"] != opts.model:
            continue
        cost = (
            money.divide(r["inference_cost"] * 1_000_000, r["tokens"])
            if r["inference_cost"] is not None
            else None
        )
        data.append(
            {"month": _month(r["month"]), "model": r["model"], "figure": "cost", "per_million": _money(cost)}
        )
        data.append(
            {
                "month": _month(r["month"]),
                "model": r["model"],
                "figure": "revenue",
                "per_million": _money(r["revenue_per_million_tokens"]),
            }
        )
    data = [d for d in data if d["per_million"] is not None]
    if not data:
        s.unknown = "no model has both tokens and cost in this period"
        return s
    chart = (
        alt.Chart(_inline(data), title="Cost and revenue per million tokens (USD)")
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title="month"),
            y=alt.Y("per_million:Q", title="per million tokens", scale=alt.Scale(type="log")),
            color="model:N",
            strokeDash="figure:N",
            tooltip=["month:O", "model:N", "figure:N", alt.Tooltip("per_million:Q", format=",.4f")],
        )
    )
    s.charts.append(("per million tokens", chart))
    s.captions["per million tokens"] = (
        "USD per million tokens (log scale): solid cost, dashed revenue; where dashed is above solid, "
        "the model earns more than it costs to serve."
    )
    by_channel = got.margin("model,channel", within=True).detail.rows
    by_channel = [r for r in by_channel if opts.model is None or r["model"] == opts.model]
    s.table = [
        {
            "model": r["model"] or "(no model)",
            "channel": r["channel"],
            "revenue": r["revenue"],
            "revenue_share": r["revenue_share"],
            "inference_cost": r["inference_cost"],
            "gross_margin": r["gross_margin"],
            "margin_pct": r["margin_pct"],
        }
        for r in by_channel
    ]
    known = [r for r in by_channel if r["gross_margin"] is not None]
    if known:
        data = [
            {
                "model_channel": f"{r['model'] or '(no model)'} / {r['channel']}",
                "gross_margin": _money(r["gross_margin"]),
            }
            for r in known
        ]
        title = "Gross margin by model and channel (USD)"
        chart = _bars(data, "model_channel", title, value="gross_margin", axis="USD")
        s.charts.append(("gross margin", chart))
        worst = min(known, key=lambda r: r["gross_margin"])
        s.captions["gross margin"] = (
            f"USD, revenue less revenue share less inference cost; lowest: {worst['model'] or '(no model)'} "
            f"through {worst['channel']}."
        )
    unknown = len(by_channel) - len(known)
    s.reading = (
        f"{len(known)} model-channel pairs with a known margin; {unknown} unknown (revenue without tokens, "
        "or tokens without cost)."
    )
    s.provenance = "billed revenue, allocated cost (loaded); customer and channel parts estimated by tokens"
    return s


def accounting(got: Results) -> Section:
    """The three bases side by side, the bridge, commitments, credits, burn, cash, runway."""
    from computeledger.forecast.cash import headline

    opts = got.opts
    s = Section("accounting", "Billed, effective, cash: burn and runway")
    st = got.statement()
    rows = [r for r in st.detail[0].rows if _within(opts, r["period"] + "-01")]
    data = [
        {"month": r["period"], "basis": r["basis"], "cost": _money(r["total_compute"])}
        for r in rows
        if r["total_compute"] is not None
    ]
    s.charts.append(("three bases", _lines(data, "basis", "Total compute on the three bases (USD)")))
    s.captions["three bases"] = (
        "USD per month: billed by billing month, effective by charge month (commitments amortized), "
        "cash when paid."
    )
    cash = [r for r in rows if r["basis"] == "cash" and r["closing_cash"] is not None]
    if cash:
        data = [
            {"month": r["period"], "series": "closing cash", "amount": _money(r["closing_cash"])}
            for r in cash
        ]
        data += [
            {"month": r["period"], "series": "net cash burn", "amount": _money(r["net_cash_burn"])}
            for r in cash
        ]
        s.charts.append(
            ("cash", _lines(data, "series", "Closing cash and net cash burn (USD)", value="amount"))
        )
        s.captions["cash"] = "USD: the bank's closing cash each month and what left it net of what came in."
        last = cash[-1]
        found = got.forecast("cash").detail.runways
        s.reading = f"Closing cash {money.text(last['closing_cash'])} in {last['period']}; {headline(found)}."
        s.runways = found
        s.totals["closing_cash"] = last["closing_cash"]
    else:
        s.reading = "Cash unknown: no bank statement in the ledger."
    s.table = [
        {
            "period": r["period"],
            "basis": r["basis"],
            "revenue": r["revenue"],
            "total_compute": r["total_compute"],
            "compute_burn": r["compute_burn"],
            "net_cash_burn": r["net_cash_burn"],
            "closing_cash": r["closing_cash"],
        }
        for r in rows
    ]
    com = _commitments_within(got.commitments().detail, opts)
    if com:
        data = [
            {"commitment": str(r["id"]), "utilization": _money(r["utilization"])}
            for r in com
            if r.get("utilization") is not None
        ]
        if data:
            s.charts.append(
                (
                    "commitments",
                    _bars(
                        data,
                        "commitment",
                        "Commitment utilization (used / amortized)",
                        value="utilization",
                        axis="utilization (used / amortized)",
                        fmt=".1%",
                    ),
                )
            )
            s.captions["commitments"] = (
                "Share of each commitment's amortized cost that covered usage (100% = all used): "
                + "; ".join(f"{r['id']}: {r['utilization'] * 100:.1f}%" for r in com
                            if r.get("utilization") is not None)
            )  # fmt: skip
    grants, months = got.credits().detail
    if months:
        data = [
            {
                "month": m["month"],
                "grant": str(m["grant"] or m["provider"]),
                "remaining": _money(m["remaining"]),
            }
            for m in months
            if m.get("remaining") is not None and _within(opts, str(m["month"])[:7] + "-01")
        ]
        if data:
            s.charts.append(("credits", _lines(data, "grant", "Credits remaining (USD)", value="remaining")))
            words = [
                f"{g['grant']}: {money.text(g['remaining'])} left, {g.get('note') or 'no exhaustion date'}"
                for g in grants
                if g["grant"] is not None
            ]
            s.captions["credits"] = "USD left on each grant after each month; " + (
                "; ".join(words) or "no grant"
            )
    _bridge(got, rows, s)
    s.provenance = (
        "billed (invoices); effective (amortized); cash (bank lines; estimated on terms where unmatched)"
    )
    s.notes = list(st.notes)
    return s


def _commitments_within(got: Any, opts: Options) -> list[Row]:
    """Each commitment's amortized and used cost over the report's billed months (the schedule's
    actual rows; months ahead have no usage yet), and the utilization they give."""
    from computeledger.accounting.commitments import _ratio

    out: dict[str, Row] = {}
    for m in got.schedule:
        if m["kind"] != "actual" or not _within(opts, m["month"] + "-01"):
            continue
        t = out.setdefault(m["id"], {"id": m["id"], "amortized": Decimal(0), "used": Decimal(0)})
        t["amortized"] += m["amortized"]
        t["used"] += m["used"]
    for t in out.values():
        t["utilization"] = None if t["used"] is None else _ratio(t["used"], t["amortized"])
    return list(out.values())


def _bridge(got: Results, rows: list[Row], s: Section) -> None:
    """The bridge of the last quarter the statement covers: billed -> effective -> cash."""
    from computeledger.accounting.periods import label

    if not rows:
        return
    quarter = label(date.fromisoformat(rows[-1]["period"] + "-01"), "quarter")
    steps, _ = got.bridge(quarter).detail
    data = [
        {"step": f"{i + 1:02d} {r['step']}", "amount": _money(r["amount"]), "kind": r["kind"]}
        for i, r in enumerate(steps)
    ]
    chart = (
        alt.Chart(_inline(data), title=f"From billed to effective to cash, {quarter} (USD)")
        .mark_bar()
        .encode(
            y=alt.Y("step:N", sort=None, title=None),
            x=alt.X("amount:Q", title="USD"),
            color=alt.Color("kind:N"),
            tooltip=["step:N", alt.Tooltip("amount:Q", format=",.2f")],
        )
    )
    s.charts.append(("bridge", chart))
    s.captions["bridge"] = (
        f"{quarter}: each total is the one above it plus the steps between; they sum exactly."
    )


def heading(got: Results) -> Section:
    """Forecast fan charts: inference cost and closing cash, with backtest coverage."""
    opts = got.opts
    s = Section("forecast", f"Where it is heading: {opts.horizon} months ahead")
    readings = []
    for name in ("inference", "cash"):
        try:
            asked = got.forecast(name).detail
            found = asked.history
            if not asked.forecasts:  # no inference cost allocated: nothing to forecast
                readings.append(f"{name}: unknown (the allocation places no {name} cost)")
                continue
            (fc,) = asked.forecasts
        except ComputeLedgerError as exc:
            readings.append(f"{name}: unknown ({exc})")
            continue
        if fc.refused:
            readings.append(f"{name}: no forecast ({fc.refused})")
            continue
        past = [
            {"month": _month(p), "value": _money(v)}
            for p, v in zip(found[0].periods, found[0].values, strict=True)
            if _within(opts, p)
        ]
        ahead = [
            {
                "month": _month(p["period"]),
                "value": _money(p["forecast"]),
                "lo80": _money(p["lo_80"]),
                "hi80": _money(p["hi_80"]),
                "lo95": _money(p["lo_95"]),
                "hi95": _money(p["hi_95"]),
            }
            for p in fc.points
        ]
        s.captions[f"forecast {name}"] = (
            "Black: the ledger's months; dashed: the forecast (median); shaded: 80% and 95% bands."
        )
        s.charts.append(
            (f"forecast {name}", _fan(past, ahead, f"{name}: history and forecast (80% and 95% bands)"))
        )
        if name == "cash":
            backtest = "the scenario's drivers on the ledger's trends (the runway's run)"
        elif fc.mase is None:
            backtest = "no backtest"
        else:
            backtest = (f"backtest MASE {fc.mase:.2f}, past coverage 80%: {fc.coverage_80:.0%}, "
                        f"95%: {fc.coverage_95:.0%}")  # fmt: skip
        end = fc.points[-1]
        band = (
            f"95%: {money.text(end['lo_95'])} to {money.text(end['hi_95'])}"
            if end["lo_95"] is not None
            else "no band: " + next((w for w in fc.warnings if "band" in w), "the history cannot support one")
        )
        readings.append(
            f"{name}: {fc.model}, {backtest}; "
            f"in {_month(end['period'])} {money.text(end['forecast'])} ({band})"
        )
    s.reading = "; ".join(readings)
    s.provenance = (
        "forecast: estimates, not ledger figures; inference cost by statsforecast models chosen by backtest, "
        "cash by the scenario's driver model (cash now + revenue - compute - revenue share + funding)"
    )
    return s


def physics(got: Results) -> Section:
    """Bills against physics: billed GPU-hours against what the tokens needed."""
    s = Section("physics", "Bills against physics")
    if not got.opts.catalogue:
        s.unknown = "no model mapped to the capacity catalogue (--map MODEL=CATALOGUE)"
        return s
    try:
        rows = got.physics().detail
    except ComputeLedgerError as exc:
        s.unknown = str(exc)
        return s
    s.table = rows
    data = []
    for r in rows:
        data.append({"model": r["model"], "series": "billed", "gpu_hours": _money(r["billed_gpu_hours"])})
        if r["needed_gpu_hours"] is not None:
            data.append(
                {
                    "model": r["model"],
                    "series": "needed (estimated)",
                    "gpu_hours": _money(r["needed_gpu_hours"]),
                }
            )
    chart = (
        alt.Chart(_inline(data), title="Inference GPU-hours: billed vs needed by the tokens")
        .mark_bar()
        .encode(
            x=alt.X("model:N"),
            xOffset="series:N",
            y=alt.Y("gpu_hours:Q", title="GPU-hours"),
            color="series:N",
            tooltip=["model:N", "series:N", alt.Tooltip("gpu_hours:Q", format=",.0f")],
        )
    )
    s.charts.append(("physics", chart))
    points = sorted({r["point"] for r in rows if r["needed_gpu_hours"] is not None}) or ["none"]
    s.captions["physics"] = (
        "GPU-hours billed for inference against those the tokens needed. Billed side: the tokens per "
        "billed GPU-hour the bills served; needed side: the capacity model's tokens per GPU-hour at the "
        f"operating point ({'; '.join(points)}); the utilization is their ratio."
    )
    s.reading = "; ".join(
        f"{r['model']}: "
        + (
            f"{r['implied_utilization_pct']}% implied utilization ({_count(r['billed_tokens_per_gpu_hour'])} "
            f"tokens per billed GPU-hour against {_count(r['needed_tokens_per_gpu_hour'])} at "
            + (
                f"{r['point'].split()[1]} requests in flight"
                if r["point"].startswith("concurrency")
                else "the model's best batch"
            )
            + ")"
            if r["implied_utilization_pct"] is not None
            else f"implied utilization unknown ({r.get('note') or 'no estimate'})"
        )
        for r in rows
    )
    s.provenance = "billed GPU-hours (allocated); needed GPU-hours estimated by the capacity model"
    return s


def figures(got: Results) -> Section:
    """Reported figures: derived intervals against reported points, contradictions, sources."""
    s = Section("figures", "Reported figures")
    if not got.opts.figures:
        s.unknown = "no figures file (--figures FILE)"
        return s
    rec = got.figures().document
    assert isinstance(rec, dict)  # figures check's document: a list per section
    contradicted = {_label(c) for c in rec["contradictions"]}
    data = []
    for r in rec["implied"]:
        label = _label(r)
        if r["low"] is not None and r["high"] is not None:
            data.append(
                {
                    "quantity": label,
                    "kind": "derived interval",
                    "low": _money(r["low"]),
                    "high": _money(r["high"]),
                    "contradicted": label in contradicted,
                }
            )
    for f in rec["figures"]:
        if f["low"] is not None and f["high"] is not None:
            data.append(
                {
                    "quantity": _label(f),
                    "kind": f"{f['status']} ({f['id']})",
                    "low": _money(f["low"]),
                    "high": _money(f["high"]),
                    "contradicted": _label(f) in contradicted,
                }
            )
    if data:
        chart = (
            alt.Chart(_inline(data), title="Reported figures and the intervals they imply")
            .mark_bar(height=8)
            .encode(
                y=alt.Y("quantity:N", title=None),
                yOffset="kind:N",
                x=alt.X("low:Q", title="value", scale=alt.Scale(type="log")),
                x2="high:Q",
                color=alt.Color("kind:N"),
                strokeWidth=alt.condition("datum.contradicted", alt.value(2), alt.value(0)),
                stroke=alt.value("red"),
                tooltip=[
                    "quantity:N",
                    "kind:N",
                    alt.Tooltip("low:Q", format=",.0f"),
                    alt.Tooltip("high:Q", format=",.0f"),
                    "contradicted:N",
                ],
            )
        )
        s.charts.append(("figures", chart))
        s.captions["figures"] = (
            "Each figure as the interval it stands for, and what the others imply (log scale)."
        )
    s.table = [
        {
            "id": f["id"],
            "quantity": _label(f),
            "stated": f["stated"],
            "status": f["status"],
            "source": f["source"],
        }
        for f in rec["figures"]
    ]
    s.reading = (
        f"{len(rec['figures'])} figures read, {len(rec['implied'])} quantities derived, "
        f"{len(rec['contradictions'])} contradiction(s) (outlined in red)."
    )
    s.provenance = "reported: each figure with its source; derived intervals with their chains of sources"
    return s


def _label(r: Row) -> str:
    scope = "; ".join(f"{k}={v}" for k, v in sorted(r["scope"].items())) if r.get("scope") else ""
    return f"{r['entity']} {r['metric']} {scope} {r['period_start']}..{r['period_end']}".replace("  ", " ")


BUILDERS: tuple[Callable[..., Section], ...] = (
    overview,
    spend,
    quality,
    economics,
    accounting,
    heading,
    physics,
    figures,
)


#: The sections a provider or a model filter cuts (economics by model only: revenue is not
#: per cloud provider); the others are the company's whole and are left out under one.
SCOPED = {"overview": ("provider", "model"), "spend": ("provider", "model"), "quality": ("provider", "model"),
          "economics": ("model",)}  # fmt: skip
UNSCOPED = {
    "economics": "unit economics (revenue is not per cloud provider)",
    "accounting": "the statement, bridge, commitments, credits, cash and runway",
    "heading": "the forecasts", "physics": "bills against physics", "figures": "reported figures",
}  # fmt: skip


@money.exact
def sections(ledger: Ledger, opts: Options, got: Results | None = None) -> list[Section]:
    """Every section, in reading order, each made from the application layer's answers for
    `opts` (asked once for the page); one that fails on bad input says so in its place.
    Under a provider or model filter, the sections it cannot cut are left out, saying so:
    a company-wide figure under a filter would read as the filtered one. `got`: the
    answers the caller has already asked for `opts`."""
    got = got or Results(ledger, opts)
    out = []
    builders = BUILDERS
    if opts.provider or opts.model:
        asked = {d for d, v in (("provider", opts.provider), ("model", opts.model)) if v}
        builders = tuple(b for b in BUILDERS if asked <= set(SCOPED.get(b.__name__, ())))
        left = [UNSCOPED[b.__name__] for b in BUILDERS if b not in builders]
        out.append(Section(
            "filtered", f"Filtered: {opts.filtered()}",
            unknown="not shown under this filter, as they are the company's whole and not cut by it: "
            + "; ".join(left),
        ))  # fmt: skip
    for build in builders:
        try:
            out.append(build(got))
        except ComputeLedgerError as exc:
            title = (build.__doc__ or build.__name__).split(":")[0].split(".")[0]
            out.append(Section(build.__name__, title, unknown=str(exc)))
    return out


def _inline(rows: list[Row]) -> Any:
    """A chart's rows inlined in its spec, where the page and its tests read them (Altair
    moves `InlineData` to top-level datasets)."""
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def _stacked(data: list[Row], color: str, title: str) -> alt.Chart:
    chart: alt.Chart = (
        alt.Chart(_inline(data), title=title)
        .mark_bar()
        .encode(
            x=alt.X("month:O", title="month"),
            y=alt.Y("sum(cost):Q", title="USD"),
            color=alt.Color(f"{color}:N"),
            tooltip=["month:O", f"{color}:N", alt.Tooltip("sum(cost):Q", format=",.2f")],
        )
    )
    return chart


def _bars(data: list[Row], category: str, title: str, value: str = "cost", axis: str | None = None,
          fmt: str = ",.2f") -> alt.Chart:  # fmt: skip
    chart: alt.Chart = (
        alt.Chart(_inline(data), title=title)
        .mark_bar()
        .encode(
            y=alt.Y(f"{category}:N", sort="-x", title=None),
            x=alt.X(
                f"{value}:Q",
                title=axis or ("USD" if value == "cost" else value),
                axis=alt.Axis(format=fmt) if fmt.endswith("%") else alt.Undefined,
            ),
            tooltip=[f"{category}:N", alt.Tooltip(f"{value}:Q", format=fmt)],
        )
    )
    return chart


def _lines(data: list[Row], color: str, title: str, unit: str = "USD", value: str = "cost") -> alt.Chart:
    chart: alt.Chart = (
        alt.Chart(_inline(data), title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("month:O", title="month"),
            y=alt.Y(f"{value}:Q", title=unit),
            color=f"{color}:N",
            tooltip=["month:O", f"{color}:N", alt.Tooltip(f"{value}:Q", format=",.2f")],
        )
    )
    return chart


def _fan(past: list[Row], ahead: list[Row], title: str) -> alt.TopLevelMixin:
    hist = (
        alt.Chart(_inline(past))
        .mark_line(point=True, color="black")
        .encode(x=alt.X("month:O", title="month"), y=alt.Y("value:Q", title="USD"))
    )
    base = alt.Chart(_inline(ahead))
    band95 = base.mark_area(opacity=0.2).encode(x="month:O", y="lo95:Q", y2="hi95:Q")
    band80 = base.mark_area(opacity=0.35).encode(x="month:O", y="lo80:Q", y2="hi80:Q")
    line = base.mark_line(strokeDash=[4, 2]).encode(
        x="month:O",
        y="value:Q",
        tooltip=[
            "month:O",
            alt.Tooltip("value:Q", format=",.2f"),
            alt.Tooltip("lo95:Q", format=",.2f"),
            alt.Tooltip("hi95:Q", format=",.2f"),
        ],
    )
    return alt.layer(band95, band80, line, hist).properties(title=title)
