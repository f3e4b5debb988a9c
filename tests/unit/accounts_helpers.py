"""Accounts for the unit tests: a store in tmp_path, cheap password hashes, a clock the test sets."""
from __future__ import annotations

from pathlib import Path

from argon2 import PasswordHasher

from frostserver.accounts.actions import Accounts
from frostserver.accounts.hash_gate import HashGate
from frostserver.accounts.passwords import Passwords
from frostserver.accounts.store import AccountStore
from frostserver.config.access import AccessConfig

from clocks import WallClock

START = 1_800_000_000.0


def cheap_passwords() -> Passwords:
    """Argon2id at its smallest: the same code paths, a thousandth of the cost."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def make_accounts(tmp_path: Path, access: AccessConfig | None = None, gate: HashGate | None = None,
                  clock: WallClock | None = None) -> Accounts:
    (tmp_path / "run").mkdir(parents=True, exist_ok=True)
    return Accounts(AccountStore(tmp_path), tmp_path / "run", access or AccessConfig(), gate or HashGate(),
                    passwords=cheap_passwords(), clock=clock or WallClock(START))
