"""Top-down: from a spend over a period to the GPU-hours, fleet and tokens it implies.

Every answer is an interval over the uncertain inputs: the spend (a reported figure is
already an interval), the price per GPU-hour, the utilization and the throughput of the
model mix (between its latency-bound and throughput-optimal operating points, widened
by the calibration's error). A tornado says which input moves the answer most.
Money and GPU-hours are Decimal; tokens, which come from the physics, are floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from computeledger.capacity import catalog
from computeledger.capacity.operating import (
    PriceRange,
    Slo,
    at_concurrency,
    candidate_setups,
    latency_bound,
    throughput_optimal,
)
from computeledger.capacity.physics import Workload
from computeledger.errors import UsageError
from computeledger.figures.model import Interval

DEFAULT_UTILIZATION = (0.4, 0.8)
DEFAULT_SLO = Slo(tpot_ms=50.0)


@dataclass(frozen=True)
class Range:
    low: float
    high: float

    @property
    def mid(self) -> float:
        return (self.low + self.high) / 2


def parse_range(text: str, what: str) -> Range:
    lo, _, hi = text.partition("..")
    try:
        low, high = float(lo), float(hi or lo)
    except ValueError:
        raise UsageError(f"{what} {text!r}: write a number or a range, as 0.6 or 0.4..0.8") from None
    if not 0 < low <= high:
        raise UsageError(f"{what} {text!r}: positive, low before high")
    return Range(low, high)


def parse_mix(text: str) -> dict[str, float]:
    """'A=0.6,B=0.4' (shares of output tokens; a lone name is all of it) to {model: share}."""
    shares = {}
    for part in text.split(","):
        name, sep, share = part.partition("=")
        try:
            shares[name.strip()] = float(share) if sep else 1.0
        except ValueError:
            raise UsageError(f"--mix {part!r}: write MODEL=SHARE") from None
    return shares


def mix_throughput(
    gpu: str,
    mix: dict[str, float],
    workload: Workload,
    calibrations: dict,
    slo: Slo = DEFAULT_SLO,
    concurrency: int | None = None,
) -> tuple[Range, list[str]]:
    """Output tokens per GPU-hour of a model mix (shares of output tokens) on `gpu`, each
    model on its cheapest-per-token parallelism: low at the latency-bound point minus the
    calibration error, high at the throughput-optimal point plus it; with a `concurrency`,
    the point with that many requests in flight, widened by its calibration's error either
    way. Includes the GPU-time of each output token's share of prefill."""
    if not mix or abs(sum(mix.values()) - 1) > 1e-9:
        raise UsageError("the model mix's shares add up to 1")
    if concurrency is not None:
        if concurrency < 1:
            raise UsageError(f"--concurrency {concurrency}: a whole number of requests, at least 1")
        return _at_concurrency(gpu, mix, workload, calibrations, concurrency)
    g = catalog.find(catalog.gpus(), gpu, "gpu")
    low_s = high_s = 0.0  # GPU-seconds per output token, weighted by share
    notes = []
    ratio = workload.input_tokens / workload.output_tokens
    for name, share in mix.items():
        model = catalog.find(catalog.models(), name, "model")
        precision = "fp8" if g.tflops_fp8 is not None else "bf16"
        best_lo = best_hi = None
        for s in candidate_setups(model, g, precision):
            c, note = catalog.calibration_for(calibrations, g.gpu, precision)
            try:
                fast = throughput_optimal(s, workload, c)
                slow = latency_bound(s, workload, c, slo) or fast
            except UsageError:
                continue
            per_fast = (fast.gpu_s_per_output_token + ratio * fast.gpu_s_per_input_token) / (
                1 + c.median_abs_error
            )
            per_slow = (slow.gpu_s_per_output_token + ratio * slow.gpu_s_per_input_token) / max(
                1 - c.median_abs_error, 0.05
            )
            best_hi = per_fast if best_hi is None else min(best_hi, per_fast)
            best_lo = per_slow if best_lo is None else min(best_lo, per_slow)
            notes.append(f"{model.model}: calibration {note}")
        if best_lo is None or best_hi is None:
            raise UsageError(f"{model.model} does not fit on a node of {g.gpu}")
        low_s += share * best_lo
        high_s += share * best_hi
    return Range(3600 / low_s, 3600 / high_s), sorted(set(notes))


def _at_concurrency(
    gpu: str, mix: dict[str, float], workload: Workload, calibrations: dict, concurrency: int
) -> tuple[Range, list[str]]:
    """`mix_throughput` with `concurrency` requests in flight on each model's replica."""
    g = catalog.find(catalog.gpus(), gpu, "gpu")
    ratio = workload.input_tokens / workload.output_tokens
    precision = "fp8" if g.tflops_fp8 is not None else "bf16"
    c, note = catalog.calibration_at_concurrency(calibrations, g.gpu, precision)
    low_s = high_s = 0.0
    notes = []
    for name, share in mix.items():
        model = catalog.find(catalog.models(), name, "model")
        best = None
        for s in candidate_setups(model, g, precision):
            try:
                p = at_concurrency(s, workload, c, concurrency)
            except UsageError:
                continue
            if p is None:
                continue
            per = p.gpu_s_per_output_token + ratio * p.gpu_s_per_input_token
            best = per if best is None else min(best, per)
        if best is None:
            raise UsageError(
                f"{model.model}: {concurrency} requests in flight do not fit on a node of {g.gpu}"
            )
        low_s += share * best / max(1 - c.median_abs_error, 0.05)
        high_s += share * best / (1 + c.median_abs_error)
        notes.append(f"{model.model}: concurrency {concurrency}, calibration {note}")
    return Range(3600 / low_s, 3600 / high_s), sorted(set(notes))


