"""`computeledger demo`: real bills, then a synthetic lab, each into a fresh ledger."""

from __future__ import annotations

import tempfile
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from computeledger import output
from computeledger.cli.allocate import render_coverage
from computeledger.cli.common import console, progress
from computeledger.cli.ledger import ingest_line, render_summary
from computeledger.ledger import open_ledger
from computeledger.shipped import FOCUS_SAMPLE, SYNTH_RULES


def demo(
    ledger: Annotated[
        str | None, typer.Option("--ledger", help="Keep the demo ledgers in this folder [default: temporary]")
    ] = None,
    months: Annotated[int, typer.Option(min=1, help="Months of the synthetic lab")] = 12,
    report: Annotated[Path, typer.Option("--report", help="Where the lab's HTML report is written")] = Path(
        "computeledger-demo-report.html"
    ),
) -> None:
    """Real bills, then a synthetic AI lab: ingested into fresh ledgers and summarised."""
    from computeledger import app
    from computeledger.accounting.periods import add_months, label
    from computeledger.cli.accounting import render_bridge, render_statement
    from computeledger.demo import build_lab, token_economics
    from computeledger.synth.company import load_company

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(ledger or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        console.rule("[bold]1. Real bills[/bold]: the FOCUS 1.0 sample (AWS, Microsoft, Oracle)")
        console.print("FOCUS Sample Data, FinOps Open Cost and Usage Specification project, CC BY 4.0")
        with open_ledger(folder / "sample.duckdb") as lg:
            [result] = lg.ingest([FOCUS_SAMPLE])
            console.print(ingest_line(result), highlight=False, soft_wrap=True)
            render_summary(lg, "provider", "table")
        console.rule(f"[bold]2. A synthetic AI lab[/bold]: {months} months of GPU bills on five clouds")
        with progress() as bar:
            task = bar.add_task("generate and ingest", total=None)
            lab = build_lab(folder, months=months, on_file=lambda r: bar.advance(task))
        loaded = sum(r.rows_loaded for r in lab.final)
        quarantined = sum(r.rows_quarantined for r in lab.final)
        console.print(
            f"generated {lab.made['rows']:,} charges in {lab.made['files']} FOCUS files, and their truth"
        )
        console.print(f"{len(lab.final)} files: {loaded:,} rows loaded, {quarantined} quarantined")
        console.print(
            f"{len(lab.preliminary)} mid-month exports of the open month, restated by the final ones: "
            f"{lab.superseded} superseded"
        )
        with open_ledger(lab.ledger, read_only=True) as lg:
            render_summary(lg, "provider,month", "table")
            console.rule("[bold]3. Attribution[/bold]: every charge to a workload and a model")
            console.print(f"rules: {SYNTH_RULES.name} (tags, then naming conventions; shared costs split)")
            console.print(f"{lab.charges_placed:,} charges placed in {lab.parts:,} parts", highlight=False)
            render_summary(lg, "workload,provider", "table")
            render_summary(lg, "workload,model", "table")
            render_coverage(lg, None, "workload", "table")
            console.rule("[bold]4. What it should cost[/bold]: billed GPU-hours against tokens served")
            models = [m for m in load_company().models if m.architecture]
            mapping = {m.name: m.architecture for m in models}
            at = {m.name: m.concurrency for m in models if m.concurrency}
            table = pa.Table.from_pylist(app.capacity_compare(lg, mapping, concurrency=at).detail)
            console.print(
                output.to_rich(table, title="Bills against physics (computeledger capacity compare)")
            )
            console.rule("[bold]5. What a token costs and earns[/bold]: revenue, revenue share, margin")
            econ = output.from_rows(token_economics(lg))
            places = {"cost_per_million_tokens": 4, "revenue_per_million_tokens": 4}
            title = "Per model and month (computeledger unit-costs, computeledger margin)"
            console.print(output.to_rich(output.for_screen(econ, places), title=title))
            console.print(
                "subscription revenue (the app, which sells no one model) is attributed to the models by "
                "the app's tokens, labelled estimated (`margin --unattributed` keeps it apart)"
            )
            quarter = label(add_months(date(2024, 1, 1), max(0, months - 4)), "quarter")
            console.rule(
                f"[bold]6. Billed, effective, cash[/bold]: the statement of {quarter} and its bridge"
            )
            contracts = lab.bills / "finance" / "contracts.toml"
            shown = app.statement(lg, quarter, contracts=contracts).detail[0]
            render_statement(shown)
            steps, currency = app.bridge(lg, quarter, inputs=shown.inputs).detail
            render_bridge(steps, "table", currency)
            monthly, runways = app.statement(
                lg, "month", "cash", contracts=contracts, runways=True, inputs=shown.inputs
            ).detail
            closing = monthly.rows
            cash_truth = {
                t["month"]: Decimal(t["closing"]) for t in _truth_rows(lab.bills / "truth" / "cash.csv")
            }
            same = all(
                r["closing_cash"] == cash_truth[r["period"]] for r in closing if r["period"] in cash_truth
            )
            console.print(
                f"closing cash of {len(cash_truth)} months against the lab's bank truth: "
                + ("[green]equal[/green]" if same else "[red]DIFFERENT[/red]")
            )
            equal_cash = same
            _heading(lg, currency, runways)
            _report(lg, report, contracts)
        _serve_hint(ledger, folder / "lab.duckdb", lab.bills / "finance" / "contracts.toml")
        equal = lab.truth_total == lab.ledger_total
        verdict = "[green]equal[/green]" if equal else "[red]DIFFERENT[/red]"
        console.print(
            f"ledger total {output.decimal_text(lab.ledger_total)} vs the lab's ground truth "
            f"{output.decimal_text(lab.truth_total)}: {verdict}"
        )
    if not (equal and equal_cash):
        raise typer.Exit(1)


def _heading(lg, currency: str | None, runways: list) -> None:
    """7: a 12-month forecast of inference cost, with its backtest beside it, and the runway
    by both methods (the statement's: the same figures as the scenario and the report)."""
    from computeledger import app
    from computeledger.cli.accounting import render_runways

    console.rule("[bold]7. Where it is heading[/bold]: inference cost, 12 months ahead, and the runway")
    (fc,) = app.forecast(lg, app.ForecastAsk("inference", 12)).detail.forecasts
    if fc.refused:
        console.print(f"inference: no forecast: {fc.refused}")
    else:
        coverage = "no backtest" if fc.mase is None else (
            f"backtest MASE {fc.mase:.2f}, past coverage of its bands 80%: {fc.coverage_80:.0%}, "
            f"95%: {fc.coverage_95:.0%}"
        )  # fmt: skip
        console.print(f"model {fc.model} ({coverage})", highlight=False)
        bands = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")
        rows = [{"month": f"{p['period']:%Y-%m}"} | {k: p[k] for k in bands} for p in fc.points]
        table = output.for_screen(output.from_rows(rows, ["month", *bands]), {})
        console.print(output.to_rich(table, title=f"Inference cost forecast ({currency}; median and bands)"))
        for w in fc.warnings:
            console.print(f"  warning: {w}", highlight=False, soft_wrap=True)
    render_runways(runways)


def _report(lg, path: Path, contracts: Path) -> None:
    """8: the lab's story on one page that works offline."""
    from computeledger.report import write_report
    from computeledger.report.options import Options
    from computeledger.synth.company import load_company

    console.rule("[bold]8. The report[/bold]: one HTML page with charts")
    mapping = {m.name: m.architecture for m in load_company().models if m.architecture}
    got = write_report(lg, path, Options(contracts=str(contracts), catalogue=mapping))
    console.print(
        f"wrote {got['charts']} charts on one page ({got['bytes'] / 1e6:.1f} MB, works offline): "
        f"open {path.resolve()}",
        highlight=False,
        soft_wrap=True,
    )


def _serve_hint(kept: str | None, path: Path, contracts: Path) -> None:
    """How to explore the lab's ledger live (it outlives the demo only with --ledger)."""
    if kept is None:
        console.print("to explore the lab in a browser, keep its ledger: computeledger demo --ledger DIR, "
                      "then computeledger serve as it says", highlight=False, soft_wrap=True)  # fmt: skip
        return
    console.print(
        f"explore it in a browser: computeledger serve --ledger {path} --contracts {contracts}",
        highlight=False,
        soft_wrap=True,
    )


def _truth_rows(path: Path) -> list[dict]:
    import csv

    with path.open() as f:
        return list(csv.DictReader(f))


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command()(demo)
