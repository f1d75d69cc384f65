"""Fleet sizing: from a demand mix to GPUs per model and cloud, and what they cost.

A demand file (YAML, read with `safe_load`, or CSV) lists per model the tokens per day
in and out, the cache hit rate, tokens per request, the peak-to-mean ratio, the
utilization target and an SLO; optionally the configuration it runs on now (GPU,
provider, pricing, precision, parallelism) and measured throughputs that replace the
model's. Each entry gives the fleet as pinned, and the cheapest configuration among the
catalogue's priced GPUs meeting its SLO.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from computeledger.capacity import catalog
from computeledger.capacity.catalog import Calibration, Price
from computeledger.capacity.operating import Slo, candidate_setups, latency_bound, money, throughput_optimal
from computeledger.capacity.physics import Setup, Workload
from computeledger.errors import UsageError
from computeledger.figures.model import parse_number

HOURS_PER_MONTH = Decimal(730)
SECONDS_PER_DAY = 86_400

_FIELDS = {
    "model": str, "name": str, "input_tokens_per_day": "n", "output_tokens_per_day": "n",
    "cache_hit": float, "input_per_request": float, "output_per_request": float,
    "peak_to_mean": float, "utilization": float, "tpot_ms": float, "ttft_ms": float,
    "gpu": str, "provider": str, "pricing": str, "precision": str, "tp": int, "ep": int, "pp": int,
    "disaggregated": bool, "measured_input_tps_per_gpu": float, "measured_output_tps_per_gpu": float,
}  # fmt: skip
_REQUIRED = (
    "model",
    "input_tokens_per_day",
    "output_tokens_per_day",
    "input_per_request",
    "output_per_request",
)


@dataclass(frozen=True)
class Demand:
    model: str
    name: str
    input_tokens_per_day: Decimal
    output_tokens_per_day: Decimal
    input_per_request: float
    output_per_request: float
    cache_hit: float = 0.0
    peak_to_mean: float = 1.0
    utilization: float = 1.0
    tpot_ms: float | None = None
    ttft_ms: float | None = None
    gpu: str | None = None
    provider: str | None = None
    pricing: str | None = None
    precision: str | None = None
    tp: int | None = None
    ep: int | None = None
    pp: int | None = None
    disaggregated: bool = False
    measured_input_tps_per_gpu: float | None = None
    measured_output_tps_per_gpu: float | None = None
    where: str = field(default="", compare=False)

    @property
    def workload(self) -> Workload:
        return Workload(self.input_per_request, self.output_per_request, self.cache_hit)

    @property
    def slo(self) -> Slo:
        return Slo(self.tpot_ms, self.ttft_ms)


def read_demand(path: Path) -> list[Demand]:
    """Demand entries of a YAML (a list, or a mapping with `models:`) or CSV file (a path,
    or a shipped example's name: deepseek-day)."""
    from computeledger.shipped import find

    path = find(path, "examples")
    if path.suffix.lower() in (".yaml", ".yml"):
        from computeledger import yamlfile

        try:
            doc = yamlfile.load(path.read_text(encoding="utf-8"), str(path))
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{path}: cannot read: {e}") from None
        entries = doc.get("models") if isinstance(doc, dict) else doc
        if not isinstance(entries, list):
            raise UsageError(f"{path}: expected a list of models (or `models:` with one)")
        items = [(f"{path}, entry {i}", e) for i, e in enumerate(entries, start=1)]
    else:
        with path.open(newline="", encoding="utf-8-sig") as f:
            items = [
                (f"{path}, line {i}", {k: v for k, v in row.items() if v not in (None, "")})
                for i, row in enumerate(csv.DictReader(f), start=2)
            ]
    return [_demand(where, entry) for where, entry in items]


def _demand(where: str, entry) -> Demand:
    if not isinstance(entry, dict):
        raise UsageError(f"{where}: expected a mapping of fields")
    unknown = sorted(set(entry) - set(_FIELDS))
    if unknown:
        raise UsageError(f"{where}: unknown field {unknown[0]!r}; fields are: {', '.join(_FIELDS)}")
    missing = [k for k in _REQUIRED if entry.get(k) in (None, "")]
    if missing:
        raise UsageError(f"{where}: missing {', '.join(missing)}")
    values: dict = {"where": where}
    for key, raw in entry.items():
        kind, at = _FIELDS[key], f"{where}, field {key}"
        try:
            if kind == "n":
                value = parse_number(raw, at)
            elif kind is bool:
                value = raw if isinstance(raw, bool) else str(raw).strip().lower() in ("true", "yes", "1")
            else:
                value = kind(raw)
        except (TypeError, ValueError, ArithmeticError):
            raise UsageError(f"{at}: not a {getattr(kind, '__name__', 'number')}: {raw!r}") from None
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            finite = value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)
            if not finite or abs(value) >= 10**24:  # a trillion trillion tokens a day is no demand
                raise UsageError(f"{at}: not a usable number: {str(raw)[:40]!r}")
            if value < 0:
                raise UsageError(f"{at}: negative: {raw!r}")
        values[key] = value
    values.setdefault("name", values["model"])
    if not 0 < values.get("utilization", 1.0) <= 1 or values.get("peak_to_mean", 1.0) < 1:
        raise UsageError(f"{where}: utilization is in (0, 1] and peak_to_mean at least 1")
    try:
        return Demand(**values)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None


