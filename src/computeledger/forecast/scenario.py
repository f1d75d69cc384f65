"""Driver-based scenarios, run by seeded Monte Carlo.

Drivers, per model, from the ledger's last month with tokens and cost (`baseline`):
tokens a day (the level of the history's log-linear trend; a month is its days
times it), direct inference cost per million
tokens (what grows with traffic), revenue per million tokens; revenue without tokens
(subscriptions); the revenue-share rate; all other compute, shared serving included (the
trailing three months' average); the closing cash. A scenario file (TOML, parsed strictly,
never evaluated) changes them:

    [scenario]  name, months (12), draws (2000), seed (1), basis (effective)
    [traffic]   growth = monthly growth of tokens: "0.05", a range {low, high} (uniform)
                or {mean, sd} (normal); noise = monthly spread of the growth (log scale);
                [traffic.models.NAME] the same for one model
    [efficiency] per_year = the yearly fall of cost per token (same forms)
    [revenue]   other_growth = monthly growth of revenue without tokens
    [[prices]]  from = "2025-07", change = "-0.25", model = NAME (all if absent),
                of = "revenue" (price per token) or "cost" (cost per token)
    [[commitments]] amount, from, months (spread evenly: the effective view), provider
    [[credits]] amount, from, expires (credits reduce compute month by month until used or expired)
    (the ledger's own contracts come in by themselves: the credit left on each grant, to its
    expiry, and the amortization of contracts outside the bills, to the end of their term)
    [[funding]] month, amount
    [fixed]     other_compute = compute per month besides inference (default: the baseline's
                daily average times the month's days)

Without [traffic] growth, each model's growth is its history's mean monthly log growth,
uncertain by its standard error, with the history's spread as monthly noise. Without
[efficiency], cost per token keeps its last value. Each draw samples its drivers once and
its monthly noise; results per period are the draws' mean and percentiles.
"""

from __future__ import annotations

import math
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path

import numpy as np

from computeledger import money
from computeledger.accounting.periods import add_months, month_of
from computeledger.errors import UsageError

OUTPUTS = (
    "tokens",
    "inference_cost",
    "other_compute",
    "total_compute",
    "revenue",
    "revenue_share",
    "burn",
    "cash",
)
QUANTILES = (2.5, 10, 50, 90, 97.5)
_SECTIONS = {
    "scenario",
    "traffic",
    "efficiency",
    "revenue",
    "prices",
    "commitments",
    "credits",
    "funding",
    "fixed",
}


@dataclass
class Model:
    """One model's drivers at the last month of history."""

    tokens: float  # a day
    cost_per_million: float
    revenue_per_million: float
    growth: float | None = None  # mean monthly log growth of tokens in the history
    growth_se: float = 0.0
    noise: float = 0.0


@dataclass
class Baseline:
    """What the ledger says at its last month (the scenario's starting point)."""

    last: date
    currency: str
    models: dict[str, Model]
    other_revenue: float = 0.0
    other_growth: float = 0.0
    share_rate: float = 0.0
    other_compute: float = 0.0  # a day
    cash: float | None = None
    notes: list[str] = field(default_factory=list)
    scheduled: dict[date, float] = field(default_factory=dict)  # contracts' amortization ahead
    grants: list[tuple[float, date | None]] = field(default_factory=list)  # credit left, expiry
    funding: dict[date, float] = field(default_factory=dict)  # rounds the ledger dates ahead


@dataclass
class Result:
    """Draws (draws x months) per output, and the months they cover."""

    name: str
    periods: list[date]
    draws: dict[str, np.ndarray]
    currency: str
    notes: list[str]
    opening: float | None = None  # the cash the run starts from

    def summary(self, months: int | None = None) -> list[dict]:
        """Per period and output (the first `months`): mean and percentiles, to the cent."""
        rows = []
        q = Decimal("0.01")
        for out in OUTPUTS:
            d = self.draws.get(out)
            if d is None:
                continue
            stats = np.percentile(d, QUANTILES, axis=0)
            mean = d.mean(axis=0)
            for i, p in enumerate(self.periods[:months]):
                row = {"scenario": self.name, "period": f"{p:%Y-%m}", "output": out,
                       "mean": _dec(mean[i], q)}  # fmt: skip
                for k, level in enumerate(QUANTILES):
                    row[f"p{str(level).replace('.', '_')}"] = _dec(stats[k][i], q)
                rows.append(row)
        return rows


