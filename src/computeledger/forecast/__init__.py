"""Where it is heading: series forecasts with backtested bands (engine), the ledger's
series (series), driver-based scenarios (scenario), threshold questions (thresholds),
anomalies and budgets."""
