"""A deterministic generator of a synthetic AI lab's cloud bills, with their ground truth.

The lab serves models (inference), trains them in bursts (training) and runs research,
on GPU nodes of several clouds, plus shared storage and egress. Each cloud emits one FOCUS
CSV per billing month (1.2 or 1.0, as its config says). The true cost of every workload,
model, cloud and month is written beside the bills (`truth/costs.csv`), computed apart
from the bills, so that tests can check that the ledger recovers it from the bills alone.

Money is computed in integer micro-dollars (hours to 2 decimals x unit prices to 4), so the
bills and the truth agree to the last digit. Output is streamed one cloud-month at a time:
memory is bounded by the largest month, whatever the number of months.
"""

from __future__ import annotations

import csv
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from computeledger import money
from computeledger.catalog import gpus
from computeledger.errors import UsageError
from computeledger.synth.company import Cloud, Company, load_company
from computeledger.synth.sales import write_cash, write_contracts, write_usage_and_revenue

SCALES = {"small": Decimal(1), "medium": Decimal(10), "large": Decimal(400)}
CHUNK_ROWS = 200_000  # rows built and written at a time
MICRO = 1_000_000
PARTIAL_SHARE = 0.06  # node-days that ran part of the day
UNTAGGED_SHARE = 0.03  # node-days whose resource carries no tags (named by convention only)
TEAMS = {"inference": "serving", "training": "pretraining", "research": "research"}
TRUTH_COLUMNS = (
    "provider", "month", "charge_month", "workload", "model", "billed_cost", "effective_cost",
    "list_cost", "gpu_hours", "rows",
)  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """Nodes of one workload and model on one cloud for one month."""

    workload: str
    model: str
    nodes: int


