"""Accounting: the same compute on three bases (billed, effective, cash), commitments,
credits, revenue share, the statement, the bridge between bases, burn and runway."""
