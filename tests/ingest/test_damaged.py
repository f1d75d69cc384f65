"""Damaged and foreign files: every row loaded or quarantined with a reason, or the
whole file refused with one message; the ledger is unchanged by a refusal."""

from __future__ import annotations

import gzip
import shutil
from decimal import Decimal

from tests.conftest import SPEC, decimal_sum, read_rows, shared, totals, write_rows


def damage(sample, tmp_path, edits: dict[int, dict[str, str]], name="damaged.csv"):
    """A copy of the sample with cells replaced: {data row index: {column: value}}."""
    header, rows = read_rows(sample)
    for i, cells in edits.items():
        for col, value in cells.items():
            rows[i][header.index(col)] = value
    return write_rows(tmp_path / name, header, rows)


BAD = {
    3: {"ChargePeriodStart": "2024-13-45 00:00:00"},
    10: {"BilledCost": "12,50"},
    20: {"ChargeCategory": "Refund"},
    30: {"ChargePeriodEnd": "2024-09-01 00:00:00", "ChargePeriodStart": "2024-09-02 00:00:00"},
    40: {"BillingAccountId": ""},
    50: {"EffectiveCost": "0." + "1" * 39},  # past the 38th place: no exact residue
    60: {"Tags": "{not json"},
    70: {"BillingCurrency": "US Dollar"},
}


def test_bad_rows_are_quarantined_with_line_column_and_value(ledger, sample, tmp_path):
    path = damage(sample, tmp_path, BAD)
    [r] = ledger.ingest([path])
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (1000, 992, 8)
    q = ledger.quarantine.order_by("source_line").execute()
    assert list(q.source_line) == [i + 2 for i in sorted(BAD)]
    reasons = list(q.reason)
    assert reasons[0] == "ChargePeriodStart: not a date-time: '2024-13-45 00:00:00'"
    assert reasons[1] == "BilledCost: not a number: '12,50'"
    assert reasons[2].startswith("ChargeCategory: not allowed: 'Refund' (allowed: Usage, Purchase")
    assert reasons[3] == (
        "ChargePeriodEnd '2024-09-01 00:00:00' is not after ChargePeriodStart '2024-09-02 00:00:00'"
    )
    assert reasons[4] == "BillingAccountId: missing (must not be null)"
    assert reasons[5] == "EffectiveCost: more than 38 decimal places: '0." + "1" * 39 + "'"
    assert reasons[6] == "Tags: not a JSON object: '{not json'"
    assert reasons[7] == "BillingCurrency: not an ISO 4217 code: 'US Dollar'"
    # the row as read is kept: its own text, placeholders and all
    assert '"BilledCost":"12,50"' in q.raw[1]
    assert '"ChargeClass":"NULL"' in q.raw[1]
    assert '"ChargeCategory":"Refund"' in q.raw[2]
    # loaded + quarantined money: the loaded rows are exactly the others
    header, rows = read_rows(path)
    i = header.index("BilledCost")
    good = [row[i] for n, row in enumerate(rows) if n not in BAD]
    assert sum(v["BilledCost"] for v in totals(ledger).values()) == decimal_sum(good)


def test_rows_the_reader_cannot_split_keep_their_line(ledger, sample, tmp_path):
    lines = sample.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[5] = "only,three,fields\n"
    lines[9] = lines[9].rstrip("\n") + ',"extra"\n'
    path = tmp_path / "ragged.csv"
    path.write_text("".join(lines), encoding="utf-8")
    [r] = ledger.ingest([path])
    assert (r.rows_read, r.rows_loaded, r.rows_quarantined) == (1000, 998, 2)
    q = ledger.quarantine.order_by("source_line").execute()
    assert list(q.source_line) == [6, 10]
    assert q.raw[0] == "only,three,fields"
    assert all(reason.startswith("row cannot be read:") for reason in q.reason)
    # lines after the rejected rows are still exact
    c = ledger.charges
    last = c.filter(c.x_source_line == 1001).count().execute()
    assert last == 1


def test_strict_refuses_the_whole_file(ledger, sample, tmp_path):
    path = damage(sample, tmp_path, {7: {"BilledCost": "abc"}})
    [r] = ledger.ingest([path], strict=True)
    assert r.status == "refused"
    assert "line 9: BilledCost: not a number: 'abc'" in r.message
    assert ledger.charges.count().execute() == 0
    assert ledger.quarantine.count().execute() == 0


