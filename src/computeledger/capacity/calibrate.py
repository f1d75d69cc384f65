"""Fitting the model's efficiency factors to published throughput measurements.

A measurements CSV has one row per benchmark run: model, GPU, precision, engine,
parallelism, GPUs, input and output tokens per request, the batch if it was fixed, and
the output tokens per second of all its GPUs. Per (GPU, engine, precision), a coordinate
search over a grid finds the compute efficiency, bandwidth efficiency, per-layer overhead
per-token overhead, expert slowdown and engine batch limit that minimise the squared log
error: deterministic, no optimiser. The per-token overhead is the engine's work per
sequence and step that no FLOP or byte counts (sampling, scheduling): it is what caps
small models' throughput.
"""

from __future__ import annotations

import csv
import math
import statistics
from dataclasses import dataclass, fields, replace
from importlib.resources import files
from pathlib import Path

from computeledger.capacity import catalog
from computeledger.capacity.catalog import Calibration
from computeledger.capacity.physics import Setup, Workload, max_batch, point
from computeledger.errors import UsageError

COLUMNS = (
    "model", "gpu", "precision", "engine", "tp", "pp", "ep", "gpus",
    "input_tokens", "output_tokens", "batch", "output_tokens_per_s", "source",
)  # fmt: skip

GRID = {
    "compute_efficiency": [i / 100 for i in range(10, 101)],
    "bandwidth_efficiency": [i / 100 for i in range(30, 101)],
    "layer_overhead_us": [float(i) for i in range(0, 301, 3)],
    "token_overhead_us": [float(i) for i in range(0, 201, 2)],
    "expert_slowdown": [1 + i / 20 for i in range(0, 61)],
    "max_batch": [64, 128, 256, 512, 1024, 2048, 4096],
}
START = {
    "compute_efficiency": 0.5,
    "bandwidth_efficiency": 0.7,
    "layer_overhead_us": 30.0,
    "token_overhead_us": 10.0,
    "expert_slowdown": 1.0,
    "max_batch": 2048,
}


@dataclass(frozen=True)
class Measurement:
    setup: Setup
    workload: Workload
    engine: str
    batch: int | None
    output_tps: float
    source: str
    where: str


def shipped(name: str) -> Path:
    return Path(str(files("computeledger") / "data" / "capacity" / "measurements" / name))


def read_measurements(path: Path, gpus=None, models=None) -> list[Measurement]:
    """Measurements of a CSV (a path, or a shipped table's name: trtllm-1.0); a bad row is an
    error naming the file, line and column."""
    from computeledger.shipped import find

    path = find(path, "measurements")
    gpus = gpus if gpus is not None else catalog.gpus()
    models = models if models is not None else catalog.models()
    out = []
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path}: missing columns: {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            out.append(_measurement(row, f"{path}, line {line}", gpus, models))
    return out


def _measurement(row: dict, where: str, gpus: dict, models: dict) -> Measurement:
    def number(col: str, kind=int, optional: bool = False):
        text = (row[col] or "").strip()
        if not text and optional:
            return None
        try:
            value = kind(text)
        except ValueError:
            raise UsageError(f"{where}, column {col}: not a number: {text!r}") from None
        if not value > 0 or not math.isfinite(value):
            raise UsageError(f"{where}, column {col}: must be positive: {text!r}")
        return value

    tp, pp, ep = number("tp"), number("pp"), number("ep")
    try:
        model = catalog.find(models, row["model"], "model")
        gpu = catalog.find(gpus, row["gpu"], "gpu")
        setup = Setup(model, gpu, row["precision"].strip().lower(), tp, pp, ep)
    except UsageError as e:
        raise UsageError(f"{where}: {e}") from None
    if setup.gpus != number("gpus"):
        raise UsageError(f"{where}, column gpus: {row['gpus']} but the parallelism uses {setup.gpus}")
    return Measurement(
        setup,
        Workload(number("input_tokens", float), number("output_tokens", float)),
        row["engine"].strip().lower(),
        number("batch", optional=True),
        number("output_tokens_per_s", float),
        row["source"].strip(),
        where,
    )


def predict(m: Measurement, c: Calibration) -> float:
    """The model's output tokens per second for a measured run."""
    batch = m.batch if m.batch is not None else max_batch(m.setup, m.workload, c)
    return point(m.setup, m.workload, batch, c).output_tps


def _loss(rows: list[Measurement], c: Calibration) -> float:
    total = 0.0
    for m in rows:
        try:
            total += math.log(predict(m, c) / m.output_tps) ** 2
        except UsageError:
            total += 100.0
    return total


def fit_group(rows: list[Measurement]) -> Calibration:
    """The calibration of one (GPU, engine, precision) that fits its rows best."""
    first = rows[0]
    c = Calibration(
        first.setup.gpu.gpu, first.engine, first.setup.precision, **START,
        fitted_on=len(rows), median_abs_error=0.0, source="",
    )  # fmt: skip
    best = _loss(rows, c)
    for _ in range(8):
        moved = False
        for name, grid in GRID.items():
            for value in grid:
                trial = replace(c, **{name: value})
                loss = _loss(rows, trial)
                if loss < best - 1e-12:
                    best, c, moved = loss, trial, True
        if not moved:
            break
    return replace(c, median_abs_error=round(median_abs_error(rows, c), 4))


def median_abs_error(rows: list[Measurement], c: Calibration | dict) -> float:
    errors = [abs(e) for _, _, e in errors_of(rows, c)]
    return statistics.median(errors) if errors else 0.0


def errors_of(
    rows: list[Measurement], calibrations: Calibration | dict
) -> list[tuple[Measurement, float, float]]:
    """(measurement, predicted, relative error) for each row that has a calibration."""
    out = []
    for m in rows:
        if isinstance(calibrations, Calibration):
            c = calibrations
        else:
            c, _ = catalog.calibration_for(calibrations, m.setup.gpu.gpu, m.setup.precision, m.engine)
        try:
            got = predict(m, c)
        except UsageError:
            continue
        out.append((m, got, got / m.output_tps - 1))
    return out


def fit(rows: list[Measurement], source: str) -> list[Calibration]:
    """One calibration per (GPU, engine, precision) in the measurements; its source names
    the files its own rows came from (else `source`)."""
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for m in rows:
        groups.setdefault((m.setup.gpu.gpu, m.engine, m.setup.precision), []).append(m)
    out = []
    for _, g in sorted(groups.items()):
        files = sorted({Path(m.where.split(", line ")[0]).name for m in g if ", line " in m.where})
        out.append(replace(fit_group(g), source="; ".join(files) or source))
    return out


CALIBRATION_COLUMNS = tuple(f.name for f in fields(Calibration))


def write_calibration(rows: list[Calibration], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CALIBRATION_COLUMNS)
        for c in rows:
            w.writerow([getattr(c, col) for col in CALIBRATION_COLUMNS])
