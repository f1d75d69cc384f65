"""`computeledger synth`: a synthetic AI lab's bills and their ground truth."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from computeledger.cli.common import console, progress
from computeledger.shipped import INVOICE_MAPPING


def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the bills and the truth into")],
    months: Annotated[int, typer.Option(help="Billing months to generate")] = 24,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM")] = "2024-01",
    scale: Annotated[str, typer.Option(help="small, medium, large, or a factor")] = "small",
    seed: Annotated[int, typer.Option(min=0, help="Same seed, same bytes")] = 7,
    config: Annotated[Path | None, typer.Option(help="Company TOML (default: the shipped one)")] = None,
    force: Annotated[bool, typer.Option("--force", help="Write into a folder that is not empty")] = False,
) -> None:
    """Generate a synthetic AI lab's cloud bills (FOCUS) and their ground truth."""
    from computeledger.errors import UsageError
    from computeledger.synth import generate

    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not force:
        raise UsageError(f"{out}: exists and is not an empty folder; choose another --out, or --force")

    with progress() as bar:
        task = bar.add_task("synth", total=None)

        def on_file(path: Path, rows: int) -> None:
            bar.update(
                task, description=f"synth {escape(path.parent.name)}/{escape(path.name)}: {rows:,} rows"
            )

        result = generate(out, months=months, start=start, scale=scale, seed=seed, config=config,
                          on_file=on_file)  # fmt: skip
    o = escape(str(out))
    console.print(
        f"wrote {result['rows']:,} charge rows: {result['focus_files']} FOCUS files under {o}/focus, "
        f"{result['invoice_files']} GPU-cloud invoices under {o}/invoices (ingest them with --mapping "
        f"{escape(str(INVOICE_MAPPING))}), {result['preliminary_files']} mid-month exports of the open "
        f"month under {o}/preliminary (ingest them first: the final exports restate them); token usage "
        f"under {o}/usage (OpenAI JSONL, OpenTelemetry JSON), sales under {o}/revenue, cash under "
        f"{o}/finance; ground truth in {o}/truth (costs, tokens, revenue, cash)",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command()(synth)
