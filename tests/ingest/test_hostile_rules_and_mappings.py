"""Issue 14, items 13 and 14: what a rules file or a mapping lets through is what the engine
runs; what it cannot run is refused when the file is read, naming the place."""

from __future__ import annotations

import pytest

from computeledger.allocate.rules import load_rules
from computeledger.errors import UsageError
from computeledger.ingest.mapping import load_mapping
from computeledger.shipped import INVOICE_MAPPING, SYNTH_RULES, find

BASE = INVOICE_MAPPING.read_text(encoding="utf-8")


def mapping(tmp_path, extra: str):
    path = tmp_path / "m.toml"
    path.write_text(BASE + "\n" + extra)
    return path


def test_the_shipped_mappings_pass_their_dry_run():
    from computeledger.ingest.revenue import load_revenue_mapping

    assert load_mapping(find("gpu-cloud-invoice", "mappings")).expressions
    assert load_revenue_mapping(find("stripe-invoice-lines", "mappings")).expressions


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("ROUND(rate_usd, 2)", "cannot be computed over the file's text columns"),
        ("ABS(instance_hours)", "cannot be computed over the file's text columns"),
    ],
)
def test_functions_the_engine_cannot_bind_are_refused_on_reading(tmp_path, expression, message):
    text = BASE.replace("[expressions]", f'[expressions]\nx_test = "{expression}"', 1)
    path = tmp_path / "m.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=r"\[expressions\] x_test = .*" + message):
        load_mapping(path)


def test_deep_parentheses_are_refused_before_parsing(tmp_path, monkeypatch):
    """40 nested parentheses kept the parser busy for 80 s: they never reach it now."""
    import sqlglot

    deep = "(" * 40 + "rate_usd" + ")" * 40
    path = tmp_path / "m.toml"
    path.write_text(BASE + f'x_test = "{deep}"\n')  # the last entry of [expressions]
    parsed = []
    real = sqlglot.parse_one
    monkeypatch.setattr(sqlglot, "parse_one", lambda text, **kw: parsed.append(text) or real(text, **kw))
    with pytest.raises(UsageError, match=r"12 parentheses deep .*40 deep"):
        load_mapping(path)
    assert deep not in parsed and parsed  # the shipped expressions were parsed, the deep one was not


def test_long_chains_of_arithmetic_are_refused(tmp_path):
    chain = " + ".join(["rate_usd"] * 40)
    path = tmp_path / "m.toml"
    path.write_text(BASE.replace("[expressions]", f'[expressions]\nx_test = "{chain}"', 1))
    with pytest.raises(UsageError, match=r"x_test: at most 32 arithmetic operators an expression \(39\)"):
        load_mapping(path)


def test_a_missing_gpu_catalogue_and_a_deep_toml_array_are_one_line_each(tmp_path):
    with pytest.raises(UsageError, match=r"\[gpu\] catalog: no such file .*nowhere.csv"):
        load_mapping(mapping(tmp_path, '[gpu]\ncatalog = "nowhere.csv"\n'))
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(UsageError, match="nested too deeply"):
        load_mapping(deep)
    with pytest.raises(UsageError, match="nested too deeply"):
        load_rules(deep)


@pytest.mark.parametrize("pattern", [r"(a)\\1", "^(?=a)a", "(?x) a", "a(?<!b)"])
def test_rules_regexes_are_checked_against_the_engines_dialect(tmp_path, pattern):
    text = SYNTH_RULES.read_text(encoding="utf-8")
    first = text.index("[[rules]]")
    rule = (
        f'[[rules]]\nname = "hostile"\nset = {{ workload = "training" }}\n'
        f'match = {{ ResourceId = "{pattern}" }}\n\n'
    )
    path = tmp_path / "rules.toml"
    path.write_text(text[:first] + rule + text[first:])
    with pytest.raises(UsageError, match="not a regular expression the engines read"):
        load_rules(path)


def _sample_with(tmp_path, name: str, extra_header: list[str], extra_value: str):
    import csv

    from computeledger.shipped import FOCUS_SAMPLE

    with FOCUS_SAMPLE.open(newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    path = tmp_path / name
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(rows[0] + extra_header)
        for r in rows[1:6]:
            w.writerow(r + [extra_value] * len(extra_header))
    return path


def test_a_focus_column_named_twice_and_a_3000_column_file_are_refused(tmp_path):
    """Issue 14, item 18: a second BilledCost was silently dropped; 3,000 columns ran the
    engine out of memory. Each is now a refusal with its reason, the ledger untouched."""
    from computeledger import open_ledger

    dup = _sample_with(tmp_path, "dup.csv", ["BilledCost"], "999")
    wide = _sample_with(tmp_path, "wide.csv", [f"c{k}" for k in range(3000)], "1")
    with open_ledger(tmp_path / "l.duckdb") as lg:
        got = lg.ingest([dup, wide])
        assert [r.status for r in got] == ["refused", "refused"]
        assert "names a FOCUS column more than once" in got[0].message and "BilledCost" in got[0].message
        assert got[1].message.startswith("3,044 columns: a bill is read with at most 1,000")
        assert lg.charges.count().to_pyarrow().as_py() == 0
