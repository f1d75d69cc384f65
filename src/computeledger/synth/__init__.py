"""The synthetic AI company: bills with a known truth, for the demo, the tests and benchmarks."""

from computeledger.synth.generate import generate

__all__ = ["generate"]
