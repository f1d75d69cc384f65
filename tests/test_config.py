"""Settings resolved once: flags, then the environment, then ./computeledger.toml, then
the defaults; every section of the file checked when it is read; and below the command
line nothing reads the working folder (the contracts a command uses are the ones it
resolved, passed down)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from computeledger import config, open_ledger
from computeledger.cli import app
from computeledger.errors import UsageError

ENV = {"COMPUTELEDGER_LEDGER", "COMPUTELEDGER_BACKEND"}


def test_flags_then_environment_then_the_file_then_defaults(tmp_path):
    path = tmp_path / "computeledger.toml"
    assert config.load(config=path, environ={}) == config.Settings()
    path.write_text(
        '[ledger]\nbackend = "spark"\npath = "big"\nspark_master = "local[4]"\n'
        '[usage]\notel_customer = "acme.customer"\n[accounting]\ncontracts = "c.toml"\n'
    )
    got = config.load(config=path, environ={})
    want = config.Settings("big", "spark", "local[4]", {"customer": "acme.customer"}, Path("c.toml"))
    assert got == want
    env = {"COMPUTELEDGER_BACKEND": "duckdb", "COMPUTELEDGER_LEDGER": "env.duckdb"}
    assert (config.load(config=path, environ=env).backend, config.load(config=path, environ=env).ledger) == (
        "duckdb", "env.duckdb")  # fmt: skip
    assert config.load("spark", config=path, environ=env).backend == "spark"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('[ledger]\ncolour = "red"\n', "[ledger] has no setting 'colour'"),
        ('[usage]\notel_team = "x"\n', "[usage] has no setting 'otel_team'"),
        ('[accounting]\ncontract = "x"\n', "[accounting] has no setting 'contract'"),
        ("[accounting]\ncontracts = 3\n", "[accounting] contracts is the path of a contracts file, not 3"),
        ('accounting = "x"\n', "accounting is a table"),
        ("[ledger\n", "not TOML"),
        ('[ledger]\nbackend = "oracle"\n', "backend 'oracle': use one of duckdb, spark"),
    ],
)
def test_every_section_is_checked_when_the_file_is_read(tmp_path, text, said):
    path = tmp_path / "computeledger.toml"
    path.write_text(text)
    with pytest.raises(UsageError) as got:
        config.load(config=path, environ={})
    assert said in str(got.value)


def test_the_library_reads_no_contracts_of_the_working_folder(books, tmp_path, monkeypatch):
    """`[accounting] contracts` is the command line's to resolve: the Python API uses the
    contracts it is given, so one run never reads two different files."""
    ledger, _, contracts = books
    monkeypatch.chdir(tmp_path)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "computeledger.toml").write_text(f'[accounting]\ncontracts = "{contracts}"\n')
    with open_ledger(ledger, read_only=True) as lg:
        assert lg.commitments().rows != lg.commitments(contracts=contracts).rows
    run = CliRunner().invoke(app, ["commitments", "--ledger", str(ledger), "--format", "json"])
    flag = CliRunner().invoke(app, ["commitments", "--ledger", str(ledger), "--format", "json",
                                    "--contracts", str(contracts)])  # fmt: skip
    assert run.exit_code == flag.exit_code == 0
    assert json.loads(run.stdout) == json.loads(flag.stdout)  # the command resolved the file's contracts


def test_the_usage_attributes_of_the_file_reach_the_reader_and_a_flag_wins(tmp_path, monkeypatch):
    spans = {"resourceSpans": [{"scopeSpans": [{"spans": [{
        "startTimeUnixNano": "1719792000000000000", "endTimeUnixNano": "1719792001000000000",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "m"}},
            {"key": "acme.customer", "value": {"stringValue": "from-file"}},
            {"key": "other.customer", "value": {"stringValue": "from-flag"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "5"}},
        ]}]}]}]}  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "spans.json").write_text(json.dumps(spans))
    (tmp_path / "computeledger.toml").write_text('[usage]\notel_customer = "acme.customer"\n')
    customers = {}
    for name, extra in (("file", []), ("flag", ["--otel-customer", "other.customer"])):
        ledger = tmp_path / f"{name}.duckdb"
        got = CliRunner().invoke(app, ["ingest-usage", "spans.json", "--ledger", str(ledger), *extra])
        assert got.exit_code == 0, got.output
        with open_ledger(ledger, read_only=True) as lg:
            customers[name] = lg.usage.customer.to_pyarrow().to_pylist()
    assert customers == {"file": ["from-file"], "flag": ["from-flag"]}
