"""Allocation: every charge to its dimensions (directly by rules, or split over targets by a
driver), written to the `allocations` table under the rules' version.

Rounding rule of splits: a charge split into n parts gets, for parts 1 to n-1, its amount
(to 12 decimals) times the part's share (the target's driver over the total, truncated to
12 decimals), rounded to 18 decimals; part n gets the amount minus the other parts. The
parts add up to the charge exactly, on every cost basis, whatever the shares.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from computeledger import money
from computeledger.allocate.gpu import with_gpus
from computeledger.allocate.place import matches, placed, placed_by
from computeledger.allocate.rules import STANDARD, UNALLOCATED, Rules, Split
from computeledger.errors import UsageError
from computeledger.portable import json_field
from computeledger.schema.focus import MONEY
from computeledger.schema.tables import ALLOCATIONS, NUMBER, SHARE

NOT_RUN = "(loaded after the allocation)"  # the split column of charges the allocation has not seen
_WORK = dt.Decimal(38, 12)


@dataclass
class Run:
    version: str
    charges: int
    parts: int
    split_charges: int


def direct(charges: ir.Table, rules: Rules) -> ir.Table:
    """One row per charge: its dimensions, the rules that set them (by position), provider,
    month, its money, GPU-hours, and the split (if any) that will spread it."""
    t = placed(with_gpus(charges), rules)
    dims = {d: t[f"d_{d}"] for d in rules.dimensions}
    split = ibis.null().cast("string")
    hits = [(matches(t, s.conditions, f"{rules.path}: split {s.name!r}", dims), s.name) for s in rules.splits]
    if hits:  # one flat CASE, first split in file order wins
        split = ibis.cases(*((h, ibis.literal(name)) for h, name in hits), else_=split)
    return t.select(
        "x_charge_id",
        cl_provider=ibis.coalesce(t.HostProviderName, t.ServiceProviderName),
        cl_month=t.ChargePeriodStart.truncate("M").date(),
        **dims,
        **{f"i_{d}": t[f"i_{d}"] for d in rules.dimensions},  # placed_by, written at the end
        split=split,
        **{m: t[m] for m in MONEY},
        gpu_hours=t.gpu_hours,
        gpu_model=t.gpu_model,
    )


def _driver(rows: ir.Table, split: Split) -> ir.Value:
    if split.driver == "gpu_hours":
        return rows.gpu_hours.fill_null(0).sum()
    if split.driver == "cost":
        return rows.EffectiveCost.fill_null(0).sum()
    return rows.count()  # tokens: target groups counted here, weighed by usage below


def _tokens(usage: ir.Table | None, split: Split) -> dict[tuple, int]:
    """Tokens served (input + output) per model and month, from the usage table."""
    if usage is None or usage.count().to_pyarrow().as_py() == 0:
        raise UsageError(
            f"split {split.name!r}: the tokens driver needs token usage in the ledger "
            "(computeledger ingest-usage); use gpu_hours or cost, or load usage first"
        )
    month = usage.period_start.truncate("M").date()
    rows = (
        usage.group_by(model=usage.model.lower(), month=month)
        .aggregate(tokens=(usage.input_tokens + usage.output_tokens).sum())
        .to_pyarrow()
        .to_pylist()
    )
    return {(r["model"], r["month"]): r["tokens"] for r in rows}


@money.exact
def shares(rows: ir.Table, rules: Rules, usage: ir.Table | None = None) -> ir.Table | None:
    """Per split, provider and month: each target's part number and share, computed exactly
    from the drivers (a small table: targets x months). With the tokens driver a target's
    weight is its model's tokens that month, shared evenly by the model's target groups."""
    out: list[dict] = []
    for s in rules.splits:
        targets = rows.filter(
            rows.split.isnull() & matches(rows, s.targets, s.name, {d: rows[d] for d in rules.dimensions})
        )
        weights = (
            targets.group_by(["cl_provider", "cl_month", *rules.dimensions])
            .aggregate(w=_driver(targets, s))
            .to_pyarrow()
            .to_pylist()
        )
        if s.driver == "tokens":
            tokens = _tokens(usage, s)
            for w in weights:
                w["w"] = Decimal(tokens.get((w["model"], w["cl_month"]), 0))
            groups_per_model: dict[tuple, int] = {}
            for w in weights:
                key = (w["cl_provider"], w["cl_month"], w["model"])
                groups_per_model[key] = groups_per_model.get(key, 0) + 1
            for w in weights:
                w["w"] = money.divide(w["w"], groups_per_model[(w["cl_provider"], w["cl_month"], w["model"])])
        groups: dict[tuple, list[dict]] = {}
        for w in weights:
            if w["w"] and w["w"] > 0:
                groups.setdefault((w["cl_provider"], w["cl_month"]), []).append(w)
        for (provider, month), items in groups.items():
            items.sort(key=lambda w: tuple(str(w[d]) for d in rules.dimensions))
            total = sum((Decimal(w["w"]) for w in items), Decimal(0))
            for n, w in enumerate(items, start=1):
                share = money.share(Decimal(w["w"]), total)
                out.append({
                    "cl_split": s.name, "cl_provider": provider, "cl_month": month, "part": n,
                    "n_parts": len(items), "share": share, **{f"t_{d}": w[d] for d in rules.dimensions},
                })  # fmt: skip
    if not out:
        return None
    columns = {k: [r[k] for r in out] for k in out[0]}
    schema = {"cl_split": "string", "cl_provider": "string", "cl_month": "date", "part": "int32",
              "n_parts": "int32", "share": SHARE}  # fmt: skip
    schema |= {f"t_{d}": "string" for d in rules.dimensions}
    return ibis.memtable(columns, schema=schema)


def allocation(rows: ir.Table, rules: Rules, usage: ir.Table | None = None) -> ir.Table:
    """The allocations table's rows for these rules from `direct`'s rows (computed once:
    the drivers and the parts both read them): direct charges as part 0, split charges
    as their parts."""
    table = shares(rows, rules, usage)
    if table is None:  # no split found targets: every charge stays as placed
        rows = rows.mutate(split=ibis.null().cast("string"))
    else:  # a charge whose split has no target in its provider and month stays as placed
        keys = table.select("cl_split", "cl_provider", "cl_month").distinct()
        joined = rows.left_join(
            keys,
            (rows.split == keys.cl_split)
            & (rows.cl_provider == keys.cl_provider)
            & (rows.cl_month == keys.cl_month),
        )
        rows = joined.mutate(split=ibis.ifelse(joined.cl_split.isnull(), None, joined.split)).drop(
            "cl_split", "cl_provider_right", "cl_month_right"
        )
    keep = rows.split.isnull()
    whole = rows.filter(keep)
    parts = [
        whole.select(
            rules_version=ibis.literal(rules.version),
            x_charge_id=whole.x_charge_id,
            part=ibis.literal(0).cast("int32"),
            **{d: whole[d] for d in STANDARD},
            x_dimensions=_extra_json(whole, rules),
            placed_by=placed_by(whole, rules),
            split=ibis.null().cast("string"),
            share=ibis.literal(Decimal(1)).cast(SHARE),
            **{m: whole[m] for m in MONEY},
            gpu_hours=whole.gpu_hours,
            gpu_model=whole.gpu_model,
        )
    ]
    if table is not None:
        spread = rows.filter(rows.split.notnull())
        j = spread.inner_join(
            table,
            (spread.split == table.cl_split)
            & (spread.cl_provider == table.cl_provider)
            & (spread.cl_month == table.cl_month),
        )
        last = j.part == j.n_parts
        win = ibis.window(group_by=j.x_charge_id)

        def portion(col: str) -> ir.Value:
            piece = (j[col].cast(_WORK) * j.share).cast(NUMBER)
            others = ibis.ifelse(last, ibis.literal(0).cast(NUMBER), piece).sum().over(win)
            return ibis.ifelse(last, j[col] - others, piece).cast(NUMBER)

        parts.append(
            j.select(
                rules_version=ibis.literal(rules.version),
                x_charge_id=j.x_charge_id,
                part=j.part,
                **{d: j[f"t_{d}"] for d in STANDARD},
                x_dimensions=_extra_json(j, rules, prefix="t_"),
                placed_by=placed_by(j, rules),
                split=j.split,
                share=j.share,
                **{m: portion(m) for m in MONEY},
                gpu_hours=portion("gpu_hours"),
                gpu_model=j.gpu_model,
            )
        )
    out = parts[0] if len(parts) == 1 else parts[0].union(parts[1])
    return out.cast(ALLOCATIONS)


def _extra_json(t: ir.Table, rules: Rules, prefix: str = "") -> ir.StringValue:
    if not rules.extra:
        return ibis.null().cast("string")
    return ibis.struct({d: t[f"{prefix}{d}"] for d in rules.extra}).cast(dt.json).cast(dt.string)


def allocate(ledger, rules: Rules) -> Run:
    """Write the allocation of every charge under `rules` (replacing an earlier run of the
    same rules version) in one unit of work; returns counts. The run's row is written
    last: on Spark it commits the run (summaries read the latest run's version)."""
    store = ledger.store
    placed = direct(ledger.charges, rules)  # the rules checked against the columns first
    if ledger.charges.count().to_pyarrow().as_py() == 0:
        raise UsageError("no charges in the ledger to allocate: load bills first with `computeledger ingest`")
    usage = ledger.usage if ledger.has_table("usage") else None
    # the placed rows are computed before the unit of work (outside it, DuckDB can spill them)
    with store.scratch(placed) as rows, store.transaction():
        expr = allocation(rows, rules, usage)
        store.replace("allocations", {"rules_version": rules.version}, expr)
        counts = _counts(ledger, rules.version)
        run = store.memtable([_run_row(rules, counts)], "allocation_runs")
        store.replace("allocation_runs", {"rules_version": rules.version}, run)
    return Run(rules.version, counts["charges"], counts["parts"], counts["split_charges"] or 0)


def _counts(ledger, version: str) -> dict:
    """Charges, parts and split charges of a run, in one pass: a charge placed whole is
    part 0, a split one has parts 1..n, so each charge has one part 0 or 1."""
    a = ledger.allocations.filter(ledger.allocations.rules_version == version)
    return (
        a.aggregate(
            charges=(a.part <= 1).sum(),
            parts=a.count(),
            split_charges=(a.part == 1).sum(),
        )
        .to_pyarrow()
        .to_pylist()[0]
    )


def _run_row(rules: Rules, counts: dict) -> dict:
    return {
        "rules_version": rules.version, "rules_file": rules.path, "rules_text": rules.text,
        "dimensions": json.dumps(list(rules.extra)), "charges": counts["charges"],
        "parts": counts["parts"], "created_at": datetime.now(UTC).replace(tzinfo=None),
    }  # fmt: skip


def latest_version(ledger, asked: str | None = None) -> str | None:
    """The rules version to read: `asked` when the ledger holds a run of it (else a
    UsageError listing the runs it holds: an unknown version is never 'no allocation'),
    or the latest run's; None when there is no run yet."""
    runs = ledger.allocation_runs
    if asked is not None:
        known = runs.order_by(ibis.desc("created_at")).rules_version.to_pyarrow().to_pylist()
        if asked not in known:
            listed = ", ".join(known) if known else "none yet: run `computeledger allocate --rules FILE`"
            why = f"--rules-version {asked!r}: no allocation of it in this ledger (runs: {listed})"
            raise UsageError(why)
        return asked
    got = runs.order_by(ibis.desc("created_at")).limit(1).rules_version.to_pyarrow().to_pylist()
    return got[0] if got else None


def allocated_charges(ledger, version: str | None = None) -> ir.Table:
    """The charges joined with their allocation parts (money and GPU-hours from the parts):
    what `summary --by workload,...` reads."""
    version = latest_version(ledger, version)
    if version is None:
        raise UsageError("no allocation yet: run `computeledger allocate --rules RULES.toml` first")
    runs = ledger.allocation_runs.filter(lambda r: r.rules_version == version)
    found = runs.select("dimensions").to_pyarrow().to_pylist()
    if not found:
        raise UsageError(f"no allocation with rules version {version!r}")
    extra = json.loads(found[0]["dimensions"])
    a = ledger.allocations.filter(ledger.allocations.rules_version == version)
    a = a.rename({f"cl_a_{m}": m for m in (*MONEY, "gpu_hours")} | {"cl_a_id": "x_charge_id"})
    c = ledger.charges
    j = c.left_join(a, c.x_charge_id == a.cl_a_id)
    # charges loaded after the allocation ran are shown, as not allocated, never dropped
    new = j.cl_a_id.isnull()
    j = j.mutate(
        **{d: ibis.ifelse(new, ibis.literal(UNALLOCATED), j[d]) for d in STANDARD},
        **{m: ibis.ifelse(new, j[m], j[f"cl_a_{m}"]) for m in MONEY},
        gpu_hours=ibis.ifelse(new, ibis.null(NUMBER), j.cl_a_gpu_hours),
        split=ibis.ifelse(new, ibis.literal(NOT_RUN), j.split),
    ).drop("cl_a_id", *(f"cl_a_{m}" for m in (*MONEY, "gpu_hours")))
    if extra:
        doc = j.x_dimensions
        j = j.mutate(**{d: ibis.ifelse(new, ibis.literal(UNALLOCATED), json_field(doc, d)) for d in extra})
    return j


_PART_COLUMNS = {*STANDARD, "gpu_model", "split"}


def allocation_parts(ledger, names: set[str], version: str | None = None) -> ir.Table | None:
    """The allocation's parts alone, when a summary needs nothing else: every dimension
    asked is a column of the parts, and the ledger holds exactly the charges the run
    placed (as many, and none loaded since: the highest charge id is the run's). Then the
    join to the charges, which keeps late charges visible, would change nothing."""
    if not names <= _PART_COLUMNS:
        return None
    version = latest_version(ledger, version)
    if version is None:
        return None
    runs = ledger.allocation_runs.filter(ledger.allocation_runs.rules_version == version)
    placed = runs.select("charges").to_pyarrow().to_pylist()
    if not placed:
        return None
    parts = ledger.allocations.filter(ledger.allocations.rules_version == version)
    c = ledger.charges
    now = c.aggregate(n=c.count(), top=c.x_charge_id.max()).to_pyarrow().to_pylist()[0]
    top = parts.x_charge_id.max().to_pyarrow().as_py()
    if now["n"] != placed[0]["charges"] or now["top"] != top:
        return None
    return parts


def allocated_dimensions(ledger) -> set[str]:
    """Names that only an allocation answers: the standard dimensions, GPU model, split,
    and every dimension of a past run's rules."""
    if not ledger.has_table("allocation_runs"):  # a ledger from before allocation
        return {*STANDARD, "gpu_model", "split"}
    runs = ledger.allocation_runs.dimensions.to_pyarrow().to_pylist()
    return {*STANDARD, "gpu_model", "split"} | {d for text in runs for d in json.loads(text)}
