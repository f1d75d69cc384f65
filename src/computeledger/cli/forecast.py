"""Forecast commands: forecast (with threshold questions), scenario run and compare,
anomalies, budgets."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.accounting import ContractsOpt, RulesVersionOpt
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, opened
from computeledger.errors import UsageError

POINT_COLUMNS = ["series", "period", "forecast", "lo_80", "hi_80", "lo_95", "hi_95", "unit", "model", "mase",
                 "coverage_80", "coverage_95", "backtest_points", "provenance"]  # fmt: skip
BasisOpt = Annotated[str, typer.Option("--basis", help="billed, effective or cash")]


def forecast(
    ctx: typer.Context,
    series: Annotated[
        str,
        typer.Argument(
            help="compute, inference, training, tokens, unit-cost, revenue, compute-burn, net-burn or cash"
        ),
    ],
    horizon: Annotated[int, typer.Option("--horizon", help="Periods ahead")] = 12,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="Split by provider, workload or model; or, with --above/--below, the date a crossing "
            "counts by (2025-12-31, 2025-12, 2025-Q4, 2025)",
        ),
    ] = None,
    basis: BasisOpt = "effective",
    grain: Annotated[str, typer.Option("--grain", help="month, week or day (compute and tokens)")] = "month",
    models: Annotated[
        str | None,
        typer.Option(
            "--models", help="Models to try: all, or some of AutoETS,AutoARIMA,Theta,SeasonalNaive,Drift"
        ),
    ] = None,
    above: Annotated[
        str | None, typer.Option("--above", help="Probability of going above: 9B, 1.5M, 250k")
    ] = None,
    below: Annotated[
        str | None, typer.Option("--below", help="Probability of going below (cash: 0 = runway)")
    ] = None,
    cumulative: Annotated[
        bool, typer.Option("--cumulative", help="Cross on the running total from the first forecast period")
    ] = False,
    draws: Annotated[
        int | None,
        typer.Option("--draws", help="Sample paths for --above/--below [default: 10000; cash: 2000]"),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", min=0, help="Seed of the sample paths [default: 0; cash: 1]")
    ] = None,
    contracts: ContractsOpt = None,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Forecast a ledger series with 80% and 95% bands; the model chosen by backtest, its MASE
    and past coverage shown beside it. --above/--below: the probability of crossing by a date.
    Cash is not extrapolated: it is the scenario's driver model on the ledger's own trends
    (revenue, compute, revenue share and funding ahead), the same run as the runway's."""
    from computeledger.forecast import cash as engine
    from computeledger.forecast.engine import forecast as run
    from computeledger.forecast.series import PROVENANCE, history
    from computeledger.forecast.thresholds import crossing, parse_amount, parse_deadline

    by_drivers = series == "cash" and grain == "month"
    draws = draws if draws is not None else engine.DRAWS if by_drivers else 10_000
    seed = seed if seed is not None else engine.SEED if by_drivers else 0

    check_format(fmt)
    deadline = None
    if by is not None and by[:1].isdigit():
        if above is None and below is None:
            raise typer.BadParameter(f"{by!r} is a date: give --above or --below with it", param_hint="--by")
        deadline, by = parse_deadline(by), None
    if not 1 <= draws <= 1_000_000:
        raise typer.BadParameter("1 to 1000000", param_hint="--draws")
    with opened(ctx, ledger, read_only=True) as lg:
        if by_drivers:
            if by is not None:
                raise typer.BadParameter("cash is one series: no --by", param_hint="--by")
            run_ = engine.trends(lg, basis=engine.drivers(basis), contracts=contracts,
                                 rules_version=rules_version, draws=draws, seed=seed)  # fmt: skip
            fcs = [engine.cash_forecast(run_, horizon)]
            if fmt == "table":
                found_runways = engine.runways(lg, basis=engine.drivers(basis), contracts=contracts,
                                               rules_version=rules_version, result=run_)  # fmt: skip
        else:
            found = history(lg, series, by=by, basis=basis, grain=grain, contracts=contracts,
                            rules_version=rules_version)  # fmt: skip
            if not any(s.periods for s in found):
                raise UsageError(
                    f"no {series} history in the ledger: nothing to forecast (ingest bills first)"
                )
    if not by_drivers:
        fcs = run(found, horizon, grain, models)
    rows = []
    for fc in fcs:
        for p in fc.points:
            rows.append({"series": fc.key} | p | {
                "unit": fc.unit, "model": fc.model, "mase": _ratio(fc.mase),
                "coverage_80": _ratio(fc.coverage_80), "coverage_95": _ratio(fc.coverage_95),
                "backtest_points": fc.backtest_points,
                "provenance": f"forecast by the ledger's drivers ({draws:,} draws, seed {seed})" if by_drivers
                              else f"forecast of {PROVENANCE[series]} figures",
                "warnings": list(fc.warnings),
            })  # fmt: skip
    thresholds = []
    if above is not None or below is not None:
        hi = parse_amount(above, "--above") if above is not None else None
        lo = parse_amount(below, "--below") if below is not None else None
        for fc in fcs:
            if fc.points:
                periods = [p["period"] for p in fc.points]
                got = crossing(
                    fc.paths(draws, seed), periods, above=hi, below=lo, by=deadline, cumulative=cumulative
                )
                thresholds.append({"series": fc.key} | got)
    if fmt != "table":
        if thresholds:
            output.render(output.from_rows(thresholds), fmt, console)
        else:
            output.render(output.from_rows(rows, [*POINT_COLUMNS, "warnings"]), fmt, console)
        if fmt == "csv" or not thresholds:
            _refusals(fcs, to_err=True)
        return
    _describe(fcs)
    shown = output.for_screen(
        output.from_rows(rows, POINT_COLUMNS), {"mase": 2, "coverage_80": 2, "coverage_95": 2}
    )
    console.print(output.to_rich(shown, f"Forecast of {series} ({basis}; forecast = median of the model)"))
    if by_drivers:
        from computeledger.cli.accounting import render_runways

        render_runways(found_runways)
    for t in thresholds:
        word = "cumulative " if t["cumulative"] else ""
        console.print(
            f"{escape(t['series'])}: P({word}{series} {t['direction']} {t['threshold']:,f} by {t['by']}) = "
            f"{float(t['probability']):.1%} ({t['crossings']:,} of {t['draws']:,} paths); first crossing: "
            f"median {t['first_median']}, 80% interval {t['first_p10']} to {t['first_p90']}",
            highlight=False,
            soft_wrap=True,
        )


