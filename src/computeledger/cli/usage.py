"""`computeledger ingest-usage`: token telemetry into the ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from computeledger import output
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, opened, settings


def ingest_usage(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="Usage files or folders: .jsonl, .json (OTLP; OpenAI, Anthropic usage API), csv"),
    ],
    input_format: Annotated[
        str | None,
        typer.Option(
            "--input-format",
            help="The files' format where their content does not tell it: "
            "openai-usage, otel-spans, usage-csv, openai-usage-api, anthropic-usage",
        ),
    ] = None,
    ledger: LedgerOpt = None,
    otel_customer: Annotated[
        str | None, typer.Option("--otel-customer", help="Span attribute with the customer [lab.customer]")
    ] = None,
    otel_channel: Annotated[
        str | None, typer.Option("--otel-channel", help="Span attribute with the channel [lab.channel]")
    ] = None,
    otel_requests: Annotated[
        str | None, typer.Option("--otel-requests", help="Span attribute with the request count [1 a span]")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Load token usage: OpenAI-style usage records (JSONL), OpenTelemetry GenAI spans (OTLP
    JSON, gzip, one export a line), OpenAI's organization Usage API and Anthropic's usage
    report as the APIs return them, or a usage CSV (period_start, model, customer, channel,
    token columns)."""
    check_format(fmt)
    names = {"customer": otel_customer, "channel": otel_channel, "requests": otel_requests}
    with opened(ctx, ledger) as lg:
        given = settings(ctx).usage | {k: v for k, v in names.items() if v}  # a flag wins over the config
        results = lg.ingest_usage(paths, attributes=given, fmt=input_format)
    table = pa.Table.from_pylist(
        [{"path": r.path, "format": r.format, "status": r.status, "rows_loaded": r.rows_loaded,
          "rows_quarantined": r.rows_quarantined, "message": r.message or "; ".join(r.reasons)}
         for r in results],
        schema=pa.schema([("path", pa.string()), ("format", pa.string()), ("status", pa.string()),
                          ("rows_loaded", pa.int64()), ("rows_quarantined", pa.int64()),
                          ("message", pa.string())]),
    )  # fmt: skip
    output.render(table, fmt, console, title="Usage files", unknown="")
    if any(r.status == "refused" for r in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command("ingest-usage")(ingest_usage)
