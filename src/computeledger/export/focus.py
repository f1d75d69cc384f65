"""FOCUS out: the ledger's charges as FOCUS 1.2 or 1.3 files, for any other tool to read.

Each column of the version is written as FOCUS text: money and quantities as exact
decimals (every digit the ledger holds, no exponent, trailing zeros dropped), date-times
as ISO 8601 in UTC (`2025-01-01T00:00:00Z`), JSON columns as stored; the charge's id
rides along as `x_ChargeId`, and with `allocated` each charge is written as its
allocation's parts, with their dimensions as `x_` columns (`x_Workload`, `x_Model`, ...)
and their money. A file per provider and billing month, streamed in batches (memory
stays bounded), written whole or not at all. Read back by `ingest`, the files give the
same totals to the last digit.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from computeledger.errors import UsageError
from computeledger.ledger_charges import within
from computeledger.portable import iso_utc, re_replace
from computeledger.schema.focus import COLUMNS, Kind

VERSIONS = ("1.2", "1.3")
FORMATS = ("csv", "parquet")
#: allocation dimensions written as x_ columns (FOCUS asks custom columns to start with x_)
DIMENSIONS = {"workload": "x_Workload", "model": "x_Model", "team": "x_Team", "environment": "x_Environment"}


def _since(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def columns_of(version: str) -> list[str]:
    """The FOCUS columns of `version`, in the catalogue's order."""
    if version not in VERSIONS:
        raise UsageError(f"--focus {version}: write one of {', '.join(VERSIONS)}")
    return [c.name for c in COLUMNS if _since(c.since) <= _since(version)]


def decimal_texts(t: ir.Table, names: Sequence[str]) -> ir.Table:
    """`t` with its decimal columns `names` as plain text: every digit, no exponent (Spark
    and Arrow write 0E-18 and 1.0E-9, which `with_plain_text` writes out digit for
    digit), trailing zeros after the point dropped."""
    from computeledger.ingest.normalize import with_plain_text

    t = t.mutate(**{n: t[n].cast(dt.string) for n in names})
    t = with_plain_text(t, {n: n for n in names})
    trimmed = {}
    for n in names:
        text = re_replace(t[n], r"(\.[0-9]*[1-9])0+$", r"\1")
        trimmed[n] = re_replace(text, r"\.0*$", "")
    return t.mutate(**trimmed)


def focus_rows(
    ledger,
    version: str = "1.3",
    *,
    start: date | None = None,
    end: date | None = None,
    providers: Sequence[str] = (),
    allocated: bool = False,
) -> ir.Table:
    """The charges whose charge period starts in [start, end), of `providers` (all if
    none), as FOCUS `version` text columns, then x_ChargeId and (with `allocated`) the
    allocation's dimensions; plus the partition keys cl_provider and cl_month and the
    order keys cl_id and cl_part (the charge's id and part)."""
    names = columns_of(version)
    if allocated:
        from computeledger.allocate.engine import allocated_charges

        t = allocated_charges(ledger)
    else:
        t = ledger.charges
    t = within(t, start, end)
    provider = ibis.coalesce(t.ServiceProviderName, t.ProviderName)
    if providers:
        t = t.filter(provider.isin(list(providers)))
    kinds = {c.name: c.kind for c in COLUMNS}
    out: dict[str, ir.Value] = {}
    for name in names:
        v = t[name]
        if name == "ProviderName":  # 1.3 renamed it ServiceProviderName; 1.2 readers still need it
            v = ibis.coalesce(t.ProviderName, t.ServiceProviderName)
        elif name == "PublisherName":
            v = ibis.coalesce(t.PublisherName, t.ServiceProviderName)
        elif name == "InvoiceIssuerName":
            v = ibis.coalesce(t.InvoiceIssuerName, t.ServiceProviderName)
        if kinds[name] is Kind.DECIMAL:
            out[name] = v  # written out as text below
        elif kinds[name] is Kind.DATETIME:
            out[name] = iso_utc(v)
        else:
            out[name] = v.cast(dt.string)
    out["x_ChargeId"] = t.x_charge_id.cast(dt.string)
    if allocated:
        out |= {column: t[d].cast(dt.string) for d, column in DIMENSIONS.items()}
    out["cl_provider"] = ibis.coalesce(provider, "unknown")
    out["cl_month"] = t.BillingPeriodStart.strftime("%Y-%m")
    out["cl_id"] = t.x_charge_id
    out["cl_part"] = t.part if allocated else ibis.literal(0)
    return decimal_texts(t.select(**out), [n for n in names if kinds[n] is Kind.DECIMAL])


