"""`computeledger capacity ...`: what compute should cost, bottom-up and top-down."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from computeledger import output
from computeledger.capacity.api import price_range
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


def _calibrations(path: Path | None) -> dict:
    from computeledger.capacity import catalog

    return catalog.calibrations(path)


def _show(rows: list[dict], fmt: str, title: str) -> None:
    output.render(output.from_rows(rows), fmt, console, title=title, unknown="")


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
    from computeledger.capacity import catalog
    from computeledger.capacity.fleet import fleet as run
    from computeledger.capacity.fleet import read_demand

    check_format(fmt)
    rows = run(read_demand(demand), _calibrations(calibration), catalog.prices(prices), gpu, provider)
    _show(rows, fmt, "Fleet (estimated)")


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
    from computeledger.capacity.api import invert as run

    check_format(fmt)
    implied, tornado = run(
        spend, period, gpu, price_range(price, gpu, None, prices), utilization, mix, input_tokens,
        output_tokens, tokens, _calibrations(calibration), concurrency,
    )  # fmt: skip
    if fmt == "json":
        console.out(json.dumps({"implied": implied, "tornado": tornado}, default=output.cell_text, indent=1))
        return
    _show([implied], fmt, f"What {spend} over {period} implies on {gpu} (intervals)")
    if fmt == "table":
        _show(tornado, fmt, "Tornado: each input over its range, the others at their midpoints")


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
    from computeledger.capacity.compare import compare as run
    from computeledger.capacity.compare import parse_concurrency, parse_map

    check_format(fmt)
    mapping = parse_map(map_ or [])
    at = parse_concurrency(concurrency or [], mapping)
    with opened(ctx, ledger, read_only=True) as lg:
        rows = run(lg, mapping, _calibrations(calibration), workload, concurrency=at)
    _show(rows, fmt, "Billed GPU-hours against the GPU-hours the tokens needed")


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
    import statistics

    from computeledger.capacity.api import calibrate as run

    check_format(fmt)
    fitted, errors = run(measurements, held_out, out)
    median = round(statistics.median(abs(e["error"]) for e in errors), 4) if errors else None
    if fmt == "json":
        doc = {"calibration": fitted, "held_out": errors, "held_out_median_abs_error": median}
        console.out(json.dumps(doc, indent=1))
        return
    _show(fitted, fmt, "Calibration (in-sample median absolute error)")
    if errors and fmt == "table":
        _show(errors, fmt, f"Held-out error on {held_out}")
        console.print(f"held-out median absolute error: {median:.1%} over {len(errors)} measurements")


@app.command("catalog")
def show_catalog(
    which: Annotated[str, typer.Argument(help="gpus, models, prices or calibration")],
    prices: PricesOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """The catalogues the model uses, each row with its source."""
    from dataclasses import asdict

    from computeledger.capacity import catalog

    check_format(fmt)
    tables = {
        "gpus": lambda: catalog.gpus().values(),
        "models": lambda: catalog.models().values(),
        "prices": lambda: sorted(catalog.prices(prices), key=lambda p: (p.gpu, p.provider, p.as_of)),
        "calibration": lambda: catalog.calibrations().values(),
    }
    if which not in tables:
        raise typer.BadParameter(f"{which!r}: use one of {', '.join(tables)}")
    rows = [asdict(r) for r in tables[which]()]
    _show(
        [{k: (Decimal(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows], fmt, which
    )
