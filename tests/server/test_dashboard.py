"""The dashboard: the report's sections on the snapshot, filtered by period and basis,
escaped, as of when; in Chromium, charts render offline and the filters change the
numbers shown to the ledger's."""

from __future__ import annotations

import html
import re
import socket
import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from computeledger import open_ledger
from tests.report.browser import open_page


def _billed(ledger, start: date | None = None, stop: date | None = None) -> Decimal:
    with open_ledger(ledger, read_only=True) as lg:
        c = lg.charges
        if start is not None:
            c = c.filter((c.ChargePeriodStart >= start) & (c.ChargePeriodStart < stop))
        return c.BilledCost.sum().to_pyarrow().as_py()


@pytest.fixture(scope="module")
def client(make_app, books):
    ledger, _, contracts = books
    return TestClient(make_app(ledger, contracts))


@pytest.mark.slow  # two report pages
def test_the_page_is_the_reports_for_the_period_asked_and_says_as_of_when(client, books):
    whole = client.get("/")
    assert whole.status_code == 200
    assert "As of " in whole.text and "the ledger&#x27;s snapshot" in whole.text
    assert f'data-total="billed_cost" data-exact="{_billed(books[0])}"' in whole.text
    part = client.get("/?from=2024-02&to=2024-03&basis=billed")
    assert part.status_code == 200
    want = _billed(books[0], date(2024, 2, 1), date(2024, 4, 1))
    assert f'data-total="billed_cost" data-exact="{want}"' in part.text
    assert "period 2024-02 to 2024-03; basis billed" in part.text
    assert 'value="2024-02"' in part.text and '<option value="billed" selected>' in part.text


def test_a_filter_the_ledger_cannot_show_says_why_escaped(client):
    got = client.get("/?from=<script>x</script>")
    assert got.status_code == 400
    assert "<script>x" not in got.text
    assert 'value="&lt;script&gt;x&lt;/script&gt;"' in got.text and "error: " in got.text
    bad = client.get("/?basis=%3Cb%3Eyearly")
    assert bad.status_code == 400
    assert "error: basis &#x27;&lt;b&gt;yearly&#x27;: use one of effective, billed" in bad.text
    empty = client.get("/?from=2031-01")
    assert empty.status_code == 400 and "no charges in the ledger for 2031-01" in empty.text


def _sections(text: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)">', text)


@pytest.mark.slow  # two report pages
def test_a_provider_or_model_filter_cuts_what_it_can_and_leaves_out_the_rest_saying_so(client, books):
    with open_ledger(books[0], read_only=True) as lg:
        by_provider = {r["provider"]: r for r in lg.summary("provider").to_pyarrow().to_pylist()}
        by_model = {r["model"]: r for r in lg.summary("model").to_pyarrow().to_pylist()}
    provider = sorted(by_provider)[0]
    model = sorted(m for m in by_model if m)[0]
    page = client.get("/", params={"provider": provider})
    assert page.status_code == 200, page.text[-300:]
    # the overview's totals are the provider's own, to the last digit
    assert f'data-total="billed_cost" data-exact="{by_provider[provider]["BilledCost"]}"' in page.text
    assert _sections(page.text) == ["filtered", "overview", "spend", "quality"]
    assert f"Filtered: provider {provider}" in page.text and "the statement, bridge" in page.text
    assert "unit economics (revenue is not per cloud provider)" in page.text
    assert f'<option value="{provider}" selected>' in page.text
    one = client.get("/", params={"model": model, "basis": "billed"})
    assert one.status_code == 200, one.text[-300:]
    want = by_model[model]["EffectiveCost"]
    assert f'data-total="allocated_effective_cost" data-exact="{want}"' in one.text
    assert _sections(one.text) == ["filtered", "overview", "spend", "quality", "economics"]
    assert f"The model {model} at a glance" in one.text


def test_a_provider_or_model_the_ledger_lacks_is_refused_escaped(client):
    got = client.get("/", params={"provider": "<b>Nimbus</b>"})
    assert got.status_code == 400
    assert "<b>Nimbus" not in got.text
    assert "error: provider &#x27;&lt;b&gt;Nimbus&lt;/b&gt;&#x27;: not in the ledger (known: " in got.text
    assert '<option value="&lt;b&gt;Nimbus&lt;/b&gt;" selected>' in got.text
    gone = client.get("/", params={"model": "no-such-model"})
    assert gone.status_code == 400 and "model &#x27;no-such-model&#x27;: not in the ledger" in gone.text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def running(make_app, books):
    """The lab served on a loopback port by uvicorn, as `computeledger serve` runs it."""
    import uvicorn

    ledger, _, contracts = books
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(make_app(ledger, contracts),
                                           host="127.0.0.1", port=port, log_level="warning"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.slow  # Chromium
def test_in_a_browser_the_charts_render_and_the_filters_change_the_numbers(running, books, tmp_path):
    seen = open_page(f"{running}/", tmp_path / "whole.png", origin=running)
    assert seen["requests"] == [] and seen["errors"] == []
    assert [m for m in seen["console"] if m[0] == "error"] == []
    assert len(seen["charts"]) >= 8
    assert all(c["svg"] == 1 and c["marks"] > 0 for c in seen["charts"].values()), seen["charts"]
    assert Decimal(seen["totals"]["billed_cost"][0]) == _billed(books[0])
    part = open_page(f"{running}/", tmp_path / "part.png", origin=running,
                     filters={"from": "2024-02", "to": "2024-03", "basis": "billed"})  # fmt: skip
    assert part["requests"] == [] and part["errors"] == []
    want = _billed(books[0], date(2024, 2, 1), date(2024, 4, 1))
    assert Decimal(part["totals"]["billed_cost"][0]) == want
    assert part["totals"]["billed_cost"][1] == f"{want.quantize(Decimal('0.01')):,}"
    assert "period 2024-02 to 2024-03" in part["meta"]


def test_a_provider_without_charges_in_the_period_says_so(client, books):
    """A provider the ledger holds, in a period it has no charge in: the overview and the
    spend say so (the spend section raised on an empty period before)."""
    with open_ledger(books[0], read_only=True) as lg:
        rows = lg.summary("provider,month").to_pyarrow().to_pylist()
    first = min(r["month"] for r in rows)
    late = {r["provider"]: r["month"] for r in rows if r["month"] > first}
    provider = next(p for p in late if not any(r["provider"] == p and r["month"] == first for r in rows))
    page = client.get("/", params={"provider": provider, "from": f"{first:%Y-%m}", "to": f"{first:%Y-%m}"})
    assert page.status_code == 200, page.text[-300:]
    assert page.text.count(f"no charges of {html.escape(provider)} in the ledger for this period") == 2
    assert _sections(page.text) == ["filtered", "overview", "spend", "quality"]
