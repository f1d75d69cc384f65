"""The report's tests read the accounting tests' six-month lab (built once a session)."""

from tests.accounting.conftest import books  # noqa: F401
