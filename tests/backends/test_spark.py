"""The same pipeline on DuckDB and on Spark: the same inputs give the same ledger, to the
last digit and the last row. Runs on a local Spark (pyspark from PyPI, Java on the machine)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from computeledger import open_ledger
from computeledger.accounting.bridge import bridge
from computeledger.accounting.commitments import commitments
from computeledger.accounting.credits import credits
from computeledger.accounting.statement import gather, statement
from computeledger.cli import app
from computeledger.forecast.anomalies import anomalies
from computeledger.forecast.series import history
from computeledger.ingest.convert import to_parquet
from tests.conftest import RULES

pytestmark = pytest.mark.slow  # a JVM and a local Spark

MONEY = ["BilledCost", "EffectiveCost", "ListCost", "ContractedCost"]


def damaged(source, target):
    """A Parquet bill with a bad amount, a bad date, tags that are not an object and a
    US-style date, on rows 6, 10, 12 and 14 (lines of the file's rows, counting from 1)."""
    t = pq.read_table(source)
    cols = {n: t[n].to_pylist() for n in t.column_names}
    cols["BilledCost"][5] = "12,50"
    cols["ChargePeriodStart"][9] = "yesterday"
    cols["Tags"][11] = "[1, 2]"
    cols["ChargePeriodEnd"][13] = "08/02/2024 00:00:00"
    pq.write_table(pa.table({n: pa.array(v, pa.string()) for n, v in cols.items()}), target)
    return target


@pytest.fixture(scope="module")
def both(company, tmp_path_factory):
    """One sequence of ingests and an allocation, run on a DuckDB ledger and a Spark ledger."""
    out, _ = company
    root = tmp_path_factory.mktemp("spark")
    files = dict(to_parquet([out / "focus", out / "preliminary"], root / "pq"))
    revenue = sorted(q for _, q in to_parquet([out / "revenue"], root / "revenue-pq"))
    cash = sorted(q for _, q in to_parquet([out / "finance"], root / "cash-pq"))
    final = {p.parent.name + "/" + p.stem: q for p, q in files.items() if p.parts[-3] == "focus"}
    early = sorted(q for p, q in files.items() if p.parts[-3] == "preliminary")
    july = sorted(q for k, q in final.items() if k.endswith("2024-07"))
    august = sorted(q for k, q in final.items() if k.endswith("2024-08"))
    bad = damaged(final["aws/2024-07"], root / "damaged.parquet")
    steps = [july, early, august, [bad], [final["aws/2024-07"]]]
    got = {}
    for backend, path in (("duckdb", root / "ledger.duckdb"), ("spark", root / "ledger")):
        with open_ledger(path, backend=backend) as lg:
            results = [lg.ingest(step) for step in steps]
            usage = lg.ingest_usage([out / "usage" / "openai"])
            sales = lg.ingest_revenue(revenue)
            run = lg.allocate(RULES)
            banked = lg.ingest_cash(cash)
            inputs = gather(lg)
            got[backend] = {
                "results": [[r.to_dict() for r in rs] for rs in results],
                "run": run,
                "charges": lg.charges.order_by("x_charge_id").to_pyarrow(),
                "quarantine": lg.quarantine.order_by(["ingest_id", "source_line"]).to_pyarrow(),
                "ingests": lg.ingests.order_by("ingest_id")
                .drop("started_at", "finished_at", "batch_id")
                .to_pyarrow(),
                "allocations": lg.allocations.order_by(["x_charge_id", "part"]).to_pyarrow(),
                "summary": lg.summary("workload,model,provider,month").to_pyarrow().to_pylist(),
                "usage": [(r.status, r.rows_loaded, r.rows_quarantined) for r in usage],
                "sales": [(r.status, r.rows_loaded, r.rows_quarantined) for r in sales],
                "unit_costs": lg.unit_costs("model,month,channel").rows,
                "margin": lg.margin("model,channel,quarter").rows,
                "cash": [(r.status, r.rows_loaded, r.rows_quarantined) for r in banked],
                "statement": statement(
                    lg, grain="month", bases=("billed", "effective", "cash"), inputs=inputs
                ).rows,
                "bridge": bridge(inputs, "2024-Q3"),
                "commitments": commitments(lg).rows,
                "credits": credits(lg),
                "daily": history(lg, "compute", by="provider", grain="day"),
                "tokens": history(lg, "tokens", by="model", grain="week"),
                "inference": history(lg, "inference", basis="billed"),
                "anomalies": anomalies(lg, by="provider", min_history=14),
                "path": path,
            }
    return got


def test_the_spark_ledger_holds_the_same_charges_row_for_row(both):
    d, s = both["duckdb"]["charges"], both["spark"]["charges"]
    assert d.num_rows == s.num_rows == 2505
    assert d.schema.names == s.schema.names
    for name in d.schema.names:
        assert d[name].to_pylist() == s[name].to_pylist(), name


def test_the_same_files_are_loaded_refused_replaced_and_quarantined(both):
    d, s = both["duckdb"], both["spark"]
    drop = ("path", "sha256", "format")
    assert [[{k: v for k, v in r.items() if k not in drop} for r in rs] for rs in d["results"]] == [
        [{k: v for k, v in r.items() if k not in drop} for r in rs] for rs in s["results"]
    ]
    assert d["ingests"].drop(["path"]).to_pylist() == s["ingests"].drop(["path"]).to_pylist()
    # the restated open month replaced the mid-month exports, on both
    august = d["results"][2]
    assert sum(r["rows_replaced"] for r in august) > 0
    assert {r["status"] for r in d["results"][1]} == {"loaded"}
    assert [r["status"] for r in d["results"][4]] == ["duplicate"]
    # superseded: the four mid-month exports, and July's AWS bill by the damaged copy of it
    statuses = s["ingests"]["status"].to_pylist()
    assert statuses.count("superseded") == 5


def test_quarantine_reasons_are_the_same(both):
    d, s = both["duckdb"]["quarantine"], both["spark"]["quarantine"]
    assert d.drop(["source_file"]).to_pylist() == s.drop(["source_file"]).to_pylist()
    reasons = dict(zip(d["source_line"].to_pylist(), d["reason"].to_pylist(), strict=True))
    assert reasons == {
        6: "BilledCost: not a number: '12,50'",
        10: "ChargePeriodStart: not a date-time: 'yesterday'",
        12: "Tags: not a JSON object: '[1, 2]'",
    }
    bad_file = both["spark"]["results"][3][0]
    assert (bad_file["rows_read"], bad_file["rows_quarantined"]) == (
        bad_file["rows_loaded"] + 3, 3,
    )  # fmt: skip


def test_a_us_date_is_read_and_flagged_on_both(both):
    for backend in ("duckdb", "spark"):
        c = both[backend]["charges"].to_pylist()
        row = next(
            r for r in c if r["x_source_file"].endswith("damaged.parquet") and r["x_source_line"] == 14
        )
        assert str(row["ChargePeriodEnd"]) == "2024-08-02 00:00:00"
        assert "us_date_format:ChargePeriodEnd" in row["x_quality_flags"]


def test_unit_costs_and_margin_are_identical_to_the_last_digit(both):
    d, s = both["duckdb"], both["spark"]
    assert d["usage"] == s["usage"] and [st for st, _, _ in s["usage"]] == ["loaded"] * 4
    assert sum(n for _, n, _ in s["usage"]) > 0 and all(q == 0 for _, _, q in s["usage"])
    assert d["sales"] == s["sales"] and all(st == "loaded" for st, _, _ in s["sales"])
    assert d["unit_costs"] == s["unit_costs"] and len(s["unit_costs"]) > 20
    assert d["margin"] == s["margin"]
    assert any(r["gross_margin"] is not None for r in s["margin"])


def test_the_statement_and_bridge_are_identical_to_the_last_digit(both):
    d, s = both["duckdb"], both["spark"]
    assert d["cash"] == s["cash"] and [st for st, _, _ in s["cash"]] == ["loaded", "loaded"]
    assert d["statement"] == s["statement"] and len(s["statement"]) == 3 * 4
    assert any(r["closing_cash"] is not None for r in s["statement"])
    assert d["bridge"] == s["bridge"]
    assert d["commitments"] == s["commitments"] and d["credits"] == s["credits"]


def test_forecast_histories_and_anomalies_are_identical(both):
    d, s = both["duckdb"], both["spark"]
    assert [x.key for x in s["daily"]] == [
        "provider=AWS",
        "provider=Google Cloud",
        "provider=Microsoft",
        "provider=Oracle",
    ]
    assert d["daily"] == s["daily"]
    assert all(len(x.periods) >= 60 for x in s["daily"])
    assert d["tokens"] == s["tokens"] and d["inference"] == s["inference"]
    assert d["anomalies"] == s["anomalies"]


def test_allocations_and_summaries_are_identical_to_the_last_digit(both):
    d, s = both["duckdb"], both["spark"]
    assert d["run"] == s["run"]
    assert d["allocations"].to_pylist() == s["allocations"].to_pylist()
    assert d["summary"] == s["summary"]
    assert all(isinstance(r["BilledCost"], Decimal) for r in s["summary"])
    total = sum(r["BilledCost"] for r in s["summary"])
    assert total == sum(both["duckdb"]["charges"]["BilledCost"].to_pylist())


def test_the_cli_gives_the_same_answer_on_spark(both):
    runner = CliRunner()
    out = {}
    for backend in ("duckdb", "spark"):
        r = runner.invoke(app, ["--backend", backend, "summary", "--ledger", str(both[backend]["path"]),
                                "--by", "provider,workload", "--format", "json"])  # fmt: skip
        assert r.exit_code == 0, r.output
        out[backend] = json.loads(r.output[r.output.index("[") :])
    assert out["duckdb"] == out["spark"] and len(out["spark"]) > 5


def test_spark_refuses_what_duckdb_refuses(both, tmp_path):
    csv = tmp_path / "bill.csv"
    csv.write_text("BilledCost\n1\n")
    notfocus = tmp_path / "other.parquet"
    pq.write_table(pa.table({"a": ["1"], "b": ["2"]}), notfocus)
    broken = tmp_path / "spans.json"
    broken.write_text('{"resourceSpans": [')
    said = {}
    for backend, path in (("duckdb", tmp_path / "l.duckdb"), ("spark", both["spark"]["path"])):
        with open_ledger(path, backend=backend) as lg:
            results = [*lg.ingest([csv]), *lg.ingest([notfocus]), *lg.ingest_usage([broken])]
            said[backend] = [(r.status, r.message) for r in results]
    assert said["spark"] == said["duckdb"]
    assert [status for status, _ in said["spark"]] == ["refused"] * 3
    assert said["spark"][1][1] == "not a FOCUS file: none of its columns is a FOCUS column (it has a, b)"
    assert "not readable as otel-spans" in said["spark"][2][1]
    with open_ledger(both["spark"]["path"], backend="spark") as lg:
        assert lg.charges.count().to_pyarrow().as_py() == both["spark"]["charges"].num_rows


def test_csv_bills_revenue_cash_and_otlp_load_on_spark_as_on_duckdb(company, tmp_path):
    """Spark reads what the DuckDB ledger reads, with no conversion (issue 30): CSV bills
    (a preliminary and a final export of one bill in one call; a file with a line the
    reader cannot split), revenue and bank CSVs, and OTLP spans. The same results, rows,
    lines and reasons on both."""
    out, _ = company
    prelim = sorted((out / "preliminary").rglob("*.csv"))[:2]  # two providers: Spark is slow
    final = [out / "focus" / p.parent.name / p.name for p in prelim]
    lines = final[0].read_text(encoding="utf-8").splitlines(keepends=True)
    damaged = tmp_path / "damaged.csv"
    damaged.write_text(lines[0] + lines[1] + "a,b,c\n" + "".join(lines[2:6]), encoding="utf-8")
    got = {}
    for backend, path in (("duckdb", tmp_path / "l.duckdb"), ("spark", tmp_path / "spark")):
        with open_ledger(path, backend=backend) as lg:
            results = lg.ingest(final + prelim) + lg.ingest([damaged])
            usage = lg.ingest_usage([out / "usage" / "otel"])
            sales = lg.ingest_revenue([out / "revenue"])
            banked = lg.ingest_cash([out / "finance"])
            got[backend] = {
                "results": [
                    r.to_dict() | {"started_at": None, "finished_at": None, "batch_id": None} for r in results
                ],
                "others": [
                    (r.format, r.status, r.rows_loaded, r.rows_quarantined, r.message)
                    for r in usage + sales + banked
                ],
                "charges": lg.charges.order_by("x_charge_id").to_pyarrow().to_pylist(),
                "quarantine": lg.quarantine.order_by(["ingest_id", "source_line"]).to_pyarrow().to_pylist(),
                "usage": lg.usage.count().to_pyarrow().as_py(),
            }
    duck, spark = got["duckdb"], got["spark"]
    for key in duck:
        assert spark[key] == duck[key], key
    aside = [r for r in spark["results"] if r["rows_set_aside"]]
    assert [r["path"] for r in aside] == [str(p) for p in prelim]  # the final export stands
    assert [(q["source_line"], q["reason"][:22]) for q in spark["quarantine"]] == [
        (3, "row cannot be read: Ex")
    ]
    assert spark["usage"] > 0 and all(status == "loaded" for _, status, *_ in spark["others"])


def test_a_native_export_loads_and_exports_on_spark_as_on_duckdb(tmp_path):
    """Issue 31 on the second engine: Azure EA cost details (found by its columns; M/D/Y
    dates moved to FOCUS's exclusive ends, E-notation quantities written out, braceless
    tags, value maps), then FOCUS out: the same rows and the same files on both."""
    from computeledger.export.focus import write_focus
    from tests.conftest import NATIVE

    ea = NATIVE / "azure" / "sample-anonymous-ea-export-dataset.csv"
    got = {}
    for backend, path in (("duckdb", tmp_path / "l.duckdb"), ("spark", tmp_path / "spark")):
        with open_ledger(path, backend=backend) as lg:
            [r] = lg.ingest([ea])
            files = write_focus(lg, tmp_path / f"out-{backend}", "1.3")
            got[backend] = {
                "result": (r.status, r.rows_loaded, r.rows_quarantined, r.mapping_sha256),
                "charges": lg.charges.order_by("x_source_line")
                .drop("x_ingest_id", "x_charge_id")
                .to_pyarrow(),
                "files": [(f["provider"], f["month"], f["rows"], Path(f["path"]).read_text()) for f in files],
            }
    duck, spark = got["duckdb"], got["spark"]
    assert spark["result"] == duck["result"] and duck["result"][:3] == ("loaded", 27, 0)
    assert spark["charges"].to_pylist() == duck["charges"].to_pylist()
    assert [f[:3] for f in spark["files"]] == [("Microsoft", "2023-09", 27)]
    assert spark["files"] == duck["files"]


def test_api_exports_load_on_spark_as_on_duckdb(tmp_path):
    """The AI APIs' CSV exports on the second engine: OpenAI's cost export (SPLIT_PART and
    JSON_OBJECT in its mapping, rendered for Spark), a provider's per-token cost export,
    and OpenAI's usage export (epoch and ISO times, counts written as 5.0)."""
    from computeledger.shipped import DATA

    reports = DATA / "reports"
    got = {}
    for backend, path in (("duckdb", tmp_path / "l.duckdb"), ("spark", tmp_path / "spark")):
        with open_ledger(path, backend=backend) as lg:
            results = lg.ingest([reports / "openai_costs_export.csv", reports / "token_cost_export.csv"])
            [usage] = lg.ingest_usage([reports / "openai_usage_export.csv"])
            u = lg.store.table("usage")
            got[backend] = {
                "results": [(r.status, r.rows_loaded, r.rows_quarantined, r.rounding) for r in results],
                "charges": lg.charges.order_by("x_charge_id").drop("x_ingest_id", "x_charge_id").to_pyarrow(),
                "usage": (usage.status, usage.rows_loaded,
                          u.drop("ingest_id", "source_file").order_by("model", "period_start").to_pyarrow()),
            }  # fmt: skip
    duck, spark = got["duckdb"], got["spark"]
    assert [r[:3] for r in duck["results"]] == [("loaded", 3, 1), ("loaded", 6, 0)]
    assert spark["results"] == duck["results"]
    assert spark["charges"].to_pylist() == duck["charges"].to_pylist()
    assert {json.loads(d)["ModelId"] for d in duck["charges"]["SkuPriceDetails"].to_pylist()} == {
        "gpt-4o-2024-08-06", "claude-sonnet-4-5", "claude-haiku-4-5"}  # fmt: skip
    assert spark["usage"][:2] == duck["usage"][:2] == ("loaded", 4)
    assert spark["usage"][2].to_pylist() == duck["usage"][2].to_pylist()


def test_a_gcp_export_with_its_credits_loads_on_spark_as_on_duckdb(tmp_path):
    """Issue 31, Google Cloud on the second engine: JSON lines (staged as DuckDB stages
    them) and Parquet with nested records (read by Spark), each credit a charge of its own
    (Spark's own explode), a damaged credits list quarantined: the same rows on both. And
    a group of Azure export parts: the same residues, file by file."""
    import duckdb

    from computeledger.shipped import find

    sample = find("gcp_billing_export_sample.jsonl", "exports")
    records = [json.loads(line) for line in sample.read_text().splitlines()]
    records[1]["credits"] = "oops"
    damaged = tmp_path / "billing.jsonl"
    damaged.write_text("".join(json.dumps(r) + "\n" for r in records))
    parquet = tmp_path / "billing.parquet"
    duckdb.connect().execute(f"COPY (SELECT * FROM read_json('{sample}')) TO '{parquet}' (FORMAT parquet)")
    # and two parts of an Azure export with 28-digit costs: their residues, grouped by file
    from tests.ingest.test_real_exports import azure_export

    parts = [tmp_path / "part_0_0001.csv", tmp_path / "part_0_0002.csv"]
    azure_export(parts[0], rows=20, seed=3, zero_rows=1)
    azure_export(parts[1], rows=15, seed=4, zero_rows=0)
    got = {}
    for backend, path in (("duckdb", tmp_path / "l.duckdb"), ("spark", tmp_path / "spark")):
        with open_ledger(path, backend=backend) as lg:
            got[f"{backend} rounding"] = [r.rounding for r in lg.ingest(parts)]
            results = lg.ingest([damaged])
            results += lg.ingest([parquet])
            got[backend] = {
                "results": [
                    (
                        r.status,
                        r.rows_read,
                        r.rows_unnested,
                        r.rows_loaded,
                        r.rows_quarantined,
                        r.rows_replaced,
                    )
                    for r in results
                ],
                "charges": lg.charges.order_by("x_charge_id").to_pyarrow().to_pylist(),
                "quarantine": lg.quarantine.order_by("source_line")
                .select("source_line", "reason")
                .to_pyarrow()
                .to_pylist(),
            }
    assert got["spark rounding"] == got["duckdb rounding"] and all(got["duckdb rounding"])
    duck, spark = got["duckdb"], got["spark"]
    # the Parquet file restates the same bill (same account and months): it stands
    assert duck["results"] == [("loaded", 8, 2, 9, 1, 0), ("loaded", 8, 4, 12, 0, 9)]
    assert spark["results"] == duck["results"]
    for a, b in zip(spark["charges"], duck["charges"], strict=True):
        if a != b:
            ea, eb = json.loads(a["x_extensions"]), json.loads(b["x_extensions"])
            # a Parquet double kept as text: Java writes 1.0E7 where DuckDB writes 10000000.0,
            # the same number (the charge's own columns are equal above and below)
            differ = {k: (v, eb.get(k)) for k, v in ea.items() if eb.get(k) != v}
            assert all(Decimal(x) == Decimal(y) for x, y in differ.values()), differ
            assert {k: v for k, v in a.items() if k != "x_extensions"} == {
                k: v for k, v in b.items() if k != "x_extensions"
            }
    assert [q["source_line"] for q in duck["quarantine"]] == [2]
    assert "credits: not a JSON list of objects: oops" in duck["quarantine"][0]["reason"]
    assert spark["quarantine"] == duck["quarantine"]
