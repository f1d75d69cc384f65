"""Files read on Spark as the DuckDB ledger reads them: CSV bills, revenue, cash and OTLP
spans (staged by DuckDB's reader), and a native cloud export read through its mapping and
exported as FOCUS. Apart from test_spark.py so that another worker runs them beside its
long fixture (each worker starts its own local Spark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from computeledger import open_ledger

pytestmark = pytest.mark.slow  # a JVM and a local Spark


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
