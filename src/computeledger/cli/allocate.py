"""Attribution commands: allocate, coverage, explain."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, opened


def allocate(
    ctx: typer.Context,
    rules: Annotated[Path, typer.Option("--rules", help="Allocation rules (TOML)")],
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Place every charge: workload, model, team, environment (and the rules' own dimensions),
    shared costs split by a driver; then show what each rule placed."""
    from computeledger.allocate.rules import load_rules

    check_format(fmt)
    parsed = load_rules(rules)  # a bad rules file fails before the ledger is touched
    with opened(ctx, ledger) as lg:
        with console.status("allocating"):
            run = lg.allocate(parsed.path)
        if fmt == "table":
            console.print(
                f"rules version {run.version}: {run.charges:,} charges placed in {run.parts:,} parts "
                f"({run.split_charges:,} charges split over targets)"
            )
        render_coverage(lg, None, "workload", fmt)


def render_coverage(lg, version: str | None, dimension: str, fmt: str) -> None:
    """Per rule, what it placed; on screen also the unallocated share and largest resources."""
    from computeledger import app
    from computeledger.allocate.report import NO_RULE

    got = app.coverage(lg, version, dimension)
    table, largest = got.table, got.detail
    if fmt != "table":
        output.render(table, fmt, console)
        return
    console.print(output.to_rich(table.drop(["effective_total"]), title=escape(got.title)))
    rows = table.to_pylist()
    total = rows[0]["effective_total"] if rows else None
    left = sum(r["EffectiveCost"] or 0 for r in rows if r["rule"] == NO_RULE)
    if total:
        share = (left / total * 100).quantize(Decimal("0.01"))
        console.print(
            f"unallocated: {output.decimal_text(Decimal(left))} of {output.decimal_text(total)} "
            f"effective cost ({share}%)",
            highlight=False,
        )
    if dimension == "workload" and largest.num_rows:
        console.print(output.to_rich(largest, title="Largest unallocated resources"))


def coverage(
    ctx: typer.Context,
    dimension: Annotated[str, typer.Option(help="The dimension to report on")] = "workload",
    rules_version: Annotated[str | None, typer.Option("--rules-version")] = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Per rule, the cost it placed (billed, effective) and the share left unallocated."""
    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        render_coverage(lg, rules_version, dimension, fmt)


def explain(
    ctx: typer.Context,
    charge: Annotated[int, typer.Argument(help="A charge's x_charge_id")],
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rules to try [default: the latest run's]")
    ] = None,
    ledger: LedgerOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """Which rule placed a charge, and why: every rule tried in order, and the charge's parts."""
    from computeledger.allocate.report import explain as why
    from computeledger.allocate.rules import load_rules

    with opened(ctx, ledger, read_only=True) as lg:
        got = why(lg, charge, load_rules(rules) if rules else None)
    if fmt == "json":
        console.out(json.dumps(got.__dict__, default=output.cell_text), highlight=False)
        return
    console.print(
        escape(" ".join(f"{k}={output.cell_text(v)}" for k, v in got.charge.items() if v is not None)),
        highlight=False,
    )
    for r in got.rules:
        mark = "[green]matched[/green]" if r["matched"] else "[dim]no match[/dim]"
        sets = ", ".join(f"{d}={v if v is not None else '(nothing)'}" for d, v in r["sets"].items())
        console.print(f"  {mark:<24} {escape(r['rule'])}: sets {escape(sets)}", highlight=False)
    for dim, (value, rule) in got.placed.items():
        by = "by " + rule if rule else "no rule set it"
        console.print(escape(f"  {dim} = {value}  ({by})"), highlight=False)
    if got.parts:
        title = f"Parts (split: {escape(got.split)})" if got.split else "Allocation"
        console.print(output.to_rich(pa.Table.from_pylist(got.parts), title=title))


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command()(allocate)
    app.command()(coverage)
    app.command()(explain)
