"""The report: one self-contained HTML page with charts (sections: what each part shows;
page: the HTML, offline)."""

from __future__ import annotations

from pathlib import Path

from computeledger.errors import UsageError


def write_report(ledger, out: str | Path, opts=None, images: str | Path | None = None) -> dict:
    """Write the report to `out` (and every chart to `images`, as SVG); return what was written."""
    from datetime import UTC, datetime

    from computeledger.report.page import images as write_images
    from computeledger.report.page import render
    from computeledger.report.sections import Options, sections

    opts = opts or Options()
    _check_targets(Path(out), Path(images) if images else None)
    if opts.horizon < 1:
        raise UsageError(f"--horizon {opts.horizon}: forecast at least one month")
    found = sections(ledger, opts)
    meta = (
        f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from {ledger.path} ({ledger.backend}); "
        f"basis {opts.basis}; every number is billed, allocated, estimated, reported or forecast, as its "
        "section says"
    )
    text = render(found, "computeledger: the compute economics of this ledger", meta)
    path = Path(out)
    path.write_text(text, encoding="utf-8")
    written = write_images(found, Path(images)) if images else []
    return {
        "out": str(path),
        "bytes": len(text.encode("utf-8")),
        "charts": sum(len(s.charts) for s in found),
        "sections": [s.key for s in found],
        "unknown": {s.key: s.unknown for s in found if s.unknown},
        "images": [str(p) for p in written],
    }


def _check_targets(out: Path, images: Path | None) -> None:
    """Refuse, before any work, a page that cannot be written where it is asked."""
    if out.is_dir():
        raise UsageError(f"--out {out}: a folder; name the HTML file to write (e.g. {out / 'report.html'})")
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: no folder {out.parent}")
    if images is not None and images.exists() and not images.is_dir():
        raise UsageError(f"--images {images}: a file, not a folder")
