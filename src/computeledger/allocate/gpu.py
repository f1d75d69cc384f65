"""GPU-hours per charge: consumed hours x the GPUs of the instance.

The GPU count comes from the charge itself where it says so (SkuPriceDetails `GpuCount`,
or a mapped invoice's `x_GpuCount`), else from the GPU catalogue by instance type (the
SkuPriceDetails `InstanceType`, a mapped `x_InstanceType`, or the SkuId). A charge that is
not compute, not usage, an unused commitment or a correction without quantity has no
GPU-hours (0); a compute usage charge whose instance or hours are unknown has unknown
GPU-hours (null), never 0.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.catalog import gpus
from computeledger.portable import json_field, strip

HOURS = ("hours", "hour", "hrs", "hr", "1 hour", "instance-hours", "instance hours")


def catalogue_table(extra: Path | None = None) -> ir.Table:
    rows = gpus.catalog(extra)
    return ibis.memtable(
        {
            "cl_instance": list(rows),
            "cl_gpus": [r.gpus for r in rows.values()],
            "cl_gpu_model": [r.gpu_model for r in rows.values()],
        }
    )


def with_gpus(charges: ir.Table, extra: Path | None = None) -> ir.Table:
    """The charges with gpu_count, gpu_model and gpu_hours."""
    details, ext = charges.SkuPriceDetails, charges.x_extensions
    instance = (
        ibis.coalesce(json_field(details, "InstanceType"), json_field(ext, "x_InstanceType"), charges.SkuId)
        .lower()
        .name("cl_key")
    )
    stated = ibis.coalesce(
        json_field(details, "GpuCount").try_cast("int64"),
        json_field(ext, "x_GpuCount").try_cast("int64"),
    )
    cat = catalogue_table(extra)
    keyed = charges.mutate(cl_key=instance, cl_stated=stated)
    joined = keyed.left_join(cat, keyed.cl_key == cat.cl_instance)
    count = ibis.coalesce(joined.cl_stated, joined.cl_gpus)
    unit = strip(joined.ConsumedUnit.lower())
    hours = unit.isin(list(HOURS))
    no_gpus = (
        (joined.ChargeCategory != "Usage")
        | (joined.CommitmentDiscountStatus == "Unused").fill_null(False)
        | ((joined.ChargeClass == "Correction").fill_null(False) & joined.ConsumedQuantity.isnull())
        | (count.isnull() & (joined.ServiceCategory != "Compute").fill_null(True))
    )
    number = charges.ConsumedQuantity.type()
    gpu_hours = ibis.cases(
        (no_gpus.fill_null(False), ibis.literal(0).cast(number)),
        (hours.fill_null(False) & count.notnull(), joined.ConsumedQuantity * count),
        else_=ibis.null(number),
    )
    return joined.mutate(
        gpu_count=ibis.ifelse(no_gpus.fill_null(False), ibis.null("int64"), count),
        gpu_model=ibis.ifelse(no_gpus.fill_null(False), ibis.null("string"), joined.cl_gpu_model),
        gpu_hours=gpu_hours.cast(number),
    ).drop("cl_key", "cl_stated", "cl_instance", "cl_gpus", "cl_gpu_model")
