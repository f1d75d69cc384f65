"""Choosing the backend: argument, environment, config file, default; and CSV to Parquet."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from computeledger.cli import app
from computeledger.errors import UsageError
from computeledger.ingest.convert import to_parquet
from computeledger.ledger import ENV_BACKEND, default_path, resolve_backend, settings


def test_the_backend_comes_from_argument_environment_config_then_duckdb(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_BACKEND, raising=False)
    monkeypatch.delenv("COMPUTELEDGER_LEDGER", raising=False)
    assert resolve_backend(None) == "duckdb"
    (tmp_path / "computeledger.toml").write_text('[ledger]\nbackend = "spark"\npath = "big-ledger"\n')
    assert settings() == {"backend": "spark", "path": "big-ledger"}
    assert resolve_backend(None) == "spark" and default_path() == "big-ledger"
    monkeypatch.setenv(ENV_BACKEND, "duckdb")
    assert resolve_backend(None) == "duckdb"
    assert resolve_backend("spark") == "spark"
    with pytest.raises(UsageError, match="backend 'oracle': use one of duckdb, spark"):
        resolve_backend("oracle")


def test_a_bad_config_file_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "computeledger.toml").write_text('[ledger]\nbackend = "spark"\ncolour = "red"\n')
    with pytest.raises(UsageError, match=r"computeledger\.toml: \[ledger\] has no setting 'colour'"):
        settings()
    (tmp_path / "computeledger.toml").write_text("[ledger\n")
    with pytest.raises(UsageError, match=r"computeledger\.toml: not TOML"):
        settings()


def test_the_cli_refuses_an_unknown_backend():
    r = CliRunner().invoke(app, ["--backend", "oracle", "ingests"])
    assert r.exit_code == 2 and "use one of duckdb, spark" in r.output


def test_convert_keeps_every_value_as_the_text_it_was(tmp_path):
    bills = tmp_path / "bills" / "aws"
    bills.mkdir(parents=True)
    (bills / "2025-01.csv").write_text(
        'BilledCost,Tags,ChargePeriodStart\n0.10,"{""a"": 1}",2025-01-01T00:00:00Z\n1e-3,,\n'
    )
    [(_, target)] = to_parquet([tmp_path / "bills"], tmp_path / "out")
    assert target == tmp_path / "out" / "bills" / "aws" / "2025-01.parquet"
    t = pq.read_table(target)
    assert t.to_pydict() == {
        "BilledCost": ["0.10", "1e-3"],
        "Tags": ['{"a": 1}', None],
        "ChargePeriodStart": ["2025-01-01T00:00:00Z", None],
    }
    assert {f.type for f in t.schema} == {__import__("pyarrow").string()}
