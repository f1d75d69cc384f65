"""What every command shares: the consoles, common options, and how errors end a command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console

from computeledger import output
from computeledger.errors import ComputeLedgerError
from computeledger.ledger import ENV_PATH, Ledger, default_path, open_ledger

console = Console(width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True)

LedgerOpt = Annotated[
    str | None,
    typer.Option("--ledger", envvar=ENV_PATH, help="Ledger file [default: ./computeledger.duckdb]"),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]


def check_format(fmt: str) -> str:
    if fmt not in output.FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use one of {', '.join(output.FORMATS)}")
    return fmt


def fail(exc: ComputeLedgerError) -> None:
    err.print(f"[bold red]error:[/bold red] {exc}", highlight=False)
    raise typer.Exit(2)


#: The backend `--backend` chose for this invocation (None: environment, config, DuckDB).
BACKEND: dict[str, str | None] = {"name": None}


@contextmanager
def opened(ledger: str | None, *, read_only: bool = False) -> Iterator[Ledger]:
    """The ledger a command works on; its errors end the command with a message, exit 2."""
    try:
        with open_ledger(ledger or default_path(), read_only=read_only, backend=BACKEND["name"]) as lg:
            yield lg
    except ComputeLedgerError as exc:
        fail(exc)
