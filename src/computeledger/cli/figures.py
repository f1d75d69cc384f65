"""`computeledger figures ...`: reported figures as intervals, and against the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, opened

app = typer.Typer(
    help="Reported figures: what they imply, what contradicts what, where they head.",
    no_args_is_help=True,
)

_SECTIONS = {
    "figures": "Figures (as intervals: rounding, and the widening of disputed and estimated ones)",
    "implied": "What they imply (reported and derived quantities, with sources)",
    "contradictions": "Contradictions (figures that cannot all hold, and the gap)",
    "annualised": "Run-rates (a part of a year brought to the whole year)",
    "claims": "Claims",
    "projections": "Projections",
    "fleet": "The fleet each compute cost implies (GPU-hours and average GPUs, estimated)",
    "bounds": "Bounds (a part is at most its whole, a whole at least its part)",
}


@app.command("check")
def figures_check(
    path: Annotated[Path, typer.Argument(help="Figures file: CSV or YAML")],
    fmt: FormatOpt = "table",
    section: Annotated[str | None, typer.Option(help="Only this section (csv: required)")] = None,
    fleet_gpu: Annotated[
        str | None, typer.Option("--fleet-gpu", help="Add the fleet each compute cost implies on this GPU")
    ] = None,
    price: Annotated[str | None, typer.Option(help="With --fleet-gpu: dollars per GPU-hour, 2..4")] = None,
    mix: Annotated[
        str | None, typer.Option(help="With --fleet-gpu: the model mix by output tokens (A=0.7,B=0.3)")
    ] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="With --mix: requests in flight per replica (the point it is served at)"),
    ] = None,
    metrics: Annotated[
        Path | None, typer.Option("--metrics", help="YAML list of your own metrics (name, kind, part_of)")
    ] = None,
) -> None:
    """Derived figures with intervals and sources, contradictions, claims, projections (bounds: --section)."""
    from computeledger import app as application

    check_format(fmt)
    if fmt == "csv" and section is None:
        raise typer.BadParameter("--format csv writes one table: add --section (e.g. implied)")
    ask = application.FiguresAsk(path, section, fleet_gpu, price, mix, concurrency, metrics)
    got = application.figures_check(ask, human=fmt == "table")
    if fmt == "json":
        console.out(got.json(), highlight=False)
        return
    if fmt == "table":
        for note in got.notes:
            console.print(escape(note), highlight=False)
    for name, table in got.detail.items():
        if fmt == "csv":
            console.out(output.to_csv(table), end="", highlight=False)
        elif table.num_rows:
            console.print(output.to_rich(table, title=_SECTIONS[name], unknown=""))
        else:
            console.print(f"[bold]{_SECTIONS[name]}[/bold]: none")


@app.command("compare")
def figures_compare(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Figures file: CSV or YAML")],
    ledger: LedgerOpt = None,
    basis: Annotated[str, typer.Option(help="BilledCost or EffectiveCost")] = "BilledCost",
    entity: Annotated[
        str | None, typer.Option("--entity", help="Whose bills the ledger holds (others are not judged)")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Reported cost figures against the same quantities computed from the ledger."""
    from computeledger import app as application

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = application.figures_compare(lg, path, basis, entity, human=fmt == "table")
    if fmt == "json":
        console.out(got.json(), highlight=False)
        return
    output.render(got.table, fmt, console, title=got.title, unknown="")
    if fmt == "table":
        for note in got.notes:
            console.print(note, highlight=False)
