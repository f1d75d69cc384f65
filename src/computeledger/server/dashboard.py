"""The dashboard at `/`: the report's sections as a live page, with filters.

The page is the report's own (`computeledger.report.page`: charts from inlined Vega, no
request leaves it), built on the current snapshot for the period and basis the filters
ask, with a line saying as of when. Every value shown is escaped by the report; the
filters' own values are escaped here.
"""

from __future__ import annotations

import html
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Annotated

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
    ) -> HTMLResponse:
        """The report on the snapshot for the filters asked (period, basis)."""
        state = request.app.state
        start, end = start or None, end or None
        try:
            with reading(state.settings, state.snapshot) as (lg, current):
                key = (current.version, start, end, basis)
                with building:
                    if key not in pages:
                        pages[key] = _page(lg, settings, start, end, basis, current.taken)
                        while len(pages) > PAGES_KEPT:
                            pages.popitem(last=False)
                    text = pages[key]
        except ComputeLedgerError as exc:
            return HTMLResponse(_refusal(str(exc), start, end, basis), 400)
        return HTMLResponse(text)


def _page(
    lg: Ledger, settings: Settings, start: str | None, end: str | None, basis: str, taken: datetime
) -> str:
    """The report's page for the filters, headed by them."""
    from computeledger.accounting.periods import parse
    from computeledger.errors import UsageError
    from computeledger.report import build_page
    from computeledger.report.sections import Options

    if basis not in BASES:
        raise UsageError(f"basis {basis!r}: use one of {', '.join(BASES)}")
    opts = Options(
        start=parse(start)[0] if start else None,
        end=parse(end)[1] if end else None,
        basis=basis,
        contracts=str(settings.contracts_path) if settings.contracts_path else None,
    )
    when = (
        f"As of {taken:%Y-%m-%d %H:%M:%S} UTC (the ledger's snapshot; it refreshes when the ledger changes)"
    )
    text, _ = build_page(lg, opts, when, _filters(start, end, basis))
    return text


def _filters(start: str | None, end: str | None, basis: str) -> str:
    """The filter form: the period and the basis, as the page was asked (escaped)."""
    options = "".join(
        f'<option value="{b}"{" selected" if b == basis else ""}>{b}</option>' for b in BASES
    )  # fmt: skip
    return (
        '<form method="get" action="/" class="filters">'
        f'<label>from <input name="from" value="{html.escape(start or "")}" placeholder="2025-01" size="8">'
        "</label> "
        f'<label>to <input name="to" value="{html.escape(end or "")}" placeholder="2025-06" size="8">'
        "</label> "
        f'<label>basis <select name="basis">{options}</select></label> '
        '<button type="submit">show</button> <a href="/api/v1/status">API</a></form>'
    )


def _refusal(message: str, start: str | None, end: str | None, basis: str) -> str:
    """A page that says why the filters cannot be shown, with the filters to change them."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>computeledger</title>'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
        f"</head><body><h1>computeledger</h1>{_filters(start, end, basis)}"
        f'<p class="error">error: {html.escape(message)}</p></body></html>'
    )
