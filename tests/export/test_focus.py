"""FOCUS out (issue 31): the ledger's charges written as FOCUS 1.2 or 1.3 files, read back
by `ingest` to the same totals to the last digit; allocations as x_ columns."""

from __future__ import annotations

import csv
import json
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.cli import app
from computeledger.errors import UsageError
from computeledger.export.focus import columns_of, decimal_texts, write_focus
from tests.conftest import NATIVE, SAMPLE, built_once, own_copy, shared

MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")


def totals(lg) -> dict:
    t = lg.charges
    provider = t.ServiceProviderName
    rows = t.group_by(provider=provider).aggregate(n=t.count(), **{m: t[m].sum() for m in MONEY})
    return {r["provider"]: r for r in rows.to_pyarrow().to_pylist()}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """A ledger of the FOCUS 1.0 sample and the native AWS and Azure samples, built once a
    run and read only (each worker has its own copy)."""

    def build(folder):
        with open_ledger(folder / "mixed.duckdb") as lg:
            lg.ingest([shared(SAMPLE)])
            lg.ingest([shared(NATIVE / "aws" / "sample-anonymous-aws-export-dataset.csv.gz")])
            lg.ingest([shared(NATIVE / "azure" / "sample-anonymous-ea-export-dataset.csv")])

    folder, _ = built_once(tmp_path_factory, "mixed", build)
    return own_copy(tmp_path_factory, folder / "mixed.duckdb")


@pytest.mark.parametrize("fmt", ["csv", pytest.param("parquet", marks=pytest.mark.slow)])
def test_an_export_reads_back_to_the_same_totals_to_the_last_digit(mixed, tmp_path, fmt):
    out = tmp_path / "focus"
    with open_ledger(mixed, read_only=True) as lg:
        before = totals(lg)
        files = write_focus(lg, out, "1.3", fmt=fmt)
    assert sum(f["rows"] for f in files) == sum(r["n"] for r in before.values()) == 2308
    assert sorted(p.name for p in out.iterdir()) == sorted(f"focus-1.3-{n}.{fmt}" for n in (
        "aws-2023-11", "aws-2024-09", "microsoft-2023-09", "microsoft-2024-09", "oracle-2024-09",
        "oracle-2024-10", "red-hat-inc-2024-09",
    ))  # fmt: skip
    with open_ledger(tmp_path / "back.duckdb") as back:
        results = back.ingest([out])
        assert {(r.status, r.rows_quarantined, r.focus_version) for r in results} == {("loaded", 0, "1.3")}
        assert totals(back) == before
        one = back.charges.limit(1).to_pyarrow().to_pylist()[0]
        assert json.loads(one["x_extensions"])["x_ChargeId"]  # the ledger's own id rides along


def test_the_text_is_focus_text(mixed, tmp_path):
    """Money as plain decimals (no exponent, no trailing zeros), date-times as ISO 8601 UTC."""
    with open_ledger(mixed, read_only=True) as lg:
        write_focus(lg, tmp_path / "out", "1.3")
        exact = {
            str(r["x_charge_id"]): r["BilledCost"]
            for r in lg.charges.select("x_charge_id", "BilledCost").to_pyarrow().to_pylist()
        }
    for path in (tmp_path / "out").iterdir():
        with path.open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                text = row["BilledCost"]
                assert "e" not in text.lower() and not (("." in text) and text.endswith("0")), text
                assert Decimal(text) == exact[row["x_ChargeId"]]
                assert row["ChargePeriodStart"].endswith("Z") and "T" in row["ChargePeriodStart"]


