"""No command writes over a file it reads, nor over a file that is not an earlier output of
its own kind (unless --force), nor leaves half a file (issue 29, item 1: `report --out L`
wrote the page over the ledger and every table was gone)."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeledger.cli import app
from computeledger.errors import UsageError
from computeledger.targets import check_target, html_of_ours, write_text

runner = CliRunner()


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from computeledger.shipped import FOCUS_SAMPLE

    folder = tmp_path_factory.mktemp("small")
    ledger = folder / "l.duckdb"
    assert runner.invoke(app, ["ingest", "--ledger", str(ledger), str(FOCUS_SAMPLE)]).exit_code == 0
    contracts = folder / "contracts.toml"
    contracts.write_text("[payment_terms]\ndefault_days = 30\n")
    figures = folder / "figures.yaml"
    figures.write_text("figures: []\n")
    return folder, ledger, contracts, figures


@pytest.mark.parametrize("which", ["ledger", "contracts", "figures"])
def test_the_report_never_writes_over_what_it_reads(small, which):
    _, ledger, contracts, figures = small
    target = {"ledger": ledger, "contracts": contracts, "figures": figures}[which]
    before = {p: digest(p) for p in (ledger, contracts, figures)}
    r = runner.invoke(app, ["report", "--ledger", str(ledger), "--contracts", str(contracts),
                            "--figures", str(figures), "--out", str(target), "--force"])  # fmt: skip
    assert r.exit_code == 2 and "this command reads" in r.output and "Traceback" not in r.output
    assert {p: digest(p) for p in before} == before


def test_the_report_refuses_a_foreign_file_unless_forced(small, tmp_path):
    _, ledger, _, _ = small
    notes = tmp_path / "notes.html"
    notes.write_text("my own notes\n")
    r = runner.invoke(app, ["report", "--ledger", str(ledger), "--out", str(notes)])
    assert r.exit_code == 2 and "not an earlier report" in r.output and "--force" in r.output
    assert notes.read_text() == "my own notes\n"


def test_os_errors_are_one_line(small, tmp_path):
    _, ledger, _, _ = small
    (tmp_path / "afile").write_text("x")
    for out, words in [("/dev/full", "not a regular file"), (str(tmp_path / ("r" * 300 + ".html")), "cannot"),
                       (str(tmp_path / "afile" / "r.html"), "cannot write there")]:  # fmt: skip
        r = runner.invoke(app, ["report", "--ledger", str(ledger), "--out", out])
        assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, (out, r.output)
    r = runner.invoke(app, ["report", "--ledger", str(ledger), "--images", str(tmp_path / "afile" / "x")])
    assert r.exit_code == 2 and "is a file, not a folder" in r.output


def test_an_earlier_report_is_replaced_whole(tmp_path):
    target = tmp_path / "r.html"
    target.write_text('<!doctype html>\n<html><head><meta name="generator" content="computeledger">')
    check_target(target, option="--out", kind="report", ours=html_of_ours)  # an earlier report: fine
    write_text(target, "<!doctype html>new", option="--out")
    assert target.read_text() == "<!doctype html>new"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temporary file left
    fresh = tmp_path / "new.html"
    write_text(fresh, "x", option="--out")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask  # as a plain open would make it, not 0600


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["ledger", "contracts", "figures", "foreign"]), st.booleans())
def test_no_target_check_lets_an_input_be_written(tmp_path, which, force):
    """Whatever is asked, a file the command reads is never a target; a foreign file only
    with --force."""
    files = {name: tmp_path / f"{name}.x" for name in ("ledger", "contracts", "figures", "foreign")}
    for p in files.values():
        p.write_text(p.name)
    reads = [(name, files[name]) for name in ("ledger", "contracts", "figures")]
    try:
        check_target(files[which], option="--out", kind="report", reads=reads, ours=html_of_ours, force=force)
        allowed = True
    except UsageError:
        allowed = False
    assert allowed == (which == "foreign" and force)
