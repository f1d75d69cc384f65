"""The helpers that keep one set of Ibis rules for every backend, checked on each."""

from __future__ import annotations

import ibis
import pytest

from computeledger import portable

TEXT = ['{"Team": "Serving", "n": 8}', "[1, 2]", "not json", None, '{"a": {"b": 1}, "n": null, "x/~y": "k"}']
WORDS = [" inf ", "fev\t", "08/02/2024", "tra-atlas-l-node-3"]


@pytest.fixture(scope="module", params=["duckdb", pytest.param("spark", marks=pytest.mark.slow)])
def con(request):
    if request.param == "duckdb":
        return ibis.duckdb.connect()
    from computeledger.store.spark import session

    return ibis.pyspark.connect(session())


def table(con, values: list, name: str):
    """A table of the backend itself (the helpers choose by the backend a table lives on)."""
    rows = list(enumerate(values))
    if con.name == "pyspark":
        con._session.createDataFrame(rows, "i int, v string").createOrReplaceTempView(name)
        return con.table(name)
    return con.create_table(name, ibis.memtable({"i": [i for i, _ in rows], "v": values}), temp=True)


def run(con, t, **columns):
    return con.to_pyarrow(t.select(t.i, **{k: f(t.v) for k, f in columns.items()}).order_by("i")).to_pydict()


def test_json_fields_and_objects(con):
    got = run(
        con,
        table(con, TEXT, "cl_portable_json"),
        team=lambda v: portable.json_field(v, "Team"),
        n=lambda v: portable.json_field(v, "n"),
        a=lambda v: portable.json_field(v, "a"),
        odd=lambda v: portable.json_field(v, "x/~y"),
        obj=lambda v: portable.is_json_object(v).fill_null(False),
    )
    assert got["team"] == ["Serving", None, None, None, None]
    assert got["n"] == ["8", None, None, None, None]  # a number as its digits, JSON null as null
    assert got["a"] == [None, None, None, None, '{"b":1}']
    assert got["odd"] == [None, None, None, None, "k"]
    assert got["obj"] == [True, False, False, False, True]


def test_strip_regex_groups_and_back_references(con):
    pattern = r"^(inf|tra)-(.+)-node-\d+$"  # rules.py makes named groups plain, for RE2 and Java alike
    got = run(
        con,
        table(con, WORDS, "cl_portable_words"),
        s=portable.strip,
        us=lambda v: portable.re_replace(v, r"^(\d{2})/(\d{2})/(\d{4})$", r"\3-\1-\2"),
        model=lambda v: v.re_extract(pattern, 2),
    )
    assert got["s"] == ["inf", "fev", "08/02/2024", "tra-atlas-l-node-3"]  # v and f stay
    assert got["us"] == [" inf ", "fev\t", "2024-08-02", "tra-atlas-l-node-3"]
    assert got["model"][3] == "atlas-l"


def test_a_backend_without_an_implementation_is_an_error_naming_it(monkeypatch):
    from computeledger.errors import UsageError

    monkeypatch.setattr(portable, "backend_name", lambda expr: "polars")
    v = ibis.literal("x")
    for helper in (lambda: portable.json_field(v, "k"), lambda: portable.strip(v),
                   lambda: portable.is_json_object(v), lambda: portable.re_replace(v, "a", "b")):  # fmt: skip
        with pytest.raises(UsageError, match="no implementation for the 'polars' backend"):
            helper()


VALUES = [None, "plain", 'say "hi"', "back\\slash", "line\nbreak\ttab\x01", "ünïcode ✓", "", "{}"]


def test_an_object_of_the_members_with_a_value(con):
    """json_object_text: the members with a value, in order, each a JSON string that reads
    back to its text; null members left out, and no member at all is null (on each engine)."""
    import json

    rows = [(i, a, b) for i, (a, b) in enumerate((a, b) for a in VALUES for b in VALUES[::-1])]
    if con.name == "pyspark":
        con._session.createDataFrame(rows, "i int, a string, b string").createOrReplaceTempView("cl_object")
        t = con.table("cl_object")
    else:
        cols = {"i": [r[0] for r in rows], "a": [r[1] for r in rows], "b": [r[2] for r in rows]}
        t = con.create_table("cl_object", ibis.memtable(cols), temp=True)
    keys = ("x_a", 'x_"b"/ü')
    got = con.to_pyarrow(
        t.select(t.i, o=portable.json_object_text({keys[0]: t.a, keys[1]: t.b})).order_by("i")
    ).to_pydict()["o"]
    for (_, x, y), text in zip(rows, got, strict=True):
        want = {k: v for k, v in zip(keys, (x, y), strict=True) if v is not None}
        assert (json.loads(text) if text is not None else None) == (want or None), (x, y, text)
        if text is not None:
            assert list(json.loads(text)) == list(want)  # in the order given
