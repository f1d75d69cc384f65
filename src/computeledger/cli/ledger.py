"""Commands on the ledger's bills: ingest, summary, ingests, quarantine, validate, convert."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import typer
from rich.markup import escape

from computeledger import output
from computeledger.cli.common import FormatOpt, LedgerOpt, check_format, console, opened, progress, settings
from computeledger.errors import UsageError
from computeledger.ingest.files import discover
from computeledger.shipped import name_of


def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="FOCUS files (CSV, CSV.gz, Parquet) or folders")],
    ledger: LedgerOpt = None,
    strict: Annotated[bool, typer.Option(help="Refuse a whole file if any row breaks a rule")] = False,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML mapping for a billing CSV that is not FOCUS")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Load FOCUS cost and usage files (or other bills, through --mapping), one transaction per file."""
    check_format(fmt)
    from computeledger.ingest.focus import cost_report

    files = discover(list(paths), also=cost_report)
    _readable(ctx, files)
    with opened(ctx, ledger) as lg, progress() as bar:
        task = bar.add_task("ingest", total=len(files))

        def on_file(result) -> None:
            bar.advance(task)
            if fmt == "json":
                console.out(json.dumps(result.to_dict()), highlight=False)
            elif fmt == "table":
                bar.console.print(ingest_line(result), highlight=False, soft_wrap=True)

        results = lg.ingest(files, strict=strict, mapping=mapping, on_file=on_file)
    if fmt == "csv":
        cols = ["path", "sha256", "status", "focus_version", "version_evidence", "rows_read", "rows_loaded",
                "rows_quarantined", "rows_unnested", "rows_replaced", "message"]  # fmt: skip
        rows = [{c: r.to_dict()[c] for c in cols} for r in results]
        for row, r in zip(rows, results, strict=True):
            row["rounding"] = json.dumps(r.rounding, sort_keys=True) if r.rounding else None
        table = pa.Table.from_pylist(rows)
        console.out(output.to_csv(table), end="", highlight=False)
    if any(r.status == "refused" for r in results):
        raise typer.Exit(1)


def _readable(ctx: typer.Context, files: list[Path]) -> None:
    """Refuse, before a store is opened, bills its engine cannot read (a CSV on Spark)."""
    from computeledger.ingest.files import file_format
    from computeledger.store import READS

    chosen = settings(ctx).backend
    unread = [f for f in files if file_format(f) not in READS[chosen] and file_format(f) is not None]
    if unread:
        raise UsageError(
            f"the {chosen} ledger reads {', '.join(READS[chosen])} bills; {unread[0]} is not one "
            f"({len(unread)} such file(s)): convert them first (computeledger convert FOLDER --out PARQUET/)"
        )


def ingest_line(r) -> str:
    """One file's outcome as a line of Rich markup (the file's own text escaped)."""
    path = escape(r.path)
    if r.status == "refused":
        return f"[red]refused[/red]  {path}: {escape(r.message or '')}"
    if r.status == "duplicate":
        return f"[yellow]duplicate[/yellow] {path}: {escape(r.message or '')}"
    read_as = f"through the mapping {escape(name_of(r.mapping))}" if r.mapping else f"FOCUS {r.focus_version}"
    text = f"[green]loaded[/green]   {path}: {read_as}, {r.rows_read} rows read"
    if r.rows_unnested:
        text += f" (and {r.rows_unnested} charges from their lists' elements)"
    text += f", {r.rows_loaded} loaded, {r.rows_quarantined} quarantined"
    if r.rows_replaced:
        text += f", replaced {r.rows_replaced} rows of an earlier export"
    if r.rows_set_aside:
        text += f"; {escape(r.message or '')}"
    if r.version_evidence and not r.mapping:
        text += f"\n           version: {escape(r.version_evidence)}"
    for column, got in sorted(r.rounding.items()):
        text += (f"\n           rounded past the 18th decimal: {column} on {got['rows']} row(s), "
                 f"residue (source - ledger) {got['residue']}")  # fmt: skip
    for reason in r.reasons[:5]:
        text += f"\n           quarantine: {escape(reason)}"
    return text


