"""The allocated lab ledger fixture lives in tests/conftest.py (shared with capacity)."""