def test_a_1_2_export_has_the_1_2_columns_and_a_provider_name(mixed, tmp_path):
    with open_ledger(mixed, read_only=True) as lg:
        write_focus(lg, tmp_path / "out", "1.2", providers=["AWS"], start=None)
    files = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in files] == ["focus-1.2-aws-2023-11.csv", "focus-1.2-aws-2024-09.csv"]
    with files[0].open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == [*columns_of("1.2"), "x_ChargeId"]
    assert "ServiceProviderName" not in reader.fieldnames and "AllocatedMethodId" not in reader.fieldnames
    assert {r["ProviderName"] for r in rows} == {"AWS"}  # the native rows carry it under 1.3's name
    with open_ledger(tmp_path / "back.duckdb") as back:
        [r, _] = back.ingest(files)
        assert (r.status, r.focus_version, r.rows_loaded) == ("loaded", "1.2", 1281)


@pytest.mark.slow  # the shared company's ledger, allocated
def test_allocated_parts_export_with_their_dimensions(allocated, tmp_path):
    path, _, _ = allocated
    with open_ledger(path, read_only=True) as lg:
        files = write_focus(lg, tmp_path / "out", "1.3", allocated=True)
        by_workload = {
            r["workload"]: r["BilledCost"] for r in lg.summary("workload").to_pyarrow().to_pylist()
        }
    con = duckdb.connect()
    got = con.execute(
        "SELECT x_Workload, SUM(CAST(BilledCost AS DECIMAL(38, 18))) FROM read_csv(?, all_varchar = true) "
        "GROUP BY 1",
        [[f["path"] for f in files]],
    ).fetchall()
    assert dict(got) == by_workload and len(by_workload) > 1


def test_the_command_filters_and_refuses_to_write_over_files(mixed, tmp_path):
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["export", "--ledger", str(mixed), "--out", str(out), "--format", "json"]
    r = runner.invoke(app, [*args, "--from", "2024-09", "--to", "2024-09", "--provider", "Microsoft"])
    assert r.exit_code == 0, r.output
    written = json.loads(r.output[r.output.index("[") :])
    assert [(w["provider"], w["month"], w["rows"]) for w in written] == [("Microsoft", "2024-09", 51)]
    again = runner.invoke(app, [*args, "--provider", "Microsoft"])
    assert again.exit_code != 0 and "exists; export into an empty folder" in again.output
    assert sorted(p.name for p in out.iterdir()) == [
        "focus-1.3-microsoft-2024-09.csv"
    ]  # nothing half written
    over = runner.invoke(app, ["export", "--ledger", str(mixed), "--out", str(mixed)])
    assert over.exit_code != 0 and "is a file, not a folder" in over.output
    bad = runner.invoke(
        app, ["export", "--ledger", str(mixed), "--out", str(tmp_path / "x"), "--focus", "2.0"]
    )
    assert bad.exit_code != 0 and "write one of 1.2, 1.3" in bad.output
    backwards = runner.invoke(app, [*args, "--from", "2024-09", "--to", "2024-01"])
    assert backwards.exit_code != 0 and "before --from" in backwards.output
    none = runner.invoke(
        app, ["export", "--ledger", str(mixed), "--out", str(tmp_path / "y"), "--from", "2030-01"]
    )
    assert none.exit_code != 0 and "no charges to export" in none.output
    assert not (tmp_path / "y").exists()


def test_an_unknown_version_is_refused_before_anything_is_written(mixed, tmp_path):
    with open_ledger(mixed, read_only=True) as lg, pytest.raises(UsageError, match="write one of"):
        write_focus(lg, tmp_path / "out", "1.4")
    assert not (tmp_path / "out").exists()


@given(st.decimals(min_value=Decimal("-1e19"), max_value=Decimal("1e19"), places=18, allow_nan=False))
def test_decimal_text_is_every_digit_and_nothing_else(value):
    import ibis
    import pyarrow as pa

    # a stored value, as the ledger holds it (an Ibis literal would pass through Python's
    # 28-digit decimal context)
    t = ibis.memtable(pa.table({"v": pa.array([value], pa.decimal128(38, 18))}))
    [text] = decimal_texts(t, ["v"]).to_pyarrow()["v"].to_pylist()
    assert Decimal(text) == value
    assert "e" not in text.lower()
    assert "." not in text or not text.endswith("0")
