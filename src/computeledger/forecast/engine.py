"""Series forecasts with statsforecast, the model of each series chosen by a rolling-origin
backtest whose error (MASE) and interval coverage are kept beside the forecast.

Rules:
- A series is a list of (period, value) at one grain; a value of None is unknown. A gap
  (an unknown or missing period) cuts the series: what follows the last gap is forecast
  if it is long enough, with a warning naming the gap; else the series is refused.
- Fewer than MIN_POINTS points: refused ("too short"), never a made-up number.
  Below MIN_BACKTEST points there is no backtest to check a band against: the drift's
  median, and no band (None), with a warning saying so.
- A series with a floor (a cost, tokens: never below 0) has its point and bands clipped
  at it. Charges that are not a trend (one-offs the series left out, `left_out`) are
  named in a warning.
- A band no reader could use is refused, the median kept: one wider, at any step, than
  BAND_LIMIT times the larger of its median and the history's largest absolute value
  (a warning says so).
- A series whose values are all positive is modelled on logs (bands back-transformed:
  quantiles survive a monotone transform, so the point is the median); with a zero or a
  negative value (credits), on its levels. A constant series gets its value, no band,
  and a warning.
- Backtest: windows ending at successive origins (step one period), each forecasting
  `min(horizon, n - MIN_TRAIN)` periods; MASE scales the errors by the in-sample
  one-step naive (seasonal when seasonal) error before the first origin. The model with
  the lowest MASE is chosen; its 80% and 95% coverage are the share of backtest actuals
  inside its bands.
- Calibration: on the modelling scale, the backtest's errors are divided by the spread
  its band implied; where their 80th (95th) percentile is beyond the normal one, the
  final 80% (95%) band is widened by that ratio (never narrowed): `widened` says by how
  much. The coverage shown is the backtest's, of the bands before widening.
- Forecast numbers are estimates (floats inside statsforecast): they come out as
  decimals rounded to `PLACES`, labelled `forecast`.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext

import numpy as np

from computeledger import money
from computeledger.errors import UsageError

MODELS = ("AutoETS", "AutoARIMA", "Theta", "SeasonalNaive", "Drift")
#: Tried unless asked otherwise: AutoARIMA is left out by default, being some thirty
#: times slower than the others on short monthly histories (0.06 s a fit at 24 points).
DEFAULT_MODELS = ("AutoETS", "Theta", "SeasonalNaive", "Drift")
MIN_POINTS = 4
MIN_TRAIN = 8
MIN_BACKTEST = MIN_TRAIN + 2
MAX_WINDOWS = 6
LEVELS = (80, 95)
PLACES = 6
BAND_LIMIT = 10
SEASONS = {"month": 12, "week": 52, "day": 7}
FREQS = {"month": "MS", "week": "W-MON", "day": "D"}
_Z = {80: 1.2815515655446004, 95: 1.959963984540054, 99: 2.5758293035489004}


@dataclass
class Series:
    """One history to forecast: its key (e.g. provider=Microsoft), periods and values."""

    key: str
    periods: list[date]
    values: list[Decimal | None]
    unit: str = ""
    floor: Decimal | None = None  # the least value it can take (0 for a cost)
    left_out: dict[date, Decimal] = field(default_factory=dict)  # one-offs not in `values`


@dataclass
class Forecast:
    """The forecast of one series, or why there is none (`points` empty, `refused` says why)."""

    key: str
    unit: str
    model: str | None = None
    transform: str | None = None  # "log" or "level"
    history_points: int = 0
    mase: float | None = None
    coverage_80: float | None = None
    coverage_95: float | None = None
    backtest_points: int = 0
    widened: dict[int, float] = field(default_factory=dict)  # band widths' factor from the backtest
    warnings: list[str] = field(default_factory=list)
    refused: str | None = None
    points: list[dict] = field(default_factory=list)  # period, forecast, lo_80, hi_80, lo_95, hi_95
    last: tuple[date, Decimal] | None = None  # the last known point
    history: list[Decimal] = field(default_factory=list, repr=False)  # the values forecast from

    #: per step, the point and the spread (from the 95% band) on the modelling scale
    scale: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    floor: float | None = None
    #: sample paths given by the model itself (the cash engine's draws)
    drawn: np.ndarray | None = field(default=None, repr=False)

    def paths(self, draws: int, seed: int) -> np.ndarray:
        """Sample paths (draws x steps) whose margins match the bands, joined as a random
        walk (what is surprising in one period stays in the next): for thresholds and dates."""
        if not self.points:
            raise UsageError(f"{self.key}: no forecast to sample ({self.refused})")
        if self.drawn is not None:
            return self.drawn
        if self.scale is None:
            raise UsageError(f"{self.key}: no band, so no probability: {self.warnings[-1]}")
        center, sigma = self.scale
        steps = np.sqrt(np.maximum(np.diff(np.concatenate([[0.0], sigma**2])), 0.0))
        rng = np.random.default_rng(seed)
        walk = np.cumsum(rng.standard_normal((draws, len(sigma))) * steps, axis=1)
        out = _inverse(self.transform)(center + walk)
        return out if self.floor is None else np.maximum(out, self.floor)


def forecast(
    series: list[Series], horizon: int, grain: str = "month", models: tuple[str, ...] | str | None = None
) -> list[Forecast]:
    """Forecast every series `horizon` periods ahead at `grain` (month, week or day), the
    model of each chosen among `models` (default DEFAULT_MODELS) by its backtest."""
    names = check_models(models)
    levels = LEVELS
    if horizon < 1 or horizon > 120:
        raise UsageError(f"--horizon {horizon}: use 1 to 120 periods")
    if grain not in FREQS:
        raise UsageError(f"--grain {grain!r}: use one of {', '.join(FREQS)}")
    out: dict[str, Forecast] = {}
    batches: dict[tuple[int, int, str], list[tuple[Series, list[float]]]] = defaultdict(list)
    for s in series:
        fc, kept = _prepare(s, grain)
        out[s.key] = fc
        if fc.refused or kept is None:
            continue
        if len({*kept}) == 1:
            _constant(fc, s, horizon, grain)
            continue
        season = SEASONS[grain] if len(kept) >= 2 * SEASONS[grain] + 2 else 1
        batches[(len(kept), season, fc.transform)].append((s, kept))
    for (n, season, transform), members in batches.items():
        if n < MIN_BACKTEST:
            _short(members, [out[s.key] for s, _ in members], horizon, grain, transform)
        else:
            _fit(members, [out[s.key] for s, _ in members], horizon, grain, season, transform, levels, names)
    return [out[s.key] for s in series]


def _prepare(s: Series, grain: str) -> tuple[Forecast, list[float] | None]:
    fc = Forecast(key=s.key, unit=s.unit, floor=None if s.floor is None else float(s.floor))
    if s.left_out:
        parts = ", ".join(f"{m:%Y-%m} {money.text(v)}" for m, v in sorted(s.left_out.items()))
        fc.warnings.append(f"one-off charges left out of the history (not a trend): {parts}")
    pairs = sorted(zip(s.periods, s.values, strict=True))
    expected = _step_periods(pairs[0][0], pairs[-1][0], grain) if pairs else []
    given = dict(pairs)
    cut = 0
    for i, p in enumerate(expected):
        v = given.get(p)
        if v is None or (isinstance(v, Decimal) and not v.is_finite()):
            cut = i + 1
            fc.warnings.append(f"{p:%Y-%m-%d} unknown: the forecast uses only the periods after it")
    kept_periods = expected[cut:]
    values = [given[p] for p in kept_periods]
    fc.history_points = len(values)
    if len(values) < MIN_POINTS:
        fc.refused = (
            f"too short: {len(values)} known period(s) in a row; a forecast needs at least {MIN_POINTS}"
        )
        return fc, None
    fc.last = (kept_periods[-1], values[-1])
    fc.history = values
    fc.transform = "log" if all(v > 0 for v in values) else "level"
    if len(values) < MIN_BACKTEST:
        fc.warnings.append(
            f"short history ({len(values)} periods): no backtest, so no band (a band is given from "
            f"{MIN_BACKTEST} periods, when a backtest can check it); the median is the drift's"
        )
    return fc, [float(v) for v in values]


def _step_periods(first: date, last: date, grain: str) -> list[date]:
    from computeledger.accounting.periods import add_months

    out, p = [], first
    while p <= last:
        out.append(p)
        p = add_months(p, 1) if grain == "month" else p + _delta(grain)
    return out


def _delta(grain: str):
    from datetime import timedelta

    return timedelta(days=7 if grain == "week" else 1)


def _future(last: date, horizon: int, grain: str) -> list[date]:
    from computeledger.accounting.periods import add_months

    if grain == "month":
        return [add_months(last, i) for i in range(1, horizon + 1)]
    return [last + _delta(grain) * i for i in range(1, horizon + 1)]


def _constant(fc: Forecast, s: Series, horizon: int, grain: str) -> None:
    value = fc.last[1]
    fc.model = "Constant"
    fc.warnings.append("constant history: the forecast repeats it; the history shows no spread to measure")
    fc.points = [
        {"period": p, "forecast": value, "lo_80": value, "hi_80": value, "lo_95": value, "hi_95": value}
        for p in _future(fc.last[0], horizon, grain)
    ]
    fc.scale = (np.full(horizon, _forward(fc.transform)(float(value))), np.zeros(horizon))


def _forward(transform: str | None):
    return math.log if transform == "log" else float


def _forward_array(transform: str | None):
    return np.log if transform == "log" else (lambda x: x)


def _inverse(transform: str | None):
    return np.exp if transform == "log" else (lambda x: x)


def _frame(members: list[tuple[Series, list[float]]], grain: str, transform: str):
    import pandas as pd

    ids, ds, ys = [], [], []
    for s, kept in members:
        periods = sorted(p for p, v in zip(s.periods, s.values, strict=True) if v is not None)[-len(kept) :]
        ids += [s.key] * len(kept)
        ds += [pd.Timestamp(p) for p in periods]
        ys += [math.log(v) for v in kept] if transform == "log" else kept
    return pd.DataFrame({"unique_id": ids, "ds": ds, "y": ys})


def _models(names: tuple[str, ...], season: int):
    from statsforecast.models import AutoARIMA, AutoETS, AutoTheta, RandomWalkWithDrift, SeasonalNaive

    made = {
        "AutoETS": lambda: AutoETS(season_length=season, alias="AutoETS"),
        "AutoARIMA": lambda: AutoARIMA(season_length=season, alias="AutoARIMA"),
        "Theta": lambda: AutoTheta(season_length=season, alias="Theta"),
        "SeasonalNaive": lambda: SeasonalNaive(season_length=season, alias="SeasonalNaive"),
        "Drift": lambda: RandomWalkWithDrift(alias="Drift"),
    }
    return [made[n]() for n in names]


def check_models(names: tuple[str, ...] | str | None) -> tuple[str, ...]:
    """The models to try: names from MODELS (comma-separated), `all`, or the default."""
    if names is None:
        return DEFAULT_MODELS
    if isinstance(names, str):
        names = tuple(MODELS) if names.strip() == "all" else tuple(n.strip() for n in names.split(","))
    unknown = [n for n in names if n not in MODELS]
    if unknown or not names:
        raise UsageError(f"--models {','.join(unknown)!r}: use all or some of {', '.join(MODELS)}")
    return tuple(dict.fromkeys(names))


def _engine(models, grain: str):
    from statsforecast import StatsForecast

    return StatsForecast(models=models, freq=FREQS[grain], n_jobs=1)


def _short(members, fcs: list[Forecast], horizon: int, grain: str, transform: str) -> None:
    df = _frame(members, grain, transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = _engine(_models(("Drift",), 1), grain).forecast(df=df, h=horizon, level=[95, 99])
    for fc in fcs:
        fc.model = "Drift"
        _points(fc, got, "Drift", horizon, grain, (95, 99), {}, banded=False)
        fc.scale = None
        for p in fc.points:
            p.update(dict.fromkeys(("lo_80", "hi_80", "lo_95", "hi_95")))


def _fit(members, fcs, horizon: int, grain: str, season: int, transform: str, levels, names) -> None:
    df = _frame(members, grain, transform)
    n = len(members[0][1])
    h = min(horizon, max(1, n - MIN_TRAIN - 2))
    windows = min(MAX_WINDOWS, n - h - MIN_TRAIN + 1)
    try:
        cv, got = _run(df, names, season, grain, h, windows, horizon, levels)
    except Exception as exc:  # statsforecast refuses some short histories in some models
        names = tuple(m for m in names if m in ("SeasonalNaive", "Drift")) or ("Drift",)
        cv, got = _run(df, names, season, grain, h, windows, horizon, levels)
        for fc in fcs:
            fc.warnings.append(f"only {', '.join(names)} could be fitted ({str(exc).strip()[:80]})")
    inv = _inverse(transform)
    by_id = {uid: part for uid, part in cv.groupby("unique_id", sort=False)}
    for (s, kept), fc in zip(members, fcs, strict=True):
        part = by_id[s.key]
        actual = part["y"].to_numpy(dtype=float)
        train = np.array(kept[: n - h - windows + 1])
        lag = season if len(train) > season else 1
        scale = float(np.mean(np.abs(train[lag:] - train[:-lag])))
        best = None
        for m in names:
            pred = inv(part[m].to_numpy(dtype=float))
            if not np.all(np.isfinite(pred)):
                continue
            err = float(np.mean(np.abs(inv(actual) - pred)))
            mase = err / scale if scale > 0 else (0.0 if err == 0 else math.inf)
            if best is None or mase < best[1] - 1e-12:
                best = (m, mase)
        if best is None:
            fc.refused = "no model could be fitted to this history"
            continue
        m = best[0]
        fc.model, fc.mase, fc.backtest_points = m, best[1], len(actual)
        widen = {}
        center = part[m].to_numpy(dtype=float)
        spread = (part[f"{m}-hi-{levels[-1]}"].to_numpy(dtype=float) - center) / _Z[levels[-1]]
        z = np.abs(actual - center) / np.where(spread > 0, spread, np.inf)
        for level in levels:
            lo = part[f"{m}-lo-{level}"].to_numpy(dtype=float)
            hi = part[f"{m}-hi-{level}"].to_numpy(dtype=float)
            setattr(fc, f"coverage_{level}", float(np.mean((actual >= lo) & (actual <= hi))))
            widen[level] = max(1.0, float(np.quantile(z, level / 100)) / _Z[level])
        fc.widened = {k: round(v, 3) for k, v in widen.items()}
        _points(fc, got, m, horizon, grain, levels, widen)


def _run(df, names, season, grain, h, windows, horizon, levels):
    engine = _engine(_models(names, season), grain)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cv = engine.cross_validation(df=df, h=h, n_windows=windows, step_size=1, level=list(levels))
        got = engine.forecast(df=df, h=horizon, level=list(levels))
    return cv, got


def _points(
    fc: Forecast, got, model: str, horizon: int, grain: str, levels, widen: dict, banded=True
) -> None:
    inv = _inverse(fc.transform)
    rows = got[got["unique_id"] == fc.key]
    q = Decimal(1).scaleb(-PLACES)
    center = rows[model].to_numpy(dtype=float)
    values = {"forecast": inv(center)}
    for shown, level in zip(LEVELS, levels, strict=True):
        f = widen.get(level, 1.0)
        lo = rows[f"{model}-lo-{level}"].to_numpy(dtype=float)
        hi = rows[f"{model}-hi-{level}"].to_numpy(dtype=float)
        lo, hi = center - f * (center - lo), center + f * (hi - center)
        if shown == LEVELS[-1]:  # the wider band holds the narrower one, whatever the widening
            inner_lo, inner_hi = (
                _forward_array(fc.transform)(values[f"{k}_{LEVELS[0]}"]) for k in ("lo", "hi")
            )
            lo, hi = np.minimum(lo, inner_lo), np.maximum(hi, inner_hi)
            fc.scale = (center, (hi - lo) / (2 * _Z[level]))
        values[f"lo_{shown}"], values[f"hi_{shown}"] = inv(lo), inv(hi)
    if not np.all(np.isfinite(values["forecast"])):
        fc.refused, fc.model = f"{model} gave no finite forecast for this history", None
        return
    if fc.floor is not None:
        values = {k: np.maximum(v, fc.floor) for k, v in values.items()}
    largest = max(abs(float(v)) for v in fc.history) if fc.history else 0.0
    width = values[f"hi_{LEVELS[-1]}"] - values[f"lo_{LEVELS[-1]}"]
    scale = np.maximum(np.abs(values["forecast"]), largest)
    wide = np.flatnonzero(width > BAND_LIMIT * scale) if largest else np.array([], dtype=int)
    if not np.all(np.isfinite(values["forecast"])) or np.any(np.abs(values["forecast"]) >= 1e20):
        fc.refused, fc.model = (
            "the forecast reaches beyond 10^20: the history is too erratic to forecast",
            None,
        )
        fc.points, fc.scale = [], None
        return
    future = _future(fc.last[0], horizon, grain)
    if not banded:
        fc.scale = None
    elif len(wide) or not all(np.all(np.abs(v) < 1e20) for v in values.values()):
        banded = False
        at = future[int(wide[0])] if len(wide) else future[0]
        fc.warnings.append(
            f"no band: by {at:%Y-%m-%d} the {LEVELS[-1]}% band would be wider than {BAND_LIMIT} times the "
            "median and the history's largest value; the history cannot support a band (the median is given)"
        )
        fc.scale = None
    with localcontext(money.CONTEXT):
        fc.points = [
            {"period": p}
            | {k: Decimal(repr(float(v[i]))).quantize(q) if banded or k == "forecast" else None
               for k, v in values.items()}
            for i, p in enumerate(future)
        ]  # fmt: skip
