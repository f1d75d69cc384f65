"""Cash ahead, from one engine: the scenario's driver model run on the ledger's own trends.

Cash is a stock, not a series to extrapolate: cash ahead = closing cash + revenue ahead -
compute and revenue share ahead + funding the ledger dates ahead, each month of each draw
(`computeledger.forecast.scenario`). `forecast cash`, its `--below 0`, the scenario run
without a file, the report's cash fan, the demo and the trend runway all read the same
run: RUNWAY_HORIZON months of DRAWS draws from SEED, of which a shorter view is the
start (the engine draws month by month, so the first months do not depend on the length).

Two runways, each named by its method:
- `trailing`: closing cash / the trailing three months' average net cash burn (the
  statement's figure, as of its last month with a bank statement);
- `trends`: months until cash first goes below zero in the run above, per draw (the month
  of the crossing interpolated linearly), its median and 80% interval; a draw that never
  crosses within RUNWAY_HORIZON months counts as beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, Decimal

import numpy as np

from computeledger.errors import ComputeLedgerError, UsageError
from computeledger.forecast.engine import PLACES, Forecast

DRAWS = 2000
SEED = 1
RUNWAY_HORIZON = 120
TRAILING = "at the trailing three months' net cash burn"
TRENDS = "with the ledger's trends (median, 80% interval)"
_TENTH = Decimal("0.1")


@dataclass
class Runway:
    """One runway, as of a month, by one method; `months` None with `why` when unknown."""

    method: str
    as_of: str | None
    months: Decimal | None = None
    low: Decimal | None = None  # 80% interval (trends only)
    high: Decimal | None = None
    beyond: bool = False  # the median (or the whole interval) is past the horizon
    text: str = ""
    why: str | None = None
    notes: list[str] = field(default_factory=list)

    def row(self) -> dict:
        """As a result row (typed fields)."""
        return {"method": self.method, "as_of": self.as_of, "months": self.months, "low_80": self.low,
                "high_80": self.high, "runway": self.text}  # fmt: skip


def trends(
    ledger,
    *,
    basis: str = "effective",
    contracts=None,
    rules_version: str | None = None,
    draws: int = DRAWS,
    seed: int = SEED,
):
    """The scenario run of the ledger's own trends, RUNWAY_HORIZON months ahead."""
    from computeledger.forecast.scenario import baseline, run

    base = baseline(ledger, basis=basis, contracts=contracts, rules_version=rules_version)
    return run(base, {"scenario": {"months": RUNWAY_HORIZON, "draws": draws, "seed": seed}})


def cash_forecast(result, horizon: int, closing: tuple[date, Decimal] | None = None) -> Forecast:
    """The cash path of a scenario run as a forecast: median, 80% and 95% bands of its draws
    for the first `horizon` months; its sample paths are the draws themselves."""
    fc = Forecast(key="total", unit=result.currency, model="scenario drivers", transform="level")
    fc.warnings = list(result.notes)
    fc.last = closing
    if "cash" not in result.draws:
        fc.refused, fc.model = "cash unknown: no bank statement in the ledger", None
        return fc
    if not 1 <= horizon <= len(result.periods):
        raise UsageError(f"--horizon {horizon}: cash is forecast 1 to {len(result.periods)} months ahead")
    drawn = result.draws["cash"][:, :horizon]
    q = Decimal(1).scaleb(-PLACES)
    stats = np.percentile(drawn, (50, 10, 90, 2.5, 97.5), axis=0)
    names = ("forecast", "lo_80", "hi_80", "lo_95", "hi_95")
    fc.points = [
        {"period": p} | {k: Decimal(repr(float(stats[i][j]))).quantize(q) for i, k in enumerate(names)}
        for j, p in enumerate(result.periods[:horizon])
    ]
    fc.drawn = drawn
    return fc