def _dec(v: float, q: Decimal) -> Decimal | None:
    if not math.isfinite(v):
        return None
    if abs(v) >= 1e20:  # the ledger's DECIMAL(38, 18) holds 20 digits before the point
        raise UsageError(f"a scenario figure of {v:.3g} leaves the ledger's range (10^20): check its values")
    with localcontext(money.CONTEXT):
        return Decimal(repr(float(v))).quantize(q)


def baseline(
    ledger, *, basis: str = "effective", contracts=None, rules_version: str | None = None
) -> Baseline:
    """The drivers at the ledger's last month with both tokens and cost."""
    from computeledger.accounting.bases import contract_amortization
    from computeledger.accounting.credits import credits as credit_grants
    from computeledger.accounting.statement import gather, statement
    from computeledger.economics.margin import margin

    got = margin(
        ledger, "model,month", basis=basis, cost="direct", rules_version=rules_version, attribute=False
    )
    per: dict[str, dict[date, dict]] = {}
    other: dict[date, float] = {}
    for r in got.rows:
        if r["model"] is None:
            other[r["month"]] = float(r["revenue"])
            continue
        per.setdefault(r["model"], {})[r["month"]] = r
    months = sorted(
        {
            m
            for rows in per.values()
            for m, r in rows.items()
            if r["tokens"] and r["inference_cost"] is not None
        }
    )
    if not months:
        raise UsageError(
            "a scenario starts from the ledger's tokens and inference cost: load usage and allocate"
        )
    last = months[-1]
    models, notes = {}, []
    for name, rows in sorted(per.items()):
        r = rows.get(last)
        if r is None or not r["tokens"] or r["inference_cost"] is None:
            notes.append(f"{name}: no tokens or cost in {last:%Y-%m}: left out")
            continue
        series = [  # tokens a day: a month's total depends on its days
            float(rows[m]["tokens"]) / _days(m) for m in sorted(rows) if m <= last and rows[m]["tokens"]
        ][-13:]
        steps = np.diff(np.log(series)) if len(series) > 1 else np.array([])
        tokens = _level(series)
        models[name] = Model(
            tokens=tokens,
            cost_per_million=float(r["inference_cost"]) * 1e6 / float(r["tokens"]),
            revenue_per_million=float(r["revenue"]) * 1e6 / float(r["tokens"]),
            growth=float(steps.mean()) if len(steps) else None,
            growth_se=float(steps.std(ddof=1) / math.sqrt(len(steps))) if len(steps) > 2 else 0.0,
            noise=float(steps.std(ddof=1)) if len(steps) > 2 else 0.0,
        )
    inp = gather(ledger, contracts, rules_version)
    st = statement(ledger, grain="month", bases=(basis,), inputs=inp)
    by_month = {r["period"]: r for r in st.rows}
    trailing = [by_month.get(f"{add_months(last, -i):%Y-%m}") for i in range(3)]
    # the trend of other compute leaves out what runs on its own calendar: credits used
    # (the grants left are applied below, to their expiry) and contracts amortized outside
    # the bills (their schedules are added below, to their end)
    apart: dict[str, float] = defaultdict(float)
    for rows in per.values():
        for m, r in rows.items():
            apart[f"{m:%Y-%m}"] += float(r["inference_cost"] or 0)
    for c in inp.compute.cells:
        if c.category == "credit":
            apart[f"{c.billed_month if basis == 'billed' else c.charge_month:%Y-%m}"] += float(
                c.billed if basis == "billed" else c.effective
            )
    scheduled: dict[date, float] = defaultdict(float)
    if basis == "effective":
        for month, _contract, amount in contract_amortization(inp.compute):
            apart[f"{month:%Y-%m}"] += float(amount)
            if month > last:
                scheduled[month] += float(amount)
    others = [  # a day
        (float(r["total_compute"]) - apart[r["period"]]) / _days(date.fromisoformat(r["period"] + "-01"))
        for r in trailing
        if r and r["total_compute"] is not None
    ]
    grants = []
    for g in credit_grants(ledger, inp.contracts)[0]:
        if g["grant"] is not None and g["remaining"] and g["remaining"] > 0:
            expires = month_of(g["expires"]) if g["expires"] else None
            if expires is None or expires > last:
                grants.append((float(g["remaining"]), expires))
                notes.append(
                    f"credit grant {g['grant']}: {money.text(g['remaining'])} left, "
                    f"used until {g['expires'] or 'spent'}"
                )
    if scheduled:
        notes.append(f"contracts outside the bills amortized on their schedules until {max(scheduled):%Y-%m}")
    revenue = sum(float(r["revenue"] or 0) for r in trailing if r)
    share = sum(float(r["revenue_share"] or 0) for r in trailing if r)
    other_series = [other[m] for m in sorted(other) if m <= last and other[m] > 0][-13:]
    closing = [r["closing_cash"] for r in st.rows if r["closing_cash"] is not None]
    ahead: dict[date, float] = defaultdict(float)
    for f in inp.funding:
        if f["date"] is not None and f["amount"] is not None and month_of(f["date"]) > last:
            ahead[month_of(f["date"])] += float(f["amount"])
    if ahead:
        notes.append(f"funding the ledger dates ahead: {len(ahead)} month(s), from {min(ahead):%Y-%m}")
    if not closing:
        notes.append("no bank statement: cash unknown (give [scenario] opening_cash)")
    return Baseline(
        last=last,
        currency=st.currency or "",
        models=models,
        other_revenue=other.get(last, 0.0),
        other_growth=float(np.diff(np.log(other_series)).mean()) if len(other_series) > 1 else 0.0,
        share_rate=share / revenue if revenue else 0.0,
        other_compute=sum(others) / len(others) if others else 0.0,
        cash=float(closing[-1]) if closing else None,
        notes=notes,
        scheduled=dict(scheduled),
        grants=grants,
        funding=dict(ahead),
    )


