"""Bills against physics: the GPU-hours billed per model and month against the GPU-hours
the model's token volume needed, and so the utilization the bills imply.

Billed GPU-hours come from the allocation (workload `inference`); tokens and requests
from the usage table. Both are aggregated by Ibis in the ledger; only the aggregates,
one row per model and month, meet the physics here.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from computeledger import money
from computeledger.capacity import catalog
from computeledger.capacity.operating import at_concurrency, candidate_setups, throughput_optimal
from computeledger.capacity.physics import Workload
from computeledger.errors import UsageError

DEFAULT_WORKLOAD = "inference"


def parse_map(pairs: list[str]) -> dict[str, str]:
    """['atlas-l=Llama-3.3-70B', ...] to {ledger model: catalogue model}."""
    out = {}
    for pair in pairs:
        name, sep, model = pair.partition("=")
        if not sep or not name.strip() or not model.strip():
            raise UsageError(f"--map {pair!r}: write LEDGER_MODEL=CATALOGUE_MODEL")
        out[name.strip()] = catalog.find(catalog.models(), model, "model").model
    return out


def parse_concurrency(values: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """['8'] (every mapped model) or ['atlas-l=8', ...] to {ledger model: requests in
    flight per replica}: the operating point the bills are compared at."""
    out: dict[str, int] = {}
    for text in values:
        name, sep, n = text.rpartition("=")
        try:
            count = int(n)
        except ValueError:
            count = 0
        if count < 1:
            raise UsageError(
                f"--concurrency {text!r}: write N or LEDGER_MODEL=N, N a whole number of at least 1"
            )
        if not sep:
            out |= dict.fromkeys(mapping, count)
        elif name.strip() not in mapping:
            known = ", ".join(sorted(mapping)) or "none (give --map first)"
            raise UsageError(f"--concurrency {text!r}: {name.strip()!r} is not a mapped model ({known})")
        else:
            out[name.strip()] = count
    return out


def point_name(concurrency: int | None) -> str:
    """The operating point a comparison uses, named as `capacity throughput` names it."""
    return f"concurrency {concurrency}" if concurrency else "throughput-optimal"


def billed_and_used(ledger, workload: str = DEFAULT_WORKLOAD) -> tuple[list[dict], list[dict]]:
    """(billed GPU-hours and their cost per model, month and GPU model, GPU charges only;
    tokens per model and month)."""
    billed = ledger.summary(["workload", "model", "month", "gpu_model"]).to_pyarrow().to_pylist()
    billed = [
        r
        for r in billed
        if r["workload"] == workload
        and r["model"] not in (None, "unallocated")
        and r["gpu_model"] not in (None, "none")
    ]
    u = ledger.usage
    used = (
        u.mutate(month=u.period_start.truncate("M").date())
        .group_by(["model", "month"])
        .aggregate(
            requests=u.requests.sum(),
            input_tokens=u.input_tokens.sum(),
            cached_input_tokens=u.cached_input_tokens.sum(),
            output_tokens=u.output_tokens.sum(),
        )
        .to_pyarrow()
        .to_pylist()
    )
    return billed, used


def compare(
    ledger,
    mapping: dict[str, str],
    calibrations: dict,
    workload: str = DEFAULT_WORKLOAD,
    concurrency: dict[str, int] | None = None,
) -> list[dict]:
    """Per model, month and GPU model: billed GPU-hours, tokens, the GPU-hours the model
    needed (a band from the calibration error), and the implied utilization. The model
    is served at its throughput-optimal point, or with the requests in flight per replica
    `concurrency` gives for it (the point the serving runs at, as benchmarks measure it).
    Unknown stays unknown: a model without a catalogue mapping or without usage gets no
    estimate, never 0."""
    concurrency = concurrency or {}
    billed, used = billed_and_used(ledger, workload)
    tokens = {(r["model"], r["month"]): r for r in used}
    rows = []
    for b in sorted(billed, key=lambda r: (r["model"], r["month"], r["gpu_model"] or "")):
        t = tokens.get((b["model"], b["month"]))
        row = {
            "model": b["model"],
            "month": b["month"],
            "gpu_model": b["gpu_model"],
            "billed_gpu_hours": b["gpu_hours"],
            "billed_gpu_cost": b["BilledCost"],
            "input_tokens": t["input_tokens"] if t else None,
            "output_tokens": t["output_tokens"] if t else None,
            "catalogue_model": mapping.get(b["model"]),
            "needed_gpu_hours": None,
            "needed_gpu_hours_low": None,
            "needed_gpu_hours_high": None,
            "implied_utilization_pct": None,
            "note": "",
        }
        rows.append(row)
        if not t or not t["requests"]:
            row["note"] = "no token usage for this model and month"
            continue
        if not t["output_tokens"]:
            row["note"] = "no output tokens (embeddings?): the serving model needs decode steps"
            continue
        if row["catalogue_model"] is None:
            row["note"] = "no catalogue model mapped (--map)"
            continue
        if b["gpu_model"].lower() not in catalog.gpus():
            row["note"] = f"GPU {b['gpu_model']!r} is not in the capacity catalogue"
            continue
        try:
            needed, err, note = _needed(
                row["catalogue_model"], b["gpu_model"], t, calibrations, concurrency.get(b["model"])
            )
        except UsageError as exc:
            row["note"] = str(exc)
            continue
        row["needed_gpu_hours"] = needed
        row["needed_gpu_hours_low"] = needed / Decimal(repr(1 + err))
        row["needed_gpu_hours_high"] = needed / Decimal(repr(max(1 - err, 0.05)))
        row["note"] = note
        if b["gpu_hours"]:
            row["implied_utilization_pct"] = _pct(needed, b["gpu_hours"])
    for r in rows:
        for k in ("needed_gpu_hours", "needed_gpu_hours_low", "needed_gpu_hours_high"):
            if r[k] is not None:
                r[k] = r[k].quantize(Decimal("0.01"))
        r["source"] = "billed; estimated" if r["needed_gpu_hours"] is not None else "billed"
    return rows


def _needed(
    model_name: str, gpu_name: str, t: dict, calibrations: dict, concurrency: int | None = None
) -> tuple[Decimal, float, str]:
    gpu = catalog.find(catalog.gpus(), gpu_name, "gpu")
    precision = "fp8" if gpu.tflops_fp8 is not None else "bf16"
    c, note = _calibration(calibrations, gpu.gpu, precision, concurrency)
    p = _best_point(model_name, gpu_name, t, calibrations, concurrency)
    gpu_s = t["input_tokens"] * p.gpu_s_per_input_token + t["output_tokens"] * p.gpu_s_per_output_token
    return (
        Decimal(repr(gpu_s)) / 3600,
        c.median_abs_error,
        f"{p.setup.label()}, {point_name(concurrency)}; calibration {note}",
    )


def _calibration(calibrations: dict, gpu: str, precision: str, concurrency: int | None):
    if concurrency:
        return catalog.calibration_at_concurrency(calibrations, gpu, precision)
    return catalog.calibration_for(calibrations, gpu, precision)


@money.exact
def output_weights(ledger, mapping: dict[str, str], calibrations: dict) -> dict[str, Decimal]:
    """Per mapped model, the GPU time of an output token over that of an input token at the
    throughput-optimal point on the GPU that served it most (by billed GPU-hours), for the
    model's whole token mix: how unit costs split a model's cost between input and output."""
    billed, used = billed_and_used(ledger)
    hours: dict[str, dict[str, Decimal]] = {}
    for b in billed:
        hours.setdefault(b["model"], {}).setdefault(b["gpu_model"], Decimal(0))
        hours[b["model"]][b["gpu_model"]] += b["gpu_hours"] or 0
    totals: dict[str, dict] = {}
    for t in used:
        acc = totals.setdefault(t["model"], dict.fromkeys(("requests", "input_tokens", "cached_input_tokens",
                                                            "output_tokens"), 0))  # fmt: skip
        for k in acc:
            acc[k] += t[k] or 0
    out = {}
    for name, catalogue_model in mapping.items():
        t, gpus = totals.get(name), hours.get(name)
        if not t or not gpus or not t["requests"] or not t["output_tokens"] or not t["input_tokens"]:
            continue
        gpu = max(gpus, key=lambda g: gpus[g])
        if gpu.lower() not in catalog.gpus():
            continue
        point = _best_point(catalogue_model, gpu, t, calibrations)
        out[name] = Decimal(repr(point.gpu_s_per_output_token)) / Decimal(repr(point.gpu_s_per_input_token))
    return out


def _best_point(model_name: str, gpu_name: str, t: dict, calibrations: dict, concurrency: int | None = None):
    """The operating point that serves these tokens in the least GPU time: the
    throughput-optimal one, or the one with `concurrency` requests in flight."""
    model = catalog.find(catalog.models(), model_name, "model")
    gpu = catalog.find(catalog.gpus(), gpu_name, "gpu")
    precision = "fp8" if gpu.tflops_fp8 is not None else "bf16"
    requests, inp, out = t["requests"], t["input_tokens"], t["output_tokens"]
    cached = t["cached_input_tokens"] or 0
    w = Workload(inp / requests, max(out / requests, 1.0), min(cached / inp, 0.999) if inp else 0.0)
    c, _ = _calibration(calibrations, gpu.gpu, precision, concurrency)
    best = None
    for s in candidate_setups(model, gpu, precision):
        try:
            p = at_concurrency(s, w, c, concurrency) if concurrency else throughput_optimal(s, w, c)
        except UsageError:
            continue
        if p is None:
            continue
        gpu_s = inp * p.gpu_s_per_input_token + out * p.gpu_s_per_output_token
        if best is None or gpu_s < best[0]:
            best = (gpu_s, p)
    if best is None:
        if concurrency:
            raise UsageError(
                f"{model.model}: {concurrency} requests in flight do not fit on a node of {gpu.gpu}"
            )
        raise UsageError(f"{model.model} does not fit on a node of {gpu.gpu}")
    return best[1]


@money.exact
def per_model(rows: list[dict], concurrency: dict[str, int] | None = None) -> list[dict]:
    """`compare`'s rows summed per model over the whole period: billed inference GPU-hours,
    the GPU-hours the tokens needed (unknown if any month's is), and the utilization that
    implies (needed / billed, estimated), with the throughput each side stands for: tokens
    per billed GPU-hour (what the bills served) and tokens per needed GPU-hour (the
    capacity model at the point `compare` used); their ratio is the utilization."""
    concurrency = concurrency or {}
    out: dict[str, dict] = {}
    tokens: dict[str, int] = defaultdict(int)
    for r in rows:
        t = out.setdefault(
            r["model"],
            {"model": r["model"], "shape": r["catalogue_model"], "billed_gpu_hours": Decimal(0),
             "needed_gpu_hours": Decimal(0)},
        )  # fmt: skip
        t["billed_gpu_hours"] += r["billed_gpu_hours"] or 0
        tokens[r["model"]] += (r["input_tokens"] or 0) + (r["output_tokens"] or 0)
        if r["needed_gpu_hours"] is None:
            t["needed_gpu_hours"] = None
            t["note"] = r["note"]
        elif t["needed_gpu_hours"] is not None:
            t["needed_gpu_hours"] += r["needed_gpu_hours"]
    for t in out.values():
        needed, billed = t["needed_gpu_hours"], t["billed_gpu_hours"]
        n = tokens[t["model"]]
        t["billed_tokens_per_gpu_hour"] = _per(n, billed)
        t["needed_tokens_per_gpu_hour"] = _per(n, needed)
        t["implied_utilization_pct"] = _pct(needed, billed)
        point_used = point_name(concurrency.get(t["model"]))
        t["point"] = point_used if needed is not None else None
        t.setdefault("note", f"estimated: {point_used} on the billed GPU")
    return list(out.values())


def _pct(needed: Decimal | None, billed: Decimal | None) -> Decimal | None:
    """needed / billed as a percentage to two places (estimated)."""
    if needed is None or not billed:
        return None
    return money.divide(needed * 100, billed).quantize(Decimal("0.01"), context=money.CONTEXT)


def _per(count: int, hours: Decimal | None) -> Decimal | None:
    """Tokens per GPU-hour, to the token."""
    if not count or not hours:
        return None
    return money.divide(count, hours).quantize(Decimal(1), context=money.CONTEXT)
