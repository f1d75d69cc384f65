"""Unit economics: what a million tokens costs and earns, and the gross margin of serving."""
