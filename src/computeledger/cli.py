"""The command line: a thin layer over the Ledger's functions."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from computeledger import output
from computeledger.cli_capacity import capacity_app
from computeledger.cli_shared import BACKEND, FormatOpt, LedgerOpt, console, err
from computeledger.cli_shared import check_format as _check_format
from computeledger.cli_shared import fail as _fail
from computeledger.cli_shared import opened as _opened
from computeledger.errors import ComputeLedgerError
from computeledger.ingest.files import discover
from computeledger.ledger import BACKENDS, Ledger, open_ledger

app = typer.Typer(
    help="computeledger: an exact, auditable ledger for the economics of AI compute.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(capacity_app, name="capacity")


@app.callback()
def _options(
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="duckdb (a ledger file) or spark (a ledger folder of Parquet tables) "
            "[default: $COMPUTELEDGER_BACKEND, ./computeledger.toml, duckdb]",
        ),
    ] = None,
) -> None:
    """computeledger: an exact, auditable ledger for the economics of AI compute."""
    if backend is not None and backend not in BACKENDS:
        raise typer.BadParameter(f"{backend!r}: use one of {', '.join(BACKENDS)}", param_hint="--backend")
    BACKEND["name"] = backend


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="FOCUS files (CSV, CSV.gz, Parquet) or folders")],
    ledger: LedgerOpt = None,
    strict: Annotated[bool, typer.Option(help="Refuse a whole file if any row breaks a rule")] = False,
    mapping: Annotated[
        Path | None, typer.Option("--mapping", help="TOML mapping for a billing CSV that is not FOCUS")
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Load FOCUS cost and usage files (or other bills, through --mapping), one transaction per file."""
    _check_format(fmt)
    try:
        files = discover(list(paths))
    except ComputeLedgerError as exc:
        _fail(exc)
    with _opened(ledger) as lg, _progress() as progress:
        task = progress.add_task("ingest", total=len(files))

        def on_file(result) -> None:
            progress.advance(task)
            if fmt == "json":
                console.out(json.dumps(result.to_dict()), highlight=False)
            elif fmt == "table":
                progress.console.print(_ingest_line(result), highlight=False)

        results = lg.ingest(files, strict=strict, mapping=mapping, on_file=on_file)
    if fmt == "csv":
        import pyarrow as pa

        cols = ["path", "sha256", "status", "focus_version", "rows_read", "rows_loaded",
                "rows_quarantined", "rows_replaced", "message"]  # fmt: skip
        table = pa.Table.from_pylist([{c: r.to_dict()[c] for c in cols} for r in results])
        console.out(output.to_csv(table), end="", highlight=False)
    if any(r.status == "refused" for r in results):
        raise typer.Exit(1)


def _ingest_line(r) -> str:
    if r.status == "refused":
        return f"[red]refused[/red]  {r.path}: {r.message}"
    if r.status == "duplicate":
        return f"[yellow]duplicate[/yellow] {r.path}: {r.message}"
    text = (
        f"[green]loaded[/green]   {r.path}: FOCUS {r.focus_version}, {r.rows_read} rows read, "
        f"{r.rows_loaded} loaded, {r.rows_quarantined} quarantined"
    )
    if r.rows_replaced:
        text += f", replaced {r.rows_replaced} rows of an earlier export"
    for reason in r.reasons[:5]:
        text += f"\n           quarantine: {reason}"
    return text


