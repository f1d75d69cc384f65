"""`computeledger capacity ...`: what compute should cost, bottom-up and top-down."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer

from computeledger import output
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, opened

app = typer.Typer(
    help="What compute should cost: throughput, fleets, spend to GPUs, bills against physics.",
    no_args_is_help=True,
)

CalibrationOpt = Annotated[
    Path | None, typer.Option("--calibration", help="Your calibration CSV (from `capacity calibrate`)")
]
PricesOpt = Annotated[
    Path | None, typer.Option("--prices", help="Your prices CSV, extending the catalogue's")
]


def _show(table: pa.Table, fmt: str, title: str) -> None:
    output.render(table, fmt, console, title=title, unknown="")


@app.command("throughput")
def throughput(
    model: Annotated[str, typer.Option(help="Catalogue model, e.g. Llama-3.3-70B")],
    gpu: Annotated[str, typer.Option(help="Catalogue GPU, e.g. 'H200 SXM'")],
    input_tokens: Annotated[float, typer.Option("--input", help="Input tokens per request")] = 1000,
    output_tokens: Annotated[float, typer.Option("--output", help="Output tokens per request")] = 500,
    cache_hit: Annotated[float, typer.Option(help="Share of input tokens served from a prefix cache")] = 0.0,
    precision: Annotated[str, typer.Option(help="bf16, fp8, fp4 or mxfp4")] = "fp8",
    tp: Annotated[
        int | None, typer.Option(help="Tensor parallel size [default: the cheapest that fits]")
    ] = None,
    ep: Annotated[int, typer.Option(help="Expert parallel size (MoE)")] = 1,
    pp: Annotated[int, typer.Option(help="Pipeline parallel size")] = 1,
    tpot_ms: Annotated[float | None, typer.Option(help="SLO: time per output token, ms")] = None,
    ttft_ms: Annotated[float | None, typer.Option(help="SLO: time to first token, ms")] = None,
    price: Annotated[str | None, typer.Option(help="Dollars per GPU-hour: 3.5 or 2..4")] = None,
    provider: Annotated[str | None, typer.Option(help="Price from this provider's catalogue rows")] = None,
    disaggregated: Annotated[bool, typer.Option(help="Prefill on GPUs of its own")] = False,
    concurrency: Annotated[
        int | None, typer.Option(help="Also the point with this many requests in flight")
    ] = None,
    engine: Annotated[
        str | None, typer.Option(help="Calibration engine: trtllm, sglang, vllm [default: per point]")
    ] = None,
    calibration: CalibrationOpt = None,
    prices: PricesOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Operating points (throughput-optimal, latency-bound, at a concurrency) and cost per
    million tokens."""
    from computeledger import app as application

    check_format(fmt)
    ask = application.ThroughputAsk(model, gpu, input_tokens, output_tokens, cache_hit, precision, tp, ep, pp,
                                    tpot_ms, ttft_ms, price, provider, disaggregated, concurrency, engine,
                                    calibration, prices)  # fmt: skip
    got = application.capacity_throughput(ask)
    output.render(got.table, fmt, console, title=got.title, unknown="")


@app.command("fleet")
def fleet(
    demand: Annotated[Path, typer.Argument(help="Demand file: YAML or CSV")],
    gpu: Annotated[str | None, typer.Option(help="What-if: search only this GPU")] = None,
    provider: Annotated[str | None, typer.Option(help="What-if: search only this provider")] = None,
    calibration: CalibrationOpt = None,
    prices: PricesOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """GPUs per model and cloud for a demand mix, monthly cost, and the cheapest configuration."""
    from computeledger import app as application

    check_format(fmt)
    got = application.capacity_fleet(demand, gpu, provider, calibration, prices)
    output.render(got.table, fmt, console, title=got.title, unknown="")


@app.command("invert")
def invert(
    spend: Annotated[str, typer.Argument(help="Spend: 8.7B, 3.5B..4B, $12 billion")],
    period: Annotated[str, typer.Option(help="2025-01..2025-09, 2025-Q1..2025-Q3, 2025")],
    gpu: Annotated[str, typer.Option(help="Catalogue GPU")] = "H100 SXM",
    price: Annotated[
        str | None, typer.Option(help="Dollars per GPU-hour: 2..4 [default: catalogue range]")
    ] = None,
    utilization: Annotated[str, typer.Option(help="Share of GPU-hours serving: 0.4..0.8")] = "0.4..0.8",
    mix: Annotated[str | None, typer.Option(help="Model mix by output tokens: A=0.7,B=0.3")] = None,
    input_tokens: Annotated[float, typer.Option("--input", help="Input tokens per request")] = 1000,
    output_tokens: Annotated[float, typer.Option("--output", help="Output tokens per request")] = 500,
    tokens: Annotated[str | None, typer.Option(help="Reported output tokens over the period")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(help="With --mix: requests in flight per replica (the point it is served at)"),
    ] = None,
    calibration: CalibrationOpt = None,
    prices: PricesOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """From a spend over a period to GPU-hours, average fleet and tokens, with a tornado."""
    from computeledger import app as application

    check_format(fmt)
    ask = application.InvertAsk(spend, period, gpu, price, utilization, mix, input_tokens, output_tokens,
                                tokens, concurrency, calibration, prices)  # fmt: skip
    got = application.capacity_invert(ask)
    if fmt == "json":
        console.out(json.dumps(got.document, default=output.cell_text, indent=1))
        return
    _show(got.table, fmt, got.title)
    if fmt == "table":
        title = "Tornado: each input over its range, the others at their midpoints"
        _show(output.from_rows(got.detail), fmt, title)


@app.command("compare")
def compare(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    map_: Annotated[
        list[str] | None, typer.Option("--map", help="LEDGER_MODEL=CATALOGUE_MODEL, repeatable")
    ] = None,
    workload: Annotated[str, typer.Option(help="Allocated workload to compare")] = "inference",
    concurrency: Annotated[
        list[str] | None,
        typer.Option(
            help="Requests in flight per replica: N for every model, or LEDGER_MODEL=N (repeatable)"
        ),
    ] = None,
    calibration: CalibrationOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Bills against physics: billed GPU-hours per model and month against what the tokens
    needed, at the throughput-optimal point or at a concurrency."""
    from computeledger import app as application

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = application.capacity_compare(lg, map_, workload, concurrency, calibration)
    _show(got.table, fmt, got.title)


@app.command("calibrate")
def calibrate(
    measurements: Annotated[list[Path], typer.Argument(help="Measurements CSV files")],
    held_out: Annotated[
        Path | None, typer.Option(help="Measurements to report the error on, unfitted")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the calibration CSV here")] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Fit efficiency factors per (GPU, engine, precision) to measured throughputs."""
    from computeledger import app as application

    check_format(fmt)
    got = application.capacity_calibrate(measurements, held_out, out)
    if fmt == "json":
        console.out(json.dumps(got.document, indent=1))
        return
    _show(got.table, fmt, got.title)
    if got.detail and fmt == "table":
        _show(output.from_rows(got.detail), fmt, f"Held-out error on {held_out}")
        for note in got.notes:
            console.print(note)


@app.command("catalog")
def show_catalog(
    which: Annotated[str, typer.Argument(help="gpus, models, prices or calibration")],
    prices: PricesOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """The catalogues the model uses, each row with its source."""
    from computeledger import app as application

    check_format(fmt)
    got = application.capacity_catalog(which, prices)
    _show(got.table, fmt, got.title)
