"""Passwords: hashed with Argon2id (argon2-cffi), checked in the same time whether or not the user exists.

The parameters, for a small board (README, "Accounts": what one hash costs here and on a
Raspberry Pi): OWASP's password storage cheat sheet lists equally strong Argon2id settings that
trade memory for passes (m=19 MiB t=2, m=12 MiB t=3, m=9 MiB t=4, ... all p=1). FrostServer takes
m=12 MiB, t=3, p=1: a worker hashes one password at a time (hash_gate.py), so the two workers hold
24 MiB for it at most, which the app's 192 MiB limit has room for beside its other ceilings;
19 MiB each would not leave that room. The hash string records its parameters, so a later change
re-hashes each password at its owner's next sign-in (needs_rehash).
"""

from __future__ import annotations

import secrets
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

TIME_COST = 3  # passes over the memory
MEMORY_COST = 12 * 1024  # KiB
PARALLELISM = 1  # one thread: a small board has other work, and a login is no hurry
HASH_LENGTH = 32  # bytes
SALT_LENGTH = 16  # bytes


def default_hasher() -> PasswordHasher:
    """Return the Argon2id hasher of the parameters above."""
    return PasswordHasher(
        time_cost=TIME_COST,
        memory_cost=MEMORY_COST,
        parallelism=PARALLELISM,
        hash_len=HASH_LENGTH,
        salt_len=SALT_LENGTH,
        type=Type.ID,
    )


class Passwords:
    """Hash and check passwords; an unknown user is checked against a dummy hash, at the same cost."""

    def __init__(self, hasher: PasswordHasher | None = None):
        self.hasher = default_hasher() if hasher is None else hasher
        self._dummy: str | None = None
        self._lock = threading.Lock()

    def hash(self, password: str) -> str:
        """Return the hash string of a password (its parameters and salt included)."""
        return self.hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """Tell whether the password matches the hash; None (no such user): the same work, then False."""
        if password_hash is None:
            # The work a real check does, so that timing does not tell which names exist.
            self._verify(self._dummy_hash(), password)
            return False
        return self._verify(password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """Tell whether a hash was made with other parameters than today's."""
        try:
            return self.hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def _dummy_hash(self) -> str:
        with self._lock:
            if self._dummy is None:
                self._dummy = self.hasher.hash(secrets.token_urlsafe(16))  # a password nobody knows
            return self._dummy