@app.command()
def summary(
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
    _check_format(fmt)
    with _opened(ledger, read_only=True) as lg:
        try:
            _render_summary(lg, by, fmt, rules_version)
        except ComputeLedgerError as exc:
            _fail(exc)


def _render_summary(lg, by: str, fmt: str, rules_version: str | None = None) -> None:
    """A summary as asked; on screen the missing-value counts become a caption, with the total."""
    table = lg.summary(by, rules_version=rules_version).to_pyarrow()
    if fmt != "table":
        output.render(table, fmt, console)
        return
    total = lg.summary([], rules_version=rules_version).to_pyarrow().to_pylist()[0]
    shown = table.select([c for c in table.column_names if not c.endswith("_missing")])
    rich_table = output.to_rich(shown, title=f"Costs by {by}")
    parts = [
        f"{m} {output.cell_text(total[m])}" if total[m] is not None
        else f"{m} unknown ({total[m + '_missing']} rows without a value)"
        for m in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
    ]  # fmt: skip
    rich_table.caption = f"Total of {total['rows']} charges: " + "; ".join(parts)
    console.print(rich_table)


@app.command("ingest-usage")
def ingest_usage(
    paths: Annotated[
        list[Path], typer.Argument(help="Usage files or folders: .jsonl (OpenAI) or .json (OTLP)")
    ],
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Load token usage: OpenAI-style usage records (JSONL) or OpenTelemetry GenAI spans (OTLP JSON)."""
    _check_format(fmt)
    with _opened(ledger) as lg:
        try:
            results = lg.ingest_usage(paths)
        except ComputeLedgerError as exc:
            _fail(exc)
    import pyarrow as pa

    table = pa.Table.from_pylist([
        {"path": r.path, "format": r.format, "status": r.status, "rows_loaded": r.rows_loaded,
         "rows_quarantined": r.rows_quarantined, "message": r.message or "; ".join(r.reasons)}
        for r in results
    ])  # fmt: skip
    output.render(table, fmt, console, title="Usage files", unknown="")
    if any(r.status == "refused" for r in results):
        raise typer.Exit(1)


@app.command()
def allocate(
    rules: Annotated[Path, typer.Option("--rules", help="Allocation rules (TOML)")],
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Place every charge: workload, model, team, environment (and the rules' own dimensions),
    shared costs split by a driver; then show what each rule placed."""
    _check_format(fmt)
    with _opened(ledger) as lg:
        try:
            with console.status("allocating"):
                run = lg.allocate(rules)
        except ComputeLedgerError as exc:
            _fail(exc)
        if fmt == "table":
            console.print(
                f"rules version {run.version}: {run.charges:,} charges placed in {run.parts:,} parts "
                f"({run.split_charges:,} charges split over targets)"
            )
        _render_coverage(lg, None, "workload", fmt)


def _render_coverage(lg, version: str | None, dimension: str, fmt: str) -> None:
    from computeledger.allocate.report import NO_RULE, unallocated_resources
    from computeledger.allocate.report import coverage as cover

    try:
        table = cover(lg, version, dimension).to_pyarrow()
        largest = unallocated_resources(lg, version).to_pyarrow()
    except ComputeLedgerError as exc:
        _fail(exc)
    if fmt != "table":
        output.render(table, fmt, console)
        return
    console.print(
        output.to_rich(table.drop(["effective_total"]), title=f"What each rule placed ({dimension})")
    )
    rows = table.to_pylist()
    total = rows[0]["effective_total"] if rows else None
    left = sum(r["EffectiveCost"] or 0 for r in rows if r["rule"] == NO_RULE)
    if total:
        share = (left / total * 100).quantize(Decimal("0.01"))
        console.print(
            f"unallocated: {output.decimal_text(Decimal(left))} of {output.decimal_text(total)} "
            f"effective cost ({share}%)",
            highlight=False,
        )
    if dimension == "workload" and largest.num_rows:
        console.print(output.to_rich(largest, title="Largest unallocated resources"))


@app.command()
def coverage(
    dimension: Annotated[str, typer.Option(help="The dimension to report on")] = "workload",
    rules_version: Annotated[str | None, typer.Option("--rules-version")] = None,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Per rule, the cost it placed (billed, effective) and the share left unallocated."""
    _check_format(fmt)
    with _opened(ledger, read_only=True) as lg:
        _render_coverage(lg, rules_version, dimension, fmt)


@app.command()
def explain(
    charge: Annotated[int, typer.Argument(help="A charge's x_charge_id")],
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Rules to try [default: the latest run's]")
    ] = None,
    ledger: LedgerOpt = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table or json")] = "table",
) -> None:
    """Which rule placed a charge, and why: every rule tried in order, and the charge's parts."""
    from computeledger.allocate.report import explain as why
    from computeledger.allocate.rules import load_rules

    with _opened(ledger, read_only=True) as lg:
        try:
            got = why(lg, charge, load_rules(rules) if rules else None)
        except ComputeLedgerError as exc:
            _fail(exc)
    if fmt == "json":
        console.out(json.dumps(got.__dict__, default=output.cell_text), highlight=False)
        return
    console.print(
        " ".join(f"{k}={output.cell_text(v)}" for k, v in got.charge.items() if v is not None),
        highlight=False,
    )
    for r in got.rules:
        mark = "[green]matched[/green]" if r["matched"] else "[dim]no match[/dim]"
        sets = ", ".join(f"{d}={v if v is not None else '(nothing)'}" for d, v in r["sets"].items())
        console.print(f"  {mark:<24} {r['rule']}: sets {sets}", highlight=False)
    for dim, (value, rule) in got.placed.items():
        console.print(f"  {dim} = {value}  ({'by ' + rule if rule else 'no rule set it'})", highlight=False)
    if got.parts:
        import pyarrow as pa

        title = f"Parts (split: {got.split})" if got.split else "Allocation"
        console.print(output.to_rich(pa.Table.from_pylist(got.parts), title=title))


figures_app = typer.Typer(help="Reported figures: what they imply, what contradicts what, where they head.")
app.add_typer(figures_app, name="figures")

_SECTIONS = {
    "figures": "Figures (as intervals: rounding, and the widening of disputed and estimated ones)",
    "implied": "What they imply (reported and derived quantities, with sources)",
    "contradictions": "Contradictions (figures that cannot all hold, and the gap)",
    "annualised": "Run-rates (a part of a year brought to the whole year)",
    "claims": "Claims",
    "projections": "Projections",
    "fleet": "The fleet each compute cost implies (GPU-hours and average GPUs, estimated)",
}


@figures_app.command("check")
def figures_check(
    path: Annotated[Path, typer.Argument(help="Figures file: CSV or YAML")],
    fmt: FormatOpt = "table",
    section: Annotated[str | None, typer.Option(help="Only this section (csv: required)")] = None,
    fleet_gpu: Annotated[
        str | None, typer.Option("--fleet-gpu", help="Add the fleet each compute cost implies on this GPU")
    ] = None,
    price: Annotated[str | None, typer.Option(help="With --fleet-gpu: dollars per GPU-hour, 2..4")] = None,
) -> None:
    """Derived figures with intervals and sources, bounds, contradictions, claims, projections."""
    import pyarrow as pa

    from computeledger.cli_capacity import price_range
    from computeledger.figures.read import read_figures
    from computeledger.figures.tables import check_tables

    _check_format(fmt)
    if section is not None and section not in _SECTIONS:
        raise typer.BadParameter(f"{section!r}: use one of {', '.join(_SECTIONS)}")
    if fmt == "csv" and section is None:
        raise typer.BadParameter("--format csv writes one table: add --section (e.g. implied)")
    try:
        figures = read_figures(path)
        tables = check_tables(figures, human=fmt == "table")
        if fleet_gpu:
            from computeledger.capacity.invert import figures_fleet

            rows = figures_fleet(figures, price_range(price, fleet_gpu, None, None), fleet_gpu)
            tables["fleet"] = pa.Table.from_pylist(rows)
    except ComputeLedgerError as exc:
        _fail(exc)
    chosen = {section: tables[section]} if section else tables
    if fmt == "json":
        doc = {k: json.loads(output.to_json(t)) for k, t in chosen.items()}
        console.out(json.dumps(doc, indent=1), highlight=False)
        return
    for name, table in chosen.items():
        if fmt == "csv":
            console.out(output.to_csv(table), end="", highlight=False)
        elif table.num_rows:
            console.print(output.to_rich(table, title=_SECTIONS[name], unknown=""))
        else:
            console.print(f"[bold]{_SECTIONS[name]}[/bold]: none")


@figures_app.command("compare")
def figures_compare(
    path: Annotated[Path, typer.Argument(help="Figures file: CSV or YAML")],
    ledger: LedgerOpt = None,
    basis: Annotated[str, typer.Option(help="BilledCost or EffectiveCost")] = "BilledCost",
    fmt: FormatOpt = "table",
) -> None:
    """Reported cost figures against the same quantities computed from the ledger."""
    import pyarrow as pa

    from computeledger.figures.compare import compare
    from computeledger.figures.engine import describe
    from computeledger.figures.read import read_figures
    from computeledger.figures.tables import amount, interval

    _check_format(fmt)
    if basis not in ("BilledCost", "EffectiveCost"):
        raise typer.BadParameter("--basis: BilledCost or EffectiveCost")
    human = fmt == "table"
    with _opened(ledger, read_only=True) as lg:
        try:
            rows = compare(lg, read_figures(path), basis)
        except ComputeLedgerError as exc:
            _fail(exc)
    table = pa.Table.from_pylist(
        [{"id": r["id"], "quantity": describe(r["quantity"].key), "stated": r["stated"],
          "reported": interval(r["reported"], human),
          "ledger": amount(r["ledger"], human) if r["ledger"] is not None else "",
          "verdict": r["verdict"],
          "difference": amount(r.get("difference"), human) if r.get("difference") is not None else ""}
         for r in rows],
        schema=pa.schema([(c, pa.string()) for c in
                          ("id", "quantity", "stated", "reported", "ledger", "verdict", "difference")]),
    )  # fmt: skip
    output.render(table, fmt, console, title=f"Reported figures against the ledger ({basis})", unknown="")


@app.command()
def ingests(ledger: LedgerOpt = None, fmt: FormatOpt = "table") -> None:
    """The files ingested: status, rows read, loaded and quarantined, what replaced what."""
    _check_format(fmt)
    with _opened(ledger, read_only=True) as lg:
        t = lg.ingests
        cols = ["ingest_id", "path", "status", "focus_version", "rows_read", "rows_loaded",
                "rows_quarantined", "rows_superseded", "superseded_by", "message"]  # fmt: skip
        table = t.select(cols if fmt == "table" else t.columns).order_by("ingest_id").to_pyarrow()
    output.render(table, fmt, console, title="Ingests", unknown="")


@app.command()
def quarantine(
    ingest_id: Annotated[int | None, typer.Option("--ingest", help="Only this ingest's rows")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows (0: all)")] = 50,
    ledger: LedgerOpt = None,
    fmt: FormatOpt = "table",
) -> None:
    """Rows that were not loaded, with file, line, reason and the row as read."""
    _check_format(fmt)
    with _opened(ledger, read_only=True) as lg:
        q = lg.quarantine
        if ingest_id is not None:
            q = q.filter(q.ingest_id == ingest_id)
        total = q.count().to_pyarrow().as_py()
        q = q.order_by(["ingest_id", "source_line"])
        table = (q.limit(limit) if limit else q).to_pyarrow()
    if fmt == "table":
        table = table.select(["ingest_id", "source_file", "source_line", "reason"])
    output.render(table, fmt, console, title="Quarantined rows", unknown="")
    if fmt == "table" and limit and total > limit:
        console.print(f"{total - limit} more; use --limit 0 or --format csv for all")


@app.command()
def convert(
    paths: Annotated[list[Path], typer.Argument(help="CSV or CSV.gz bills, or folders of them")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the Parquet files")],
) -> None:
    """CSV bills to Parquet with every column as text, for the Spark ledger."""
    from computeledger.ingest.convert import to_parquet

    try:
        pairs = to_parquet(paths, out)
    except ComputeLedgerError as exc:
        _fail(exc)
    for source, target in pairs:
        console.print(f"{source} -> {target}", highlight=False)


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to check")],
    fmt: FormatOpt = "table",
) -> None:
    """Check files against the FOCUS rules without loading them."""
    from computeledger.ingest.validate import validate as run

    _check_format(fmt)
    try:
        problems = run(list(paths))
    except ComputeLedgerError as exc:
        _fail(exc)
    import pyarrow as pa

    table = pa.Table.from_pylist(
        [p.to_dict() for p in problems],
        schema=pa.schema([("file", pa.string()), ("line", pa.int64()), ("column", pa.string()),
                          ("severity", pa.string()), ("message", pa.string()), ("rows", pa.int64())]),
    )  # fmt: skip
    output.render(table, fmt, console, title="FOCUS problems", unknown="")
    errors = sum(p.severity == "error" for p in problems)
    if fmt == "table":
        console.print(f"{errors} error(s), {len(problems) - errors} warning kind(s)")
    if errors:
        raise typer.Exit(1)


@app.command()
def synth(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the bills and the truth into")],
    months: Annotated[int, typer.Option(help="Billing months to generate")] = 24,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM")] = "2024-01",
    scale: Annotated[str, typer.Option(help="small, medium, large, or a factor")] = "small",
    seed: Annotated[int, typer.Option(help="Same seed, same bytes")] = 7,
    config: Annotated[Path | None, typer.Option(help="Company TOML (default: the shipped one)")] = None,
) -> None:
    """Generate a synthetic AI lab's cloud bills (FOCUS) and their ground truth."""
    from computeledger.synth import generate

    try:
        with _progress() as progress:
            task = progress.add_task("synth", total=None)

            def on_file(path: Path, rows: int) -> None:
                progress.update(task, description=f"synth {path.parent.name}/{path.name}: {rows:,} rows")

            result = generate(out, months=months, start=start, scale=scale, seed=seed,
                              config=config, on_file=on_file)  # fmt: skip
    except ComputeLedgerError as exc:
        _fail(exc)
    console.print(
        f"wrote {result['rows']:,} charge rows: {result['focus_files']} FOCUS files under {out}/focus, "
        f"{result['invoice_files']} GPU-cloud invoices under {out}/invoices (ingest them with --mapping "
        f"{INVOICE_MAPPING}), {result['preliminary_files']} mid-month exports of the open month under "
        f"{out}/preliminary (ingest them first: the final exports restate them); token usage under "
        f"{out}/usage (OpenAI JSONL, OpenTelemetry JSON), sales under {out}/revenue, cash under "
        f"{out}/finance; ground truth in {out}/truth (costs, tokens, revenue, cash)"
    )


@app.command()
def demo(
    ledger: Annotated[
        str | None, typer.Option("--ledger", help="Keep the demo ledgers in this folder [default: temporary]")
    ] = None,
    months: Annotated[int, typer.Option(help="Months of the synthetic lab")] = 12,
) -> None:
    """Real bills, then a synthetic AI lab: ingested into fresh ledgers and summarised."""
    import csv
    import tempfile
    from importlib.resources import files

    from computeledger.synth import generate

    sample = Path(str(files("computeledger") / "data" / "focus_sample.csv"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(ledger or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        try:
            console.rule("[bold]1. Real bills[/bold]: the FOCUS 1.0 sample (AWS, Microsoft, Oracle)")
            console.print("FOCUS Sample Data, FinOps Open Cost and Usage Specification project, CC BY 4.0")
            with open_ledger(folder / "sample.duckdb") as lg:
                [result] = lg.ingest([sample])
                console.print(_ingest_line(result), highlight=False)
                _render_summary(lg, "provider", "table")
            console.rule(f"[bold]2. A synthetic AI lab[/bold]: {months} months of GPU bills on five clouds")
            bills = folder / "synthetic-lab"
            made = generate(bills, months=months, start="2024-01")
            console.print(
                f"generated {made['rows']:,} charges in {made['files']} FOCUS files, and their truth"
            )
            with open_ledger(folder / "lab.duckdb") as lg, _progress() as progress:
                task = progress.add_task("ingest", total=made["files"] + made["preliminary_files"])
                step = lambda r: progress.advance(task)  # noqa: E731
                early = lg.ingest([bills / "preliminary"], on_file=step)  # the open month, mid-month
                results = lg.ingest([bills / "focus"], on_file=step)
                results += lg.ingest([bills / "invoices"], mapping=INVOICE_MAPPING, on_file=step)
                loaded = sum(r.rows_loaded for r in results)
                quarantined = sum(r.rows_quarantined for r in results)
                console.print(f"{len(results)} files: {loaded:,} rows loaded, {quarantined} quarantined")
                restated = lg.ingests.filter(lg.ingests.status == "superseded").count().execute()
                console.print(
                    f"{len(early)} mid-month exports of the open month, restated by the final ones: "
                    f"{restated} superseded"
                )
                _render_summary(lg, "provider,month", "table")
                total = lg.summary([]).to_pyarrow().to_pylist()[0]["BilledCost"]
                console.rule("[bold]3. Attribution[/bold]: every charge to a workload and a model")
                console.print(f"rules: {SYNTH_RULES} (tags, then naming conventions; shared costs split)")
                run = lg.allocate(SYNTH_RULES)
                console.print(f"{run.charges:,} charges placed in {run.parts:,} parts", highlight=False)
                _render_summary(lg, "workload,provider", "table")
                _render_summary(lg, "workload,model", "table")
                _render_coverage(lg, None, "workload", "table")
                console.rule("[bold]4. What it should cost[/bold]: billed GPU-hours against tokens served")
                lg.ingest_usage([bills / "usage" / "openai"])
                _render_physics(lg)
            with (bills / "truth" / "costs.csv").open() as f:
                truth = sum((Decimal(r["billed_cost"]) for r in csv.DictReader(f)), Decimal(0))
            verdict = "[green]equal[/green]" if truth == total else "[red]DIFFERENT[/red]"
            console.print(
                f"ledger total {output.decimal_text(total)} vs the lab's ground truth "
                f"{output.decimal_text(truth)}: {verdict}"
            )
        except ComputeLedgerError as exc:
            _fail(exc)
    if truth != total:
        raise typer.Exit(1)


def _render_physics(lg: Ledger) -> None:
    """Per model over the whole period: billed inference GPU-hours, the GPU-hours its
    tokens needed by the capacity model, and the utilization that implies."""
    import pyarrow as pa

    from computeledger.capacity import catalog
    from computeledger.capacity.compare import compare
    from computeledger.synth.company import load_company

    mapping = {m.name: m.architecture for m in load_company().models if m.architecture}
    rows = compare(lg, mapping, catalog.calibrations())
    per_model: dict[str, dict] = {}
    for r in rows:
        zero = {"billed_gpu_hours": Decimal(0), "needed_gpu_hours": Decimal(0)}
        t = per_model.setdefault(r["model"], {"model": r["model"], "shape": r["catalogue_model"]} | zero)
        t["billed_gpu_hours"] += r["billed_gpu_hours"] or 0
        if r["needed_gpu_hours"] is None:
            t["needed_gpu_hours"] = None
            t["note"] = r["note"]
        elif t["needed_gpu_hours"] is not None:
            t["needed_gpu_hours"] += r["needed_gpu_hours"]
    for t in per_model.values():
        needed = t["needed_gpu_hours"]
        t["implied_utilization"] = f"{needed / t['billed_gpu_hours']:.1%}" if needed is not None else None
        t.setdefault("note", "estimated: throughput-optimal on the billed GPU")
    table = pa.Table.from_pylist(list(per_model.values()))
    console.print(output.to_rich(table, title="Bills against physics (computeledger capacity compare)"))


INVOICE_MAPPING = Path(__file__).parent / "data" / "mappings" / "gpu_cloud_invoice.toml"
SYNTH_RULES = Path(__file__).parent / "data" / "rules" / "synth_lab.toml"


def _progress() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not err.is_terminal,  # plain output when not on a terminal
        transient=True,
    )


def main() -> None:  # pragma: no cover
    app()
