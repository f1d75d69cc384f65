"""The corpus's mapped invoices, mappings, usage, revenue and bank files (split from
test_corpus.py so that two workers share the corpus)."""

from __future__ import annotations

import pytest

from tests.hostile import check
from tests.hostile.test_corpus import _params


@pytest.mark.parametrize("case", _params("inputs"))
def test_input_case(case, bases, tmp_path):
    check.run(case, tmp_path, bases)