def _q(value: Decimal, places: str = "0.01") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def implied_fleet(spend: Interval, hours: Decimal, price: PriceRange) -> dict:
    """GPU-hours and the average fleet a spend buys over `hours` at `price`."""
    if spend.lo is None or spend.hi is None or spend.lo < 0:
        raise UsageError("a spend to invert needs both bounds and no negative")
    gpu_hours = Interval(spend.lo / price.high, spend.hi / price.low)
    return {
        "gpu_hours_low": int(_q(gpu_hours.lo, "1")),
        "gpu_hours_high": int(_q(gpu_hours.hi, "1")),
        "gpus_low": int(_q(gpu_hours.lo / hours, "1")),
        "gpus_high": int(_q(gpu_hours.hi / hours, "1")),
    }


def invert(
    spend: Interval,
    hours: Decimal,
    price: PriceRange,
    utilization: Range | None = None,
    throughput: Range | None = None,
    tokens: Interval | None = None,
) -> tuple[dict, list[dict]]:
    """The intervals a spend implies, and a tornado: each input swept over its range with
    the others at their midpoints, largest swing first (on tokens served when a
    throughput is known, else on the fleet).

    Tokens served = GPU-hours x utilization x output tokens per GPU-hour; with a reported
    tokens figure, the implied utilization is tokens / (GPU-hours x throughput) as well."""
    out = implied_fleet(spend, hours, price) | {"hours": hours}
    u = utilization or Range(*DEFAULT_UTILIZATION)
    inputs = {
        "spend": (float(spend.lo), float(spend.hi)),
        "price per GPU-hour": (float(price.high), float(price.low)),
        "utilization": (u.low, u.high),
    }
    if throughput is not None:
        inputs["throughput (model mix, operating point)"] = (throughput.low, throughput.high)
        t = {name: lo for name, (lo, _) in inputs.items()}
        out["output_tokens_low"] = round(_served(t))
        out["output_tokens_high"] = round(_served({name: hi for name, (_, hi) in inputs.items()}))
        if tokens is not None and tokens.lo is not None and tokens.hi is not None:
            out["implied_utilization_low"] = round(
                float(tokens.lo) / (out["gpu_hours_high"] * throughput.high), 4
            )
            out["implied_utilization_high"] = round(
                float(tokens.hi) / (out["gpu_hours_low"] * throughput.low), 4
            )
    mids = {name: (lo + hi) / 2 for name, (lo, hi) in inputs.items()}
    tornado = []
    for name, (lo, hi) in inputs.items():
        at_lo, at_hi = mids | {name: lo}, mids | {name: hi}
        stated = {"spend": (spend.lo, spend.hi), "price per GPU-hour": (price.high, price.low)}
        low, high = stated.get(name, (lo, hi))  # money as given (Decimal), the rest as estimated
        row = {"input": name, "low": low, "high": high}
        row |= {"gpus_at_low": round(_gpus(at_lo, hours)), "gpus_at_high": round(_gpus(at_hi, hours))}
        if throughput is not None:
            row |= {
                "output_tokens_at_low": round(_served(at_lo)),
                "output_tokens_at_high": round(_served(at_hi)),
            }
            row["swing"] = abs(row["output_tokens_at_high"] - row["output_tokens_at_low"])
        else:
            row["swing"] = abs(row["gpus_at_high"] - row["gpus_at_low"])
        if throughput is not None or name != "utilization":
            tornado.append(row)
    tornado.sort(key=lambda r: -r["swing"])
    return out, tornado


def _gpus(v: dict, hours: Decimal) -> float:
    return v["spend"] / v["price per GPU-hour"] / float(hours)


def _served(v: dict) -> float:
    return (
        v["spend"] / v["price per GPU-hour"] * v["utilization"] * v["throughput (model mix, operating point)"]
    )


def figures_fleet(
    fs,
    price: PriceRange,
    gpu: str,
    rate: Range | None = None,
    point_used: str | None = None,
) -> list[dict]:
    """The fleet each compute-cost quantity of a figures file implies (reported or
    derived, widened): the bridge from `figures check` to the capacity model. With a model
    mix's output tokens per GPU-hour (`rate`, at `point_used`), also the output tokens
    that fleet serves when busy."""
    from computeledger.figures.engine import check, describe

    report = check(fs)
    rows = []
    for key in sorted(report.entries, key=describe):
        _, metric, _, period = key
        value = report.implied(key)
        if "compute_cost" not in fs.catalog.ancestors(metric) or period.instant or value is None:
            continue
        if value.lo is None or value.hi is None:
            continue
        hours = Decimal((period.end - period.start).days + 1) * 24
        fleet = implied_fleet(value, hours, price)
        row = {"quantity": describe(key), "spend_low": value.lo, "spend_high": value.hi,
               "gpu": gpu, "price_low": price.low, "price_high": price.high} | fleet  # fmt: skip
        if rate is not None:
            row |= {
                "point": point_used,
                "output_tokens_per_gpu_hour_low": round(rate.low),
                "output_tokens_per_gpu_hour_high": round(rate.high),
                "output_tokens_low": round(fleet["gpu_hours_low"] * rate.low),
                "output_tokens_high": round(fleet["gpu_hours_high"] * rate.high),
            }
        rows.append(row | {"source": "estimated"})
    return rows
