"""Files the ledger writes for other tools: FOCUS out."""
