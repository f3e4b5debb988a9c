"""The audit log: every sign-in, sign-out, failure, claim, account and token change, in the database and the log.

An event says who (`actor`: a user, a token, `cli` for the device's shell, `-` for nobody signed
in), did what (`action`, one of ACTIONS), to whom or what (`target`: a user's or token's name, never
a secret), from where (`client`: the address nginx saw, or `local`) and how it ended (`outcome`).
Passwords, tokens, session ids and setup codes never reach it: no event has a field for them. The
database keeps the newest events (store.AUDIT_KEPT); each is also one log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .store import AccountStore, AuditEvent

log = logging.getLogger("frostserver.accounts")

ACTIONS = frozenset(
    {
        "login",
        "login_failed",
        "logout",
        "claim",
        "user_added",
        "user_changed",
        "user_removed",
        "sessions_ended",
        "token_added",
        "token_revoked",
        "setup_code_failed",
    }
)
NOBODY = "-"


class Audit:
    """Record audit events in the accounts database and the log."""

    def __init__(self, store: AccountStore, clock: Callable[[], float]):
        self.store = store
        self.clock = clock

    def record(self, action: str, *, actor: str, target: str, client: str, outcome: str = "ok") -> AuditEvent:
        """Record one event (actor, target and client are names and addresses, never secrets)."""
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}")  # a bug: every action is declared above
        event = AuditEvent(self.clock(), actor, action, target, client, outcome)
        # %r: names are plain by their rules, but a name tried at sign-in is whatever was typed.
        log.info("audit: %s %s by %r from %s: %s", action, repr(target), actor, client, outcome)
        self.store.add_event(event)
        return event
