"""Unit economics commands: ingest-revenue, unit-costs, margin."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.accounting import ContractsOpt
from computeledger.cli.common import (
    FormatOpt,
    LedgerOpt,
    check_format,
    console,
    contracts_of,
    opened,
    render_files,
)
from computeledger.errors import UsageError

BasisOpt = Annotated[
    str, typer.Option("--basis", help="effective (charge month), billed (billing month) or cash (when paid)")
]
RulesVersionOpt = Annotated[
    str | None, typer.Option("--rules-version", help="Allocation to read [default: the latest]")
]
_RATIOS = {c: 6 for c in ("cost_per_million_tokens", "cost_per_million_input_tokens",
                          "cost_per_million_output_tokens", "gpu_hours_per_million_tokens",
                          "revenue_per_million_tokens", "margin_per_million_tokens",
                          "coverage_cost_with_tokens", "coverage_tokens_with_cost",
                          "coverage_revenue_with_tokens", "cost_per_million_billed_tokens")}  # fmt: skip


def ingest_revenue(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Invoices, payments or revenue-share CSV files or folders")
    ],
    ledger: LedgerOpt = None,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML mapping (kind = invoices|payments|revenue_share)")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Load customer invoices, payments and partners' revenue-share statements."""
    from computeledger.economics.revenue import unmatched_payments
    from computeledger.ingest.revenue import ingest_revenue as run
    from computeledger.ingest.revenue import load_revenue_mapping

    check_format(fmt)
    parsed = load_revenue_mapping(mapping) if mapping else None
    with opened(ctx, ledger) as lg:
        results = run(lg.store, paths, parsed)
        unmatched = unmatched_payments(lg)
    render_files(results, fmt, "Revenue files")
    if fmt == "table" and unmatched:
        ids = ", ".join(p["payment_id"] for p in unmatched[:5])
        console.print(
            f"{len(unmatched)} payment(s) match no invoice in the ledger (kept): {escape(ids)}",
            highlight=False,
        )
    if any(r.status == "refused" for r in results):
        raise typer.Exit(1)


def unit_costs(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="model, customer, channel, provider, month, quarter")
    ] = "model,month",
    basis: BasisOpt = "effective",
    cost: Annotated[str, typer.Option("--cost", help="loaded (with shared costs) or direct")] = "loaded",
    output_weight: Annotated[
        str | None,
        typer.Option(
            "--output-weight", help="Cost of an output token in input tokens [default: list-price ratio]"
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="LEDGER_MODEL=CATALOGUE_MODEL: split input/output by the capacity model"),
    ] = None,
    rules_version: RulesVersionOpt = None,
    contracts: ContractsOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Cost per million tokens (all, input, output) and GPU-hours per million tokens, labelled."""
    contracts = contracts_of(ctx, contracts)
    from computeledger import app
    from computeledger.capacity.compare import parse_map

    check_format(fmt)
    weight = app.positive_decimal(output_weight, "--output-weight")
    catalogue = parse_map(map_ or [])
    with opened(ctx, ledger, read_only=True) as lg:
        answer = app.unit_costs(lg, by, basis=basis, cost=cost, output_weight=weight, catalogue=catalogue,
                                rules_version=rules_version, contracts=contracts)  # fmt: skip
    got, table = answer.detail, answer.table
    if not got.rows and fmt == "table":
        raise UsageError("no unit costs: the ledger holds no inference cost or no token usage for them "
                         "(ingest bills and usage, then allocate)")  # fmt: skip
    if fmt != "table":
        output.render(table, fmt, console)
        return
    shown = [*got.dimensions, "input_tokens", "output_tokens", "inference_cost", "cost_per_million_tokens",
             "cost_per_million_input_tokens", "cost_per_million_output_tokens",
             "gpu_hours_per_million_tokens", "provenance", "coverage_cost_with_tokens"]  # fmt: skip
    if any(r.get("cost_per_million_billed_tokens") is not None for r in got.rows):
        shown += ["billed_input_tokens", "billed_output_tokens", "cost_per_million_billed_tokens"]
    table = output.for_screen(table.select(shown), _RATIOS)
    console.print(output.to_rich(table, title=escape(answer.title)))
    _gaps(got.gaps)


def margin(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="model, customer or channel, with month or quarter")
    ] = "model,month",
    basis: BasisOpt = "effective",
    cost: Annotated[str, typer.Option("--cost", help="loaded (with shared costs) or direct")] = "loaded",
    unattributed: Annotated[
        bool,
        typer.Option(
            "--unattributed",
            help="Keep subscription revenue under no model (not spread over models by tokens)",
        ),
    ] = False,
    rules_version: RulesVersionOpt = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Revenue, revenue share, inference cost, gross margin and margin %, per million tokens too.
    Subscription revenue (no model) is attributed to the models by tokens, labelled estimated."""
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.margin(
            lg, by, basis=basis, cost=cost, rules_version=rules_version, attribute=not unattributed
        )
    if fmt != "table":
        output.render(got.table, fmt, console)
        return
    shown = output.for_screen(got.table, _RATIOS | {"margin_pct": 2})
    console.print(output.to_rich(shown, title=escape(got.title)))
    _gaps(got.detail.gaps)


def _gaps(gaps: list[dict[str, Any]]) -> None:
    if not gaps:
        return
    console.print(f"{len(gaps)} gap(s): figures unknown, not 0")
    shown = [{k: v for k, v in g.items() if v is not None} for g in gaps[:10]]
    for g in shown:
        console.print(
            "  " + escape(", ".join(f"{k}={output.cell_text(v)}" for k, v in g.items())), highlight=False
        )
    if len(gaps) > 10:
        console.print(f"  ... and {len(gaps) - 10} more (all of them: the `.gaps` of the Python API result)")


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command("ingest-revenue")(ingest_revenue)
    app.command("unit-costs")(unit_costs)
    app.command()(margin)
