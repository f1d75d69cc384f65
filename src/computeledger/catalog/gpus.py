"""The GPU catalogue: cloud instance type to GPU model and count, each row with its source.

CPU-only instance types are listed too, with 0 GPUs and gpu_model `none`, so that their
GPU-hours are known to be 0 rather than unknown.

Shipped as `data/gpu_instances.csv`; a user's own CSV with the same columns extends or
overrides it (same provider and instance type). Shared by the synthetic company, GPU-hour
attribution and the capacity model.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from pathlib import Path

from computeledger.errors import UsageError

COLUMNS = ("provider", "instance_type", "gpu_model", "gpus", "gpu_memory_gb", "interconnect", "source")


@dataclass(frozen=True)
class GpuInstance:
    provider: str
    instance_type: str
    gpu_model: str
    gpus: int
    gpu_memory_gb: int
    interconnect: str | None
    source: str


def read_catalog(path: Path) -> list[GpuInstance]:
    """Rows of a GPU catalogue CSV; a bad row is an error naming file, line and column."""
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise UsageError(f"{path}: missing columns: {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            for col in ("gpus", "gpu_memory_gb"):
                value = row[col].strip()
                if not value.isdigit():
                    raise UsageError(f"{path}, line {line}, column {col}: not a whole number: {value!r}")
            if (int(row["gpus"]) == 0) != (row["gpu_model"].strip().lower() == "none"):
                raise UsageError(
                    f"{path}, line {line}, column gpus: a CPU-only instance has 0 GPUs and gpu_model none"
                )
            for col in ("provider", "instance_type", "gpu_model", "source"):
                if not row[col].strip():
                    raise UsageError(f"{path}, line {line}, column {col}: missing")
            rows.append(
                GpuInstance(
                    provider=row["provider"].strip(),
                    instance_type=row["instance_type"].strip(),
                    gpu_model=row["gpu_model"].strip(),
                    gpus=int(row["gpus"]),
                    gpu_memory_gb=int(row["gpu_memory_gb"]),
                    interconnect=row["interconnect"].strip() or None,
                    source=row["source"].strip(),
                )
            )
    return rows


@cache
def builtin() -> tuple[GpuInstance, ...]:
    return tuple(read_catalog(Path(str(files("computeledger") / "data" / "gpu_instances.csv"))))


def catalog(extra: Path | None = None) -> dict[str, GpuInstance]:
    """Instance type (case-insensitive, an Azure 'Standard_' prefix optional) to its GPUs.
    Rows of `extra` replace built-in rows of the same provider and instance type."""
    rows = list(builtin()) + (read_catalog(extra) if extra else [])
    out: dict[str, GpuInstance] = {}
    for row in rows:
        for key in _keys(row.instance_type):
            out[key] = row
    return out


def _keys(instance_type: str) -> list[str]:
    key = instance_type.strip().lower()
    return [key, key.removeprefix("standard_")] if key.startswith("standard_") else [key]


def lookup(instance_type: str | None, table: dict[str, GpuInstance] | None = None) -> GpuInstance | None:
    """The catalogue row for an instance type, or None when it is not a known GPU instance."""
    if not instance_type:
        return None
    table = table if table is not None else catalog()
    return table.get(instance_type.strip().lower())
