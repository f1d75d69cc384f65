"""What every command shares: the consoles, common options, the one error handler, and
the ledger a command opens (its backend from the root command's `--backend`)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from typer.core import TyperGroup

from computeledger import config, output
from computeledger.config import Settings
from computeledger.errors import ComputeLedgerError, engine_limit
from computeledger.ledger import ENV_PATH, Ledger, open_ledger

#: On a terminal (or with COLUMNS set) Rich takes its width; piped, tables get 240 columns.
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 240)
err = Console(stderr=True)

LedgerOpt = Annotated[
    str | None,
    typer.Option("--ledger", envvar=ENV_PATH, help="Ledger file [default: ./computeledger.duckdb]"),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]


class Group(TyperGroup):
    """A command group whose commands end on a ComputeLedgerError with one line on
    stderr and exit 2: the one error path of every command."""

    def invoke(self, ctx: typer.Context):
        try:
            return super().invoke(ctx)
        except ComputeLedgerError as exc:
            err.print(f"[bold red]error:[/bold red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except Exception as exc:
            why = engine_limit(exc)
            if why is None:
                raise
            first = str(exc).strip().splitlines()[0]
            err.print(f"[bold red]error:[/bold red] {why}: {escape(first)}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None


def check_format(fmt: str) -> str:
    """The output format, or a usage error naming the choices."""
    if fmt not in output.FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use one of {', '.join(output.FORMATS)}")
    return fmt


def backend(ctx: typer.Context) -> str | None:
    """The backend `--backend` chose for this invocation (None: environment, config, DuckDB)."""
    return (ctx.find_root().obj or {}).get("backend")


def settings(ctx: typer.Context) -> Settings:
    """This invocation's settings: `--backend`, the environment and ./computeledger.toml,
    resolved once (on first use) and passed down from here."""
    root = ctx.find_root()
    root.obj = root.obj or {}
    if root.obj.get("settings") is None:
        root.obj["settings"] = config.load(root.obj.get("backend"))
    found: Settings = root.obj["settings"]
    return found


def contracts_of(ctx: typer.Context, given: Path | None) -> Path | None:
    """The contracts file: `--contracts`, else the one ./computeledger.toml names."""
    return given if given is not None else settings(ctx).contracts


@contextmanager
def opened(ctx: typer.Context, ledger: str | None, *, read_only: bool = False) -> Iterator[Ledger]:
    """The ledger a command works on: `--ledger`, else the settings' (on their backend)."""
    with open_ledger(ledger, read_only=read_only, settings=settings(ctx)) as lg:
        yield lg


def render_files(results: list, fmt: str, title: str) -> None:
    """What each document file did (revenue, cash): a table, then its first quarantine
    reasons on screen."""
    columns = ["path", "status", "format", "rows_read", "rows_loaded", "rows_quarantined", "message"]
    table = output.from_rows([{k: r.to_dict()[k] for k in columns} for r in results], columns)
    output.render(table, fmt, console, title=title, unknown="")
    if fmt == "table":
        for r in results:
            for reason in r.reasons[:5]:
                console.print(
                    f"  {escape(r.path)}: quarantine: {escape(reason)}", highlight=False, soft_wrap=True
                )


def progress() -> Progress:
    """A progress bar on stderr, shown only on a terminal."""
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,  # plain output when not on a terminal
        transient=True,
    )


def _quiet_types() -> None:
    """Help shows a value's kind only where it tells something (<path>, <int>, choices):
    Typer's <bool> beside a flag and <str> beside text are noise to a reader."""
    from typer import core

    for cls in (core.TyperOption, core.TyperArgument):
        shown = getattr(cls, "display_type_rich", None)
        if shown is None or getattr(shown, "_quiet", False):
            continue

        def quiet(self, ctx, _shown=shown):
            label = _shown(self, ctx)
            return None if label in ("<bool>", "<str>", "<list[str]>") else label

        quiet._quiet = True  # type: ignore[attr-defined]
        cls.display_type_rich = quiet


_quiet_types()
