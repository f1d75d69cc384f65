"""Every source column survives in x_extensions under a key no other column has."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from computeledger.ingest.normalize import extension_keys
from tests.conftest import read_rows, write_rows


def test_foo_beside_x_foo_keeps_both(ledger, tmp_path, sample):
    header, rows = read_rows(sample)
    bill = write_rows(
        tmp_path / "b.csv", [*header, "foo", "x_foo", "Foo"], [[*r, "a", "b", "c"] for r in rows[:3]]
    )
    [r] = ledger.ingest([bill])
    assert r.status == "loaded"
    ext = json.loads(ledger.charges.x_extensions.execute().iloc[0])
    # the reader itself renames `Foo` (a second `foo` without case) to `Foo_1`
    assert {ext["x_foo"], ext["x_foo_2"], ext["x_Foo_1"]} == {"a", "b", "c"}
    assert ext["x_foo"] == "b"  # the column that already had the name keeps it


@given(
    st.lists(
        st.from_regex(r"(x_)?[A-Za-z]{1,3}(_[0-9])?", fullmatch=True), min_size=1, max_size=12, unique=True
    )
)
def test_keys_are_distinct_without_case(cols):
    keys = extension_keys(cols)
    assert set(keys) == set(cols)
    assert len({k.lower() for k in keys.values()}) == len(cols)
    assert all(k.startswith("x_") for k in keys.values())


def test_a_named_time_zone_is_refused_on_its_row_and_leaks_nowhere(ledger, tmp_path, sample):
    header, rows = read_rows(sample)
    col = {n: i for i, n in enumerate(header)}
    rows = [list(r) for r in rows[:8]]
    expected = [(r[col["ChargePeriodStart"]], r[col["BillingPeriodStart"]]) for r in rows]
    rows[1][col["BillingPeriodStart"]] = rows[1][col["BillingPeriodStart"]][:10] + " 00:00:00 PST"
    rows[3][col["ChargePeriodStart"]] = rows[3][col["ChargePeriodStart"]][:10] + " 00:00:00 EST"
    rows[5][col["ChargePeriodStart"]] = rows[5][col["ChargePeriodStart"]][:10] + " 00:00:00 UTC"
    [r] = ledger.ingest([write_rows(tmp_path / "tz.csv", header, rows)])
    assert (r.rows_loaded, r.rows_quarantined) == (6, 2)
    q = ledger.quarantine.order_by("source_line").to_pyarrow().to_pylist()
    assert [x["source_line"] for x in q] == [3, 5]
    assert "BillingPeriodStart" in q[0]["reason"] and "ChargePeriodStart" in q[1]["reason"]
    got = ledger.charges.order_by("x_source_line").select("ChargePeriodStart", "BillingPeriodStart").execute()
    expected[5] = (expected[5][0][:10] + "T00:00:00Z", expected[5][1])  # " UTC" is read as UTC
    kept = [e for i, e in enumerate(expected) if i not in (1, 3)]
    from datetime import datetime

    def parse(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)

    assert [
        (a.to_pydatetime(), b.to_pydatetime())
        for a, b in zip(got.ChargePeriodStart, got.BillingPeriodStart, strict=True)
    ] == [(parse(c), parse(b)) for c, b in kept]


def test_a_file_name_that_is_not_utf8_loads_and_is_shown_escaped(tmp_path, sample):
    import os

    header, rows = read_rows(sample)
    good = write_rows(tmp_path / "plain.csv", header, rows[:4])
    odd = os.fsdecode(os.fsencode(tmp_path) + b"/bill-\xff.csv")
    os.rename(good, odd)
    from computeledger import open_ledger

    with open_ledger(tmp_path / "l.duckdb") as lg:
        [r] = lg.ingest([tmp_path])
        assert (r.status, r.rows_loaded) == ("loaded", 4)
        assert r.path.endswith("bill-\\xff.csv")
        assert lg.charges.x_source_file.execute().iloc[0].endswith("bill-\\xff.csv")
