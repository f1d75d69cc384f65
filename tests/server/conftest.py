"""The server's tests: an application over a ledger, its snapshots in the test run's own
temporary folder."""

from __future__ import annotations

import pytest

from computeledger.cli.serve import resolve
from computeledger.server import create


@pytest.fixture(scope="session")
def make_app(tmp_path_factory):
    """make(ledger, contracts=None, token=None): the application `computeledger serve` runs."""

    def make(ledger, contracts=None, token=None):
        scratch = tmp_path_factory.mktemp("serve")
        return create(resolve(None, str(ledger), token, contracts, [], [], scratch=scratch))

    return make