def summary(
    ctx: typer.Context,
    by: Annotated[
        str, typer.Option("--by", help="Comma-separated dimensions, e.g. provider,month")
    ] = "provider",
    ledger: LedgerOpt = None,
    rules_version: Annotated[
        str | None, typer.Option("--rules-version", help="Allocation to read [default: the latest]")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Totals of BilledCost, EffectiveCost, ListCost and ContractedCost, exact. Allocated
    dimensions (workload, model, team, environment, gpu_model, ...) read the allocation."""
    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        render_summary(lg, by, fmt, rules_version)


def render_summary(lg, by: str, fmt: str, rules_version: str | None = None) -> None:
    """A summary as asked; on screen the missing-value counts become a caption, with the total."""
    from computeledger import app

    got = app.summary(lg, by, rules_version, with_total=fmt == "table")
    if fmt != "table":
        output.render(got.table, fmt, console)
        return
    total, table = got.detail, got.table
    shown = table.select([c for c in table.column_names if not c.endswith("_missing")])
    rich_table = output.to_rich(shown, title=escape(got.title))
    parts = [
        f"{m} {output.cell_text(total[m])}" if total[m] is not None
        else f"{m} unknown ({total[m + '_missing']} rows without a value)"
        for m in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
    ]  # fmt: skip
    rich_table.caption = (
        f"Total of {total['rows']} charges: " + "; ".join(parts) if total["rows"]
        else "No charges in the ledger: totals unknown (load bills with `computeledger ingest`)"
    )  # fmt: skip
    console.print(rich_table)


def ingests(ctx: typer.Context, ledger: LedgerOpt = None, fmt: FormatOpt = "table") -> None:
    """The files ingested: status, rows read, loaded and quarantined, what replaced what."""
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.ingests(lg, every_column=fmt != "table")
    output.render(got.table, fmt, console, title=got.title, unknown="")


def quarantine(
    ctx: typer.Context,
    ingest_id: Annotated[int | None, typer.Option("--ingest", help="Only this ingest's rows")] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many rows (0: all)")] = 50,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Rows that were not loaded, with file, line, reason and the row as read."""
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.quarantine(lg, ingest_id, limit)
    table, total = got.table, got.detail
    if fmt == "table":
        table = table.select(["ingest_id", "source_file", "source_line", "reason"])
    output.render(table, fmt, console, title=got.title, unknown="")
    if fmt == "table" and limit and total > limit:
        console.print(f"{total - limit} more; use --limit 0 or --format csv for all")


def convert(
    paths: Annotated[list[Path], typer.Argument(help="CSV or CSV.gz bills, or folders of them")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the Parquet files")],
) -> None:
    """CSV bills to Parquet with every column as text, for Spark to read in parallel."""
    from computeledger.ingest.convert import to_parquet

    for source, target in to_parquet(paths, out):
        console.print(f"{escape(str(source))} -> {escape(str(target))}", highlight=False, soft_wrap=True)


def export(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the FOCUS files (new or without them)")],
    focus: Annotated[str, typer.Option("--focus", help="FOCUS version to write: 1.2 or 1.3")] = "1.3",
    file_format: Annotated[str, typer.Option("--file-format", help="csv or parquet")] = "csv",
    start: Annotated[str | None, typer.Option("--from", help="First month of charges (2025-01)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last month of charges (2025-06)")] = None,
    provider: Annotated[
        list[str] | None, typer.Option("--provider", help="Only this provider's charges (repeatable)")
    ] = None,
    allocated: Annotated[
        bool,
        typer.Option("--allocated", help="Each charge as its allocation's parts, dimensions as x_ columns"),
    ] = False,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Write the ledger's charges as FOCUS files (a file per provider and billing month)
    that other tools read, and that `ingest` reads back to the same totals."""
    from computeledger.accounting.periods import parse
    from computeledger.export.focus import write_focus
    from computeledger.targets import check_folder

    check_format(fmt)
    first = parse(start)[0] if start else None
    last = parse(end)[1] if end else None
    if first and last and last <= first:
        raise UsageError(f"--to {end} is before --from {start}")
    check_folder(out, option="--out", reads=[("ledger", ledger or settings(ctx).ledger)])
    with opened(ctx, ledger, read_only=True) as lg:
        files = write_focus(lg, out, focus, fmt=file_format, start=first, end=last,
                            providers=provider or (), allocated=allocated)  # fmt: skip
    table = output.from_rows(files, ["path", "provider", "month", "rows"])
    output.render(table, fmt, console, title=f"FOCUS {focus} files written")


def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to check")],
    fmt: FormatOpt = "table",
) -> None:
    """Check files against the FOCUS rules without loading them."""
    from computeledger.ingest.validate import validate as run

    check_format(fmt)
    problems = run(list(paths))
    table = pa.Table.from_pylist(
        [p.to_dict() for p in problems],
        schema=pa.schema([("file", pa.string()), ("line", pa.int64()), ("column", pa.string()),
                          ("severity", pa.string()), ("message", pa.string()), ("rows", pa.int64())]),
    )  # fmt: skip
    output.render(table, fmt, console, title="FOCUS problems", unknown="")
    errors = sum(p.severity == "error" for p in problems)
    if fmt == "table":
        console.print(f"{errors} error(s), {len(problems) - errors} warning kind(s)")
        if any(
            "missing mandatory FOCUS columns" in p.message or "not a FOCUS file" in p.message
            for p in problems
        ):
            console.print(
                "not a FOCUS export? read it through a mapping: computeledger ingest --mapping MAPPING FILE "
                "(`computeledger examples` lists the shipped ones, e.g. gpu-cloud-invoice)",
                highlight=False,
            )
    if errors:
        raise typer.Exit(1)


def charges(
    ctx: typer.Context,
    where: Annotated[
        list[str] | None,
        typer.Option(
            "--where",
            help="COLUMN=VALUE, exact (repeat to narrow): a charge column or a "
            "shorthand (provider, month, service, category, region, account)",
        ),
    ] = None,
    largest: Annotated[bool, typer.Option("--largest", help="Largest BilledCost first")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100_000, help="Charges to show")] = 20,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Find charges: their x_charge_id (for `explain`), provider, period, service, resource, cost."""
    from computeledger import app

    check_format(fmt)
    with opened(ctx, ledger, read_only=True) as lg:
        got = app.charges(lg, where or [], largest=largest, limit=limit)
    table = output.for_screen(got.table, {}) if fmt == "table" else got.table
    output.render(table, fmt, console, title=got.title)


def _use(kind: str, name: str, path: Path) -> str:
    """The command a shipped file of `kind` is for."""
    if kind == "mappings":
        return _mapping_use(name, path)
    if kind == "examples":
        return f"figures check {name}" if name.startswith("openai") else f"capacity fleet {name}"
    if kind == "reports":
        return ("ingest" if "cost" in name else "ingest-usage") + f" FOLDER/{path.name}"
    return {
        "rules": f"allocate --rules {name}",
        "company": f"synth --config {name}",
        "measurements": f"capacity calibrate {name} --out calibration.csv",
        "exports": f"ingest FOLDER/{path.name}",
    }[kind]


def _mapping_use(name: str, path: Path) -> str:
    """The command a shipped mapping is for: its `kind` names revenue or cash tables."""
    import re

    found = re.search(r'^kind\s*=\s*"(\w+)"', path.read_text(encoding="utf-8"), re.MULTILINE)
    kind = found[1] if found else None
    if kind in ("invoices", "payments", "revenue_share"):
        return f"ingest-revenue --mapping {name}"
    if kind in ("bank", "funding"):
        return f"ingest-cash --mapping {name}"
    return f"ingest --mapping {name}"


def examples(
    copy: Annotated[
        Path | None, typer.Option("--copy", help="Copy the shipped files into this folder (to edit them)")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """The files computeledger ships (rules, mappings, examples), usable by name anywhere."""
    import shutil

    from computeledger.shipped import shipped

    check_format(fmt)
    files = shipped()
    if copy is not None:
        from computeledger.targets import check_folder

        check_folder(copy, option="--copy")
        for _, _, path in files:
            target = copy / path.name
            if target.exists():
                raise UsageError(f"{target}: exists; copy into an empty folder")
        try:
            copy.mkdir(parents=True, exist_ok=True)
            for _, _, path in files:
                shutil.copy(path, copy / path.name)
        except OSError as exc:
            raise UsageError(f"--copy {copy}: cannot write there: {exc.strerror}") from None
    rows = [{"kind": k, "name": n, "file": p.name, "use": _use(k, n, p)} for k, n, p in files]
    table = output.from_rows(rows, ["kind", "name", "file", "use"])
    output.render(table, fmt, console, title="Shipped files")
    if copy is not None and fmt == "table":
        console.print(f"copied {len(files)} files into {escape(str(copy))}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add these commands to the application."""
    app.command()(ingest)
    app.command()(summary)
    app.command()(ingests)
    app.command()(quarantine)
    app.command()(convert)
    app.command()(validate)
    app.command()(export)
    app.command()(examples)
    app.command()(charges)