@dataclass(frozen=True)
class Option:
    """One way to serve a demand: a setup, an operating point (or measured rates), a price."""

    setup: Setup
    price: Price
    gpu_s_per_input: float
    gpu_s_per_output: float
    point: str
    calibration: str


def _option(d: Demand, s: Setup, price: Price, calibrations: dict) -> Option | None:
    if d.measured_output_tps_per_gpu:
        gpu_in = 1 / d.measured_input_tps_per_gpu if d.measured_input_tps_per_gpu else 0.0
        return Option(s, price, gpu_in, 1 / d.measured_output_tps_per_gpu, "measured", "measured")
    c, note = catalog.calibration_for(calibrations, s.gpu.gpu, s.precision)
    try:
        if d.slo.given:
            p = latency_bound(s, d.workload, c, d.slo, d.disaggregated)
            name = "latency-bound"
        else:
            p = throughput_optimal(s, d.workload, c, d.disaggregated)
            name = "throughput-optimal"
    except UsageError:
        return None
    if p is None:
        return None
    return Option(s, price, p.gpu_s_per_input_token, p.gpu_s_per_output_token, name, note)


def size(d: Demand, o: Option) -> dict:
    """The fleet one option needs for a demand, and its cost."""
    busy_s = (
        float(d.input_tokens_per_day) * o.gpu_s_per_input
        + float(d.output_tokens_per_day) * o.gpu_s_per_output
    )
    mean = busy_s / SECONDS_PER_DAY / d.utilization
    n = o.setup.gpus
    provisioned = math.ceil(round(mean * d.peak_to_mean / n, 9)) * n
    price = o.price.usd_per_gpu_hour
    mean_dec = Decimal(repr(mean))
    out_tokens = d.output_tokens_per_day
    return {
        "name": d.name,
        "model": d.model,
        "gpu": o.setup.gpu.gpu,
        "provider": o.price.provider,
        "pricing": o.price.pricing,
        "usd_per_gpu_hour": price,
        "price_as_of": o.price.as_of,
        "setup": o.setup.label(),
        "point": o.point,
        "gpus_mean": round(mean, 2),
        "nodes_mean": round(mean / o.setup.gpu.node_gpus, 2),
        "gpus_provisioned": provisioned,
        "usd_per_day_mean": money(mean_dec * 24 * price),
        "usd_per_month_provisioned": money(Decimal(provisioned) * HOURS_PER_MONTH * price),
        "usd_per_m_output": money(mean_dec * 24 * price / out_tokens * 1_000_000) if out_tokens else None,
        "calibration": o.calibration,
        "source": "estimated",
    }