def _ratio(v: float | None) -> Decimal | None:
    return None if v is None else Decimal(repr(float(v))).quantize(Decimal("0.0001"))


def _describe(fcs) -> None:
    for fc in fcs:
        if fc.refused:
            continue
        if fc.mase is None:
            console.print(f"{escape(fc.key)}: {fc.model}, no backtest", highlight=False)
        else:
            widened = ", ".join(f"{k}% x{v}" for k, v in fc.widened.items() if v > 1) or "none"
            console.print(
                f"{escape(fc.key)}: {fc.model}, backtest MASE {fc.mase:.2f}, past coverage of its bands "
                f"80%: {fc.coverage_80:.0%}, 95%: {fc.coverage_95:.0%} ({fc.backtest_points} points; "
                f"bands widened: {widened})",
                highlight=False,
                soft_wrap=True,
            )
        for w in fc.warnings:
            console.print(f"  warning: {escape(w)}", highlight=False, soft_wrap=True)
    _refusals(fcs)


def _refusals(fcs, to_err: bool = False) -> None:
    from computeledger.cli.common import err

    for fc in fcs:
        if fc.refused:
            (err if to_err else console).print(
                f"{escape(fc.key)}: no forecast: {escape(fc.refused)}", highlight=False, soft_wrap=True
            )


scenario_app = typer.Typer(help="Driver-based scenarios, run by seeded Monte Carlo.", no_args_is_help=True)


def _scenario_result(lg, path: Path | None, basis: str, contracts, rules_version):
    """The scenario's run, and how many of its months the table shows (the trends run
    reaches the runway horizon: its first year is shown)."""
    from computeledger.forecast.runs import scenario

    result = scenario(lg, path, basis=basis, contracts=contracts, rules_version=rules_version)
    return result, 12 if path is None else len(result.periods)


