"""The report: one self-contained HTML page with charts (sections: what each part shows;
page: the HTML, offline)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from computeledger.errors import UsageError
from computeledger.targets import check_folder, check_target, html_of_ours, write_text

if TYPE_CHECKING:
    from computeledger.ledger import Ledger
    from computeledger.report.options import Options
    from computeledger.report.results import Results
    from computeledger.report.sections import Section

#: what a command reads, by what it is called: never a file a report is written over
Reads = list[tuple[str, "Path | str | None"]]


def write_report(
    ledger: Ledger,
    out: str | Path,
    opts: Options | None = None,
    images: str | Path | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """Write the report to `out` (and every chart to `images`, as SVG); return what was
    written. Never over a file the report reads (the ledger, the contracts, the figures),
    nor over an existing file that is not an earlier report (unless `force`)."""
    from datetime import UTC, datetime

    from computeledger.report.options import Options
    from computeledger.report.page import images as write_images

    opts = opts or Options()
    reads: Reads = [
        ("ledger", ledger.path),
        ("contracts file", opts.contracts),
        ("figures file", opts.figures),
    ]
    _check_targets(Path(out), Path(images) if images else None, reads, force)
    text, found = build_page(ledger, opts, f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    path = Path(out)
    size = write_text(path, text, option="--out")
    written = write_images(found, Path(images), reads, force) if images else []
    return {
        "out": str(path),
        "bytes": size,
        "charts": sum(len(s.charts) for s in found),
        "sections": [s.key for s in found],
        "unknown": {s.key: s.unknown for s in found if s.unknown},
        "images": [str(p) for p in written],
    }


def build_page(ledger: Ledger, opts: Options, when: str, header: str = "") -> tuple[str, list[Section]]:
    """The page's HTML and its sections, for the file and the server alike: `when` opens
    its line of provenance ("Written ... UTC"), `header` is markup of the caller's own
    (the server's filters) put above the sections."""
    from computeledger.report.page import render
    from computeledger.report.results import Results
    from computeledger.report.sections import sections

    if opts.horizon < 1:
        raise UsageError(f"--horizon {opts.horizon}: forecast at least one month")
    got = Results(ledger, opts)
    _check_period(got)
    _check_inputs(opts)
    found = sections(ledger, opts, got)
    meta = (
        f"{when} from the ledger {Path(str(ledger.path)).name} ({ledger.backend}); period {_period(opts)}; "
        f"basis {opts.basis}; every number is billed, allocated, estimated, reported or forecast, as its "
        "section says"
    )
    return render(found, "computeledger: the compute economics of this ledger", meta, header), found


def _check_targets(out: Path, images: Path | None, reads: Reads, force: bool) -> None:
    """Refuse, before any work, a page that cannot be written where it is asked."""
    check_target(out, option="--out", kind="report", reads=reads, ours=html_of_ours, force=force)
    if images is not None:
        check_folder(images, option="--images", reads=reads)


def _check_inputs(opts: Options) -> None:
    """Refuse, before any work, a contracts or figures file named that cannot be read: a
    file the user asked for is not a section to leave blank."""
    from computeledger.accounting.contracts import load_contracts
    from computeledger.figures.read import read_figures

    if opts.contracts:
        load_contracts(opts.contracts)
    if opts.figures:
        read_figures(opts.figures)


def _check_period(got: Results) -> None:
    """Refuse a period that ends before it starts, or holds no charge: a page of nothing
    would read as a company that spent nothing (of any provider: a provider filter's empty
    period is the sections' to say)."""
    opts = got.opts
    if opts.start and opts.end and opts.end <= opts.start:
        raise UsageError(f"--to is before --from ({_period(opts)})")
    if got.totals(whole=True).detail is None:
        where = "" if opts.start is None and opts.end is None else f" for {_period(opts)}"
        raise UsageError(
            f"no charges in the ledger{where}: nothing to report (ingest bills, or widen --from/--to)"
        )


def _period(opts: Options) -> str:
    """The period the report covers, as the options set it (never a path)."""
    if opts.start is None and opts.end is None:
        return "all the ledger holds"
    first = f"{opts.start:%Y-%m}" if opts.start else "the first month"
    if opts.end is None:
        return f"{first} to the last month"
    from computeledger.accounting.periods import add_months

    return f"{first} to {add_months(opts.end, -1):%Y-%m}"
