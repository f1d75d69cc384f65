"""`computeledger capacity ...` and the figures bridge, end to end through the CLI."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.capacity import calibrate
from computeledger.cli import app
from computeledger.shipped import EXAMPLES

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, list(args))
    return result


def test_throughput_answers_in_json_with_money_as_strings():
    r = run("capacity", "throughput", "--model", "Llama-3.3-70B", "--gpu", "H200 SXM", "--price", "3.50",
            "--tpot-ms", "40", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    assert [row["point"] for row in rows] == ["throughput-optimal", "latency-bound"]
    assert isinstance(rows[1]["usd_per_m_output"], str) and isinstance(rows[1]["tpot_ms"], float)
    assert rows[1]["tpot_ms"] <= 40 and rows[1]["price_source"] == "given"


def test_fleet_on_the_deepseek_example_as_csv():
    r = run("capacity", "fleet", str(EXAMPLES / "deepseek_day.yaml"), "--format", "csv")
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert rows[0]["nodes_mean"] == "226.86" and rows[0]["usd_per_day_mean"] == "87115.6095"


def test_invert_json_has_the_interval_and_the_tornado():
    r = run(
        "capacity", "invert", "8.7B", "--period", "2025-01..2025-09", "--price", "2..4", "--format", "json"
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["implied"]["gpus_low"], out["implied"]["gpus_high"]) == (330052, 667735)
    assert out["implied"]["spend_low"] == "8650000000.00"
    assert out["tornado"][0]["input"] == "price per GPU-hour"
    spend = next(t for t in out["tornado"] if t["input"] == "spend")
    assert (spend["low"], spend["high"]) == ("8650000000.00", "8750000000.00")  # money: strings


def test_compare_on_a_ledger(lab_ledger, allocated, tmp_path):
    path, _ = lab_ledger
    r = run(
        "capacity", "compare", "--ledger", str(path), "--map", "atlas-l=Llama-3.3-70B", "--format", "json"
    )
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)
    atlas = [x for x in rows if x["model"] == "atlas-l"]
    assert len(atlas) == 4 and all(x["implied_utilization_pct"] is not None for x in atlas)
    swift = [x for x in rows if x["model"] == "swift-s"]
    assert {x["note"] for x in swift} == {"no catalogue model mapped (--map)"}
    no_usage = tmp_path / "no-usage.duckdb"
    shutil.copy(allocated[0], no_usage)
    with open_ledger(no_usage) as lg:
        lg.store.delete("usage", lambda t: t.ingest_id.notnull())
    r = run(
        "capacity", "compare", "--ledger", str(no_usage), "--map", "atlas-l=Llama-3.3-70B", "--format", "json"
    )
    assert {x["note"] for x in json.loads(r.output)} == {"no token usage for this model and month"}


def test_calibrate_writes_a_calibration_and_reports_the_held_out_error(tmp_path):
    out = tmp_path / "calibration.csv"
    m = calibrate.shipped
    r = run("capacity", "calibrate", str(m("trtllm_0.9_a100_l40s.csv")), "--held-out",
            str(m("trtllm_0.9_a100_l40s.csv")), "--out", str(out), "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert [c["gpu"] for c in got["calibration"]] == ["A100 SXM", "L40S"]
    assert len(got["held_out"]) == 48 and got["held_out_median_abs_error"] < 0.15
    assert out.read_text().splitlines()[0].startswith("gpu,engine,precision,compute_efficiency")


def test_catalog_lists_rows_with_sources():
    r = run("capacity", "catalog", "prices", "--format", "json")
    rows = json.loads(r.output)
    assert {"provider": "DeepSeek", "gpu": "H800 SXM", "usd_per_gpu_hour": "2.00"}.items() <= rows[
        -1
    ].items() or any(x["provider"] == "DeepSeek" and x["usd_per_gpu_hour"] == "2.00" for x in rows)
    assert all(x["source"] for x in rows)


def test_figures_check_shows_the_fleet_a_reported_spend_implies():
    r = run("figures", "check", str(EXAMPLES / "openai_azure_2025.yaml"), "--fleet-gpu", "H100 SXM",
            "--price", "2..4", "--section", "fleet", "--format", "json")  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output)["fleet"]
    q1_q3 = next(x for x in rows if x["quantity"].endswith("2025-01-01..2025-09-30"))
    # 8.7B disputed, widened 10%: 7.785B..9.625B over 6,552 hours at $2..$4
    assert (q1_q3["spend_low"], q1_q3["spend_high"]) == ("7785000000.00", "9625000000.00")
    assert (q1_q3["gpus_low"], q1_q3["gpus_high"]) == (297047, 734509)


def test_errors_name_what_is_wrong():
    r = run("capacity", "throughput", "--model", "GPT-9", "--gpu", "H100 SXM", "--price", "2")
    assert r.exit_code == 2 and "unknown model 'GPT-9'" in r.output
    r = run("capacity", "throughput", "--model", "Llama-3.1-8B", "--gpu", "MI300X")
    assert r.exit_code == 2 and "no price for MI300X in the catalogue: give --price" in r.output


def test_the_readmes_invert_with_a_price_range_and_a_mix_prints_both_tables():
    r = run("capacity", "invert", "8.7B", "--period", "2025-01..2025-09", "--gpu", "H100 SXM",
            "--price", "2..4", "--mix", "Llama-3.3-70B=0.6,Llama-3.1-8B=0.4")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Tornado" in r.output and "price per GPU-hour" in r.output and "utilization" in r.output