@scenario_app.command("run")
def scenario_run(
    ctx: typer.Context,
    path: Annotated[
        Path | None, typer.Argument(help="Scenario TOML [default: the ledger's own trends]")
    ] = None,
    basis: BasisOpt = "effective",
    contracts: ContractsOpt = None,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Tokens, cost, revenue, burn and cash per month: mean and percentiles over the draws;
    and the month cash goes below zero."""
    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        result, shown = _scenario_result(lg, path, basis, contracts, rules_version)
    _render_scenario([(result, shown)], fmt)


@scenario_app.command("compare")
def scenario_compare(
    ctx: typer.Context,
    first: Annotated[Path, typer.Argument(help="Scenario TOML")],
    second: Annotated[Path, typer.Argument(help="Scenario TOML")],
    basis: BasisOpt = "effective",
    contracts: ContractsOpt = None,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Two scenarios side by side: per month and output, each one's median and 80% range."""
    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        results = [_scenario_result(lg, p, basis, contracts, rules_version) for p in (first, second)]
    if results[0][0].name == results[1][0].name:
        results[1][0].name += " (2)"
    _render_scenario(results, fmt)


def _render_scenario(results, fmt: str) -> None:
    """Each run's first months as rows; its runway (the trend method) below the table."""
    from computeledger.forecast.cash import trend_runway

    rows = [r for res, shown in results for r in res.summary(shown)]
    if fmt != "table":
        output.render(output.from_rows(rows), fmt, console)
        return
    for res, _ in results:
        for note in res.notes:
            console.print(f"{escape(res.name)}: note: {escape(note)}", highlight=False, soft_wrap=True)
    console.print(
        output.to_rich(output.for_screen(output.from_rows(rows), {}), "Scenario (per month; p = percentile)")
    )
    for res, _ in results:
        r = trend_runway(res)
        console.print(
            f"{escape(res.name)}: runway {r.method}, as of {r.as_of} ({len(res.periods)} months, "
            f"{len(next(iter(res.draws.values()))):,} draws): {escape(r.text)}",
            highlight=False,
            soft_wrap=True,
        )


def anomalies(
    ctx: typer.Context,
    by: Annotated[str | None, typer.Option("--by", help="provider, service or model")] = None,
    grain: Annotated[str, typer.Option("--grain", help="day or month")] = "day",
    basis: Annotated[str, typer.Option("--basis", help="billed or effective")] = "effective",
    level: Annotated[int, typer.Option("--level", help="Band: 80, 90, 95 or 99 (%)")] = 99,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Points outside the band of a model fitted to the history before them, with the charges
    that drive them."""
    from computeledger.forecast.anomalies import anomalies as run

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        found = run(lg, by=by, grain=grain, basis=basis, level=level, rules_version=rules_version)
    columns = [
        "series",
        "period",
        "actual",
        "expected",
        "band_low",
        "band_high",
        "surprise",
        "ratio",
        "drivers",
    ]
    table = output.from_rows(found, columns)
    if fmt == "table":
        table = output.for_screen(table, {"ratio": 3})
    output.render(table, fmt, console, f"Anomalies ({len(found)}; outside the {level}% band)")


def budgets(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(help="Budgets TOML: [[budgets]] name, period, amount, series, provider")
    ],
    contracts: ContractsOpt = None,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Actual plus forecast against each budget, and the probability of overrun."""
    from computeledger.forecast.budgets import budgets as run
    from computeledger.forecast.budgets import load_budgets

    check_format(fmt)
    items = load_budgets(path)
    with opened(ctx, ledger, read_only=True) as lg:
        rows = run(lg, items, contracts=contracts, rules_version=rules_version)
    table = output.from_rows(rows)
    if fmt == "table":
        table = output.for_screen(table, {"overrun_probability": 4})
    output.render(table, fmt, console, "Budgets (projected = actual + forecast median)")


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command()(forecast)
    app.command()(anomalies)
    app.command()(budgets)
    app.add_typer(scenario_app, name="scenario")
