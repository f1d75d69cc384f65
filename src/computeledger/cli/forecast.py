"""Forecast commands: forecast (with threshold questions), scenario run and compare,
anomalies, budgets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.accounting import ContractsOpt, RulesVersionOpt
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, contracts_of, opened

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
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    ask = app.ForecastAsk(series, horizon, by, basis, grain, models, above, below, cumulative, draws, seed,
                          contracts, rules_version, runways=fmt == "table")  # fmt: skip
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.forecast(lg, ask)
    out = got.detail
    if fmt != "table":
        output.render(got.table, fmt, console)
        if fmt == "csv" or not out.thresholds:
            _refusals(got.notes, to_err=True)
        return
    _describe(out.forecasts)
    _refusals(got.notes)
    shown = output.for_screen(
        output.from_rows(out.rows, app.POINT_COLUMNS), {"mase": 2, "coverage_80": 2, "coverage_95": 2}
    )
    console.print(output.to_rich(shown, escape(got.title)))
    if out.by_drivers:
        from computeledger.cli.accounting import render_runways

        render_runways(out.runways)
    for t in out.thresholds:
        word = "cumulative " if t["cumulative"] else ""
        console.print(
            f"{escape(t['series'])}: P({word}{series} {t['direction']} {t['threshold']:,f} by {t['by']}) = "
            f"{float(t['probability']):.1%} ({t['crossings']:,} of {t['draws']:,} paths); first crossing: "
            f"median {t['first_median']}, 80% interval {t['first_p10']} to {t['first_p90']}",
            highlight=False,
            soft_wrap=True,
        )


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


def _refusals(notes: tuple[str, ...], to_err: bool = False) -> None:
    from computeledger.cli.common import err

    for note in notes:
        (err if to_err else console).print(escape(note), highlight=False, soft_wrap=True)


scenario_app = typer.Typer(help="Driver-based scenarios, run by seeded Monte Carlo.", no_args_is_help=True)


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
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.scenario(lg, [path] if path else None, basis, contracts, rules_version)
    _render_scenario(got, fmt)


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
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.scenario(lg, [first, second], basis, contracts, rules_version)
    _render_scenario(got, fmt)


def _render_scenario(got, fmt: str) -> None:
    """Each run's first months as rows; its runway (the trend method) below the table."""
    from computeledger.forecast.cash import trend_runway

    if fmt != "table":
        output.render(got.table, fmt, console)
        return
    for note in got.notes:
        console.print(escape(note), highlight=False, soft_wrap=True)
    console.print(output.to_rich(output.for_screen(got.table, {}), got.title))
    for res, _ in got.detail:
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
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.anomalies(lg, by=by, grain=grain, basis=basis, level=level, rules_version=rules_version)
    table = output.for_screen(got.table, {"ratio": 3}) if fmt == "table" else got.table
    output.render(table, fmt, console, got.title)


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
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.budgets(lg, path, contracts, rules_version)
    table = output.for_screen(got.table, {"overrun_probability": 4}) if fmt == "table" else got.table
    output.render(table, fmt, console, got.title)


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command()(forecast)
    app.command()(anomalies)
    app.command()(budgets)
    app.add_typer(scenario_app, name="scenario")