def _days(month: date) -> int:
    return (add_months(month, 1) - month).days


def _level(series: list[float]) -> float:
    """Tokens at the last month as the log-linear trend of the history puts them (one month's
    rounding or noise is not carried into every projected month)."""
    if len(series) < 3:
        return series[-1]
    x = np.arange(len(series))
    slope, intercept = np.polyfit(x, np.log(series), 1)
    return float(np.exp(intercept + slope * x[-1]))


def load_scenario(path: str | Path) -> dict:
    """Parse a scenario file strictly: unknown sections and keys are refused with the place."""
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{p}: cannot read the scenario: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{p}: not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise UsageError(f"{p}: nested too deeply") from exc
    unknown = set(doc) - _SECTIONS
    if unknown:
        raise UsageError(
            f"{p}: unknown section(s) {', '.join(sorted(unknown))}; use {', '.join(sorted(_SECTIONS))}"
        )
    _keys(
        doc.get("scenario", {}),
        {"name", "months", "draws", "seed", "basis", "opening_cash"},
        f"{p}: [scenario]",
    )
    traffic = doc.get("traffic", {})
    _keys(traffic, {"growth", "noise", "models"}, f"{p}: [traffic]")
    if not isinstance(traffic.get("models", {}), dict):
        raise UsageError(f"{p}: [traffic.models] is a table of [traffic.models.NAME] tables")
    for name, m in traffic.get("models", {}).items():
        _keys(m, {"growth", "noise"}, f"{p}: [traffic.models.{name}]")
    _keys(doc.get("efficiency", {}), {"per_year"}, f"{p}: [efficiency]")
    _keys(doc.get("revenue", {}), {"other_growth"}, f"{p}: [revenue]")
    _keys(doc.get("fixed", {}), {"other_compute"}, f"{p}: [fixed]")
    for section, allowed in (
        ("prices", {"from", "change", "model", "of"}),
        ("commitments", {"amount", "from", "months", "provider"}),
        ("credits", {"amount", "from", "expires"}),
        ("funding", {"month", "amount"}),
    ):
        items = doc.get(section, [])
        if not isinstance(items, list):
            raise UsageError(f"{p}: [[{section}]] is a list of tables")
        for i, item in enumerate(items):
            _keys(item, allowed, f"{p}: [[{section}]] {i + 1}")
    doc["_path"] = str(p)
    return doc