def write_focus(
    ledger,
    out: Path,
    version: str = "1.3",
    *,
    fmt: str = "csv",
    start: date | None = None,
    end: date | None = None,
    providers: Sequence[str] = (),
    allocated: bool = False,
) -> list[dict]:
    """Write the FOCUS files into `out` (made if missing); refuse before writing anything
    if a file it would write is there already. Returns per file its path, provider, month
    and rows."""
    if fmt not in FORMATS:
        raise UsageError(f"--file-format {fmt}: write one of {', '.join(FORMATS)}")
    rows = focus_rows(ledger, version, start=start, end=end, providers=providers, allocated=allocated)
    parts = rows.select("cl_provider", "cl_month").distinct().order_by(["cl_provider", "cl_month"])
    keys = parts.to_pyarrow().to_pylist()
    if not keys:
        raise UsageError("no charges to export" + (" for the period and providers asked" if start or end or
                         providers else ""))  # fmt: skip
    targets = _names(keys, version, fmt)
    for target in targets.values():
        if (out / target).exists():
            raise UsageError(f"--out {out}: {target} exists; export into an empty folder or another one")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot write there: {exc.strerror}") from None
    written = []
    for key in keys:
        part = rows.filter((rows.cl_provider == key["cl_provider"]) & (rows.cl_month == key["cl_month"]))
        part = part.order_by(["cl_id", "cl_part"]).drop("cl_provider", "cl_month", "cl_id", "cl_part")
        target = out / targets[(key["cl_provider"], key["cl_month"])]
        n = _write(part, target, fmt)
        written.append(
            {"path": str(target), "provider": key["cl_provider"], "month": key["cl_month"], "rows": n}
        )
    return written


def _names(keys: list[dict], version: str, fmt: str) -> dict[tuple[str, str], str]:
    """A file name per (provider, month): the provider's name made safe for any file
    system; two providers that read alike get a number each."""
    names: dict[tuple[str, str], str] = {}
    taken: set[str] = set()
    for key in keys:
        slug = re.sub(r"[^A-Za-z0-9]+", "-", key["cl_provider"]).strip("-").lower()[:40] or "provider"
        name = f"focus-{version}-{slug}-{key['cl_month']}.{fmt}"
        n = 2
        while name in taken:
            name = f"focus-{version}-{slug}-{n}-{key['cl_month']}.{fmt}"
            n += 1
        taken.add(name)
        names[(key["cl_provider"], key["cl_month"])] = name
    return names


def _write(rows: ir.Table, target: Path, fmt: str) -> int:
    """Stream the rows into `target` through a temporary file renamed over it at the end."""
    batches = rows.to_pyarrow_batches(chunk_size=100_000)
    schema = pa.schema([pa.field(f.name, pa.string()) for f in batches.schema])
    fd, temp = tempfile.mkstemp(prefix=".computeledger-", suffix=".part", dir=target.parent)
    os.close(fd)
    n = 0
    try:
        if fmt == "csv":
            options = pacsv.WriteOptions(quoting_style="needed")
            with pacsv.CSVWriter(temp, schema, write_options=options) as writer:
                for batch in batches:
                    writer.write_batch(batch.cast(schema))
                    n += batch.num_rows
        else:
            with pq.ParquetWriter(temp, schema) as writer:
                for batch in batches:
                    writer.write_batch(batch.cast(schema))
                    n += batch.num_rows
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return n
