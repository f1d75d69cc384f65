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
