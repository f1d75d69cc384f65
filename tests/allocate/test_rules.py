"""Rules files: clear errors naming the rule, and the matching semantics."""

from __future__ import annotations

import pytest

from computeledger import UsageError, open_ledger
from computeledger.allocate.rules import load_rules, parse_rules
from tests.conftest import RULES


def rules(text: str, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(text)
    return load_rules(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[rules]]\nname = "bad"\nmatch = { ResourceName = "(unclosed" }\nset = { workload = "training" }',
         "rule 'bad': match.ResourceName: bad regular expression '(unclosed'"),
        ('[[rules]]\nname = "nothing"\nmatch = { ResourceName = "x" }',
         "rule 'nothing': sets no dimension"),
        ('[[rules]]\nname = "typo"\nset = { wrokload = "training" }',
         "rule 'typo': unknown dimension 'wrokload'"),
        ('[[rules]]\nname = "w"\nset = { workload = "serving" }',
         "rule 'w': workload 'serving' is not one of"),
        ('[[rules]]\nname = "g"\nset = { model = "{name}" }', "rule 'g': set.model refers to {name}"),
        ('dimensions = ["team"]', "dimension 'team' is named twice"),
        ('dimensions = ["product", "product"]', "dimension 'product' is named twice"),
        ('[[rules]]\nname = "a"\nset = { team = "x" }\n[[rules]]\nname = "a"\nset = { team = "y" }',
         "rule 'a': the name is used twice"),
        ('[[splits]]\nname = "s"\ndriver = "headcount"\ntargets = { workload = ["inference"] }',
         "rule 's': driver must be one of gpu_hours, cost, tokens"),
        ('[[splits]]\nname = "s"\ndriver = "cost"\ntargets = { ServiceName = ["x"] }',
         "targets must select on dimensions"),
        ("[[rules]]\nset = { team = 'x' }", "every rule needs a name"),
        ("rules = 3\nfoo = 1", "unknown entries foo"),
    ],
)  # fmt: skip
def test_rule_errors_name_the_rule(tmp_path, text, message):
    with pytest.raises(UsageError) as info:
        rules(text, tmp_path)
    assert message in str(info.value)
    assert str(tmp_path / "rules.toml") in str(info.value)


def test_an_unknown_column_is_an_error_naming_the_rule(tmp_path, ledger):
    r = rules('[[rules]]\nname = "cols"\nmatch = { ResourceNme = "x" }\nset = { team = "x" }', tmp_path)
    with pytest.raises(UsageError, match="rule 'cols': unknown column 'ResourceNme'"):
        from computeledger.allocate.engine import allocate

        allocate(ledger, r)
    assert ledger.allocations.count().execute() == 0  # nothing written


def test_the_version_is_the_hash_of_the_file(tmp_path):
    a = load_rules(RULES)
    b = rules(RULES.read_text() + "\n# a comment\n", tmp_path)
    assert a.version != b.version and len(a.version) == 16
    assert parse_rules({}).rules == ()


def test_the_tokens_driver_says_what_is_missing(tmp_path, sample):
    r = rules(
        '[[rules]]\nname = "all"\nmatch = { ServiceCategory = "." }\nset = { workload = "shared" }\n'
        '[[splits]]\nname = "by tokens"\ndriver = "tokens"\nmatch = { workload = ["shared"] }\n'
        'targets = { workload = ["inference"] }\n',
        tmp_path,
    )
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([sample])
        from computeledger.allocate.engine import allocate

        with pytest.raises(UsageError, match="split 'by tokens': the tokens driver needs token usage"):
            allocate(lg, r)


def test_real_bills_without_rules_for_them_stay_unallocated(tmp_path, sample):
    """The FOCUS sample (AWS, Microsoft, Oracle) under the lab's rules: none of its tags say
    workload, so everything is unallocated, shown, with its largest resources."""
    from computeledger.allocate.report import coverage, unallocated_resources

    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([sample])
        run = lg.allocate(RULES)
        rows = coverage(lg).to_pyarrow().to_pylist()
        largest = unallocated_resources(lg).to_pyarrow().to_pylist()
        total = lg.summary([]).to_pyarrow().to_pylist()[0]
    assert run.charges == total["rows"]
    left = next(r for r in rows if r["rule"].startswith("(no rule"))
    assert left["EffectiveCost"] == total["EffectiveCost"] - sum(
        r["EffectiveCost"] for r in rows if not r["rule"].startswith("(no rule")
    )
    assert len(largest) == 5
    assert largest == sorted(largest, key=lambda r: -r["EffectiveCost"])


@pytest.mark.slow  # over 10 s: hundreds of rules over the sample
def test_hundreds_of_rules_place_like_one(tmp_path, sample):
    """Issue 14.14: 250 rules hit RecursionError (one CASE nested per rule); the first rule in
    file order that matches still wins."""
    from computeledger.allocate.engine import allocate
    from computeledger.allocate.report import coverage

    decoys = "".join(
        f'[[rules]]\nname = "r{i}"\nmatch = {{ ResourceId = "^never-{i}$" }}\n'
        'set = { workload = "training" }\n'
        for i in range(249)
    )
    last = (
        '[[rules]]\nname = "compute"\nmatch = { ServiceCategory = "^Compute$" }\n'
        'set = { workload = "inference" }\n'
    )
    with open_ledger(tmp_path / "l.duckdb") as lg:
        lg.ingest([sample])
        allocate(lg, rules(decoys + last, tmp_path))
        many = {r["rule"]: r["EffectiveCost"] for r in coverage(lg).to_pyarrow().to_pylist()}
        allocate(lg, rules(last, tmp_path))
        one = {r["rule"]: r["EffectiveCost"] for r in coverage(lg).to_pyarrow().to_pylist()}
    assert many == one and many["compute"] > 0
