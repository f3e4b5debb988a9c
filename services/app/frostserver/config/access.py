"""[access]: who may read without signing in, how long a browser's session lasts, how guessing is slowed.

    [access]
    anonymous = "read"           # or "none": every read needs a session or a token
    session_idle = "12h"         # a session unused this long ends
    session_lifetime = "168h"    # a session ends this long after sign-in, used or not
    login_attempts = 5           # wrong passwords for one account before it waits
    address_attempts = 20        # wrong passwords from one client address before it waits
    lockout = "1m"               # the first wait; each further one in a row doubles...
    max_lockout = "5m"           # ...up to this (so the owner never waits longer)

The accounts themselves are not configuration: they live in accounts.db (frostserver/accounts/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import validate
from .errors import Invalid, KeyPath

ACCESS_KEYS = (
    "anonymous",
    "session_idle",
    "session_lifetime",
    "login_attempts",
    "address_attempts",
    "lockout",
    "max_lockout",
)
ANONYMOUS = ("read", "none")
DAY = 86400.0
# The longest wait one lockout may impose: the owner must never be locked out of the device for
# long (issue 21), whatever a config file says.
LONGEST_LOCKOUT = 3600.0


@dataclass(frozen=True)
class AccessConfig:
    """The [access] table, validated; the defaults are a trusted network's."""

    anonymous: str = "read"  # "read": anyone may read, as before accounts; "none": reads need a session or token
    session_idle: float = 12 * 3600.0  # s
    session_lifetime: float = 7 * DAY  # s
    login_attempts: int = 5  # per account, before a lockout
    address_attempts: int = 20  # per client address, before a lockout
    lockout: float = 60.0  # s: the first lockout
    max_lockout: float = 300.0  # s: lockouts in a row double up to this

    @property
    def anonymous_may_read(self) -> bool:
        """Tell whether a request without a session or token may read."""
        return self.anonymous == "read"


def parse_access(value: Any) -> AccessConfig:
    """Parse the [access] table (absent: the defaults)."""
    key: KeyPath = ("access",)
    body = validate.table(value, key)
    validate.reject_unknown(body, ACCESS_KEYS, key)
    defaults = AccessConfig()
    anonymous = validate.one_of(body.get("anonymous", defaults.anonymous), (*key, "anonymous"), ANONYMOUS)
    idle = positive_duration(body, "session_idle", defaults.session_idle, 30 * DAY)
    lifetime = positive_duration(body, "session_lifetime", defaults.session_lifetime, 365 * DAY)
    if idle > lifetime:
        raise Invalid(
            (*key, "session_idle"),
            f"must be at most session_lifetime ({validate.in_words(lifetime)}), got {validate.in_words(idle)}",
        )
    login_attempts = whole_number(body, "login_attempts", defaults.login_attempts, 1, 1000)
    address_attempts = whole_number(body, "address_attempts", defaults.address_attempts, 1, 100000)
    lockout = positive_duration(body, "lockout", defaults.lockout, LONGEST_LOCKOUT)
    max_lockout = positive_duration(body, "max_lockout", defaults.max_lockout, LONGEST_LOCKOUT)
    if max_lockout < lockout:
        raise Invalid(
            (*key, "max_lockout"),
            f"must be at least lockout ({validate.in_words(lockout)}), got {validate.in_words(max_lockout)}",
        )
    return AccessConfig(anonymous, idle, lifetime, login_attempts, address_attempts, lockout, max_lockout)


def positive_duration(body: dict[str, Any], name: str, default: float, longest: float) -> float:
    """Return a duration of the table above zero (a zero session or lockout would mean none at all)."""
    key: KeyPath = ("access", name)
    seconds = validate.duration(body.get(name, default), key, longest)
    if seconds < 1:
        raise Invalid(key, f'must be at least one second, like "30s" or "5m", got {validate.show(body[name])}')
    return seconds


def whole_number(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    """Return a whole number of the table within [low, high]."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(("access", name), f"must be a whole number between {low} and {high}, got {validate.show(value)}")
    return value
