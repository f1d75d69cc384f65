"""Operating points of a replica and what a million tokens costs at each.

Two points per setup: the throughput-optimal one (the largest batch that fits) and the
latency-bound one (the largest batch meeting a time-per-output-token and time-to-first-
token SLO). Costs split the replica's GPU-time between prefill (input tokens) and decode
(output tokens), priced per GPU-hour in Decimal. Every estimate carries a band: the
calibration's median error on throughput, and a price range where the price is a range.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from computeledger.capacity.catalog import Calibration, Gpu, Model
from computeledger.capacity.physics import Point, Setup, Workload, kv_capacity_tokens, max_batch, point
from computeledger.errors import UsageError

CENT_HUNDREDTHS = Decimal("0.0001")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Slo:
    tpot_ms: float | None = None
    ttft_ms: float | None = None

    def met(self, p: Point) -> bool:
        return (self.tpot_ms is None or p.tpot_s * 1e3 <= self.tpot_ms) and (
            self.ttft_ms is None or p.ttft_s * 1e3 <= self.ttft_ms
        )

    @property
    def given(self) -> bool:
        return self.tpot_ms is not None or self.ttft_ms is not None


@dataclass(frozen=True)
class PriceRange:
    """A price per GPU-hour, or a range of them, and where it came from."""

    low: Decimal
    high: Decimal
    source: str

    def __post_init__(self) -> None:
        if not 0 < self.low <= self.high:
            raise UsageError(f"a price per GPU-hour is positive, low before high: {self.low}..{self.high}")

    @property
    def mid(self) -> Decimal:
        return (self.low + self.high) / 2


def parse_price(text: str, source: str = "given") -> PriceRange:
    """'2.50' or '2..3.5' dollars per GPU-hour."""
    lo, _, hi = text.replace("$", "").partition("..")
    try:
        low, high = Decimal(lo.strip()), Decimal((hi or lo).strip())
    except ArithmeticError:
        raise UsageError(f"price {text!r}: write dollars per GPU-hour, as 2.50 or 2..3.5") from None
    return PriceRange(low, high, source)


def throughput_optimal(s: Setup, w: Workload, c: Calibration, disaggregated: bool = False) -> Point:
    return point(s, w, max_batch(s, w, c), c, disaggregated)


def at_concurrency(
    s: Setup, w: Workload, c: Calibration, concurrency: int, disaggregated: bool = False
) -> Point | None:
    """The replica with `concurrency` requests in flight, or None where that many do not
    fit in its memory (beside the engine's batch limit)."""
    if concurrency > max_batch(s, w, c):
        return None
    return point(s, w, concurrency, c, disaggregated)


def latency_bound(
    s: Setup, w: Workload, c: Calibration, slo: Slo, disaggregated: bool = False
) -> Point | None:
    """The largest batch meeting the SLO (TPOT and TTFT grow with the batch), or None."""
    hi = max_batch(s, w, c)
    if not slo.met(point(s, w, 1, c, disaggregated)):
        return None
    lo = 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if slo.met(point(s, w, mid, c, disaggregated)):
            lo = mid
        else:
            hi = mid - 1
    return point(s, w, lo, c, disaggregated)


def candidate_setups(model: Model, gpu: Gpu, precision: str) -> list[Setup]:
    """Parallelism choices whose weights fit: tensor parallel inside a node; for an MoE,
    also expert parallel with data-parallel attention, inside a node and across up to 32
    nodes (a wide EP spreads the expert reads, as DeepSeek's EP144 does); for a dense
    model too big for a node, pipeline stages across nodes."""
    node = gpu.node_gpus
    options = []
    for n in (1, 2, 4, 8, 16, 32, 64, 72):
        if n <= node:
            options.append(Setup(model, gpu, precision, tp=n))
            if model.moe and n > 1:
                options.append(Setup(model, gpu, precision, ep=n))
    for nodes in (2, 4, 8, 16, 32):
        if model.moe:
            options.append(Setup(model, gpu, precision, ep=node * nodes))
        elif nodes <= 8:
            options.append(Setup(model, gpu, precision, tp=node, pp=nodes))
    fits = [s for s in options if kv_capacity_tokens(s) > 0]
    if not model.moe:  # pipeline stages only when a node cannot hold the model
        fits = [s for s in fits if s.pp == 1] or fits[:1]
    return fits


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT_HUNDREDTHS, rounding=ROUND_HALF_EVEN)


def per_million(gpu_seconds_per_token: float, price: Decimal) -> Decimal:
    """Dollars per million tokens at `price` per GPU-hour."""
    return money(Decimal(repr(gpu_seconds_per_token)) * MILLION * price / 3600)


@dataclass(frozen=True)
class Costed:
    """An operating point with its costs per million tokens and their bands."""

    name: str
    point: Point
    error: float  # the calibration's median relative error on throughput
    price: PriceRange
    calibration: str

    def band(self, gpu_s: float) -> tuple[Decimal, Decimal, Decimal]:
        """(low, mid, high) dollars per million tokens: throughput off by the calibration
        error either way, and the price anywhere in its range."""
        return (
            per_million(gpu_s / (1 + self.error), self.price.low),
            per_million(gpu_s, self.price.mid),
            per_million(gpu_s / max(1 - self.error, 0.05), self.price.high),
        )

    def row(self) -> dict[str, Any]:
        p = self.point
        lo_in, mid_in, hi_in = self.band(p.gpu_s_per_input_token)
        lo_out, mid_out, hi_out = self.band(p.gpu_s_per_output_token)
        per_gpu = p.output_tps_per_gpu
        return {
            "point": self.name,
            "setup": p.setup.label(),
            "gpus": p.setup.gpus,
            "batch": p.batch,
            "bound": p.bound,
            "output_tps_per_gpu": round(per_gpu, 1),
            "output_tps_per_gpu_low": round(per_gpu * (1 - self.error), 1),
            "output_tps_per_gpu_high": round(per_gpu * (1 + self.error), 1),
            "input_tps_per_gpu": round(p.input_tps / p.setup.gpus, 1),
            "total_tps_per_gpu": round((p.input_tps + p.output_tps) / p.setup.gpus, 1),
            "tpot_ms": round(p.tpot_s * 1e3, 2),
            "ttft_ms": round(p.ttft_s * 1e3, 2),
            "usd_per_m_input": mid_in,
            "usd_per_m_input_low": lo_in,
            "usd_per_m_input_high": hi_in,
            "usd_per_m_output": mid_out,
            "usd_per_m_output_low": lo_out,
            "usd_per_m_output_high": hi_out,
            "price_low": self.price.low,
            "price_high": self.price.high,
            "price_source": self.price.source,
            "calibration": self.calibration,
            "source": "estimated",
        }
