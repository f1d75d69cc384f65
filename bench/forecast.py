"""Forecast overhead: 1,000 monthly series (24 points, random walks with drift) forecast 12
ahead with backtests, through computeledger's engine and through statsforecast called
directly on the same data with the same models and backtest (one run; ratio = direct / ours).

    .venv/bin/python bench/forecast.py [SERIES]
"""

from __future__ import annotations

import sys
import time
import warnings
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from computeledger.accounting.periods import add_months
from computeledger.forecast import engine


def main(n: int = 1000) -> None:
    rng = np.random.default_rng(0)
    months = [add_months(date(2023, 1, 1), i) for i in range(24)]
    paths = 1000 * np.exp(np.cumsum(rng.normal(0.05, 0.05, (n, 24)), axis=1))
    series = [
        engine.Series(f"s{i}", months, [Decimal(repr(float(v))) for v in row]) for i, row in enumerate(paths)
    ]
    t = time.perf_counter()
    ours = engine.forecast(series, 12)
    mine = time.perf_counter() - t
    df = pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i}" for i in range(n)], 24),
            "ds": np.tile(pd.to_datetime(months), n),
            "y": np.log(paths).ravel(),
        }
    )
    h = min(12, 24 - engine.MIN_TRAIN - 2)
    windows = min(engine.MAX_WINDOWS, 24 - h - engine.MIN_TRAIN + 1)
    t = time.perf_counter()
    sf = engine._engine(engine._models(engine.DEFAULT_MODELS, 1), "month")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf.cross_validation(df=df, h=h, n_windows=windows, step_size=1, level=[80, 95])
        sf.forecast(df=df, h=12, level=[80, 95])
    direct = time.perf_counter() - t
    print(
        f"{n} series: computeledger {mine:.2f} s, statsforecast directly {direct:.2f} s, "
        f"ratio {direct / mine:.2f}x; {sum(1 for f in ours if f.points)} forecast"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
