"""computeledger: an exact, auditable ledger for the economics of AI compute."""

from computeledger.errors import ComputeLedgerError, LedgerInUse, UsageError
from computeledger.ledger import Ledger, open_ledger

__all__ = ["ComputeLedgerError", "Ledger", "LedgerInUse", "UsageError", "open_ledger"]
__version__ = "0.1.0"
