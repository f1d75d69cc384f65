"""The report command: one self-contained HTML page with charts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger.cli.accounting import ContractsOpt, RulesVersionOpt
from computeledger.cli.common import LedgerOpt, console, contracts_of, opened


def report(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="The HTML file to write")] = Path("report.html"),
    start: Annotated[str | None, typer.Option("--from", help="First month (2025-01)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month (2025-06)")] = None,
    basis: Annotated[str, typer.Option("--basis", help="billed or effective (spend charts)")] = "effective",
    figures: Annotated[Path | None, typer.Option("--figures", help="A figures file to set beside")] = None,
    mapping: Annotated[
        list[str] | None, typer.Option("--map", help="MODEL=CATALOGUE for bills against physics")
    ] = None,
    concurrency: Annotated[
        list[str] | None,
        typer.Option(help="With --map: requests in flight per replica, N or MODEL=N (repeatable)"),
    ] = None,
    images: Annotated[
        Path | None, typer.Option("--images", help="Also write every chart as SVG here")
    ] = None,
    horizon: Annotated[int, typer.Option("--horizon", help="Forecast months")] = 12,
    contracts: ContractsOpt = None,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace an existing --out that is not an earlier report")
    ] = False,
) -> None:
    """Write one HTML page that works offline: spend, data quality, unit economics, the three
    bases, burn and runway, forecasts, bills against physics, reported figures."""
    contracts = contracts_of(ctx, contracts)
    from computeledger.accounting.periods import parse
    from computeledger.capacity.compare import parse_concurrency, parse_map
    from computeledger.report import write_report
    from computeledger.report.options import Options

    if basis not in ("billed", "effective"):
        raise typer.BadParameter("billed or effective", param_hint="--basis")
    first = parse(start)[0] if start else None
    last = parse(end)[1] if end else None
    catalogue = parse_map(mapping or [])
    opts = Options(
        first,
        last,
        basis,
        rules_version,
        str(contracts) if contracts else None,
        str(figures) if figures else None,
        catalogue,
        horizon,
        parse_concurrency(concurrency or [], catalogue),
    )
    with opened(ctx, ledger, read_only=True) as lg:
        got = write_report(lg, out, opts, images, force)
    console.print(
        f"wrote {escape(got['out'])}: {got['charts']} charts, {got['bytes'] / 1e6:.1f} MB; "
        "open it in a browser",
        highlight=False,
        soft_wrap=True,
    )
    for key, why in got["unknown"].items():
        console.print(f"  {key}: unknown: {escape(why)}", highlight=False, soft_wrap=True)
    if got["images"]:
        console.print(f"  {len(got['images'])} images under {escape(str(images))}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add this command to the application."""
    app.command()(report)
