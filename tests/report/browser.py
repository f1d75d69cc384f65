"""Open a report in headless Chromium (Debian's `chromium`, driven by Playwright) from disk
with every network request refused; what the page did."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")


def chromium() -> str:
    """The Debian browser's path: its absence is a failure that says how to install it."""
    for path in CHROMIUM:
        if Path(path).exists():
            return path
    found = shutil.which("chromium")
    if found:
        return found
    raise AssertionError("the report's browser tests need Debian's chromium: apt-get install -y chromium")


def open_report(path: Path, screenshot: Path) -> dict:
    """Console messages, page errors, requests attempted, and per chart its marks."""
    return open_page(path.resolve().as_uri(), screenshot)


def open_page(url: str, screenshot: Path, origin: str | None = None, filters: dict | None = None) -> dict:
    """What a page did in the browser: console messages, page errors, the requests it tried
    beyond `origin` (each refused), per chart its marks, the totals it shows. `filters`:
    a form's fields to fill and submit first (the dashboard's)."""
    from playwright.sync_api import sync_playwright

    seen: dict = {"console": [], "errors": [], "requests": [], "charts": {}, "totals": {}}
    allowed = ("file:", "data:", "about:", *((origin,) if origin else ()))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})

        def route(r):
            if not r.request.url.startswith(allowed):
                seen["requests"].append(r.request.url)
                r.abort()
            else:
                r.continue_()

        page.route("**/*", route)
        page.on("console", lambda m: seen["console"].append((m.type, m.text)))
        page.on("pageerror", lambda e: seen["errors"].append(str(e)))
        page.goto(url)
        if filters:
            for name, value in filters.items():
                field = page.locator(f"[name={name}]")
                if field.evaluate("e => e.tagName") == "SELECT":
                    field.select_option(value)
                else:
                    field.fill(value)
            with page.expect_navigation():
                page.click("form.filters button")
        page.evaluate("() => window.chartsRendered.then(() => true)")
        seen["charts"] = page.evaluate(
            """() => Object.fromEntries([...document.querySelectorAll('[data-chart]')].map(d => [d.id, {
                 name: d.dataset.chart,
                 svg: d.querySelectorAll('svg').length,
                 width: Math.round(d.querySelector('svg')?.getBoundingClientRect().width || 0),
                 marks: d.querySelectorAll('svg .mark-rect path, svg .mark-line path, svg .mark-area path, '
                                          + 'svg .mark-symbol path, svg .mark-rule line').length}]))"""
        )
        seen["totals"] = page.evaluate(
            "() => Object.fromEntries([...document.querySelectorAll('[data-total]')]"
            ".map(s => [s.dataset.total, [s.dataset.exact, s.textContent]]))"
        )
        seen["meta"] = page.evaluate("() => document.querySelector('.meta').textContent")
        page.screenshot(path=str(screenshot), full_page=True)
        browser.close()
    return seen
