"""A sensor source for the tests that drive a real Sampler: its readings are whatever the test sets."""
from __future__ import annotations


class ListSource:
    """A sensor source whose readings the test sets directly (`pairs`)."""

    def __init__(self, pairs=()):
        self.pairs = list(pairs)

    def sample(self):
        return list(self.pairs)

    def close(self):
        pass
