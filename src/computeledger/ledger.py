"""The Ledger: one store, the ledger's tables, and the operations on them.

The embedded default is a DuckDB file; `backend="spark"` keeps the ledger as Parquet
folders run by Spark. Everything here is backend-blind: reads are Ibis expressions over
the store's tables, writes go through the store (see `computeledger.store`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import ibis
import ibis.expr.types as ir

from computeledger.config import CONFIG_FILE, DEFAULT_PATH, ENV_BACKEND, ENV_PATH, Settings
from computeledger.store import STORES, Store, open_store

BACKENDS = tuple(STORES)
__all__ = ["BACKENDS", "CONFIG_FILE", "DEFAULT_PATH", "ENV_BACKEND", "ENV_PATH", "Ledger", "open_ledger"]


def default_path() -> str:
    """The ledger's path: $COMPUTELEDGER_LEDGER, else the config file's, else ./computeledger.duckdb."""
    from computeledger import config

    return config.load().ledger


class Ledger:
    """An open ledger. Its tables are Ibis tables; its methods write (ingest of each kind,
    allocate) and, for the Python API, ask (the same functions `computeledger.app` calls
    for the command line and the server)."""

    def __init__(self, store: Store):
        self.store = store

    @property
    def con(self) -> ibis.BaseBackend:
        """The Ibis backend the tables live on."""
        return self.store.con

    @property
    def path(self) -> str:
        return str(self.store.root)

    @property
    def backend(self) -> str:
        return self.store.name

    # -- tables -----------------------------------------------------------------
    def table(self, name: str) -> ir.Table:
        return self.store.table(name)

    def has_table(self, name: str) -> bool:
        return self.store.exists(name)

    @property
    def charges(self) -> ir.Table:
        return self.table("charges")

    @property
    def ingests(self) -> ir.Table:
        return self.table("ingests")

    @property
    def quarantine(self) -> ir.Table:
        return self.table("quarantine")

    @property
    def allocations(self) -> ir.Table:
        return self.table("allocations")

    @property
    def allocation_runs(self) -> ir.Table:
        return self.table("allocation_runs")

    @property
    def usage(self) -> ir.Table:
        return self.table("usage")

    # -- operations ---------------------------------------------------------------
    def ingest(
        self,
        paths: Sequence[str | Path],
        *,
        strict: bool = False,
        mapping: str | Path | None = None,
        on_file: Callable | None = None,
    ) -> list:
        """Load FOCUS files (or folders of them), or other billing CSVs through a mapping
        file (see `computeledger.ingest.mapping`); one transaction per file."""
        from computeledger.ingest.focus import ingest_files
        from computeledger.ingest.mapping import load_mapping

        parsed = load_mapping(mapping) if mapping is not None else None
        return ingest_files(self.store, paths, strict=strict, mapping=parsed, on_file=on_file)

    def summary(
        self, by: str | Iterable[str] = ("provider",), *, rules_version: str | None = None
    ) -> ir.Table:
        """Totals of the four FOCUS cost columns grouped by the given dimensions. Allocated
        dimensions (workload, model, team, environment, gpu_model, split, and the rules'
        own) read the allocation (the latest, or `rules_version`), and add GPU-hours."""
        from computeledger.allocate.engine import allocated_charges, allocated_dimensions, allocation_parts
        from computeledger.summary import parse_by, summary

        names = {n.lower() for n in parse_by(by)}
        if rules_version is not None or names & allocated_dimensions(self):
            parts = allocation_parts(self, names, rules_version)
            return summary(parts if parts is not None else allocated_charges(self, rules_version), by)
        return summary(self.charges, by)

    def ingest_usage(
        self, paths: Sequence[str | Path], *, attributes: dict[str, str] | None = None, fmt: str | None = None
    ) -> list:
        """Load token usage: OpenAI-style usage records (.jsonl), OTLP GenAI spans (.json),
        OpenAI's and Anthropic's usage API responses as returned (.json, told by content) or
        a usage CSV. `attributes` names the span attributes of customer, channel and request
        count (the CLI passes ./computeledger.toml's [usage]; else the lab's `lab.customer`, ...);
        `fmt` names the format where the content does not tell it."""
        from computeledger.ingest.usage import ingest_usage

        return ingest_usage(self.store, paths, attributes or {}, fmt)

    def ingest_revenue(self, paths: Sequence[str | Path], *, mapping: str | Path | None = None) -> list:
        """Load customer invoices, payments and partners' revenue-share statements (or other
        revenue exports through a mapping with `kind`); one unit of work per file."""
        from computeledger.ingest.revenue import ingest_revenue, load_revenue_mapping

        parsed = load_revenue_mapping(mapping) if mapping is not None else None
        return ingest_revenue(self.store, paths, parsed)

    def ingest_cash(self, paths: Sequence[str | Path], *, mapping: str | Path | None = None) -> list:
        """Load bank statements and funding rounds (or other bank exports through a mapping
        with `kind = "bank"` or `"funding"`); one unit of work per file."""
        from computeledger.ingest.cash import ingest_cash, load_cash_mapping

        parsed = load_cash_mapping(mapping) if mapping is not None else None
        return ingest_cash(self.store, paths, parsed)

    def unit_costs(self, by: str = "model,month", **options):
        """Cost per million tokens per group (see `computeledger.economics.unit_costs`)."""
        from computeledger.economics.unit_costs import unit_costs

        return unit_costs(self, by, **options)

    def margin(self, by: str = "model,month", **options):
        """Revenue, revenue share, inference cost and gross margin per group (see
        `computeledger.economics.margin`)."""
        from computeledger.economics.margin import margin

        return margin(self, by, **options)

    def statement(self, period: str = "quarter", bases=("billed", "effective", "cash"), **options):
        """Revenue, compute by workload, margin, burn, cash and runway per period and basis
        (see `computeledger.accounting.statement`; `contracts=` a contracts file)."""
        from computeledger.accounting.statement import statement

        return statement(self, grain=period, bases=tuple(bases), **options)

    def bridge(self, period: str, *, contracts: str | Path | None = None, rules_version: str | None = None):
        """From billed to effective to cash compute for one period ('2025-Q3'), step by step."""
        from computeledger.accounting.bridge import bridge
        from computeledger.accounting.statement import gather

        return bridge(gather(self, contracts, rules_version), period)

    def commitments(self, *, contracts: str | Path | None = None):
        """The commitments ledger (see `computeledger.accounting.commitments`)."""
        from computeledger.accounting.commitments import commitments

        return commitments(self, contracts)

    def credits(self, *, contracts: str | Path | None = None):
        """The credits ledger: (grants, per month) (see `computeledger.accounting.credits`)."""
        from computeledger.accounting.credits import credits

        return credits(self, contracts)

    def forecast(self, series: str = "inference", horizon: int = 12, **options):
        """Forecasts of a ledger series with backtested bands (see `computeledger.forecast`):
        options `by`, `basis`, `grain`, `contracts`, `rules_version`, `models`."""
        from computeledger.forecast.engine import forecast
        from computeledger.forecast.series import history

        models = options.pop("models", None)
        grain = options.get("grain", "month")
        return forecast(history(self, series, **options), horizon, grain, models)

    def scenario(self, path: str | Path | None = None, *, basis: str = "effective", **options):
        """A driver-based scenario run by seeded Monte Carlo, as `scenario run` prints it
        (see `computeledger.forecast.runs`)."""
        from computeledger.forecast.runs import scenario

        return scenario(self, path, basis=basis, **options)

    def allocate(self, rules: str | Path):
        """Place every charge by the rules file (see `computeledger.allocate.rules`)."""
        from computeledger.allocate.engine import allocate
        from computeledger.allocate.rules import load_rules

        return allocate(self, load_rules(rules))

    def close(self) -> None:
        """Release the ledger (the Spark session stays for the process: starting one is slow)."""
        self.store.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def settings(path: Path | None = None) -> dict:
    """The `[ledger]` table of ./computeledger.toml (backend, path, spark_master), if any."""
    from computeledger import config

    path = path or Path(CONFIG_FILE)
    return config.ledger_section(config.read(path), path)


def resolve_backend(backend: str | None) -> str:
    """The backend asked for, else $COMPUTELEDGER_BACKEND, else the config file, else DuckDB."""
    from computeledger import config

    return config.load(backend).backend


def open_ledger(
    path: str | Path | None = None,
    *,
    read_only: bool = False,
    backend: str | None = None,
    settings: Settings | None = None,
) -> Ledger:
    """Open the ledger at `path` (by default the settings': $COMPUTELEDGER_LEDGER, the config
    file's, or ./computeledger.duckdb), creating it unless `read_only`. `backend="spark"`
    opens a ledger folder on Spark (the master from the settings). `settings`: resolved
    once by the caller (the CLI, the server); without them they are loaded here."""
    from computeledger import config

    chosen = settings if settings is not None else config.load(backend)
    where = str(path) if path is not None else chosen.ledger
    kind = backend or chosen.backend
    return Ledger(open_store(kind, where, read_only=read_only, master=chosen.spark_master))