def _setups(d: Demand, gpu, precision: str, pin: bool = True) -> list[Setup]:
    try:
        model = catalog.find(catalog.models(), d.model, "model")
    except UsageError as exc:
        raise UsageError(f"{d.where}: {exc}") from None
    if pin and (d.tp or d.ep or d.pp):
        return [Setup(model, gpu, precision, d.tp or 1, d.pp or 1, d.ep or 1)]
    return candidate_setups(model, gpu, precision)


def _precisions(d: Demand, gpu) -> list[str]:
    if d.precision:
        return [d.precision] if gpu.tflops(d.precision) is not None else []
    return ["fp8"] if gpu.tflops_fp8 is not None else ["bf16"]


def pinned(d: Demand, calibrations: dict, prices: list[Price]) -> dict | None:
    """The fleet on the configuration the entry names, if it names one."""
    if not d.gpu:
        return None
    gpu = catalog.find(catalog.gpus(), d.gpu, "gpu")
    offers = [p for p in catalog.latest_prices(prices, gpu.gpu) if _offer_matches(p, d.provider, d.pricing)]
    if not offers:
        raise UsageError(
            f"{d.where}: no price for {gpu.gpu} at {d.provider or 'any provider'} in the catalogue"
        )
    best = None
    for precision in _precisions(d, gpu) or [d.precision or "fp8"]:
        for s in _setups(d, gpu, precision):
            o = _option(d, s, offers[0], calibrations)
            if o and (best is None or _cost(d, o) < _cost(d, best)):
                best = o
    if best is None:
        raise UsageError(f"{d.where}: {d.model} cannot meet its SLO on {gpu.gpu}")
    return size(d, best) | {"choice": "as given"}


def _offer_matches(p: Price, provider: str | None, pricing: str | None) -> bool:
    return (provider is None or p.provider.lower() == provider.lower()) and (
        pricing is None or p.pricing == pricing
    )


def _cost(d: Demand, o: Option) -> Decimal:
    """Dollars a day of busy GPU-time: what options are ranked by."""
    seconds = d.input_tokens_per_day * Decimal(repr(o.gpu_s_per_input))
    seconds += d.output_tokens_per_day * Decimal(repr(o.gpu_s_per_output))
    return seconds * o.price.usd_per_gpu_hour / 3600


def cheapest(
    d: Demand, calibrations: dict, prices: list[Price], gpu: str | None = None, provider: str | None = None
) -> dict | None:
    """The cheapest (GPU, provider, pricing, precision, parallelism) meeting the SLO,
    among the GPUs with a price in the catalogue (restricted to `gpu` / `provider`)."""
    best: Option | None = None
    for g in catalog.gpus().values():
        if gpu and g.gpu.lower() != gpu.lower():
            continue
        offers = [p for p in catalog.latest_prices(prices, g.gpu) if _offer_matches(p, provider, None)]
        if not offers:
            continue
        for precision in _precisions(d, g):
            for s in _setups(d, g, precision, pin=False):
                o = _option(d, s, offers[0], calibrations)
                if o and (best is None or _cost(d, o) < _cost(d, best)):
                    best = o
    if best is None:
        return None
    return size(d, best) | {"choice": "cheapest"}


def fleet(
    demands: list[Demand],
    calibrations: dict[tuple[str, str, str], Calibration],
    prices: list[Price],
    gpu: str | None = None,
    provider: str | None = None,
) -> list[dict]:
    """Per demand entry: the pinned configuration (if any) and the cheapest one (unless
    the entry gives measured rates, which hold only where they were measured)."""
    rows = []
    for d in demands:
        if (row := pinned(d, calibrations, prices)) is not None:
            rows.append(row)
        if d.measured_output_tps_per_gpu:
            continue  # measured rates hold for the configuration they were measured on
        best = cheapest(d, calibrations, prices, gpu, provider)
        if best is None:
            rows.append({"name": d.name, "model": d.model, "choice": "cheapest", "gpu": None,
                         "setup": "no priced GPU meets the SLO", "source": "estimated"})  # fmt: skip
        else:
            rows.append(best)
    return rows
