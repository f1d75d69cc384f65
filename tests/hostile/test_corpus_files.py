"""The corpus's rules, figures, demand, ledger, contracts, scenario, budgets and argument
cases (split from test_corpus.py so that two workers share the corpus)."""

from __future__ import annotations

import pytest

from tests.hostile import check
from tests.hostile.test_corpus import _params

pytestmark = pytest.mark.slow  # the hostile corpus of files: a ledger per case


@pytest.mark.parametrize("case", _params("files"))
def test_file_case(case, bases, tmp_path):
    check.run(case, tmp_path, bases)
