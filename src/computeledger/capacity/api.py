"""The capacity model's Python API: each function answers one question, as rows.

from computeledger.capacity import api
api.throughput("Llama-3.3-70B", "H200 SXM", 1000, 500, tpot_ms=40, price=parse_price("3.5"))
api.invert("8.7B", "2025-01..2025-09", "H100 SXM", parse_price("2..4"))
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from computeledger.capacity import catalog
from computeledger.capacity.calibrate import errors_of, fit, read_measurements, write_calibration
from computeledger.capacity.invert import DEFAULT_SLO, mix_throughput, parse_mix, parse_range
from computeledger.capacity.invert import invert as _invert
from computeledger.capacity.operating import (
    Costed,
    PriceRange,
    Slo,
    at_concurrency,
    candidate_setups,
    latency_bound,
    throughput_optimal,
)
from computeledger.capacity.physics import Setup, Workload
from computeledger.errors import UsageError
from computeledger.figures.model import parse_amount, parse_period_text


def throughput(
    model: str,
    gpu: str,
    input_tokens: float,
    output_tokens: float,
    cache_hit: float = 0.0,
    precision: str = "fp8",
    tp: int | None = None,
    ep: int = 1,
    pp: int = 1,
    tpot_ms: float | None = None,
    ttft_ms: float | None = None,
    price: PriceRange | None = None,
    disaggregated: bool = False,
    calibrations: dict | None = None,
    concurrency: int | None = None,
    engine: str | None = None,
) -> list[dict]:
    """The throughput-optimal point and, with an SLO, the latency-bound one, each on the
    parallelism with the lowest cost per output token (or the one given); with a
    `concurrency`, also the point with that many requests in flight (continuous batching,
    as serving benchmarks run it), on the calibration fitted at concurrency (`engine`, else
    the first of sglang, vllm, trtllm fitted for the GPU and precision)."""
    if price is None:
        raise UsageError("a price per GPU-hour is needed (or a provider in the catalogue)")
    calibrations = calibrations if calibrations is not None else catalog.calibrations()
    m = catalog.find(catalog.models(), model, "model")
    g = catalog.find(catalog.gpus(), gpu, "gpu")
    if precision not in catalog.PRECISIONS:
        raise UsageError(f"precision {precision!r}: use one of {', '.join(catalog.PRECISIONS)}")
    w = Workload(input_tokens, output_tokens, cache_hit)
    setups = [Setup(m, g, precision, tp, pp, ep)] if tp is not None or ep > 1 or pp > 1 else None
    setups = setups or candidate_setups(m, g, precision)
    if not setups:
        raise UsageError(f"{m.model} in {precision} does not fit on a node of {g.gpu}")
    if concurrency is not None and concurrency < 1:
        raise UsageError(f"--concurrency {concurrency}: a whole number of requests, at least 1")
    engines = sorted({c.engine.lower() for c in calibrations.values()})
    if engine is not None and engine.lower() not in engines:
        raise UsageError(f"--engine {engine!r}: the calibrations have {', '.join(engines)}")
    c, note = catalog.calibration_for(calibrations, g.gpu, precision, engine or "trtllm")
    at = catalog.calibration_at_concurrency(calibrations, g.gpu, precision, engine) if concurrency else None
    slo = Slo(tpot_ms, ttft_ms)
    best: dict[str, tuple] = {}
    for s in setups:
        points = [("throughput-optimal", throughput_optimal(s, w, c, disaggregated))]
        if slo.given:
            points.append(("latency-bound", latency_bound(s, w, c, slo, disaggregated)))
        if at is not None and concurrency is not None:
            busy = at_concurrency(s, w, at[0], concurrency, disaggregated)
            if busy is not None:
                points.append((f"concurrency {concurrency}", busy))
        for name, p in points:
            if p is not None and (
                name not in best or p.gpu_s_per_output_token < best[name].gpu_s_per_output_token
            ):
                best[name] = p
    rows = []
    for name, p in best.items():
        cal = at if name.startswith("concurrency") and at is not None else (c, note)
        rows.append(Costed(name, p, cal[0].median_abs_error, price, cal[1]).row())
    if slo.given and "latency-bound" not in best:
        rows.append({"point": "latency-bound", "setup": f"no batch meets the SLO on {len(setups)} setups"})
    if concurrency and f"concurrency {concurrency}" not in best:
        too_many = f"{concurrency} requests do not fit in memory on {len(setups)} setups"
        rows.append({"point": f"concurrency {concurrency}", "setup": too_many})
    return rows


def invert(
    spend: str,
    period: str,
    gpu: str,
    price: PriceRange,
    utilization: str = "0.4..0.8",
    mix: str | None = None,
    input_tokens: float = 1000,
    output_tokens: float = 500,
    tokens: str | None = None,
    calibrations: dict | None = None,
    concurrency: int | None = None,
) -> tuple[dict, list[dict]]:
    """What a spend over a period buys on a GPU: intervals and a tornado. The mix's
    throughput runs from its latency-bound to its throughput-optimal point, or is taken
    at `concurrency` requests in flight."""
    calibrations = calibrations if calibrations is not None else catalog.calibrations()
    amount = parse_amount(spend, "spend")
    p = parse_period_text(period, "--period")
    hours = Decimal((p.end - p.start).days + 1) * 24
    rate = None
    notes: list[str] = []
    if concurrency is not None and not mix:
        raise UsageError("--concurrency sets the point a model mix is served at: give --mix too")
    if mix:
        rate, notes = mix_throughput(
            gpu, parse_mix(mix), Workload(input_tokens, output_tokens), calibrations, DEFAULT_SLO, concurrency
        )
    reported = parse_amount(tokens, "tokens") if tokens else None
    implied, tornado = _invert(amount, hours, price, parse_range(utilization, "utilization"), rate, reported)
    given = {"spend_low": amount.lo, "spend_high": amount.hi, "period": str(p), "gpu": gpu}
    priced = {"price_low": price.low, "price_high": price.high, "price_source": price.source}
    implied = given | priced | implied
    if rate is not None:
        implied |= {
            "output_tokens_per_gpu_hour_low": round(rate.low),
            "output_tokens_per_gpu_hour_high": round(rate.high),
        }
        implied["point"] = (
            f"concurrency {concurrency}" if concurrency else "latency-bound to throughput-optimal"
        )
        implied["calibration"] = "; ".join(notes)
    implied["source"] = "estimated"
    return implied, tornado


def calibrate(
    paths: list[Path], held_out: Path | None = None, out: Path | None = None
) -> tuple[list[dict], list[dict]]:
    """Fit calibrations to measurement files; the error on a held-out file, unfitted."""
    rows = [m for p in paths for m in read_measurements(p)]
    if not rows:
        raise UsageError("no measurements to fit")
    fitted = fit(rows, "; ".join(p.name for p in paths))
    if out is not None:
        write_calibration(fitted, out)
    errors = []
    if held_out is not None:
        table = {(c.gpu.lower(), c.engine, c.precision): c for c in fitted}
        for m, got, err in errors_of(read_measurements(held_out), table):
            errors.append({"where": m.where, "setup": m.setup.label(), "input": m.workload.input_tokens,
                           "output": m.workload.output_tokens, "measured": m.output_tps,
                           "predicted": round(got, 1), "error": round(err, 4)})  # fmt: skip
    from dataclasses import asdict

    return [asdict(c) for c in fitted], errors


def price_range(text: str | None, gpu: str, provider: str | None = None, prices_path: Path | None = None):
    """The price range asked for (`3.5` or `2..4` dollars per GPU-hour), else the range of
    the catalogue's newest prices for the GPU (at `provider`, if given)."""
    from computeledger.capacity.operating import parse_price

    if text:
        return parse_price(text)
    gpu = catalog.find(catalog.gpus(), gpu, "gpu").gpu  # an unknown GPU is named as such, quoted
    offers = catalog.latest_prices(catalog.prices(prices_path), gpu)
    if provider:
        offers = [p for p in offers if p.provider.lower() == provider.lower()]
    if not offers:
        raise UsageError(
            f"no price for {gpu}{' at ' + repr(provider) if provider else ''} in the catalogue: give --price"
        )
    lo, hi = offers[0], offers[-1]
    return PriceRange(
        lo.usd_per_gpu_hour,
        hi.usd_per_gpu_hour,
        f"catalogue: {lo.provider} {lo.pricing} ({lo.as_of}) .. {hi.provider} {hi.pricing} ({hi.as_of})",
    )
