"""The application layer: every question the ledger answers, as one function each.

The command line, the report and the server are thin over these: they parse their
options, call one function here with typed parameters, and render the `Answer` it gives.
A figure is therefore computed in one place and reads the same in every interface: the
server's JSON is the command's `--format json`, byte for byte (`Answer.json`).

Checks of the parameters live here too, as `UsageError`s with one line each, so a bad
option reads the same on the command line (exit 2) and in the API (HTTP 400).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from computeledger import output
from computeledger.accounting.contracts import Contracts
from computeledger.errors import UsageError

if TYPE_CHECKING:
    from computeledger.accounting.statement import Inputs
    from computeledger.ledger import Ledger

#: a contracts file, its parsed contracts (the server parses them once), or none given
ContractsArg = Contracts | str | Path | None

POINT_COLUMNS = ["series", "period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "unit", "model", "mase",
                 "coverage_80", "coverage_95", "backtest_points", "provenance"]  # fmt: skip
ANOMALY_COLUMNS = ["series", "period", "actual", "expected", "band_low", "band_high", "surprise", "ratio",
                   "drivers"]  # fmt: skip
MAX_HORIZON = 1000  # periods a forecast reaches at most: a bound, as a server must not be asked for 10^9
FIGURE_SECTIONS = ("figures", "implied", "contradictions", "annualised", "claims", "projections", "fleet",
                   "bounds")  # fmt: skip


@dataclass(frozen=True)
class Answer:
    """What a question returns: the table csv and json print (columns declared by the
    capability), its title, the notes a reader needs beside it (warnings, refusals,
    provenance), and the capability's own typed result for renderers that show more."""

    table: pa.Table
    title: str
    notes: tuple[str, ...] = ()
    detail: Any = None
    #: a document json prints instead of the table (figures check: one list per section;
    #: figures compare: one record a figure)
    document: dict[str, Any] | list[Any] | None = None

    def json(self) -> str:
        """The JSON every interface prints: money as strings, nulls as null."""
        if self.document is not None:
            from computeledger.figures.tables import json_default

            return json.dumps(self.document, indent=1, default=json_default)
        return output.to_json(self.table)


def positive_decimal(text: str | None, option: str) -> Decimal | None:
    """An option's positive number (`--output-weight 2.5`), exact; None if not given."""
    from decimal import InvalidOperation

    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{option} {text!r}: not a number") from None
    if not value.is_finite() or value <= 0:
        raise UsageError(f"{option} {text!r}: must be a positive number")
    return value


def _one_of(value: str, choices: tuple[str, ...] | list[str], option: str) -> str:
    if value not in choices:
        raise UsageError(f"{option} {value!r}: use one of {', '.join(choices)}")
    return value


# -- bills ------------------------------------------------------------------------------
def summary(
    ledger: Ledger, by: str = "provider", rules_version: str | None = None, with_total: bool = False
) -> Answer:
    """Totals of the four FOCUS cost columns by `by` (allocated dimensions read the
    allocation); `with_total`: the grand total too, as the detail."""
    table = ledger.summary(by, rules_version=rules_version).to_pyarrow()
    total = (
        ledger.summary([], rules_version=rules_version).to_pyarrow().to_pylist()[0] if with_total else None
    )
    return Answer(table, f"Costs by {by}", detail=total)


def charges(ledger: Ledger, where: list[str] | None = None, largest: bool = False, limit: int = 20) -> Answer:
    """Charges matching every COLUMN=VALUE of `where`: their id, provider, period, cost."""
    from computeledger.ledger_charges import find_charges

    if not 1 <= limit <= 100_000:
        raise UsageError(f"--limit {limit}: 1 to 100000")
    table = find_charges(ledger, list(where or []), largest=largest, limit=limit)
    return Answer(table, "Charges (every column of one: computeledger explain ID)")