def parse_scale(scale: str) -> Decimal:
    """The size factor of a lab: small (1), medium (10), large (400) or a positive number."""
    if scale in SCALES:
        return SCALES[scale]
    try:
        factor = Decimal(scale.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise UsageError(f"--scale: use small, medium, large or a factor such as 25: {scale!r}") from exc
    if not factor.is_finite() or factor <= 0:
        raise UsageError(f"--scale: must be positive: {scale!r}")
    return factor


def month_starts(start: str, months: int) -> list[date]:
    try:
        year, month = (int(x) for x in start.split("-"))
        first = date(year, month, 1)
    except ValueError as exc:
        raise UsageError(f"--start: use YYYY-MM: {start!r}") from exc
    out = []
    for i in range(months + 1):
        y, m = divmod(first.month - 1 + i, 12)
        out.append(date(first.year + y, m + 1, 1))
    return out


def traffic(company: Company, model, month: int, factor: Decimal, seed: int = 7) -> Decimal:
    """A model's inference nodes in month number `month` (before rounding): its start nodes
    grown by `growth` a month, times the random walk of `company.volatility` (the same
    for every cloud: drawn from the seed and the model's name)."""
    growth = money.power(1 + model.growth, month - model.launch_month)
    nodes = model.inference_nodes * factor * growth
    if company.volatility and month > model.launch_month:
        rng = np.random.default_rng([seed, zlib.crc32(model.name.encode())])
        steps = rng.standard_normal(month - model.launch_month) * float(company.volatility)
        nodes *= Decimal(repr(float(np.exp(steps.sum()))))
    return nodes


def plans(company: Company, cloud: Cloud, month: int, factor: Decimal, seed: int = 7) -> list[Plan]:
    """What runs on `cloud` in month number `month`: nodes split evenly over the clouds
    hosting each workload (the first clouds take the remainder)."""
    out = []
    for workload in ("inference", "training", "research"):
        hosts = [c.provider for c in company.clouds if workload in c.workloads]
        if cloud.provider not in hosts:
            continue
        if workload == "research":
            demand = {"": 2 * factor}
        else:
            demand = {}
            for m in company.models:
                if month < m.launch_month:
                    continue
                if workload == "inference":
                    demand[m.name] = traffic(company, m, month, factor, seed)
                elif _training_month(m.name, month):
                    demand[m.name] = m.training_nodes * factor
        for model, nodes in demand.items():
            total = round(nodes)
            share, extra = divmod(total, len(hosts))
            n = share + (1 if hosts.index(cloud.provider) < extra else 0)
            if n:
                out.append(Plan(workload, model, n))
    return out


def _training_month(model: str, month: int) -> bool:
    """Training runs are bursts: two months on, one off, staggered per model."""
    return (month + zlib.crc32(model.encode()) % 3) % 3 != 2


def generate(
    out: Path,
    *,
    months: int = 24,
    start: str = "2024-01",
    scale: str = "small",
    seed: int = 7,
    config: Path | None = None,
    on_file: Callable[[Path, int], None] | None = None,
) -> dict:
    """Write the bills under out/focus/<provider>/<YYYY-MM>.csv (GPU clouds' own invoices
    under out/invoices/), and the truth under out/truth/."""
    if months < 1:
        raise UsageError("--months: at least 1")
    company = load_company(config)
    factor = parse_scale(scale)
    starts = month_starts(start, months)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    rows_total = 0
    billed: dict[tuple[str, int], Decimal] = defaultdict(Decimal)  # per provider and month: paid later
    served: dict[tuple[str, int], int] = defaultdict(int)  # inference GPU-hours x 100 per model, month
    reservations: list[tuple[str, str, str, int]] = []  # provider, id, purchase, months
    with (out / "truth" / "costs.csv").open("w", newline="") as f:
        truth = csv.writer(f, lineterminator="\n")
        truth.writerow(TRUTH_COLUMNS)
        for cloud in company.clouds:
            kind = "invoices" if cloud.focus_version == "invoice" else "focus"
            folder = out / kind / _slug(cloud.provider)
            folder.mkdir(parents=True, exist_ok=True)
            credit_left = _micro(cloud.credit_grant, 6)
            term = month_starts(start, cloud.reservation_months)
            term_hours = (term[-1] - term[0]).days * 24
            for i in range(months):
                rng = np.random.default_rng([seed, zlib.crc32(cloud.provider.encode()), i])
                reserved = cloud.reservation_nodes if i < cloud.reservation_months else 0
                purchase = (
                    cloud.reservation_nodes * term_hours * _micro(cloud.reservation_rate, 6) if i == 0 else 0
                )
                if purchase:
                    rid = _reservation(cloud)["CommitmentDiscountId"]
                    reservations.append((cloud.provider, rid, _text(purchase), cloud.reservation_months))
                corrections = [
                    (c, starts[c.corrects], starts[c.corrects + 1])
                    for c in company.corrections
                    if c.provider == cloud.provider and c.month == i
                ]
                open_month = company.preliminary_days if i == months - 1 and kind == "focus" else 0
                month = _month(
                    company, cloud, i, starts[i], starts[i + 1], factor, rng, credit_left, reserved, purchase,
                    corrections, open_month, seed,
                )  # fmt: skip
                credit_left -= month.credit
                path = folder / f"{starts[i]:%Y-%m}.csv"
                rows = _write_chunks(path, month.chunks)
                if month.preliminary is not None:
                    early = out / "preliminary" / _slug(cloud.provider) / f"{starts[i]:%Y-%m}.csv"
                    early.parent.mkdir(parents=True, exist_ok=True)
                    _write_chunks(early, month.preliminary)
                for t in month.truths:
                    truth.writerow([cloud.provider, f"{starts[i]:%Y-%m}", *t])
                    billed[(cloud.provider, i)] += Decimal(t[3])
                    if t[1] == "inference":
                        served[(t[2], i)] += int(Decimal(t[6]) * 100)
                rows_total += rows
                if on_file:
                    on_file(path, rows)
    sales = write_usage_and_revenue(out, company, starts, served, seed, factor)
    write_cash(out, company, starts, billed, sales, factor)
    write_contracts(out, company, starts, reservations)
    invoices = sum(c.focus_version == "invoice" for c in company.clouds)
    preliminary = len(list((out / "preliminary").glob("*/*.csv"))) if company.preliminary_days else 0
    return {
        "preliminary_files": preliminary,
        "rows": rows_total,
        "files": months * len(company.clouds),
        "focus_files": months * (len(company.clouds) - invoices),
        "invoice_files": months * invoices,
        "out": str(out),
    }


@dataclass(frozen=True)
class Month:
    """One cloud-month: its rows (as chunks of tables), truth lines, the credit it used, and
    (for the open month) the rows of a preliminary export made mid-month."""

    chunks: Iterable[pa.Table]
    truths: list[list]
    credit: int
    preliminary: Iterable[pa.Table] | None = None


def _month(
    company: Company, cloud: Cloud, month: int, start: date, end: date, factor: Decimal, rng,
    credit_left: int, reserved: int, purchase: int, corrections: list, preliminary_days: int = 0,
    seed: int = 7,
) -> Month:  # fmt: skip
    """`reserved` inference node-slots are covered by a prepaid reservation (billed 0, amortized
    at its rate; idle reserved hours are Unused rows); `purchase` is the upfront payment, in
    its first month; `corrections` credit earlier invoiced months; tax comes last, on the net."""
    days = (end - start).days
    charged = f"{start:%Y-%m}"
    unit = _micro(cloud.unit_price, 4)  # 1e-4 dollars per instance-hour
    list_unit = _micro(cloud.list_price, 4)
    rate = _micro(cloud.reservation_rate, 4)
    gpu = gpus.lookup(cloud.instance)
    parts, truths = [], []
    slot = 0  # reservation slots taken by earlier inference plans
    used = np.zeros(days, dtype=np.int64)  # reserved hours used per day, in hundredths
    for plan in plans(company, cloud, month, factor, seed):
        n = plan.nodes * days
        hours = np.full(n, 2400, dtype=np.int64)  # hundredths of an hour
        partial = rng.random(n) < PARTIAL_SHARE
        hours[partial] = rng.integers(100, 2400, int(partial.sum()))
        contracted = hours * unit  # 1e-6 dollars
        listed = hours * list_unit
        node = np.tile(np.arange(plan.nodes), days)
        day = np.repeat(np.arange(days), plan.nodes)
        tagged = rng.random(n) >= UNTAGGED_SHARE
        committed = np.zeros(n, dtype=bool)
        if plan.workload == "inference" and reserved:
            committed = slot + node < reserved
            slot += plan.nodes
            np.add.at(used, day[committed], hours[committed])  # integer hours, no float
        billed = np.where(committed, 0, contracted)
        effective = np.where(committed, hours * rate, contracted)
        parts.append((plan, hours, billed, effective, contracted, listed, node, day, tagged, committed))
        truths.append([
            charged, plan.workload, plan.model or "-", _text(int(billed.sum())), _text(int(effective.sum())),
            _text(int(listed.sum())), str(Decimal(int(hours.sum()) * cloud.gpus_per_node) / 100), n,
        ])  # fmt: skip
    unused = (reserved * 2400 - used) if reserved else np.zeros(0, dtype=np.int64)
    commitment_rows = [_unused_row(cloud, start, d, int(h) * rate) for d, h in enumerate(unused) if h]
    if purchase:
        commitment_rows.insert(0, _purchase_row(cloud, start, end, purchase))
    if commitment_rows:
        truths.append([
            charged, "commitment", "-", _text(purchase), _text(sum(int(h) * rate for h in unused if h > 0)),
            _text(purchase), "0", len(commitment_rows),
        ])  # fmt: skip
    # Shared, one row a day each: (kind, billed, listed, hours or None)
    shared = []
    for kind, per_day in (("storage", company.storage_per_day), ("egress", company.egress_per_day)):
        if per_day and cloud.focus_version != "invoice":  # a GPU cloud's invoice bills nodes only
            cost = np.full(days, _micro(per_day, 6), dtype=np.int64)
            shared.append((kind, cost, cost, None))
    cpu_nodes = round(cloud.cpu_nodes * factor)
    if cloud.cpu_instance and cpu_nodes:  # the API gateway's CPU fleet, as one row a day
        hours = np.full(days, cpu_nodes * 2400, dtype=np.int64)
        shared.append(
            ("cpu", hours * _micro(cloud.cpu_unit_price, 4), hours * _micro(cloud.cpu_list_price, 4), hours)
        )
    if shared:
        billed_total = _text(sum(int(c.sum()) for _, c, _, _ in shared))
        list_total = _text(sum(int(c.sum()) for _, _, c, _ in shared))
        truths.append(
            [charged, "shared", "-", billed_total, billed_total, list_total, "0", days * len(shared)]
        )
    support = _micro((cloud.support_per_month * factor).quantize(Decimal("0.01")), 6)
    if support and cloud.focus_version != "invoice":
        truths.append([charged, "shared", "-", *[_text(support)] * 3, "0", 1])
    else:
        support = 0
    # Credits: the month's charges are covered until the grant runs out (one Credit row).
    charges = (
        sum(int(p[2].sum()) for p in parts) + sum(int(c.sum()) for _, c, _, _ in shared) + purchase + support
    )
    credit = min(credit_left, charges)
    extra = list(commitment_rows)
    if support:
        extra.append(_support_row(cloud, start, end, support))
    if credit:
        amount = _text(-credit)
        truths.append([charged, "credit", "-", amount, amount, amount, "0", 1])
        extra.append(_credit_row(start, end, credit))
    net = charges - credit
    for fix, fix_start, fix_end in corrections:
        amount = _micro(fix.amount, 6)
        net += amount
        extra.append(_correction_row(cloud, fix, fix_start, fix_end, amount))
        truths.append([f"{fix_start:%Y-%m}", fix.workload, fix.model, *[_text(amount)] * 3, "0", 1])
    if cloud.tax_rate and net > 0:
        tax = _micro((Decimal(net) / MICRO * cloud.tax_rate).quantize(Decimal("0.01")), 6)
        extra.append(_tax_row(cloud, start, end, tax))
        truths.append([charged, "tax", "-", *[_text(tax)] * 3, "0", 1])
    # Written in pieces of at most CHUNK_ROWS rows (then the shared rows): memory is bounded
    # by a constant, whatever the size of the lab or of a month.
    if cloud.focus_version == "invoice":
        pieces = [piece for part in parts for piece in _slices(part)]
        chunks = (_invoice_table(company, cloud, start, end, [p]) for p in pieces or [None])
        return Month(chunks, truths, credit)
    chunks = _focus_chunks(company, cloud, start, end, parts, shared, gpu, extra)
    if not preliminary_days:
        return Month(chunks, truths, credit)
    early = [tuple(a[p[7] < preliminary_days] if isinstance(a, np.ndarray) else a for a in p) for p in parts]
    early_shared = [
        (
            kind,
            billed[:preliminary_days],
            listed[:preliminary_days],
            None if hours is None else hours[:preliminary_days],
        )
        for kind, billed, listed, hours in shared
    ]
    return Month(
        chunks, truths, credit, _focus_chunks(company, cloud, start, end, early, early_shared, gpu, [])
    )


def _focus_chunks(company, cloud, start, end, parts, shared, gpu, extra) -> Iterator[pa.Table]:
    """The month's FOCUS tables: node-days in pieces, then the shared rows, then the single
    rows (commitments, credit, corrections, tax)."""
    for piece in (piece for part in parts for piece in _slices(part)):
        yield _focus_table(company, cloud, start, end, [piece], [], gpu)
    if shared or not parts:
        yield _focus_table(company, cloud, start, end, [], shared, gpu)
    for row in extra:
        yield _focus_table(company, cloud, start, end, [], [], None, row=row)


def _reservation(cloud: Cloud) -> dict[str, str]:
    rid = f"{_slug(cloud.provider)}/reservations/{cloud.instance}-{cloud.reservation_nodes}x"
    return {
        "CommitmentDiscountId": rid, "CommitmentDiscountName": f"{cloud.instance} x{cloud.reservation_nodes}",
        "CommitmentDiscountCategory": "Usage", "CommitmentDiscountType": "Reservation",
    }  # fmt: skip


def _purchase_row(cloud: Cloud, start: date, end: date, amount: int) -> dict:
    """The upfront payment: billed now, amortized over the term by the covered rows."""
    res = _reservation(cloud)
    return _row(
        amount=_text(amount), effective="0.000000", start=start, end=end, category="Purchase",
        frequency="One-Time", description=f"Reservation purchase, {cloud.reservation_months} months",
        resource=res["CommitmentDiscountId"], service=("Compute", "Virtual Machines"), status=None, **res,
    )  # fmt: skip


def _unused_row(cloud: Cloud, start: date, day: int, cost: int) -> dict:
    """Reserved hours no node used that day: paid for, amortized, idle."""
    d = date.fromordinal(start.toordinal() + day)
    res = _reservation(cloud)
    return _row(
        amount="0.000000", effective=_text(cost), start=d, end=date.fromordinal(d.toordinal() + 1),
        category="Usage", frequency="Usage-Based", description="Unused reservation hours",
        resource=res["CommitmentDiscountId"], service=("Compute", "Virtual Machines"), status="Unused",
        pricing="Committed", **res,
    )  # fmt: skip


def _credit_row(start: date, end: date, credit: int) -> dict:
    """One FOCUS Credit row: negative, EffectiveCost = BilledCost, as the spec asks."""
    amount = _text(-credit)
    return _row(
        amount=amount, effective=amount, start=start, end=end, category="Credit", frequency="One-Time",
        description="Promotional credit applied", resource=None, service=("Other", "Credits"), status=None,
    )  # fmt: skip


def _correction_row(cloud: Cloud, fix, start: date, end: date, amount: int) -> dict:
    """A charge of this bill for an earlier, invoiced month (FOCUS ChargeClass Correction)."""
    label = f"{fix.workload[:3]}-{fix.model}" if fix.model != "-" else fix.workload[:3]
    model = f', "model": "{fix.model}"' if fix.model != "-" else ""
    resource = f"{_slug(cloud.provider)}/{cloud.region}/{label}-node-0"
    return _row(
        amount=_text(amount), effective=_text(amount), start=start, end=end, category="Usage",
        frequency="Usage-Based", description=fix.description, resource=resource,
        service=("Compute", "Virtual Machines"), status=None, ChargeClass="Correction",
        ResourceName=f"{label}-node-0",
        Tags=f'{{"workload": "{fix.workload}"{model}, "team": "{TEAMS[fix.workload]}"}}',
    )  # fmt: skip


def _support_row(cloud: Cloud, start: date, end: date, amount: int) -> dict:
    """The month's enterprise support plan: a recurring charge on no resource."""
    return _row(
        amount=_text(amount), effective=_text(amount), start=start, end=end, category="Usage",
        frequency="Recurring", description="Enterprise support plan, monthly", resource=None,
        service=("Other", "Support"), status=None, Tags='{"workload": "shared", "team": "platform"}',
    )  # fmt: skip


def _tax_row(cloud: Cloud, start: date, end: date, tax: int) -> dict:
    return _row(
        amount=_text(tax), effective=_text(tax), start=start, end=end, category="Tax", frequency="One-Time",
        description=f"Sales tax {cloud.tax_rate * 100}%", resource=None, service=("Other", "Tax"),
        status=None,
    )  # fmt: skip


def _row(*, amount, effective, start, end, category, frequency, description, resource, service,
         status, pricing=None, **commitment) -> dict:  # fmt: skip
    """A single FOCUS row that is not a node-day (purchase, unused hours, credit)."""
    listed = "0.000000" if status == "Unused" else amount
    return {
        "ResourceId": resource, "ResourceName": resource,
        "BilledCost": amount, "EffectiveCost": effective, "ContractedCost": listed, "ListCost": listed,
        "ChargePeriodStart": f"{start.isoformat()}T00:00:00Z",
        "ChargePeriodEnd": f"{end.isoformat()}T00:00:00Z",
        "ChargeDescription": description,
        "PricingCategory": pricing, "ServiceCategory": service[0], "ServiceName": service[1],
        "ServiceSubcategory": "Virtual Machines" if service[0] == "Compute" else "Other (Other)",
        "ChargeCategory": category, "ChargeFrequency": frequency, "CommitmentDiscountStatus": status,
    } | commitment  # fmt: skip


def _slices(part: tuple):
    plan, *arrays = part
    for a in range(0, len(arrays[0]), CHUNK_ROWS):
        yield (plan, *(x[a : a + CHUNK_ROWS] for x in arrays))


def _write_chunks(path: Path, chunks) -> int:
    """Write tables of one schema to one CSV, header once; returns the rows written."""
    rows, writer = 0, None
    try:
        for table in chunks:
            if writer is None:
                writer = pacsv.CSVWriter(
                    path, table.schema, write_options=pacsv.WriteOptions(quoting_style="needed")
                )
            writer.write_table(table)
            rows += table.num_rows
    finally:
        if writer is not None:
            writer.close()
    return rows


def _invoice_table(company: Company, cloud: Cloud, start: date, end: date, parts) -> pa.Table:
    """The month as a GPU cloud's own invoice CSV (the columns the shipped mapping reads)."""
    cols: dict[str, list] = defaultdict(list)
    day0 = np.datetime64(start.isoformat(), "D")
    for plan, hours, *_costs, node, day, tagged, _committed in (p for p in parts if p):
        n = len(hours)
        cols["cluster"].append(_node_names(plan, node))
        cols["usage_start"].append(_days(day0, day))
        cols["usage_end"].append(_days(day0, day + 1))
        cols["instance_hours"].append(_decimal(hours, 2))
        cols["tags"].append(pa.array(np.where(tagged, _tags(plan), None).tolist(), pa.string()))
        cols["description"].append(pa.array([f"{cloud.instance} node-hours, {plan.workload}"] * n))
    per_row = ("cluster", "usage_start", "usage_end", "instance_hours", "tags", "description")
    data = {
        name: pa.concat_arrays(cols[name]) if cols[name] else pa.array([], pa.string()) for name in per_row
    }
    total = len(data["cluster"])
    fixed = {
        "invoice_id": f"CW-{start:%Y%m}", "provider": cloud.provider, "account_id": cloud.account,
        "account_name": cloud.account_name, "currency": company.currency,
        "period_start": start.isoformat(), "period_end": end.isoformat(), "region": cloud.region,
        "instance_type": cloud.instance, "rate_usd": str(cloud.unit_price.normalize()),
        "list_rate_usd": str(cloud.list_price),
    }  # fmt: skip
    for name, value in fixed.items():
        data[name] = pa.array([value] * total, pa.string())
    order = ["invoice_id", "provider", "account_id", "account_name", "currency", "period_start",
             "period_end", "usage_start", "usage_end", "region", "cluster", "instance_type",
             "instance_hours", "rate_usd", "list_rate_usd", "description", "tags"]  # fmt: skip
    return pa.table({name: data[name] for name in order})


def _focus_table(
    company, cloud: Cloud, start: date, end: date, parts, shared, gpu, row: dict | None = None
) -> pa.Table:
    """The month's FOCUS rows as text columns (one node-day, or one shared day, per row; or
    the one `row` given, whose keys may also replace the month's fixed values)."""
    cols: dict[str, list] = {}

    def add(name: str, values) -> None:
        cols.setdefault(name, []).append(values)

    if row:
        for name in _ROW_COLUMNS:
            add(name, pa.array([row.get(name)], pa.string()))

    day0 = np.datetime64(start.isoformat(), "D")
    slug = _slug(cloud.provider)
    res = _reservation(cloud) if cloud.reservation_nodes else {}
    block = "block_pricing" in cloud.quirks
    for plan, hours, billed, effective, contracted, listed, node, day, tagged, committed in parts:
        n = len(hours)
        names = _node_names(plan, node)
        add("BilledCost", _decimal(billed, 6))
        add("EffectiveCost", _decimal(effective, 6))
        add("ContractedCost", _decimal(contracted, 6))
        add("ListCost", _decimal(listed, 6))
        add("ConsumedQuantity", _decimal(hours, 2))
        add("PricingQuantity", _decimal(hours, 4 if block else 2))
        add("ChargePeriodStart", _days(day0, day))
        add("ChargePeriodEnd", _days(day0, day + 1))
        add("ResourceName", names)
        add("ResourceId", pc.binary_join_element_wise(f"{slug}/{cloud.region}/", names, ""))
        add("Tags", pa.array(np.where(tagged, _tags(plan), None).tolist(), pa.string()))
        for name, value in _constant_usage(cloud, gpu, block).items():
            add(name, pa.array([value] * n, pa.string()))
        pricing = np.where(committed, "Committed", "Standard").tolist()
        add("PricingCategory", pa.array(pricing, pa.string()))
        add("CommitmentDiscountStatus", pa.array(np.where(committed, "Used", None).tolist(), pa.string()))
        for name in _COMMITMENT:
            add(name, pa.array(np.where(committed, res.get(name), None).tolist(), pa.string()))
    for kind, cost, listed, hours in shared:
        n = len(cost)
        add("BilledCost", _decimal(cost, 6))
        add("EffectiveCost", _decimal(cost, 6))
        add("ContractedCost", _decimal(cost, 6))
        add("ListCost", _decimal(listed, 6))
        add("ConsumedQuantity", pa.nulls(n, pa.string()) if hours is None else _decimal(hours, 2))
        add("PricingQuantity", pa.array(["1"] * n) if hours is None else _decimal(hours, 2))
        add("ChargePeriodStart", _days(day0, np.arange(n)))
        add("ChargePeriodEnd", _days(day0, np.arange(n) + 1))
        add("ResourceName", pa.array([f"shared-{kind}"] * n))
        add("ResourceId", pa.array([f"{slug}/{cloud.region}/shared-{kind}"] * n))
        add("Tags", pa.array(['{"workload": "shared", "team": "platform"}'] * n))
        for name, value in _constant_shared(kind, cloud).items():
            add(name, pa.array([value] * n, pa.string()))
        for name in ("PricingCategory", "CommitmentDiscountStatus", *_COMMITMENT):
            add(name, pa.array(["Standard" if name == "PricingCategory" else None] * n, pa.string()))
    month = f"{start:%Y%m}"
    fixed = {
        "BillingAccountId": cloud.account,
        "BillingAccountName": cloud.account_name,
        "BillingCurrency": company.currency,
        "BillingPeriodStart": f"{start.isoformat()}T00:00:00Z",
        "BillingPeriodEnd": f"{end.isoformat()}T00:00:00Z",
        "ChargeCategory": "Usage",
        "ChargeClass": None,
        "ChargeFrequency": "Usage-Based",
        "InvoiceIssuerName": cloud.provider,
        "ProviderName": cloud.provider,
        "PublisherName": cloud.provider,
        "RegionId": cloud.region,
        "RegionName": cloud.region,
        "SubAccountId": f"{cloud.account}-lab",
        "SubAccountName": "lab",
    }
    if cloud.focus_version == "1.2":
        fixed |= {"BillingAccountType": "Enterprise Agreement", "InvoiceId": f"INV-{slug}-{month}"}
    total = sum(len(c) for c in cols["BilledCost"]) if cols else 0
    assert tuple(cols)[: len(_ROW_COLUMNS)] == _ROW_COLUMNS or not cols
    data = {name: pa.concat_arrays([a.cast(pa.string()) for a in arrays]) for name, arrays in cols.items()}
    for name, value in fixed.items():
        data[name] = pa.array([(row or {}).get(name, value)] * total, pa.string())
    if cloud.focus_version != "1.2":
        for name in ("ServiceSubcategory", "SkuPriceDetails"):
            data.pop(name, None)
    return _with_quirks(pa.table(data), cloud.quirks)


_TIMESTAMPS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")


def _with_quirks(table: pa.Table, quirks: tuple[str, ...]) -> pa.Table:
    """What real exports do: the literal NULL or "" for nulls, timestamps without T and Z,
    'Usage-based', tag keys and values in other cases. The money is untouched."""
    columns = {}
    for name in table.column_names:
        col = table[name]
        if "space_timestamps" in quirks and name in _TIMESTAMPS:
            col = pc.replace_substring(pc.replace_substring(col, "T", " "), "Z", "")
        if "lowercase_frequency" in quirks and name == "ChargeFrequency":
            col = pc.replace_substring(col, "Usage-Based", "Usage-based")
        if "tag_case" in quirks and name == "Tags":
            col = pc.replace_substring(col, '"workload": "inference"', '"Workload": "Inference"')
        if "null_literal" in quirks:
            col = pc.fill_null(col, "NULL")
        elif "blank_nulls" in quirks:
            col = pc.fill_null(col, "")
        columns[name] = col
    return pa.table(columns)


#: The per-row columns, in the order every chunk of a month writes them.
_ROW_COLUMNS = (
    "BilledCost", "EffectiveCost", "ContractedCost", "ListCost", "ConsumedQuantity", "PricingQuantity",
    "ChargePeriodStart", "ChargePeriodEnd", "ResourceName", "ResourceId", "Tags", "ChargeDescription",
    "ConsumedUnit", "ContractedUnitPrice", "ListUnitPrice", "PricingUnit",
    "ResourceType", "ServiceCategory", "ServiceSubcategory", "ServiceName", "SkuId", "SkuPriceId",
    "SkuPriceDetails", "PricingCategory", "CommitmentDiscountStatus", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountCategory", "CommitmentDiscountType",
)  # fmt: skip
_COMMITMENT = (
    "CommitmentDiscountId",
    "CommitmentDiscountName",
    "CommitmentDiscountCategory",
    "CommitmentDiscountType",
)


def _constant_usage(cloud: Cloud, gpu, block: bool = False) -> dict[str, str | None]:
    """Per node-hour; or, Azure-style, per block of 100 hours (quantity / 100, price x 100)."""
    details = f'{{"InstanceType": "{cloud.instance}", "GpuCount": {cloud.gpus_per_node}}}'
    size = 100 if block else 1
    return {
        "ChargeDescription": f"{cloud.instance} ({gpu.gpus} x {gpu.gpu_model}) instance-hours",
        "ConsumedUnit": "Hours",
        "ContractedUnitPrice": str((cloud.unit_price * size).normalize()),
        "ListUnitPrice": str((cloud.list_price * size).normalize()),
        "PricingUnit": "100 Hours" if block else "Hours",
        "ResourceType": "Virtual Machine",
        "ServiceCategory": "Compute",
        "ServiceSubcategory": "Virtual Machines",
        "ServiceName": "Virtual Machines",
        "SkuId": cloud.instance,
        "SkuPriceId": f"{cloud.instance}-{cloud.region}-contract",
        "SkuPriceDetails": details,
    }


def _constant_shared(kind: str, cloud: Cloud) -> dict[str, str | None]:
    if kind == "cpu":
        return {
            "ChargeDescription": f"{cloud.cpu_instance} instance-hours, API gateway fleet, daily",
            "ConsumedUnit": "Hours",
            "ContractedUnitPrice": str(cloud.cpu_unit_price),
            "ListUnitPrice": str(cloud.cpu_list_price),
            "PricingUnit": "Hours",
            "ResourceType": "Virtual Machine",
            "ServiceCategory": "Compute",
            "ServiceSubcategory": "Virtual Machines",
            "ServiceName": "Virtual Machines",
            "SkuId": cloud.cpu_instance,
            "SkuPriceId": f"{cloud.cpu_instance}-{cloud.region}-contract",
            "SkuPriceDetails": f'{{"InstanceType": "{cloud.cpu_instance}", "GpuCount": 0}}',
        }
    storage = kind == "storage"
    return {
        "ChargeDescription": "Object storage, daily" if storage else "Internet egress, daily",
        "ConsumedUnit": None,
        "ContractedUnitPrice": None,
        "ListUnitPrice": None,
        "PricingUnit": "Days",
        "ResourceType": "Storage Account" if storage else "Network",
        "ServiceCategory": "Storage" if storage else "Networking",
        "ServiceSubcategory": "Object Storage" if storage else "Network Connectivity",
        "ServiceName": "Object Storage" if storage else "Data Transfer",
        "SkuId": f"{kind}-standard",
        "SkuPriceId": None,
        "SkuPriceDetails": None,
    }


def _node_names(plan: Plan, node: np.ndarray) -> pa.Array:
    """Resource names that say what runs on them (`inf-atlas-l-node-3`): the convention
    that identifies untagged resources."""
    label = f"{plan.workload[:3]}-{plan.model}" if plan.model else plan.workload[:3]
    return pc.binary_join_element_wise(f"{label}-node-", pa.array(node).cast(pa.string()), "")


def _tags(plan: Plan) -> str:
    model = f', "model": "{plan.model}"' if plan.model else ""
    return f'{{"workload": "{plan.workload}"{model}, "team": "{TEAMS[plan.workload]}"}}'


def _micro(value: Decimal, places: int) -> int:
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise UsageError(f"{value} has more than {places} decimals")
    return int(scaled)


def _text(micro: int) -> str:
    return str(Decimal(micro).scaleb(-6))


def _decimal(values: np.ndarray, places: int) -> pa.Array:
    """Non-negative integers in units of 10^-places as exact decimal text."""
    whole = pa.array(values // 10**places).cast(pa.string())
    frac = pc.utf8_lpad(pa.array(values % 10**places).cast(pa.string()), places, "0")
    return pc.binary_join_element_wise(whole, frac, ".")


def _days(day0: np.datetime64, offsets: np.ndarray) -> pa.Array:
    stamps = np.datetime_as_string(day0 + offsets.astype("timedelta64[D]"), unit="D")
    return pc.binary_join_element_wise(pa.array(stamps), "T00:00:00Z", "")


def _slug(provider: str) -> str:
    return provider.lower().replace(" ", "-")
