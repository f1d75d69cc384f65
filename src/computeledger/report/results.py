"""What one page is made of: the application layer's answers for the report's options,
each asked once and kept. The sections are functions of these answers (they never read
the ledger), so a figure two sections show is one computation, and the same one the
command and the API print."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from computeledger import app
from computeledger.errors import ComputeLedgerError, UsageError

if TYPE_CHECKING:
    from computeledger.ledger import Ledger
    from computeledger.report.options import Options


class Results:
    """The answers of `computeledger.app` a page needs, for one ledger and one set of
    options: each method is one app function with the options' period, filters, basis,
    contracts and allocation; an answer (or the refusal it raised) is kept for the page."""

    def __init__(self, ledger: Ledger, opts: Options) -> None:
        self.opts = opts
        self._ledger = ledger
        self._kept: dict[tuple[Any, ...], app.Answer | ComputeLedgerError] = {}

    def _ask(self, key: tuple[Any, ...], call: Callable[[], app.Answer]) -> app.Answer:
        if key not in self._kept:
            try:
                self._kept[key] = call()
            except ComputeLedgerError as exc:
                self._kept[key] = exc
        got = self._kept[key]
        if isinstance(got, ComputeLedgerError):
            raise got
        return got

    def totals(self, whole: bool = False) -> app.Answer:
        """The charges of the period (and provider; `whole`: of every provider): count,
        totals, first and last."""
        o = self.opts
        provider = None if whole else o.provider
        return self._ask(("totals", provider), lambda: app.totals(self._ledger, provider, o.start, o.end))

    def summary(self, by: str) -> app.Answer:
        """Costs by `by` over the ledger (allocated dimensions from the options' allocation)."""
        return self._ask(("summary", by), lambda: app.summary(self._ledger, by, self.opts.rules_version))

    def quarantine_reasons(self) -> app.Answer:
        """Quarantined rows by reason."""
        return self._ask(("quarantine",), lambda: app.quarantine_reasons(self._ledger))

    def unallocated(self) -> app.Answer:
        """The ten largest unallocated resources of the period (and provider)."""
        o = self.opts
        return self._ask(
            ("unallocated",),
            lambda: app.unallocated(
                self._ledger, o.rules_version, limit=10, start=o.start, end=o.end, provider=o.provider
            ),
        )

    def unit_costs(self, by: str) -> app.Answer:
        """Cost per million tokens by `by` (effective, loaded: the command's defaults)."""
        return self._ask(
            ("unit_costs", by),
            lambda: app.unit_costs(self._ledger, by, rules_version=self.opts.rules_version),
        )

    def margin(self, by: str, within: bool = False) -> app.Answer:
        """Margin by `by` on the options' basis (effective for cash: revenue and cost are
        not paid amounts); `within`: of the period's months only."""
        o = self.opts
        basis = o.basis if o.basis != "cash" else "effective"
        start, end = (o.start, o.end) if within else (None, None)
        return self._ask(
            ("margin", by, within),
            lambda: app.margin(
                self._ledger, by, basis=basis, rules_version=o.rules_version, start=start, end=end
            ),
        )

    def statement(self) -> app.Answer:
        """The statement by month on the three bases."""
        o = self.opts
        return self._ask(
            ("statement",),
            lambda: app.statement(
                self._ledger, "month", "all", contracts=o.contracts, rules_version=o.rules_version
            ),
        )

    def bridge(self, period: str) -> app.Answer:
        """From billed to effective to cash for one period, from the statement's inputs."""
        o = self.opts
        inputs = self.statement().detail[0].inputs
        return self._ask(
            ("bridge", period),
            lambda: app.bridge(
                self._ledger, period, contracts=o.contracts, rules_version=o.rules_version, inputs=inputs
            ),
        )

    def commitments(self) -> app.Answer:
        """Every commitment and its schedule."""
        return self._ask(
            ("commitments",),
            lambda: app.commitments(self._ledger, schedule=True, contracts=self.opts.contracts),
        )

    def credits(self) -> app.Answer:
        """Every grant, and every grant and month."""
        return self._ask(("credits",), lambda: app.credits(self._ledger, contracts=self.opts.contracts))

    def forecast(self, series: str) -> app.Answer:
        """The series' forecast over the options' horizon, with its history; for cash (the
        driver model's run) both runways too."""
        o = self.opts
        ask = app.ForecastAsk(
            series,
            horizon=o.horizon,
            basis=o.basis,
            contracts=o.contracts,
            rules_version=o.rules_version,
            runways=series == "cash",
            history=True,
        )
        return self._ask(("forecast", series), lambda: app.forecast(self._ledger, ask))

    def physics(self) -> app.Answer:
        """Bills against physics for the options' catalogue mapping and concurrency."""
        o = self.opts
        return self._ask(
            ("physics",),
            lambda: app.capacity_compare(
                self._ledger, dict(o.catalogue), concurrency=dict(o.concurrency), start=o.start, end=o.end
            ),
        )

    def figures(self) -> app.Answer:
        """The reported figures' check (every section but the bounds); a refusal without
        a figures file."""
        path = self.opts.figures
        if path is None:
            raise UsageError("no figures file (--figures FILE)")
        return self._ask(("figures",), lambda: app.figures_check(app.FiguresAsk(path)))