def totals(
    ledger: Ledger, provider: str | None = None, start: date | None = None, end: date | None = None
) -> Answer:
    """The charges of one provider (ServiceProviderName) and period (from `start`, before
    `end`; all when None): how many, their billed and effective totals, first and last
    charge, providers and currencies. The report's overview; the detail is the row, None
    when there is no charge."""
    from computeledger.ledger_charges import within

    c = within(ledger.charges, start, end, provider)
    row = (
        c.aggregate(
            charges=c.count(), billed=c.BilledCost.sum(), effective=c.EffectiveCost.sum(),
            first=c.ChargePeriodStart.min(), last=c.ChargePeriodStart.max(),
            providers=c.ServiceProviderName.nunique(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )  # fmt: skip
    currencies = c.select("BillingCurrency").distinct().order_by("BillingCurrency").to_pyarrow()
    row["currencies"] = [str(x) for x in currencies.column(0).to_pylist() if x is not None]
    return Answer(output.from_rows([row]), "The ledger at a glance", detail=row if row["charges"] else None)


def ingests(ledger: Ledger, every_column: bool = False) -> Answer:
    """The files ingested: status, rows read, loaded and quarantined, what replaced what
    (`every_column`: the ingests table's every column)."""
    t = ledger.ingests
    cols = ["ingest_id", "path", "status", "focus_version", "rows_read", "rows_loaded", "rows_quarantined",
            "rows_superseded", "superseded_by", "rounding", "message"]  # fmt: skip
    return Answer(t.select(t.columns if every_column else cols).order_by("ingest_id").to_pyarrow(), "Ingests")


def quarantine(ledger: Ledger, ingest_id: int | None = None, limit: int = 50) -> Answer:
    """Rows that were not loaded, with file, line, reason and the row as read, in ingest
    and line order (`limit` 0: all); the detail is how many there are in all."""
    if limit < 0:
        raise UsageError(f"--limit {limit}: 0 (all) or more")
    q = ledger.quarantine
    if ingest_id is not None:
        known = ledger.ingests
        if known.filter(known.ingest_id == ingest_id).count().to_pyarrow().as_py() == 0:
            raise UsageError(f"no ingest {ingest_id} in this ledger (computeledger ingests lists them)")
        q = q.filter(q.ingest_id == ingest_id)
    total = q.count().to_pyarrow().as_py()
    q = q.order_by(["ingest_id", "source_line"])
    return Answer((q.limit(limit) if limit else q).to_pyarrow(), "Quarantined rows", detail=total)


def quarantine_reasons(ledger: Ledger) -> Answer:
    """Quarantined rows counted by reason, in the reasons' order."""
    q = ledger.quarantine
    table = q.group_by("reason").aggregate(rows=q.count()).order_by("reason").to_pyarrow()
    return Answer(table, "Quarantined rows by reason")


def coverage(ledger: Ledger, rules_version: str | None = None, dimension: str = "workload") -> Answer:
    """Per rule, the cost it placed (billed, effective) and the share left unallocated; the
    detail is the largest resources left unallocated (five)."""
    from computeledger.allocate.report import coverage as cover
    from computeledger.allocate.report import unallocated_resources

    table = cover(ledger, rules_version, dimension).to_pyarrow()
    largest = unallocated_resources(ledger, rules_version).to_pyarrow()
    return Answer(table, f"What each rule placed ({dimension})", detail=largest)


def unallocated(
    ledger: Ledger, rules_version: str | None = None, limit: int = 10, start: date | None = None,
    end: date | None = None, provider: str | None = None,
) -> Answer:  # fmt: skip
    """The largest resources left unallocated as to workload, of one provider and period."""
    from computeledger.allocate.report import unallocated_resources

    got = unallocated_resources(ledger, rules_version, limit=limit, start=start, end=end, provider=provider)
    return Answer(got.to_pyarrow(), "Largest unallocated resources")


# -- unit economics -----------------------------------------------------------------------
def unit_costs(
    ledger: Ledger,
    by: str = "model,month",
    basis: str = "effective",
    cost: str = "loaded",
    output_weight: Decimal | None = None,
    catalogue: dict[str, str] | None = None,
    rules_version: str | None = None,
    contracts: ContractsArg = None,
) -> Answer:
    """Cost per million tokens (all, input, output) and GPU-hours per million tokens."""
    from computeledger.economics.unit_costs import unit_costs as run

    got = run(ledger, by, basis=basis, cost=cost, output_weight=output_weight, catalogue=catalogue or {},
              rules_version=rules_version, contracts=contracts)  # fmt: skip
    title = f"Unit costs by {by} ({basis}, {cost}; all columns: --format csv)"
    return Answer(output.from_rows(got.rows), title, detail=got)


def margin(
    ledger: Ledger,
    by: str = "model,month",
    basis: str = "effective",
    cost: str = "loaded",
    attribute: bool = True,
    rules_version: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> Answer:
    """Revenue, revenue share, inference cost, gross margin and margin % per group (of the
    months from `start`, before `end`, when given)."""
    from computeledger.economics.margin import margin as run

    got = run(ledger, by, basis=basis, cost=cost, rules_version=rules_version, attribute=attribute,
              start=start, end=end)  # fmt: skip
    return Answer(output.from_rows(got.rows), f"Margin by {by}", detail=got)


# -- accounting ---------------------------------------------------------------------------
def statement(
    ledger: Ledger,
    period: str = "quarter",
    basis: str = "all",
    start: str | None = None,
    end: str | None = None,
    contracts: ContractsArg = None,
    rules_version: str | None = None,
    runways: bool = False,
    inputs: Inputs | None = None,
) -> Answer:
    """The statement per period and basis (`period`: a grain, or one period such as
    2025-Q3); `runways` adds both runways, each named by its method, as the detail's second part.
    `inputs`: those an earlier statement of the same ledger and contracts gathered (its
    `inputs`), not gathered again."""
    from computeledger.accounting.periods import GRAINS, parse
    from computeledger.accounting.statement import LINES, gather
    from computeledger.accounting.statement import statement as run
    from computeledger.forecast.cash import runways as find_runways

    bases = ("billed", "effective", "cash") if basis == "all" else tuple(b.strip() for b in basis.split(","))
    if period in GRAINS:
        grain = period
    else:
        _, _, grain = parse(period)
        start = end = period
    inp = inputs or gather(ledger, contracts, rules_version)
    got = run(ledger, grain=grain, bases=bases, start=start, end=end, inputs=inp)
    found = (
        find_runways(ledger, inputs=inp, contracts=contracts, rules_version=rules_version) if runways else []
    )
    table = output.from_rows(got.rows, ["period", "basis", *LINES])
    return Answer(table, f"Statement ({got.currency or 'no currency'})", tuple(got.notes), (got, found))


def bridge(
    ledger: Ledger, period: str, contracts: ContractsArg = None, rules_version: str | None = None,
    inputs: Inputs | None = None,
) -> Answer:  # fmt: skip
    """From billed to effective to cash compute for one period (2025-Q3, 2025-07 or 2025);
    `inputs` as `statement`'s."""
    from computeledger.accounting.bridge import bridge as run
    from computeledger.accounting.periods import GRAINS
    from computeledger.accounting.statement import gather

    if period in GRAINS:
        raise UsageError("--bridge needs one period: 2025-Q3, 2025-07 or 2025 (--period)")
    inp = inputs or gather(ledger, contracts, rules_version)
    rows = run(inp, period)
    table = output.from_rows(rows, ["period", "step", "amount", "kind", "estimated"])
    return Answer(table, f"Bridge {period} ({inp.currency or 'no currency'})", detail=(rows, inp.currency))


def commitments(ledger: Ledger, schedule: bool = False, contracts: ContractsArg = None) -> Answer:
    """Every commitment (or, `schedule`, every commitment and month)."""
    from computeledger.accounting.commitments import commitments as run

    got = run(ledger, contracts)
    rows = got.schedule if schedule else got.rows
    return Answer(output.from_rows(rows), "Commitment schedule" if schedule else "Commitments", detail=got)


def credits(ledger: Ledger, by_month: bool = False, contracts: ContractsArg = None) -> Answer:
    """Credit grants (or, `by_month`, every grant and month)."""
    from computeledger.accounting.credits import credits as run

    grants, months = run(ledger, contracts)
    return Answer(output.from_rows(months if by_month else grants),
                  "Credits by month" if by_month else "Credits", detail=(grants, months))  # fmt: skip


def revenue_share(ledger: Ledger, contracts: ContractsArg = None) -> Answer:
    """What each revenue-share agreement makes payable, against the partner's statements;
    the notes say when there is no agreement and how many periods differ."""
    from computeledger.accounting.contracts import load_contracts
    from computeledger.accounting.income import share_due

    parsed = load_contracts(contracts)
    rows = share_due(ledger, parsed)
    notes = []
    if not parsed.agreements:
        notes.append("no revenue-share agreement: give them in a contracts file (--contracts)")
    off = [r for r in rows if r["difference"]]
    if off:
        notes.append(f"{len(off)} period(s) where the statement differs from the agreement")
    return Answer(output.from_rows(rows), "Revenue share: agreements against statements", tuple(notes))


# -- forecasts ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ForecastAsk:
    """What `forecast` is asked: a series, a horizon, a split or a deadline, a threshold."""

    series: str
    horizon: int = 12
    by: str | None = None
    basis: str = "effective"
    grain: str = "month"
    models: str | None = None
    above: str | None = None
    below: str | None = None
    cumulative: bool = False
    draws: int | None = None
    seed: int | None = None
    contracts: ContractsArg = None
    rules_version: str | None = None
    runways: bool = False  # the cash series: also both runways (the screen shows them)
    history: bool = False  # also the series' history (the report charts it)


@dataclass
class Forecasts:
    """A forecast's parts: the forecasts, their points, the threshold answers, the runways."""

    forecasts: list[Any] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    thresholds: list[dict[str, Any]] = field(default_factory=list)
    runways: list[Any] = field(default_factory=list)
    by_drivers: bool = False
    history: list[Any] = field(default_factory=list)  # forecast.series.Series, when asked


def forecast(ledger: Ledger, ask: ForecastAsk) -> Answer:
    """A ledger series forecast with backtested bands; with a threshold, the probability
    of crossing it by a date. Cash is the driver model's run, the runway's."""
    from computeledger.forecast import cash as engine
    from computeledger.forecast.engine import forecast as run
    from computeledger.forecast.series import PROVENANCE, history
    from computeledger.forecast.thresholds import crossing, parse_amount, parse_deadline

    by_drivers = ask.series == "cash" and ask.grain == "month"
    draws = ask.draws if ask.draws is not None else engine.DRAWS if by_drivers else 10_000
    seed = ask.seed if ask.seed is not None else engine.SEED if by_drivers else 0
    if not 1 <= ask.horizon <= MAX_HORIZON:
        raise UsageError(f"--horizon {ask.horizon}: 1 to {MAX_HORIZON} periods")
    by, deadline = ask.by, None
    if by is not None and by[:1].isdigit():
        if ask.above is None and ask.below is None:
            raise UsageError(f"--by {by!r} is a date: give --above or --below with it")
        deadline, by = parse_deadline(by), None
    if not 1 <= draws <= 1_000_000:
        raise UsageError(f"--draws {draws}: 1 to 1000000")
    if seed < 0:
        raise UsageError(f"--seed {seed}: 0 or more")
    out = Forecasts(by_drivers=by_drivers)
    if by_drivers:
        if by is not None:
            raise UsageError("--by: cash is one series")
        trend = engine.trends(ledger, basis=engine.drivers(ask.basis), contracts=ask.contracts,
                              rules_version=ask.rules_version, draws=draws, seed=seed)  # fmt: skip
        out.forecasts = [engine.cash_forecast(trend, ask.horizon)]
        if ask.runways:
            out.runways = engine.runways(ledger, basis=engine.drivers(ask.basis), contracts=ask.contracts,
                                         rules_version=ask.rules_version, result=trend)  # fmt: skip
        if ask.history:
            out.history = history(ledger, "cash", basis=engine.drivers(ask.basis), contracts=ask.contracts,
                                  rules_version=ask.rules_version)  # fmt: skip
    else:
        found = history(ledger, ask.series, by=by, basis=ask.basis, grain=ask.grain, contracts=ask.contracts,
                        rules_version=ask.rules_version)  # fmt: skip
        if not any(s.periods for s in found):
            first = {"allocated": "ingest bills and allocate them", "usage": "ingest usage",
                     "invoiced": "ingest revenue", "bank": "ingest a bank statement"}.get(
                PROVENANCE[ask.series], "ingest bills")  # fmt: skip
            raise UsageError(f"no {ask.series} history in the ledger: nothing to forecast ({first} first)")
        out.forecasts = run(found, ask.horizon, ask.grain, ask.models)
        out.history = found if ask.history else []
    provenance = (f"forecast by the ledger's drivers ({draws:,} draws, seed {seed})" if by_drivers
                  else f"forecast of {PROVENANCE[ask.series]} figures")  # fmt: skip
    for fc in out.forecasts:
        for p in fc.points:
            out.rows.append({"series": fc.key} | p | {
                "unit": fc.unit, "model": fc.model, "mase": _ratio(fc.mase),
                "coverage_80": _ratio(fc.coverage_80), "coverage_95": _ratio(fc.coverage_95),
                "backtest_points": fc.backtest_points, "provenance": provenance,
                "warnings": list(fc.warnings),
            })  # fmt: skip
    if ask.above is not None or ask.below is not None:
        hi = parse_amount(ask.above, "--above") if ask.above is not None else None
        lo = parse_amount(ask.below, "--below") if ask.below is not None else None
        for fc in out.forecasts:
            if fc.points:
                periods = [p["period"] for p in fc.points]
                got = crossing(fc.paths(draws, seed), periods, above=hi, below=lo, by=deadline,
                               cumulative=ask.cumulative)  # fmt: skip
                out.thresholds.append({"series": fc.key} | got)
    refusals = tuple(f"{fc.key}: no forecast: {fc.refused}" for fc in out.forecasts if fc.refused)
    table = (output.from_rows(out.thresholds) if out.thresholds
             else output.from_rows(out.rows, [*POINT_COLUMNS, "warnings"]))  # fmt: skip
    title = f"Forecast of {ask.series} ({ask.basis}; forecast = median of the model)"
    return Answer(table, title, refusals, out)


def _ratio(v: float | None) -> Decimal | None:
    return None if v is None else Decimal(repr(float(v))).quantize(Decimal("0.0001"))


def scenario(
    ledger: Ledger,
    paths: list[Path] | None = None,
    basis: str = "effective",
    contracts: ContractsArg = None,
    rules_version: str | None = None,
) -> Answer:
    """One scenario's run (none: the ledger's own trends, its first year shown), or two side
    by side: per month, mean and percentiles over the draws."""
    from computeledger.forecast.runs import scenario as run

    runs = []
    for path in paths or [None]:  # type: ignore[list-item]
        result = run(ledger, path, basis=basis, contracts=contracts, rules_version=rules_version)
        runs.append((result, 12 if path is None else len(result.periods)))
    if len(runs) == 2 and runs[0][0].name == runs[1][0].name:
        runs[1][0].name += " (2)"
    rows = [r for res, shown in runs for r in res.summary(shown)]
    notes = tuple(f"{res.name}: note: {note}" for res, _ in runs for note in res.notes)
    return Answer(output.from_rows(rows), "Scenario (per month; p = percentile)", notes, runs)


def anomalies(
    ledger: Ledger,
    by: str | None = None,
    grain: str = "day",
    basis: str = "effective",
    level: int = 99,
    rules_version: str | None = None,
) -> Answer:
    """Points outside the band of a model fitted to the history before them, with their drivers."""
    from computeledger.forecast.anomalies import anomalies as run

    found = run(ledger, by=by, grain=grain, basis=basis, level=level, rules_version=rules_version)
    table = output.from_rows(found, ANOMALY_COLUMNS)
    return Answer(table, f"Anomalies ({len(found)}; outside the {level}% band)", detail=found)


# -- reported figures and capacity ----------------------------------------------------------
def budgets(
    ledger: Ledger, path: str | Path, contracts: ContractsArg = None, rules_version: str | None = None
) -> Answer:
    """Actual plus forecast against each budget of a budgets file, and the probability of
    overrun."""
    from computeledger.forecast.budgets import budgets as run
    from computeledger.forecast.budgets import load_budgets

    rows = run(ledger, load_budgets(Path(path)), contracts=contracts, rules_version=rules_version)
    return Answer(output.from_rows(rows), "Budgets (projected = actual + forecast median)")


@dataclass(frozen=True)
class FiguresAsk:
    """What `figures check` is asked: a figures file, a section, and the fleet's options."""

    path: str | Path
    section: str | None = None
    fleet_gpu: str | None = None
    price: str | None = None
    mix: str | None = None
    concurrency: int | None = None
    metrics: str | Path | None = None


def figures_check(ask: FiguresAsk, human: bool = False) -> Answer:
    """Derived figures with intervals and sources, contradictions, claims, projections:
    one table per section (`detail`), and the JSON document of the sections chosen."""
    from computeledger.capacity.api import price_range
    from computeledger.figures.read import read_figures
    from computeledger.figures.tables import check_records, check_tables

    if ask.section is not None:
        _one_of(ask.section, FIGURE_SECTIONS, "--section")
    if (ask.mix or ask.concurrency is not None) and not ask.fleet_gpu:
        raise UsageError("--mix and --concurrency size the fleet's tokens: give --fleet-gpu too")
    if ask.concurrency is not None and not ask.mix:
        raise UsageError("--concurrency sets the point a model mix is served at: give --mix too")
    figures = read_figures(ask.path, ask.metrics)
    tables = check_tables(figures, human=human)
    if ask.fleet_gpu:
        from computeledger.capacity import catalog
        from computeledger.capacity.invert import DEFAULT_SLO, figures_fleet, mix_throughput, parse_mix
        from computeledger.capacity.physics import Workload

        rate = point_used = None
        if ask.mix:
            rate, _ = mix_throughput(ask.fleet_gpu, parse_mix(ask.mix), Workload(1000, 500),
                                     catalog.calibrations(), DEFAULT_SLO, ask.concurrency)  # fmt: skip
            point_used = (f"concurrency {ask.concurrency}" if ask.concurrency
                          else "latency-bound to throughput-optimal")  # fmt: skip
        rows = figures_fleet(figures, price_range(ask.price, ask.fleet_gpu), ask.fleet_gpu, rate, point_used)
        tables["fleet"] = pa.Table.from_pylist(rows)
    chosen = {ask.section: tables[ask.section]} if ask.section else {
        k: t for k, t in tables.items() if k != "bounds"}  # fmt: skip
    records = check_records(figures)
    if "fleet" in chosen:
        records["fleet"] = json.loads(output.to_json(tables["fleet"]))
    notes: tuple[str, ...] = ()
    if figures.uncatalogued:
        notes = ("metrics not in the catalogue, read as plain flows (sums and differences of periods only; "
                 f"relate them with --metrics): {', '.join(figures.uncatalogued)}",)  # fmt: skip
    first = next(iter(chosen.values()))
    return Answer(first, "Reported figures", notes, chosen, {k: records[k] for k in chosen})


COMPARE_BASES = ("BilledCost", "EffectiveCost")
COMPARE_COLUMNS = ("id", "quantity", "stated", "reported", "ledger", "coverage", "verdict", "difference")


def figures_compare(
    ledger: Ledger,
    path: str | Path,
    basis: str = "BilledCost",
    entity: str | None = None,
    human: bool = False,
) -> Answer:
    """Reported cost figures against the same quantities computed from the ledger: the
    table (intervals as text; `human` for the screen's spelling), and the JSON document,
    one record a figure with its bounds as fields; a note when the entity is not said."""
    from computeledger.figures.compare import compare
    from computeledger.figures.engine import describe
    from computeledger.figures.read import read_figures
    from computeledger.figures.tables import amount, bounds, interval, quantity_fields

    _one_of(basis, COMPARE_BASES, "--basis")
    rows = compare(ledger, read_figures(path), basis, entity)
    records = [
        {"id": r["id"], **quantity_fields(r["quantity"].key), "stated": r["stated"],
         **bounds(r["reported"], "reported_"), "ledger": r["ledger"], "coverage": r["coverage"],
         "verdict": r["verdict"], "difference": r.get("difference"), "basis": basis}
        for r in rows
    ]  # fmt: skip
    table = pa.Table.from_pylist(
        [{"id": r["id"], "quantity": describe(r["quantity"].key), "stated": r["stated"],
          "reported": interval(r["reported"], human),
          "ledger": amount(r["ledger"], human) if r["ledger"] is not None else "",
          "coverage": r["coverage"] or "", "verdict": r["verdict"],
          "difference": amount(r.get("difference"), human) if r.get("difference") is not None else ""}
         for r in rows],
        schema=pa.schema([(c, pa.string()) for c in COMPARE_COLUMNS]),
    )  # fmt: skip
    notes = (
        () if entity is not None else ("entity not checked: say whose bills the ledger holds with --entity",)
    )
    return Answer(table, f"Reported figures against the ledger ({basis})", notes, rows, records)


@dataclass(frozen=True)
class ThroughputAsk:
    """What `capacity throughput` is asked: a model on a GPU, a request shape, a setting."""

    model: str
    gpu: str
    input_tokens: float = 1000
    output_tokens: float = 500
    cache_hit: float = 0.0
    precision: str = "fp8"
    tp: int | None = None
    ep: int = 1
    pp: int = 1
    tpot_ms: float | None = None
    ttft_ms: float | None = None
    price: str | None = None
    provider: str | None = None
    disaggregated: bool = False
    concurrency: int | None = None
    engine: str | None = None
    calibration: Path | None = None
    prices: Path | None = None


def capacity_throughput(ask: ThroughputAsk) -> Answer:
    """Operating points (throughput-optimal, latency-bound, at a concurrency) and cost per
    million tokens (estimated)."""
    from computeledger.capacity import catalog
    from computeledger.capacity.api import price_range
    from computeledger.capacity.api import throughput as run

    rows = run(
        ask.model, ask.gpu, ask.input_tokens, ask.output_tokens, ask.cache_hit, ask.precision, ask.tp, ask.ep,
        ask.pp, ask.tpot_ms, ask.ttft_ms, price_range(ask.price, ask.gpu, ask.provider, ask.prices),
        ask.disaggregated, catalog.calibrations(ask.calibration), ask.concurrency, ask.engine,
    )  # fmt: skip
    return Answer(output.from_rows(rows),
                  "Operating points (estimated; low..high: calibration error and price range)")  # fmt: skip


def capacity_fleet(
    demand: str | Path, gpu: str | None = None, provider: str | None = None,
    calibration: Path | None = None, prices: Path | None = None,
) -> Answer:  # fmt: skip
    """GPUs per model and cloud for a demand mix, monthly cost, and the cheapest configuration."""
    from computeledger.capacity import catalog
    from computeledger.capacity.fleet import fleet as run
    from computeledger.capacity.fleet import read_demand

    rows = run(
        read_demand(Path(demand)), catalog.calibrations(calibration), catalog.prices(prices), gpu, provider
    )
    return Answer(output.from_rows(rows), "Fleet (estimated)")


@dataclass(frozen=True)
class InvertAsk:
    """What `capacity invert` is asked: a spend over a period, on a GPU, at a price and a
    utilisation, with a model mix or reported tokens."""

    spend: str
    period: str
    gpu: str = "H100 SXM"
    price: str | None = None
    utilization: str = "0.4..0.8"
    mix: str | None = None
    input_tokens: float = 1000
    output_tokens: float = 500
    tokens: str | None = None
    concurrency: int | None = None
    calibration: Path | None = None
    prices: Path | None = None


def capacity_invert(ask: InvertAsk) -> Answer:
    """From a spend over a period to GPU-hours, average fleet and tokens (the implied row,
    the table), with a tornado of each input over its range (`detail`)."""
    from computeledger.capacity import catalog
    from computeledger.capacity.api import invert as run
    from computeledger.capacity.api import price_range

    implied, tornado = run(
        ask.spend, ask.period, ask.gpu, price_range(ask.price, ask.gpu, None, ask.prices), ask.utilization,
        ask.mix, ask.input_tokens, ask.output_tokens, ask.tokens, catalog.calibrations(ask.calibration),
        ask.concurrency,
    )  # fmt: skip
    title = f"What {ask.spend} over {ask.period} implies on {ask.gpu} (intervals)"
    return Answer(output.from_rows([implied]), title, detail=tornado,
                  document={"implied": implied, "tornado": tornado})  # fmt: skip


def capacity_compare(
    ledger: Ledger, mapping: list[str] | dict[str, str] | None = None, workload: str = "inference",
    concurrency: list[str] | dict[str, int] | None = None, calibration: Path | None = None,
    start: date | None = None, end: date | None = None,
) -> Answer:  # fmt: skip
    """Bills against physics: billed GPU-hours per model and month against what the tokens
    needed, at the throughput-optimal point or at a concurrency (`LEDGER_MODEL=N`; parsed
    as given, or already parsed). The detail sums the months from `start`, before `end`,
    per model."""
    from computeledger.capacity import catalog
    from computeledger.capacity.compare import compare as run
    from computeledger.capacity.compare import parse_concurrency, parse_map, per_model

    names = mapping if isinstance(mapping, dict) else parse_map(mapping or [])
    at = concurrency if isinstance(concurrency, dict) else parse_concurrency(concurrency or [], names)
    rows = run(ledger, names, catalog.calibrations(calibration), workload, concurrency=at)
    within = [r for r in rows if (start is None or r["month"] >= start) and (end is None or r["month"] < end)]
    return Answer(output.from_rows(rows), "Billed GPU-hours against the GPU-hours the tokens needed",
                  detail=per_model(within, at))  # fmt: skip


def capacity_calibrate(
    measurements: list[Path], held_out: Path | None = None, out: Path | None = None
) -> Answer:
    """Efficiency factors per (GPU, engine, precision) fitted to measured throughputs (the
    table), the held-out error of each measurement (`detail`), and the JSON document."""
    import statistics

    from computeledger.capacity.api import calibrate as run

    fitted, errors = run(measurements, held_out, out)
    median = round(statistics.median(abs(e["error"]) for e in errors), 4) if errors else None
    doc = {"calibration": fitted, "held_out": errors, "held_out_median_abs_error": median}
    notes = (
        (f"held-out median absolute error: {median:.1%} over {len(errors)} measurements",) if errors else ()
    )
    return Answer(
        output.from_rows(fitted), "Calibration (in-sample median absolute error)", notes, errors, doc
    )


CATALOGUES = ("gpus", "models", "prices", "calibration")


def capacity_catalog(which: str, prices: Path | None = None) -> Answer:
    """One of the catalogues the capacity model uses, each row with its source."""
    from dataclasses import asdict

    from computeledger.capacity import catalog

    _one_of(which, CATALOGUES, "catalogue")
    rows: list[Any]
    if which == "gpus":
        rows = list(catalog.gpus().values())
    elif which == "models":
        rows = list(catalog.models().values())
    elif which == "prices":
        rows = sorted(catalog.prices(prices), key=lambda p: (p.gpu, p.provider, p.as_of))
    else:
        rows = list(catalog.calibrations().values())
    return Answer(output.from_rows([asdict(r) for r in rows]), which)
