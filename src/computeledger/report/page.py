"""The report as one HTML file that works offline: Vega, Vega-Lite and Vega-Embed inlined
(vl-convert's bundle), every chart's specification inlined as JSON with its data (the
aggregates, never rows), every table as HTML. No request leaves the page.

Values the page shows are escaped; money in tables keeps its decimals to the cent, and an
unknown value reads "unknown".
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from computeledger.errors import UsageError
from computeledger.report.sections import Section

VL_VERSION = "6.4"
STYLE = """
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2rem auto; max-width: 72rem;
       color: #1b1f24; line-height: 1.45; padding: 0 1rem; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; } h2 { font-size: 1.25rem; margin-top: 2.4rem;
     border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; }
.meta, .prov, .note { color: #57606a; font-size: .9rem; }
.caption { font-size: .95rem; margin-top: 0; } .reading { font-size: 1.05rem; }
.unknown { color: #9a6700; background: #fff8c5; padding: .4rem .6rem; border-radius: 4px; }
.chart { margin: 1rem 0; } table { border-collapse: collapse; font-size: .85rem; margin: .6rem 0; }
td, th { border: 1px solid #d0d7de; padding: .2rem .5rem; } td.num { text-align: right;
     font-variant-numeric: tabular-nums; } th { background: #f6f8fa; }
nav a { margin-right: .8rem; } .chart .vega-embed { display: block; width: 100%; }
"""


def render(sections: list[Section], title: str, meta: str, header: str = "") -> str:
    """The page, as text; `header`: markup of the caller's own, above the sections."""
    import vl_convert as vlc

    # the snippet is optional (its default puts vegaEmbed on the window); the stub says not
    bundle = vlc.javascript_bundle(vl_version=VL_VERSION)  # type: ignore[call-arg]
    specs: dict[str, Any] = {}
    body: list[str] = []
    nav = " ".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in sections)
    for s in sections:
        body.append(f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>')
        if s.unknown:
            body.append(f'<p class="unknown">Unknown: {html.escape(s.unknown)}</p></section>')
            continue
        if s.reading:
            body.append(f'<p class="reading">{html.escape(s.reading)}</p>')
        for key, value in s.totals.items():
            body.append(
                f'<p class="total">{html.escape(key.replace("_", " "))}: '
                f'<span data-total="{key}" data-exact="{html.escape(str(value))}">'
                f"{html.escape(_text(value))}</span></p>"
            )
        for i, (name, chart) in enumerate(s.charts):
            cid = f"{s.key}-{i}"
            specs[cid] = chart.properties(width=880).to_dict()
            body.append(f'<div class="chart" id="{cid}" data-chart="{html.escape(name)}"></div>')
            if name in s.captions:
                body.append(f'<p class="caption">{html.escape(s.captions[name])}</p>')
        if s.table:
            body.append(_table(s.table[:60]))
            if len(s.table) > 60:
                body.append(
                    f'<p class="note">{len(s.table) - 60} more rows: see the command line output.</p>'
                )
        for n in s.notes:
            body.append(f'<p class="note">note: {html.escape(n)}</p>')
        body.append(f'<p class="prov">Provenance: {html.escape(s.provenance)}</p></section>')
    data = json.dumps(specs, default=str).replace("</", "<\\/")
    script = bundle.replace("</script", "<\\/script")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="computeledger">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:">
<title>{html.escape(title)}</title><style>{STYLE}</style>
<script>{script}</script></head>
<body><h1>{html.escape(title)}</h1><p class="meta">{html.escape(meta)}</p>{header}<nav>{nav}</nav>
{"".join(body)}
<script type="application/json" id="specs">{data}</script>
<script>
const specs = JSON.parse(document.getElementById("specs").textContent);
window.chartsRendered = Promise.all(Object.entries(specs).map(([id, spec]) =>
  vegaEmbed("#" + id, spec, {{renderer: "svg", actions: false}})));
</script></body></html>
"""  # noqa: E501


def images(
    sections: list[Section],
    folder: Path,
    reads: Sequence[tuple[str, Path | str | None]] = (),
    force: bool = False,
) -> list[Path]:
    """Every chart also as an SVG file, for slides and articles; never over a file the
    command reads (`reads`) nor over an existing file that is not an SVG (unless `force`)."""
    import vl_convert as vlc

    from computeledger.targets import check_target, svg, write_text

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--images {folder}: cannot make the folder: {exc.strerror}") from None
    planned = [
        (folder / f"{s.key}-{i}.svg", chart) for s in sections for i, (_, chart) in enumerate(s.charts)
    ]
    for path, _ in planned:
        check_target(path, option="--images", kind="chart image", reads=reads, ours=svg, force=force)
    for path, chart in planned:
        spec = chart.properties(width=720).to_dict()
        write_text(path, vlc.vegalite_to_svg(spec, vl_version=VL_VERSION), option="--images")
    return [path for path, _ in planned]


def _text(v: Any) -> str:
    if v is None:
        return "unknown"
    if isinstance(v, Decimal):
        return f"{v.quantize(Decimal('0.01')):,}"
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, dict):
        return json.dumps(v, default=str)
    return f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v)


def _table(rows: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{html.escape(n.replace('_', ' '))}</th>" for n in names)
    lines = []
    for r in rows:
        cells = []
        for n in names:
            v = r.get(n)
            cls = ' class="num"' if isinstance(v, Decimal | int | float) and not isinstance(v, bool) else ""
            cells.append(f"<td{cls}>{html.escape(_text(v))}</td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
