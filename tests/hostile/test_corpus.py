"""Every case of the hostile corpus (tests/hostile/corpus.py) through the command line:
exit code, one clear message naming the file (and line and column where they exist), no
traceback, no hang, the ledger as it was after a refusal, conservation after a partial load."""

from __future__ import annotations

import json

import pytest

from tests.hostile import check
from tests.hostile.corpus import cases

pytestmark = pytest.mark.slow  # the hostile corpus of bills: a ledger per case

CASES = cases()
KINDS = {
    "bills": ("bills",),
    "inputs": ("mapped", "mapping", "usage", "revenue", "cash"),
    "files": ("rules", "figures", "demand", "ledger", "contracts", "scenario", "budgets", "args"),
}


def test_the_corpus_is_large_and_covers_every_input_kind():
    kinds = {c.kind for c in CASES}
    assert len(CASES) >= 300
    assert kinds == {k for group in KINDS.values() for k in group}


def _params(group: str):
    """The group's cases; the fast tier (-m "not slow") runs every fourth of each kind."""
    out, seen = [], {}
    for c in CASES:
        if c.kind in KINDS[group]:
            seen[c.kind] = seen.get(c.kind, -1) + 1
            slow = c.slow or seen[c.kind] % 4 != 0
            out.append(pytest.param(c, id=c.id, marks=[pytest.mark.slow] if slow else []))
    return out


@pytest.mark.parametrize("case", _params("bills"))
def test_bill_case(case, bases, tmp_path):
    check.run(case, tmp_path, bases)


def test_the_corpus_writes_itself_out(tmp_path, capsys):
    """`python -m tests.hostile.corpus OUT`: a folder per case and the manifest."""
    from tests.hostile.corpus import main

    main(str(tmp_path))
    manifest = json.loads((tmp_path / "cases.json").read_text())
    assert [m["id"] for m in manifest] == [c.id for c in CASES]
    assert (tmp_path / "bill-BilledCost-underscore" / "bill.csv").read_bytes().count(b"1_000") == 1
    assert f"{len(CASES)} cases written" in capsys.readouterr().out
