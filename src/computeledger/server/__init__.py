"""`computeledger serve`: a read-only JSON API and a dashboard over one ledger.

`snapshot` keeps the copy the server reads (it never holds the ledger's lock, so an
ingest in another process goes on); `api` answers under /api/v1/ with the commands'
JSON (through `computeledger.app`, the same functions the CLI calls); `dashboard` shows
the report's sections as a live page. `create` builds the application from settings
resolved once by the command.
"""

from computeledger.server.api import create

__all__ = ["create"]
