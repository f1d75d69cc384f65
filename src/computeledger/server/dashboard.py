"""The dashboard at `/`: the report's sections as a live page, with filters.

The page is the report's own (`computeledger.report.page`: charts from inlined Vega, no
request leaves it), built on the current snapshot for the period, basis, provider and
model the filters ask, with a line saying as of when. Under a provider or model filter
the sections that cannot be cut by it are left out, saying so (`report.sections.SCOPED`).
Every value shown is escaped by the report; the filters' own values are escaped here.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Annotated, NamedTuple

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse

from computeledger.errors import ComputeLedgerError
from computeledger.ledger import Ledger
from computeledger.server.snapshot import Settings, reading

BASES = ("effective", "billed")
PAGES_KEPT = 8  # pages kept per server (a page takes seconds; filters repeat)


def register(api: FastAPI, settings: Settings) -> None:
    """Add the dashboard's route to the application."""
    pages: OrderedDict[tuple[str | None, ...], str] = OrderedDict()
    building = threading.Lock()  # one page built at a time: a second asker waits and reads it

    @api.get("/", response_class=HTMLResponse, include_in_schema=False)
    def dashboard(
        request: Request,
        start: Annotated[str | None, Query(alias="from", max_length=100)] = None,
        end: Annotated[str | None, Query(alias="to", max_length=100)] = None,
        basis: Annotated[str, Query(max_length=100)] = "effective",
        provider: Annotated[str | None, Query(max_length=200)] = None,
        model: Annotated[str | None, Query(max_length=200)] = None,
    ) -> HTMLResponse:
        """The report on the snapshot for the filters asked (period, basis, provider, model)."""
        state = request.app.state
        asked = Asked(start or None, end or None, basis, provider or None, model or None)
        try:
            with reading(state.settings, state.snapshot) as (lg, current):
                key = (current.version, *asked)
                with building:
                    if key not in pages:
                        pages[key] = _page(lg, settings, asked, current.taken)
                        while len(pages) > PAGES_KEPT:
                            pages.popitem(last=False)
                    text = pages[key]
        except ComputeLedgerError as exc:
            return HTMLResponse(_refusal(str(exc), asked), 400)
        return HTMLResponse(text)


class Asked(NamedTuple):
    """The filters as the page was asked (text, unchecked)."""

    start: str | None = None
    end: str | None = None
    basis: str = "effective"
    provider: str | None = None
    model: str | None = None


def _page(lg: Ledger, settings: Settings, asked: Asked, taken: datetime) -> str:
    """The report's page for the filters, headed by them."""
    from computeledger.accounting.periods import parse
    from computeledger.errors import UsageError
    from computeledger.report import build_page
    from computeledger.report.options import Options

    if asked.basis not in BASES:
        raise UsageError(f"basis {asked.basis!r}: use one of {', '.join(BASES)}")
    providers, models = choices(lg)
    for name, value, known in (("provider", asked.provider, providers), ("model", asked.model, models)):
        if value is not None and value not in known:
            shown = ", ".join(known[:20]) + (", ..." if len(known) > 20 else "")
            raise UsageError(f"{name} {value!r}: not in the ledger (known: {shown or 'none'})")
    opts = Options(
        start=parse(asked.start)[0] if asked.start else None,
        end=parse(asked.end)[1] if asked.end else None,
        basis=asked.basis,
        contracts=str(settings.contracts_path) if settings.contracts_path else None,
        provider=asked.provider,
        model=asked.model,
    )
    when = (
        f"As of {taken:%Y-%m-%d %H:%M:%S} UTC (the ledger's snapshot; it refreshes when the ledger changes)"
    )
    text, _ = build_page(lg, opts, when, _filters(asked, providers, models))
    return text


def choices(lg: Ledger) -> tuple[list[str], list[str]]:
    """The providers of the ledger's charges and the models of its latest allocation (none
    before an allocation): what the filters may name."""
    from computeledger.errors import ComputeLedgerError as Unknown

    c = lg.charges
    providers = c.select("ServiceProviderName").distinct().to_pyarrow().column(0).to_pylist()
    try:
        models = lg.summary("model").to_pyarrow().column("model").to_pylist()
    except Unknown:
        models = []
    return sorted(p for p in providers if p), sorted(m for m in models if m)


def _select(name: str, values: list[str], chosen: str | None, blank: str | None = "all") -> str:
    """A drop-down of `values` (escaped), `chosen` selected; `blank` first, meaning none."""
    first = [("", blank)] if blank is not None else []
    options = "".join(
        f'<option value="{html.escape(v)}"{" selected" if v == (chosen or "") else ""}>'
        f"{html.escape(shown)}</option>"
        for v, shown in [*first, *((v, v) for v in values)]
    )  # fmt: skip
    return f'<label>{name} <select name="{name}">{options}</select></label> '


def _filters(asked: Asked, providers: list[str] | None = None, models: list[str] | None = None) -> str:
    """The filter form: the period, basis, provider and model, as the page was asked
    (escaped); a provider or model asked that the ledger lacks is kept as a choice, so
    that the refusal's form shows what was asked."""
    providers = sorted({*(providers or []), *([asked.provider] if asked.provider else [])})
    models = sorted({*(models or []), *([asked.model] if asked.model else [])})
    return (
        '<form method="get" action="/" class="filters">'
        f'<label>from <input name="from" value="{html.escape(asked.start or "")}" placeholder="2025-01" '
        'size="8"></label> '
        f'<label>to <input name="to" value="{html.escape(asked.end or "")}" placeholder="2025-06" size="8">'
        "</label> "
        + _select("basis", list(BASES), asked.basis, blank=None)
        + _select("provider", providers, asked.provider)
        + _select("model", models, asked.model)
        + '<button type="submit">show</button> <a href="/api/v1/status">API</a></form>'
    )


def _refusal(message: str, asked: Asked) -> str:
    """A page that says why the filters cannot be shown, with the filters to change them."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>computeledger</title>'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        f"</head><body><h1>computeledger</h1>{_filters(asked)}"
        f'<p class="error">error: {html.escape(message)}</p></body></html>'
    )
