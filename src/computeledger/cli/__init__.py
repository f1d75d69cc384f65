"""The command line: thin commands over the library, one module per capability.

Each command parses its options, calls the library by keyword and renders what it
returns; errors the user can act on end every command the same way (`common.Group`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from computeledger.cli import (
    accounting,
    allocate,
    capacity,
    demo,
    economics,
    figures,
    forecast,
    ledger,
    report,
    serve,
    synth,
    usage,
)
from computeledger.cli.common import Group
from computeledger.ledger import BACKENDS

app = typer.Typer(
    cls=Group,
    help="computeledger: an exact, auditable ledger for the economics of AI compute.",
    no_args_is_help=True,
    add_completion=False,
)


def _version(value: bool) -> None:
    """`--version`: the installed package's version."""
    if value:
        from importlib.metadata import version

        typer.echo(f"computeledger {version('computeledger')}")
        raise typer.Exit()


@app.callback()
def _options(
    ctx: typer.Context,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help=f"{' or '.join(BACKENDS)}: duckdb keeps a ledger file, spark a ledger folder of Parquet "
            "tables [default: $COMPUTELEDGER_BACKEND, ./computeledger.toml, duckdb]",
        ),
    ] = None,
    exact: Annotated[
        bool, typer.Option("--exact", help="Tables show every digit (csv and json always do)")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", is_eager=True, callback=_version, help="Print the version and exit"),
    ] = False,
) -> None:
    """computeledger: an exact, auditable ledger for the economics of AI compute."""
    from computeledger import output

    output.SCREEN["exact"] = exact
    if backend is not None and backend not in BACKENDS:
        raise typer.BadParameter(f"{backend!r}: use one of {', '.join(BACKENDS)}", param_hint="--backend")
    ctx.obj = {"backend": backend}


for _module in (ledger, usage, allocate, economics, accounting, forecast, report, serve, synth, demo):
    _module.register(app)
app.add_typer(figures.app, name="figures")
app.add_typer(capacity.app, name="capacity")


def main() -> None:  # pragma: no cover
    """The console script."""
    app()
