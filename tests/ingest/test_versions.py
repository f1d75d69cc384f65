"""Files of one call: parts of one export add up; two versions of one bill do not (the
one covering later charges stands, then the later file), and the output says so."""

from __future__ import annotations

import pytest

from computeledger import open_ledger
from tests.conftest import decimal_sum, read_rows, totals, truth, write_rows


@pytest.mark.parametrize("order", [("preliminary", "focus"), ("focus", "preliminary")])
def test_a_mid_month_and_a_final_export_in_one_call_are_versions(company, tmp_path, order):
    out, _ = company
    with open_ledger(tmp_path / "l.duckdb") as lg:
        results = lg.ingest([out / order[0] / "aws", out / order[1] / "aws"])
        total = lg.summary([]).to_pyarrow().to_pylist()[0]["BilledCost"]
        statuses = lg.ingests.filter(lg.ingests.path.contains("preliminary")).status.execute().tolist()
    # before: the open month counted twice (the whole lab came out 8.6% high)
    assert total == decimal_sum(t["billed_cost"] for t in truth(out) if t["provider"] == "AWS")
    assert statuses == ["superseded"]
    early = [r for r in results if "preliminary" in r.path]
    if order[0] == "focus":
        assert all(r.rows_set_aside == r.rows_loaded > 0 and "set aside" in r.message for r in early)
    else:
        final = [r for r in results if "preliminary" not in r.path and r.rows_replaced]
        assert sum(r.rows_replaced for r in final) == sum(r.rows_loaded for r in early)


def test_disjoint_parts_of_one_export_still_add_up(tmp_path, sample):
    header, rows = read_rows(sample)
    a = write_rows(tmp_path / "part-1.csv", header, rows[:400])
    b = write_rows(tmp_path / "part-2.csv", header, rows[400:])
    with open_ledger(tmp_path / "whole.duckdb") as lg:
        lg.ingest([sample])
        whole = totals(lg)
    with open_ledger(tmp_path / "parts.duckdb") as lg:
        results = lg.ingest([a, b])
        parts = totals(lg)
    assert [r.rows_loaded for r in results] == [400, 600]
    assert not any(r.rows_set_aside or r.rows_replaced for r in results)
    assert parts == whole


def test_two_meters_of_one_resource_in_parts_are_not_versions(tmp_path, sample):
    """Parts split between two charges of one resource and hour (another SKU) still add up."""
    header, rows = read_rows(sample)
    col = {n: i for i, n in enumerate(header)}
    twin = list(rows[0])
    twin[col["SkuPriceId"]] = "another-meter"
    twin[col["ChargeDescription"]] = "another meter of the same resource"
    a = write_rows(tmp_path / "part-1.csv", header, [rows[0]])
    b = write_rows(tmp_path / "part-2.csv", header, [twin])
    with open_ledger(tmp_path / "parts.duckdb") as lg:
        results = lg.ingest([a, b])
        n = lg.charges.count().to_pyarrow().as_py()
    assert n == 2 and not any(r.rows_set_aside or r.rows_replaced for r in results)


def test_a_file_name_with_glob_characters_is_read_literally(tmp_path, sample):
    """`b*.csv` beside `b1.csv`: each is its own file, by name and under its folder."""
    header, rows = read_rows(sample)
    folder = tmp_path / "bills"
    folder.mkdir()
    write_rows(folder / "b1.csv", header, rows[:4])
    star = write_rows(folder / "b*.csv", header, rows[4:9])
    write_rows(folder / "c[1].csv", header, rows[9:12])
    with open_ledger(tmp_path / "one.duckdb") as lg:
        [r] = lg.ingest([star])
        assert (r.rows_read, r.rows_loaded) == (5, 5)
        assert lg.charges.x_source_line.max().to_pyarrow().as_py() == 6
    with open_ledger(tmp_path / "all.duckdb") as lg:
        results = lg.ingest([folder])
        assert sorted(r.rows_loaded for r in results) == [3, 4, 5]
        assert lg.charges.count().to_pyarrow().as_py() == 12


@pytest.mark.parametrize("where", [11, 5])
def test_one_unterminated_quote_quarantines_its_line_alone(tmp_path, sample, where):
    """A damaged quote on the last line (or in the middle) once defeated the dialect
    sniffer and quarantined or refused the whole file."""
    lines = sample.read_text(encoding="utf-8-sig").splitlines()[:12]
    lines[where] = lines[where].replace(",", ',"', 1)
    bill = tmp_path / "quote.csv"
    bill.write_text("\n".join(lines) + "\n")
    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest([bill])
        q = lg.quarantine.to_pyarrow().to_pylist()
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 11, 10, 1)
    assert [x["source_line"] for x in q] == [where + 1]
    assert "unterminated quote" in q[0]["reason"]