def test_missing_mandatory_column_refused_naming_it(ledger, sample, tmp_path):
    header, rows = read_rows(sample)
    i = header.index("BilledCost")
    path = write_rows(tmp_path / "nobilled.csv", header[:i] + header[i + 1 :],
                      [r[:i] + r[i + 1 :] for r in rows])  # fmt: skip
    [r] = ledger.ingest([path])
    assert r.status == "refused"
    assert r.message == "missing mandatory FOCUS columns: BilledCost"
    assert ledger.charges.count().execute() == 0


def test_not_csv_at_all_is_refused(ledger, tmp_path):
    junk = tmp_path / "bill.csv"
    junk.write_bytes(bytes(range(256)) * 20)
    [r] = ledger.ingest([junk])
    assert r.status == "refused"
    assert ledger.charges.count().execute() == 0


def test_empty_file_refused_and_header_only_file_loads_nothing(ledger, sample, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    header_only = tmp_path / "header.csv"
    header_only.write_text(sample.read_text(encoding="utf-8").splitlines()[0] + "\n")
    r1, r2 = ledger.ingest([empty, header_only])
    assert (r1.status, r1.message) == ("refused", "empty file")
    assert (r2.status, r2.rows_read, r2.rows_loaded) == ("loaded", 0, 0)


def test_spec_excerpts_lacking_columns_are_refused(ledger):
    folder = shared(SPEC / "v1.2" / "commitment_discount_scenarios")
    results = ledger.ingest([folder])
    assert len(results) == 7
    assert {r.status for r in results} == {"refused"}
    assert all("BillingAccountId" in r.message for r in results)


def test_post_13_token_billing_example_loads_as_13(ledger):
    path = shared(SPEC / "working-draft-post-1.3" / "ai_model_billing" / "per_token_ai_model_api.csv")
    [r] = ledger.ingest([path])
    assert (r.status, r.focus_version, r.rows_loaded) == ("loaded", "1.3", 2)
    t = totals(ledger)["Solora AI"]
    assert t["BilledCost"] == Decimal("94.50")
    assert t["ListCost"] == Decimal("94.50")
    ext = ledger.charges.x_extensions.execute()
    assert all('"x_CredentialId"' in e for e in ext)


def test_gzip_and_parquet_give_the_same_totals(tmp_path, sample):
    import duckdb

    from computeledger import open_ledger

    gz = tmp_path / "sample.csv.gz"
    with sample.open("rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    pq = tmp_path / "sample.parquet"
    duckdb.execute(f"COPY (SELECT * FROM read_csv('{sample}')) TO '{pq}' (FORMAT parquet)")
    expected = None
    for path in (sample, gz, pq):
        with open_ledger(tmp_path / f"{path.name}.duckdb") as lg:
            [r] = lg.ingest([path])
            assert (r.status, r.rows_loaded) == ("loaded", 1000), r
            got = {k: (v["BilledCost"], v["ListCost"]) for k, v in totals(lg).items()}
        expected = expected or got
        assert got == expected


def test_damaged_compression_and_encoding(ledger, sample, tmp_path):
    packed = gzip.compress(sample.read_bytes())
    corrupt = tmp_path / "corrupt.csv.gz"
    corrupt.write_bytes(packed[:5000] + b"\0" * 200 + packed[5200:])
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes(sample.read_bytes().replace(b"SunBird", b"Sun\xe9Bird"))
    r1, r2 = ledger.ingest([corrupt, latin1])
    assert r1.status == "refused"
    assert "may be damaged" in r1.message or "could not be split" in r1.message
    # rows whose bytes are not UTF-8 are quarantined one by one, the others load
    assert (r2.status, r2.rows_read, r2.rows_loaded, r2.rows_quarantined) == ("loaded", 1000, 7, 993)
    q = ledger.quarantine.filter(ledger.quarantine.ingest_id == r2.ingest_id).execute()
    assert q.reason.str.startswith("row cannot be read: Invalid unicode").all()
    assert sorted(q.source_line)[:3] == [2, 3, 4]