def trend_runway(result) -> Runway:
    """Months until cash goes below zero in each draw of `result`: median and 80% interval."""
    as_of = f"{_before(result.periods[0]):%Y-%m}"
    r = Runway(TRENDS, as_of, notes=list(result.notes))
    if "cash" not in result.draws:
        r.why = "unknown: no bank statement in the ledger"
        r.text = r.why
        return r
    cash = result.draws["cash"]
    start = result.opening
    below = cash < 0
    crossed = below.any(axis=1)
    k = np.where(crossed, below.argmax(axis=1), 0)
    rows = np.arange(len(cash))
    before = np.where(k > 0, cash[rows, np.maximum(k - 1, 0)], start)
    at = cash[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = np.where(before > at, before / (before - at), 0.0)
    months = np.where(crossed, k + np.clip(fraction, 0.0, 1.0), np.inf)
    horizon = len(result.periods)
    p10, p50, p90 = np.percentile(months, (10, 50, 90), method="inverted_cdf")
    r.months, r.low, r.high = (_tenth(v) for v in (p50, p10, p90))
    r.beyond = not np.isfinite(p50)
    share = float(crossed.mean())
    interval = f"80%: {_words(r.low, horizon)} to {_words(r.high, horizon)}"
    within = f"below zero within {horizon} months in {share:.0%} of draws"
    r.text = f"{_words(r.months, horizon)} ({interval}; {within})"
    return r


def _before(month: date) -> date:
    from computeledger.accounting.periods import add_months

    return add_months(month, -1)


def _tenth(v: float) -> Decimal | None:
    return Decimal(repr(float(v))).quantize(_TENTH, rounding=ROUND_DOWN) if np.isfinite(v) else None


def _words(months: Decimal | None, horizon: int) -> str:
    return f"more than {horizon} months" if months is None else f"{months} months"


def trailing_runway(rows: list[dict]) -> Runway:
    """The statement's runway as of its last month with a closing cash (monthly rows)."""
    known = [r for r in rows if r.get("closing_cash") is not None]
    if not known:
        return Runway(TRAILING, None, why="unknown: no bank statement in the ledger",
                      text="unknown: no bank statement in the ledger")  # fmt: skip
    last = known[-1]
    return Runway(TRAILING, last["period"], months=last["runway_months"], text=last["runway"])


def runways(
    ledger,
    *,
    inputs=None,
    basis: str = "effective",
    contracts=None,
    rules_version: str | None = None,
    result=None,
) -> list[Runway]:
    """Both runways as of the ledger's last month: the trend one (the headline) first."""
    from computeledger.accounting.statement import statement

    st = statement(ledger, grain="month", bases=("cash",), contracts=contracts, rules_version=rules_version,
                   inputs=inputs)  # fmt: skip
    trailing = trailing_runway(st.rows)
    try:
        result = result or trends(ledger, basis=basis, contracts=contracts, rules_version=rules_version)
        trend = trend_runway(result)
    except ComputeLedgerError as exc:
        trend = Runway(TRENDS, trailing.as_of, why=f"unknown: {exc}", text=f"unknown: {exc}")
    return [trend, trailing]


def headline(found: list[Runway]) -> str:
    """Both runways in one line, each named by its method."""
    return "; ".join(f"runway {r.method}: {r.text}" for r in found)


def forecast_cash(
    ledger,
    horizon: int,
    *,
    basis: str = "effective",
    contracts=None,
    rules_version: str | None = None,
    draws: int = DRAWS,
    seed: int = SEED,
) -> Forecast:
    """`forecast cash`: the cash engine's path for `horizon` months (at most RUNWAY_HORIZON)."""
    if not 1 <= horizon <= RUNWAY_HORIZON:
        raise UsageError(f"--horizon {horizon}: cash is forecast 1 to {RUNWAY_HORIZON} months ahead")
    result = trends(ledger, basis=drivers(basis), contracts=contracts, rules_version=rules_version,
                    draws=draws, seed=seed)  # fmt: skip
    return cash_forecast(result, horizon)


def drivers(basis: str) -> str:
    """The basis of the engine's drivers: billed or effective as asked; effective for cash
    (cash is what the engine computes from them, on payment terms)."""
    return basis if basis in ("billed", "effective") else "effective"
