"""The accounting tests' ledger: the six-month lab of tests/conftest.py (`books`), opened
read-only."""

from __future__ import annotations

import pytest

from computeledger import open_ledger


@pytest.fixture
def books_ledger(books):
    with open_ledger(books[0], read_only=True) as lg:
        yield lg
