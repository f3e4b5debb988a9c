"""Failed sign-ins, limited per account and per client address, in the accounts database (shared by every worker).

Each key (`account:<name>`, `address:<ip>`) counts failures. Reaching the allowance
(`[access] login_attempts` for an account, `address_attempts` for an address) locks the key for
`lockout` seconds and starts the count over; each further lockout in a row doubles the wait, up
to `max_lockout` (5 minutes by default): the owner is never locked out of the device for longer,
however hard someone else guesses. A key that has not failed for twice max_lockout is forgotten
(its lockouts no longer double). While a key is locked every attempt is refused with its
Retry-After, whatever the password, and before any password is hashed: a right password in a
lockout gets the same 429 (else the limit would tell a guesser which guess was right), and a
flood of attempts costs the device a database read each. A successful sign-in forgets the
account's and the address's failures.

Names nobody has are counted like real ones: the answers to an unknown user and to a wrong
password must not differ, 429s included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config.access import AccessConfig
from .model import name_key
from .store import AccountStore, FailureRecord


@dataclass(frozen=True)
class Keys:
    """The keys one attempt is counted under."""

    account: str | None  # None: an attempt that names no account (a setup code)
    address: str

    @property
    def all(self) -> tuple[str, ...]:
        """Return every key, the account's first."""
        return (self.account, self.address) if self.account is not None else (self.address,)


def keys_for(name: str | None, address: str) -> Keys:
    """Return the keys of an attempt for an account name (any text: unknown names count too) from an address."""
    return Keys(None if name is None else f"account:{name_key(name)[:128]}", f"address:{address}")


class LoginLimits:
    """The lockouts of failed sign-ins (and setup codes), as [access] sets them."""

    def __init__(self, store: AccountStore, access: AccessConfig):
        self.store = store
        self.access = access

    def retry_after(self, keys: Keys, now: float) -> int | None:
        """Return the seconds until these keys may try again, or None when none is locked."""
        records = self.store.failures(keys.all)
        waits = [record.locked_until - now for record in records.values() if record.locked_until > now]
        return math.ceil(max(waits)) if waits else None

    def failed(self, keys: Keys, now: float) -> int | None:
        """Count a failure; return the seconds of the lockout it began, or None when it began none."""

        def count(key: str, old: FailureRecord | None) -> FailureRecord:
            allowance = self.access.login_attempts if key == keys.account else self.access.address_attempts
            if old is None or now - old.last_failure > 2 * self.access.max_lockout:
                old = FailureRecord(0, 0, now, 0.0)  # quiet for long enough: start over
            failures, lockouts, locked_until = old.failures + 1, old.lockouts, old.locked_until
            if failures >= allowance:
                lockouts += 1
                wait = min(self.access.lockout * 2 ** min(lockouts - 1, 30), self.access.max_lockout)
                failures, locked_until = 0, now + wait
            return FailureRecord(failures, lockouts, now, locked_until)

        records = self.store.update_failures(keys.all, count)
        waits = [record.locked_until - now for record in records.values() if record.locked_until > now]
        return math.ceil(max(waits)) if waits else None

    def succeeded(self, keys: Keys) -> None:
        """Forget the failures of the account and the address after a successful sign-in."""
        self.store.clear_failures(keys.all)
