"""The corpus's mapped invoices, mappings, usage, revenue and bank files (split from
test_corpus.py so that two workers share the corpus)."""

from __future__ import annotations

import pytest

from tests.hostile import check
from tests.hostile.test_corpus import _params

pytestmark = pytest.mark.slow  # the hostile corpus of inputs: a ledger per case (a minute of the fast tier)


@pytest.mark.parametrize("case", _params("inputs"))
def test_input_case(case, bases, tmp_path):
    check.run(case, tmp_path, bases)
