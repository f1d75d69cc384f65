"""The capacity model's catalogues: GPUs, models, prices per GPU-hour and calibrations.

Each is a CSV shipped in `data/capacity/`, every row with its source; a user's CSV with
the same columns extends it, and a row with the same key replaces the shipped one. A bad
cell is an error naming the file, line and column.
"""

from __future__ import annotations

import csv
from dataclasses import MISSING, dataclass, fields
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

from computeledger.errors import UsageError

PRECISIONS = ("bf16", "fp8", "fp4", "mxfp4")
#: bytes per weight; MXFP4 is 4-bit values with an 8-bit scale per block of 32 (4.25 bits)
BYTES = {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5, "mxfp4": 4.25 / 8}


@dataclass(frozen=True)
class Gpu:
    gpu: str
    memory_gb: float
    memory_tbps: float
    tflops_bf16: float
    tflops_fp8: float | None
    tflops_fp4: float | None
    scaleup_gbps: float
    scaleout_gbps: float
    node_gpus: int
    source: str
    #: FP32 FLOP/s of the vector (non-tensor) units, which dequantise weights the tensor
    #: cores cannot take as they are (MXFP4 on Hopper); None where not given
    tflops_fp32: float | None = None

    def tflops(self, precision: str) -> float | None:
        """Dense tensor FLOP/s at a weight precision. MXFP4 weights (gpt-oss) run on FP4
        tensor cores where the GPU has them, else dequantised to BF16 (Hopper, CDNA3)."""
        if precision == "mxfp4":
            return self.tflops_fp4 or self.tflops_bf16
        return {"bf16": self.tflops_bf16, "fp8": self.tflops_fp8, "fp4": self.tflops_fp4}[precision]


@dataclass(frozen=True)
class Model:
    model: str
    params_b: float
    active_params_b: float
    expert_params_b: float
    experts: int
    experts_per_token: int
    moe_layers: int
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    kv_lora_rank: int
    rope_head_dim: int
    vocab: int
    source: str
    #: sliding-window attention: `sliding_layers` of the layers attend to (and cache) the
    #: last `sliding_window` tokens only (gpt-oss alternates them with full attention)
    sliding_window: int = 0
    sliding_layers: int = 0

    @property
    def moe(self) -> bool:
        return self.experts > 0

    def attended(self, context: float) -> float:
        """Layer-tokens a query attends to, and a sequence caches, at `context` tokens:
        every layer's, with a sliding-window layer's capped at its window."""
        if not self.sliding_window:
            return self.layers * context
        full = self.layers - self.sliding_layers
        return full * context + self.sliding_layers * min(context, self.sliding_window)


@dataclass(frozen=True)
class Price:
    provider: str
    gpu: str
    pricing: str
    usd_per_gpu_hour: Decimal
    as_of: date
    source: str


@dataclass(frozen=True)
class Calibration:
    """Efficiency factors of one (GPU, engine, precision), fitted to measurements."""

    gpu: str
    engine: str
    precision: str
    compute_efficiency: float
    bandwidth_efficiency: float
    layer_overhead_us: float
    token_overhead_us: float
    expert_slowdown: float
    max_batch: int
    fitted_on: int
    median_abs_error: float
    source: str


PRICINGS = ("on-demand", "reserved", "spot", "contract")


def _convert(kind: Any, text: str, where: str) -> Any:
    optional = "None" in str(kind)
    if text == "":
        if optional:
            return None
        raise UsageError(f"{where}: missing")
    try:
        if "Decimal" in str(kind):
            value = Decimal(text)
            if not value.is_finite():
                raise InvalidOperation
            return value
        if "date" in str(kind):
            return date.fromisoformat(text)
        if "float" in str(kind):
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
            return value
        if "int" in str(kind):
            return int(text)
    except (ValueError, InvalidOperation):
        raise UsageError(f"{where}: not a {str(kind).split(' ')[0]}: {text!r}") from None
    return text


