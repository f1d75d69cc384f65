"""A newcomer's small stumbles (issue 15, item 9), each as a newcomer meets it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from computeledger.cli import app

runner = CliRunner()


def test_messages_keep_square_brackets(tmp_path):
    r = runner.invoke(app, ["figures", "check", str(tmp_path / "[spark].yaml")])
    assert r.exit_code == 2 and "[spark].yaml" in r.output


def test_spark_refuses_a_csv_before_it_starts_and_leaves_no_ledger(tmp_path, sample):
    ledger = tmp_path / "spark-ledger"
    r = runner.invoke(app, ["--backend", "spark", "ingest", "--ledger", str(ledger), str(sample)])
    assert r.exit_code == 2 and "reads parquet bills" in r.output and "convert" in r.output
    assert not ledger.exists()


def test_validate_of_an_invoice_suggests_a_mapping(tmp_path):
    invoice = tmp_path / "invoice.csv"
    invoice.write_text("invoice_id,provider,instance_hours,rate_usd\nCW-1,CoreWeave,24,34.468\n")
    r = runner.invoke(app, ["validate", str(invoice)])
    assert r.exit_code == 1 and "--mapping" in r.output and "gpu-cloud-invoice" in r.output


def test_help_lists_choices():
    r = runner.invoke(app, ["--help"])
    assert "duckdb or spark" in r.output and "--exact" in r.output
    r = runner.invoke(app, ["ingest", "--help"])
    assert "table, csv or json" in r.output and "<bool>" not in r.output and "<str>" not in r.output


def test_no_readme_path_points_into_the_source_tree():
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    commands = [line for line in text.splitlines() if line.startswith("computeledger ")]
    assert commands and not any("src/" in c or "examples/" in c for c in commands)


def test_a_sum_beyond_the_range_is_one_clear_line(tmp_path, sample):
    import csv

    rows = list(csv.reader(sample.open(encoding="utf-8-sig")))
    i = rows[0].index("BilledCost")
    big = tmp_path / "big.csv"
    with big.open("w", newline="") as f:
        csv.writer(f).writerows(
            [rows[0]] + [r[:i] + ["99999999999999999999.99"] + r[i + 1 :] for r in rows[1:3]]
        )
    ledger = str(tmp_path / "l.duckdb")
    assert runner.invoke(app, ["ingest", str(big), "--ledger", ledger]).exit_code == 0
    r = runner.invoke(app, ["summary", "--ledger", ledger])
    assert r.exit_code == 2 and "exceeds the range of the ledger's numbers" in r.output
    assert "Traceback" not in r.output


def test_a_truncated_gzip_is_refused_by_ingest_validate_and_convert(tmp_path, sample):
    import gzip

    data = gzip.compress(sample.read_bytes())
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    ledger = str(tmp_path / "l.duckdb")
    r = runner.invoke(app, ["ingest", str(cut), str(sample), "--ledger", ledger])
    assert (
        r.exit_code == 1 and "may be damaged" in r.output and "1000 loaded" in r.output
    )  # the batch goes on
    r = runner.invoke(app, ["validate", str(cut)])
    assert r.exit_code == 1 and "may be damaged" in r.output
    r = runner.invoke(app, ["convert", str(cut), "--out", str(tmp_path / "pq")])
    assert r.exit_code == 2 and "may be damaged" in r.output
    assert not list((tmp_path / "pq").glob("*.parquet"))


def test_a_column_named_like_markup_is_shown_as_written(tmp_path, sample):
    from tests.conftest import read_rows, write_rows

    header, rows = read_rows(sample)
    bill = write_rows(tmp_path / "b.csv", [*header, "[/]odd"], [[*r, "x"] for r in rows[:3]])
    ledger = str(tmp_path / "l.duckdb")
    assert runner.invoke(app, ["ingest", str(bill), "--ledger", ledger]).exit_code == 0
    r = runner.invoke(app, ["summary", "--by", "ServiceName,[/]odd", "--ledger", ledger])
    assert "Traceback" not in r.output and "MarkupError" not in r.output


def test_what_is_not_a_ledger_says_so(tmp_path, sample):
    good = tmp_path / "good.duckdb"
    assert runner.invoke(app, ["ingest", str(sample), "--ledger", str(good)]).exit_code == 0
    (tmp_path / "empty.duckdb").write_bytes(b"")
    (tmp_path / "trunc.duckdb").write_bytes(good.read_bytes()[:20000])
    (tmp_path / "rand.duckdb").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "folder").mkdir()
    cases = {
        "empty.duckdb": "an empty file, not a ledger",
        "trunc.duckdb": "damaged or truncated",
        "rand.duckdb": "not a DuckDB ledger",
        "folder": "is a folder, not a ledger file",
        str(sample): "not a DuckDB ledger",
    }
    for name, message in cases.items():
        r = runner.invoke(app, ["summary", "--ledger", str(tmp_path / name)])
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, (name, r.output)
        assert "in use" not in r.output  # 'block' is not 'lock'
    r = runner.invoke(app, ["ingest", str(sample), "--ledger", str(tmp_path / "nowhere" / "l.duckdb")])
    assert r.exit_code == 2 and "does not exist" in r.output
    assert (tmp_path / "empty.duckdb").read_bytes() == b""  # left as it was


def test_an_empty_ledger_says_so_instead_of_a_traceback(tmp_path):
    """Before: allocate and unit-costs on a ledger without bills ended in tracebacks, and the
    summary's caption read 'unknown (None rows without a value)'."""
    ledger = str(tmp_path / "empty.duckdb")
    r = runner.invoke(app, ["allocate", "--ledger", ledger, "--rules", "token-bills"])
    assert r.exit_code == 2 and "no charges in the ledger to allocate" in r.output
    r = runner.invoke(app, ["summary", "--ledger", ledger])
    assert r.exit_code == 0 and "No charges in the ledger" in r.output and "None" not in r.output
    r = runner.invoke(app, ["unit-costs", "--ledger", ledger])
    assert r.exit_code == 2 and "Traceback" not in r.output


def test_an_unknown_rules_version_is_refused_never_read_as_no_allocation(tmp_path, sample):
    """Before: `statement --rules-version deadbeef` showed inference 0.00 and a margin of 96.7%."""
    ledger = str(tmp_path / "l.duckdb")
    assert runner.invoke(app, ["ingest", "--ledger", ledger, str(sample)]).exit_code == 0
    assert runner.invoke(app, ["allocate", "--ledger", ledger, "--rules", "synth-lab"]).exit_code == 0
    for command in (["statement"], ["margin"], ["unit-costs"], ["summary", "--by", "workload"]):
        r = runner.invoke(app, [*command, "--ledger", ledger, "--rules-version", "deadbeef"])
        assert r.exit_code == 2, (command, r.output)
        assert "no allocation of it in this ledger (runs: " in " ".join(r.output.split()), command


def test_the_version_is_printed():
    from importlib.metadata import version

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"computeledger {version('computeledger')}"
