"""Shapes real exports take: quoted newlines, other delimiters, BOMs, typed Parquet."""

from __future__ import annotations

from decimal import Decimal

import duckdb

from tests.conftest import read_rows, totals, write_rows


def test_records_spanning_lines_keep_exact_line_numbers(ledger, sample, tmp_path):
    header, rows = read_rows(sample)
    d, b = header.index("ChargeDescription"), header.index("BilledCost")
    rows[1][d] = "first line\nsecond line\nthird"
    rows[4][d] = "a\r\nb"
    rows[6][b] = "not money"
    path = write_rows(tmp_path / "multiline.csv", header, rows)
    [r] = ledger.ingest([path])
    assert (r.rows_loaded, r.rows_quarantined) == (999, 1)
    # data row 6 starts on line 2 + 6 + 2 (row 1 spans 3 lines) + 1 (row 4 spans 2)
    assert ledger.quarantine.source_line.execute().tolist() == [11]
    c = ledger.charges
    got = c.filter(c.ChargeDescription == "first line\nsecond line\nthird").x_source_line.execute()
    assert got.tolist() == [3]
    assert c.x_source_line.max().execute() == 1004


def test_semicolons_bom_and_crlf(ledger, sample, tmp_path):
    header, rows = read_rows(sample)
    path = tmp_path / "semicolon.csv"
    lines = ["\ufeff" + ";".join(header)]
    for r in rows:
        lines.append(";".join('"' + v.replace('"', '""') + '"' if (";" in v or '"' in v) else v for v in r))
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    [r] = ledger.ingest([path])
    assert (r.status, r.rows_loaded, r.rows_quarantined) == ("loaded", 1000, 0), r.reasons
    assert sum(v["BilledCost"] for v in totals(ledger).values()) == Decimal("20.52022672899")
    assert ledger.charges.x_source_line.max().execute() == 1001


def test_typed_parquet_with_map_tags(ledger, tmp_path):
    path = tmp_path / "aws_focus12.parquet"
    duckdb.execute(f"""
        COPY (SELECT
            TIMESTAMPTZ '2025-01-01 00:00:00+00' AS BillingPeriodStart,
            TIMESTAMPTZ '2025-02-01 00:00:00+00' AS BillingPeriodEnd,
            TIMESTAMPTZ '2025-01-05 00:00:00+00' + INTERVAL (i) HOUR AS ChargePeriodStart,
            TIMESTAMPTZ '2025-01-05 01:00:00+00' + INTERVAL (i) HOUR AS ChargePeriodEnd,
            '111122223333' AS BillingAccountId, 'lab' AS BillingAccountName,
            'Enterprise' AS BillingAccountType,
            'USD' AS BillingCurrency,
            CAST(98.32 * (i + 1) AS DECIMAL(38, 10)) AS BilledCost,
            CAST(61.50 * (i + 1) AS DECIMAL(38, 10)) AS EffectiveCost,
            CAST(98.32 * (i + 1) AS DECIMAL(38, 10)) AS ListCost,
            CAST(98.32 * (i + 1) AS DECIMAL(38, 10)) AS ContractedCost,
            'Usage' AS ChargeCategory, NULL::VARCHAR AS ChargeClass, 'p5.48xlarge' AS ChargeDescription,
            'Amazon Web Services, Inc.' AS InvoiceIssuerName, 1.0::DOUBLE AS PricingQuantity,
            'Hrs' AS PricingUnit, 'AWS' AS ProviderName, 'Amazon Web Services, Inc.' AS PublisherName,
            'Compute' AS ServiceCategory, 'Amazon Elastic Compute Cloud' AS ServiceName,
            MAP {{'workload': 'training', 'model': 'm' || i::VARCHAR}} AS Tags,
            'USE1-BoxUsage:p5.48xlarge' AS x_UsageType
          FROM range(3) t(i)) TO '{path}' (FORMAT parquet)""")
    [r] = ledger.ingest([path])
    # BillingAccountType without any 1.1 column is Azure's 1.0 layout, not evidence of 1.2
    assert (r.status, r.focus_version, r.rows_loaded) == ("loaded", "1.0", 3), r.message
    assert "BillingAccountType" in r.version_evidence
    t = totals(ledger)["AWS"]
    assert (t["BilledCost"], t["EffectiveCost"]) == (Decimal("589.92"), Decimal("369.00"))
    df = ledger.charges.order_by("ChargePeriodStart").execute()
    assert df.Tags[2] == '{"workload":"training","model":"m2"}'
    assert '"x_UsageType":"USE1-BoxUsage:p5.48xlarge"' in df.x_extensions[0]
    assert str(df.ChargePeriodStart[0]) == "2025-01-05 00:00:00"
    assert df.x_source_line.tolist() == [1, 2, 3]


def test_dotnet_timestamps_and_e_notation(ledger, sample, tmp_path):
    header, rows = read_rows(sample)
    s, e, b = (header.index(c) for c in ("ChargePeriodStart", "ChargePeriodEnd", "BilledCost"))
    rows = rows[:2]
    rows[0][s], rows[0][e] = "2024-09-18T22:00:00.0000000Z", "2024-09-18T23:00:00.0000000Z"
    rows[1][b] = "8.0E-7"
    path = write_rows(tmp_path / "azure_style.csv", header, rows)
    [r] = ledger.ingest([path])
    assert r.rows_loaded == 2, r.reasons
    df = ledger.charges.order_by("x_source_line").execute()
    assert str(df.ChargePeriodStart[0]) == "2024-09-18 22:00:00"
    assert df.BilledCost[1] == Decimal("0.0000008")
