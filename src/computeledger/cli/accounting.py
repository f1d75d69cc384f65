"""Accounting commands: ingest-cash, statement (and its bridge), commitments, credits,
revenue-share."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.common import (
    FormatOpt,
    LedgerOpt,
    check_format,
    console,
    contracts_of,
    opened,
    render_files,
)

ContractsOpt = Annotated[
    Path | None,
    typer.Option(
        "--contracts",
        help="Contracts TOML: payment terms, commitments, credit grants, revenue share "
        "[default: [accounting] contracts of ./computeledger.toml]",
    ),
]
RulesVersionOpt = Annotated[
    str | None, typer.Option("--rules-version", help="Allocation to read [default: the latest]")
]


def ingest_cash(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="Bank statement or funding CSV files or folders")],
    ledger: LedgerOpt = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML mapping (kind = bank|funding)")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Load bank statements (date, counterparty, kind, reference, amount, currency) and funding rounds."""
    from computeledger.ingest.cash import ingest_cash as run
    from computeledger.ingest.cash import load_cash_mapping

    check_format(fmt)
    parsed = load_cash_mapping(mapping) if mapping else None
    with opened(ctx, ledger) as lg:
        results = run(lg.store, paths, parsed)
    render_files(results, fmt, "Cash files")
    if any(r.status == "refused" for r in results):
        raise typer.Exit(1)


def statement(
    ctx: typer.Context,
    period: Annotated[
        str, typer.Option("--period", help="month, quarter or year; or one period: 2025, 2025-Q3, 2025-07")
    ] = "quarter",
    basis: Annotated[
        str, typer.Option("--basis", help="billed, effective, cash, or several: billed,effective,cash (all)")
    ] = "all",
    start: Annotated[str | None, typer.Option("--from", help="First period (2025, 2025-Q1, 2025-01)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last period")] = None,
    bridge: Annotated[
        bool, typer.Option("--bridge", help="From billed to effective to cash for --period (one period)")
    ] = False,
    contracts: ContractsOpt = None,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Revenue, revenue share, compute by workload, gross margin, burn, cash and runway, per basis."""
    contracts = contracts_of(ctx, contracts)
    from computeledger import app
    from computeledger.accounting.periods import GRAINS

    check_format(fmt)
    if bridge and period in GRAINS:
        raise typer.BadParameter("--bridge needs one period: 2025-Q3, 2025-07 or 2025", param_hint="--period")
    with opened(ctx, ledger, read_only=True) as lg:
        if bridge:
            got = app.bridge(lg, period, contracts, rules_version)
        else:
            got = app.statement(
                lg, period, basis, start, end, contracts, rules_version, runways=fmt == "table"
            )
    if bridge:
        render_bridge(got.detail[0], fmt, got.detail[1])
        return
    if fmt != "table":
        output.render(got.table, fmt, console)
        return
    render_statement(got.detail[0])
    render_runways(got.detail[1])


def render_runways(found) -> None:
    """Both runways as of the ledger's last month, each named by its method (trend first)."""
    for r in found:
        console.print(f"runway {r.method}, as of {r.as_of or 'unknown'}: {escape(r.text)}", highlight=False,
                      soft_wrap=True)  # fmt: skip


LABELS = {"runway_months": "runway months (trailing 3 months' net cash burn)",
          "runway": "runway (trailing 3 months' net cash burn)"}  # fmt: skip


def render_statement(got) -> None:
    """The statement as a table: its lines down, each period and basis across; then its notes."""
    from rich.table import Table

    from computeledger.accounting.statement import LINES, MONEY_LINES

    heads = [f"{r['period']} {r['basis']}" for r in got.rows]
    t = Table(title=f"Statement ({got.currency or 'no currency'}; every digit: --format csv)")
    t.add_column("line")
    for h in heads:
        t.add_column(escape(h), justify="right")
    for line in LINES:
        cells = []
        for r in got.rows:
            v = r[line]
            if v is None:
                cells.append("[dim]unknown[/dim]")
            elif line == "gross_margin":
                cells.append(f"{(v * 100).quantize(Decimal('0.1'))}%")
            elif line == "runway_months":
                cells.append(str(v))
            elif line in MONEY_LINES:
                cells.append(f"{v.quantize(Decimal('0.01')):,}")
            else:
                cells.append(escape(str(v)))
        t.add_row(LABELS.get(line, line.replace("_", " ")), *cells)
    console.print(t)
    for note in got.notes:
        console.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
    for ln in got.unmatched[:5]:
        console.print(
            f"  unmatched: {ln['date']} {escape(str(ln['counterparty']))} {escape(str(ln['reference']))} "
            f"{output.cell_text(ln['amount'])} ({escape(ln['source_file'])}:{ln['source_line']})",
            highlight=False,
            soft_wrap=True,
        )
    for b in got.overpaid[:5]:
        console.print(
            f"  overpaid: {escape(b['provider'])} {b['billing_month']}: billed "
            f"{output.cell_text(b['billed'])}, paid {output.cell_text(b['paid'])}",
            highlight=False,
        )


def render_bridge(rows: list[dict], fmt: str, currency: str | None) -> None:
    """The bridge from billed to effective to cash, totals in bold."""
    table = output.from_rows(rows, ["period", "step", "amount", "kind", "estimated"])
    if fmt != "table":
        output.render(table, fmt, console)
        return
    from rich.table import Table

    t = Table(title=f"Bridge {escape(rows[0]['period'])} ({currency or 'no currency'})")
    t.add_column("step")
    t.add_column("amount", justify="right")
    for r in rows:
        text = f"{r['amount'].quantize(Decimal('0.01')):,}"
        name = escape(r["step"])
        if r["kind"] == "total":
            text, name = f"[bold]{text}[/bold]", f"[bold]{name}[/bold]"
        t.add_row(name, text)
    console.print(t)
    est = rows[-1]["estimated"]
    if est:
        console.print(
            f"of the cash, {output.cell_text(est.quantize(Decimal('0.01')))} is estimated "
            "(bills no bank line shows paid, placed on their payment terms)",
            highlight=False,
        )


def commitments(
    ctx: typer.Context,
    schedule: Annotated[bool, typer.Option("--schedule", help="One row per commitment and month")] = False,
    contracts: ContractsOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Every commitment: purchase, amortization, used and unused, utilization, remaining balance."""
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.commitments(lg, schedule, contracts)
    output.render(got.table, fmt, console, title=got.title)


def credits(
    ctx: typer.Context,
    by_month: Annotated[bool, typer.Option("--by-month", help="One row per grant and month")] = False,
    contracts: ContractsOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Credit grants: consumed per month, remaining, projected exhaustion at the trailing rate."""
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.credits(lg, by_month, contracts)
    output.render(got.table, fmt, console, title=got.title)


def revenue_share(
    ctx: typer.Context,
    contracts: ContractsOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """What each revenue-share agreement makes payable, against the partner's statements."""
    contracts = contracts_of(ctx, contracts)
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.revenue_share(lg, contracts)
    output.render(got.table, fmt, console, title=got.title)
    if fmt == "table":
        for note in got.notes:
            console.print(escape(note), highlight=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command("ingest-cash")(ingest_cash)
    app.command()(statement)
    app.command()(commitments)
    app.command()(credits)
    app.command("revenue-share")(revenue_share)