def _keys(table, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise UsageError(f"{where}: must be a table")
    extra = set(table) - allowed
    if extra:
        raise UsageError(
            f"{where}: unknown key(s) {', '.join(sorted(extra))}; use {', '.join(sorted(allowed))}"
        )


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UsageError(f'{where}: a number as text, such as "0.05": {value!r}')
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise UsageError(f"{where}: not a number: {value!r}") from exc
    if not d.is_finite() or abs(d) > Decimal("1e15"):
        raise UsageError(f"{where}: must be a finite number: {value!r}")
    return float(d)


def _whole(value, where: str, low: int, high: int) -> int:
    """A whole number from `low` to `high` ("12.9" months is refused, never read as 12)."""
    x = Decimal(str(_number(value, where)))
    if x != x.to_integral_value() or not low <= x <= high:
        raise UsageError(f"{where}: a whole number from {low} to {high}: {value!r}")
    return int(x)


def _within(values: np.ndarray, where: str, low: float | None, high: float | None) -> np.ndarray:
    """Refuse a driver outside what it can mean (a fall of cost above 100% a year, a growth
    below -100%): it would turn every cell into NaN."""
    if (low is not None and (values <= low).any()) or (high is not None and (values > high).any()):
        bounds = " and ".join(
            ([f"above {low}"] if low is not None else []) + ([f"at most {high}"] if high is not None else [])
        )
        raise UsageError(f"{where}: must be {bounds}")
    return values


def _draw(spec, where: str, rng: np.random.Generator, draws: int) -> np.ndarray:
    """A driver's value per draw: a number, {low, high} (uniform) or {mean, sd} (normal)."""
    if isinstance(spec, dict):
        if set(spec) == {"low", "high"}:
            lo, hi = _number(spec["low"], f"{where}.low"), _number(spec["high"], f"{where}.high")
            if lo > hi:
                raise UsageError(f"{where}: low above high")
            return rng.uniform(lo, hi, draws)
        if set(spec) == {"mean", "sd"}:
            sd = _number(spec["sd"], f"{where}.sd")
            if sd < 0:
                raise UsageError(f"{where}: sd must not be negative")
            return rng.normal(_number(spec["mean"], f"{where}.mean"), sd, draws)
        raise UsageError(f"{where}: a number, {{low, high}} or {{mean, sd}}: {spec!r}")
    return np.full(draws, _number(spec, where))


def _credit(c: dict, where: str) -> tuple[float, date, date]:
    """A scenario's credit grant: a positive amount, open from its month until it expires."""
    amount = _number(c.get("amount"), f"{where} amount")
    at = _month(c.get("from"), f"{where} from")
    expires = _month(c.get("expires", "9998-12"), f"{where} expires")
    if amount <= 0:
        raise UsageError(f"{where} amount: a positive grant: {c.get('amount')!r}")
    if expires <= at:
        raise UsageError(f"{where}: expires {expires:%Y-%m} is not after from {at:%Y-%m}")
    return amount, at, expires


def _month(text, where: str) -> date:
    from computeledger.accounting.periods import parse

    try:
        first, _, grain = parse(str(text))
    except UsageError as exc:
        raise UsageError(f"{where}: a month as YYYY-MM: {text!r} ({exc})") from None
    if grain != "month":
        raise UsageError(f"{where}: a month as YYYY-MM: {text!r}")
    return first


def run(base: Baseline, doc: dict | None = None) -> Result:
    """Run the scenario `doc` (parsed by `load_scenario`; None: the baseline's trends)."""
    doc = doc or {}
    where = doc.get("_path", "scenario")
    head = doc.get("scenario", {})
    months = _whole(head.get("months", 12), f"{where}: months", 1, 120)
    draws = _whole(head.get("draws", 2000), f"{where}: draws", 1, 200_000)
    seed = _whole(head.get("seed", 1), f"{where}: seed", 0, 2**63 - 1)
    # one stream per driver, drawn month by month: a run's first months are the same
    # whatever its length, so a 12-month view is the start of the 120-month runway
    streams = iter(np.random.SeedSequence(seed).spawn(len(base.models) + 2))
    rng = np.random.default_rng(next(streams))
    periods = [add_months(base.last, i) for i in range(1, months + 1)]
    traffic = doc.get("traffic", {})
    per_year = _draw(
        doc.get("efficiency", {}).get("per_year", 0), f"{where}: efficiency.per_year", rng, draws
    )
    _within(per_year, f"{where}: efficiency.per_year (the yearly fall of cost per token)", None, 0.999999)
    steps = np.arange(1, months + 1)
    days = np.array([_days(p) for p in periods], dtype=float)
    cost_factor = (1 - per_year[:, None]) ** (steps[None, :] / 12)
    shape = (draws, months)
    tokens = np.zeros(shape)
    cost = np.zeros(shape)
    revenue = np.zeros(shape)
    notes = list(base.notes)
    for name, m in base.models.items():
        own_rng = np.random.default_rng(next(streams))
        own = traffic.get("models", {}).get(name, {})
        spec = own.get("growth", traffic.get("growth"))
        if spec is None:
            if m.growth is None:
                notes.append(f"{name}: one month of history: growth 0 unless the scenario gives it")
            g = own_rng.normal(m.growth or 0.0, m.growth_se, draws)
            noise = _number(own.get("noise", traffic.get("noise", m.noise)), f"{where}: noise")
        else:
            grown = _draw(spec, f"{where}: traffic growth", own_rng, draws)
            g = np.log1p(_within(grown, f"{where}: traffic growth (monthly)", -1, 10))
            noise = _number(own.get("noise", traffic.get("noise", 0)), f"{where}: noise")
        if not 0 <= noise <= 2:
            raise UsageError(f"{where}: noise (monthly spread of growth, log scale) from 0 to 2: {noise}")
        shocks = np.column_stack([own_rng.standard_normal(draws) for _ in range(months)])
        walk = np.cumsum(g[:, None] + shocks * noise, axis=1)
        t = m.tokens * np.exp(walk) * days[None, :]
        price = np.full(months, m.revenue_per_million)
        unit_cost = np.full(months, m.cost_per_million)
        for i, change in enumerate(doc.get("prices", [])):
            if change.get("model") not in (None, name):
                continue
            at = _month(change.get("from"), f"{where}: [[prices]] {i + 1} from")
            factor = 1 + _number(change.get("change"), f"{where}: [[prices]] {i + 1} change")
            if factor < 0:
                raise UsageError(
                    f"{where}: [[prices]] {i + 1} change: -1 (free) or more; a price is never negative"
                )
            target = price if change.get("of", "revenue") == "revenue" else unit_cost
            if change.get("of", "revenue") not in ("revenue", "cost"):
                raise UsageError(f"{where}: [[prices]] {i + 1} of: revenue or cost")
            target *= np.where(np.array(periods) >= at, factor, 1.0)
        tokens += t
        cost += t / 1e6 * unit_cost[None, :] * cost_factor
        revenue += t / 1e6 * price[None, :]
    other_g = _draw(
        doc.get("revenue", {}).get("other_growth", base.other_growth),
        f"{where}: other_growth",
        np.random.default_rng(next(streams)),
        draws,
    )
    _within(other_g, f"{where}: other_growth (monthly)", -1, 10)
    revenue += base.other_revenue * (1 + other_g[:, None]) ** steps[None, :]
    fixed = _number(doc.get("fixed", {}).get("other_compute", base.other_compute), f"{where}: other_compute")
    other_compute = (
        np.full(shape, fixed) if "other_compute" in doc.get("fixed", {}) else fixed * days[None, :]
    )
    for i, c in enumerate(doc.get("commitments", [])):
        at = _month(c.get("from"), f"{where}: [[commitments]] {i + 1} from")
        term = _whole(c.get("months", 12), f"{where}: [[commitments]] {i + 1} months", 1, 600)
        amount = _number(c.get("amount"), f"{where}: [[commitments]] {i + 1} amount")
        inside = np.array([at <= p < add_months(at, term) for p in periods])
        other_compute += np.where(inside, amount / max(term, 1), 0.0)[None, :]
    other_compute += np.array([base.scheduled.get(p, 0.0) for p in periods])[None, :]
    total = cost + other_compute
    given = [_credit(c, f"{where}: [[credits]] {i + 1}") for i, c in enumerate(doc.get("credits", []))]
    first = periods[0]
    for amount, at, expires in [(a, first, e or date(9999, 12, 1)) for a, e in base.grants] + given:
        left = np.full(draws, amount)
        for k, p in enumerate(periods):
            if at <= p < expires:
                used = np.minimum(left, np.maximum(total[:, k], 0))
                total[:, k] -= used
                left -= used
    share = revenue * base.share_rate
    burn = total + share - revenue
    out = {"tokens": tokens, "inference_cost": cost, "other_compute": other_compute, "total_compute": total,
           "revenue": revenue, "revenue_share": share, "burn": burn}  # fmt: skip
    opening = head.get("opening_cash")
    start = _number(opening, f"{where}: opening_cash") if opening is not None else base.cash
    if start is not None:
        inflow = np.array([base.funding.get(p, 0.0) for p in periods])
        for i, f in enumerate(doc.get("funding", [])):
            at = month_of(_month(f.get("month"), f"{where}: [[funding]] {i + 1} month"))
            if at in periods:
                inflow[periods.index(at)] += _number(f.get("amount"), f"{where}: [[funding]] {i + 1} amount")
        out["cash"] = start - np.cumsum(burn, axis=1) + np.cumsum(inflow)[None, :]
    return Result(head.get("name", Path(where).stem), periods, out, base.currency, notes, start)