def read_rows(cls: type, path: Path) -> list[Any]:
    """Rows of a catalogue CSV as `cls`; numbers must be numbers and not negative."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        have = set(reader.fieldnames or [])
        missing = [fld.name for fld in fields(cls) if fld.name not in have and fld.default is MISSING]
        if missing:
            raise UsageError(f"{path}: missing columns: {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            values = {}
            for fld in fields(cls):
                if fld.name not in have:  # an optional column (sliding windows): its default
                    continue
                where = f"{path}, line {line}, column {fld.name}"
                value = _convert(fld.type, (row[fld.name] or "").strip(), where)
                if isinstance(value, (int, float, Decimal)) and value < 0:
                    raise UsageError(f"{where}: negative: {row[fld.name]!r}")
                values[fld.name] = value
            rows.append(_check(cls(**values), f"{path}, line {line}"))
    return rows


def _check(row: Any, where: str) -> Any:
    if isinstance(row, Price) and row.pricing not in PRICINGS:
        raise UsageError(f"{where}, column pricing: {row.pricing!r}: use one of {', '.join(PRICINGS)}")
    if isinstance(row, Calibration) and row.precision not in PRECISIONS:
        raise UsageError(f"{where}, column precision: {row.precision!r}: use one of {', '.join(PRECISIONS)}")
    if isinstance(row, Model) and row.active_params_b > row.params_b:
        raise UsageError(f"{where}, column active_params_b: more active than total parameters")
    if isinstance(row, Model) and (
        row.sliding_layers > row.layers or bool(row.sliding_layers) != bool(row.sliding_window)
    ):
        raise UsageError(
            f"{where}, column sliding_layers: give both a window and its layers, at most all layers"
        )
    if isinstance(row, Gpu) and (row.memory_gb <= 0 or row.memory_tbps <= 0 or row.tflops_bf16 <= 0):
        raise UsageError(f"{where}: memory, bandwidth and bf16 FLOP/s must be positive")
    return row


def _shipped(name: str) -> Path:
    return Path(str(files("computeledger") / "data" / "capacity" / name))


@cache
def _builtin(cls: type, name: str) -> tuple[Any, ...]:
    return tuple(read_rows(cls, _shipped(name)))


def _merged(cls: type, name: str, key, extra: Path | None) -> dict:
    rows = list(_builtin(cls, name)) + (read_rows(cls, extra) if extra else [])
    return {key(r): r for r in rows}


def gpus(extra: Path | None = None) -> dict[str, Gpu]:
    return {k.lower(): v for k, v in _merged(Gpu, "gpus.csv", lambda r: r.gpu, extra).items()}


def models(extra: Path | None = None) -> dict[str, Model]:
    return {k.lower(): v for k, v in _merged(Model, "models.csv", lambda r: r.model, extra).items()}


def prices(extra: Path | None = None) -> list[Price]:
    key = lambda r: (r.provider.lower(), r.gpu.lower(), r.pricing, r.as_of)  # noqa: E731
    return list(_merged(Price, "prices.csv", key, extra).values())


def calibrations(extra: Path | None = None) -> dict[tuple[str, str, str], Calibration]:
    key = lambda r: (r.gpu.lower(), r.engine.lower(), r.precision)  # noqa: E731
    return _merged(Calibration, "calibration.csv", key, extra)


def find(table: dict[str, Any], name: str, what: str) -> Any:
    """A catalogue row by name, case-insensitive; an unknown name lists the known ones."""
    row = table.get(name.strip().lower())
    if row is None:
        known = ", ".join(sorted(getattr(r, what) for r in table.values()))
        raise UsageError(f"unknown {what} {name!r}; the catalogue has: {known}")
    return row


def latest_prices(rows: list[Price], gpu: str, on: date | None = None) -> list[Price]:
    """Per provider and pricing model, the price that held on `on` (default: the newest)."""
    best: dict[tuple[str, str], Price] = {}
    for p in rows:
        if p.gpu.lower() != gpu.lower() or (on is not None and p.as_of > on):
            continue
        k = (p.provider, p.pricing)
        if k not in best or p.as_of > best[k].as_of:
            best[k] = p
    return sorted(best.values(), key=lambda p: (p.usd_per_gpu_hour, p.provider, p.pricing))


def calibration_for(table: dict, gpu: str, precision: str, engine: str = "trtllm") -> tuple[Calibration, str]:
    """The calibration of (gpu, engine, precision), else the nearest one, with a note saying
    which was borrowed: the same GPU at another precision, then a GPU of the same memory
    system (H800 is an H100 with less NVLink), then the median of all."""
    exact = table.get((gpu.lower(), engine.lower(), precision))
    if exact:
        return exact, "fitted"
    same_gpu = [c for k, c in table.items() if k[0] == gpu.lower() and k[1] == engine.lower()]
    if same_gpu:
        return same_gpu[0], f"borrowed from {same_gpu[0].gpu} {same_gpu[0].precision}"
    alias = _SIBLINGS.get(gpu.lower())
    if alias and (alias, engine.lower(), precision) in table:
        c = table[(alias, engine.lower(), precision)]
        return c, f"borrowed from {c.gpu} {c.precision}"
    if not table:
        raise UsageError("no calibration: run `computeledger capacity calibrate`")
    pool = [c for c in table.values() if c.engine.lower() == engine.lower()] or list(table.values())
    ranked = sorted(pool, key=lambda c: c.compute_efficiency)
    c = ranked[len(ranked) // 2]
    return c, f"borrowed from {c.gpu} {c.precision} (median calibration)"


#: engines whose calibrations are fitted on runs at a fixed concurrency (InferenceMAX)
CONCURRENCY_ENGINES = ("sglang", "vllm", "trtllm")


def calibration_at_concurrency(
    table: dict, gpu: str, precision: str, engine: str | None = None
) -> tuple[Calibration, str]:
    """The calibration for a point at a given concurrency: `engine`'s, else the first of
    CONCURRENCY_ENGINES fitted for this GPU and precision, else one borrowed as
    `calibration_for` borrows; the note names the engine, GPU and precision used."""
    for e in [engine] if engine else CONCURRENCY_ENGINES:
        exact = table.get((gpu.lower(), e.lower(), precision))
        if exact:
            return exact, f"fitted ({exact.engine})"
    c, note = calibration_for(table, gpu, precision, engine or CONCURRENCY_ENGINES[0])
    return c, f"{note} ({c.engine})"


_SIBLINGS = {"h800 sxm": "h100 sxm", "h100 nvl": "h100 sxm", "h20": "h100 sxm"}
