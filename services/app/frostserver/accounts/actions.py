"""Accounts: what can be done with the accounts, by the HTTP side and by the CLI alike, each step audited.

Signing in and out, claiming the device, identifying a session or a token, managing users and
tokens. It puts the parts together (the store, the passwords and their gate, the limits, the
audit log, the setup code) and enforces the rules that span them; who may ask for what is the
HTTP side's check (http/access.py), or the device's shell for the CLI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from ..config.access import AccessConfig
from . import sessions, tokens
from .audit import NOBODY, Audit
from .hash_gate import HashGate
from .limits import LoginLimits, keys_for
from .model import (
    NAME,
    Conflict,
    Limited,
    Principal,
    Refused,
    Role,
    Scope,
    SignedIn,
    Token,
    User,
    Via,
    WrongCredentials,
    check_name,
    check_password,
)
from .passwords import Passwords
from .setup_code import SetupCode, shown
from .store import AccountStore, AuditEvent

log = logging.getLogger("frostserver.accounts")

UNKNOWN_USER = "(unknown user)"  # the audit's target for a sign-in under a name nobody has: never what was typed


class Accounts:
    """The accounts of one device: the store in `directory`, the setup code in `run_dir`."""

    def __init__(
        self,
        store: AccountStore,
        run_dir: Path,
        access: AccessConfig,
        gate: HashGate,
        *,
        passwords: Passwords | None = None,
        clock: Callable[[], float],
    ):
        self.store = store
        self.access = access
        self.gate = gate
        self.passwords = Passwords() if passwords is None else passwords
        self.clock = clock
        self.setup_code = SetupCode(run_dir)
        self.limits = LoginLimits(store, access)
        self.audit = Audit(store, clock)
        self.lifetimes = sessions.SessionLifetimes(access.session_idle, access.session_lifetime)

    # --- claiming ------------------------------------------------------------------------------

    def claimable(self) -> bool:
        """Tell whether the device has no admin yet (so the setup code may claim it)."""
        return not self.store.admin_exists()

    def current_setup_code(self) -> str | None:
        """Return the setup code (made if need be) while no admin exists; discard it and return None once one does."""
        if not self.claimable():
            self.setup_code.discard()
            return None
        return shown(self.setup_code.ensure())

    def announce(self) -> str | None:
        """Log the setup code while no admin exists (once per process start: create_app); return it."""
        code = self.current_setup_code()
        if code is not None:
            log.warning(
                "FrostServer is not claimed yet: open http://<device>:8080/ and enter the setup code %s, "
                "or run `make user NAME=... ROLE=admin`",
                code,
            )
        return code

    def claim(self, code: str, name: str, password: str, client: str) -> SignedIn:
        """Make the first admin with the setup code, and sign it in.

        Conflict once an admin exists; Limited after too many wrong codes from the client; Refused
        for a wrong or used code; BadInput for the name or password.
        """
        if not self.claimable():
            self.setup_code.discard()
            raise Conflict("This device has an admin already: sign in instead")
        keys = keys_for(None, client)
        now = self.clock()
        wait = self.limits.retry_after(keys, now)
        if wait is not None:
            raise Limited(wait)
        if not self.setup_code.matches(code):
            self.limits.failed(keys, now)
            self.audit.record("setup_code_failed", actor=NOBODY, target="-", client=client, outcome="refused")
            raise Refused("Wrong or used setup code")
        check_name(name, "username")
        check_password(password)
        with self.gate.turn():
            password_hash = self.passwords.hash(password)
        user = self.store.add_user(name, Role.ADMIN, password_hash, self.clock(), only_first_admin=True)
        self.setup_code.discard()
        self.limits.succeeded(keys)
        self.audit.record("claim", actor=user.name, target=user.name, client=client)
        return self._open_session(user.name, client, action="login")

    # --- signing in and out --------------------------------------------------------------------

    def login(self, name: str, password: str, client: str) -> SignedIn:
        """Sign a user in: Limited while locked out (whatever the password), WrongCredentials otherwise.

        An unknown user costs the same work as a wrong password (a dummy hash) and gets the same answer.
        """
        keys = keys_for(name, client)
        wait = self.limits.retry_after(keys, self.clock())
        if wait is not None:
            self.audit.record(
                "login_failed", actor=NOBODY, target=self._target(name), client=client, outcome="locked out"
            )
            raise Limited(wait)
        credentials = self.store.credentials(name)
        with self.gate.turn():
            right = self.passwords.verify(None if credentials is None else credentials.password_hash, password)
            rehashed = (
                self.passwords.hash(password)
                if right and credentials is not None and self.passwords.needs_rehash(credentials.password_hash)
                else None
            )
        if not right or credentials is None:
            wait = self.limits.failed(keys, self.clock())
            outcome = "wrong password" if wait is None else f"wrong password; locked out for {wait} s"
            target = UNKNOWN_USER if credentials is None else credentials.name
            self.audit.record("login_failed", actor=NOBODY, target=target, client=client, outcome=outcome)
            raise WrongCredentials()
        if rehashed is not None:
            self.store.set_password(credentials.name, rehashed)
        self.limits.succeeded(keys)
        return self._open_session(credentials.name, client, action="login")

    def _open_session(self, name: str, client: str, action: str) -> SignedIn:
        now = self.clock()
        cookie, id_hash = sessions.new_session_id()
        csrf = sessions.new_csrf_token()
        self.store.add_session(name, id_hash, csrf, now, created_before=now - self.lifetimes.lifetime)
        self.store.note_login(name, now)
        self.audit.record(action, actor=name, target=name, client=client)
        return SignedIn(self.user(name), cookie, csrf)

    def logout(self, principal: Principal | None, client: str) -> None:
        """End the session of the request (nothing to do without one)."""
        if principal is None or principal.session_hash is None:
            return
        if self.store.end_session(principal.session_hash):
            self.audit.record("logout", actor=principal.name, target=principal.name, client=client)

    def _target(self, name: str) -> str:
        credentials = self.store.credentials(name) if NAME.fullmatch(name) else None
        return UNKNOWN_USER if credentials is None else credentials.name

    # --- who is asking -------------------------------------------------------------------------

    def session(self, cookie: str | None) -> Principal | None:
        """Return who a session cookie signs in, or None (absent, malformed, ended, expired)."""
        id_hash = sessions.parse_cookie(cookie)
        if id_hash is None:
            return None
        record = self.store.session(id_hash)
        now = self.clock()
        if record is None or not self.lifetimes.alive(record.created, record.last_seen, now):
            return None
        if self.lifetimes.needs_touch(record.last_seen, now):
            self.store.touch_session(id_hash, now)
        return Principal(record.user, Via.SESSION, record.role, session_hash=id_hash, csrf_token=record.csrf_token)

    def token(self, text: str) -> Principal | None:
        """Return who a bearer token is, or None (malformed, revoked, never made)."""
        token_hash = tokens.parse_token(text)
        if token_hash is None:
            return None
        record = self.store.token(token_hash)
        if record is None:
            return None
        now = self.clock()
        if record.last_used is None or self.lifetimes.needs_touch(record.last_used, now):
            self.store.touch_token(record.id, now)
        role = Role.ADMIN if record.scope is Scope.WRITE else Role.VIEWER
        return Principal(record.name, Via.TOKEN, role, scope=record.scope, token_id=record.id)

    def still_valid(self, principal: Principal) -> bool:
        """Tell whether the session or token that signed a request in still exists and has not expired."""
        if principal.via is Via.TOKEN:
            return principal.token_id is not None and self.store.token_alive(principal.token_id)
        if principal.session_hash is None:
            return False
        record = self.store.session(principal.session_hash)
        return record is not None and self.lifetimes.alive(record.created, record.last_seen, self.clock())

    # --- users ---------------------------------------------------------------------------------

    def users(self) -> list[User]:
        """Return every user with their live sessions counted."""
        now = self.clock()
        return self.store.users(now, now - self.lifetimes.idle, now - self.lifetimes.lifetime)

    def user(self, name: str) -> User:
        """Return one user; NotFound if there is none."""
        now = self.clock()
        return self.store.user(name, now, now - self.lifetimes.idle, now - self.lifetimes.lifetime)

    def add_user(self, actor: str, name: str, password: str, role: Role, client: str) -> User:
        """Add a user; BadInput, Conflict (name taken) or Busy."""
        check_name(name)
        check_password(password)
        with self.gate.turn():
            password_hash = self.passwords.hash(password)
        user = self.store.add_user(name, role, password_hash, self.clock())
        self.audit.record("user_added", actor=actor, target=user.name, client=client, outcome=f"role {role.value}")
        if role is Role.ADMIN:
            self.setup_code.discard()  # an admin exists: the device is claimed
        return user

    def change_user(
        self,
        actor: Principal | str,
        name: str,
        client: str,
        *,
        password: str | None = None,
        role: Role | None = None,
        current_password: str | None = None,
    ) -> User:
        """Change a user's password and/or role.

        A user changing their own password gives the current one too (Refused when wrong; Limited
        like a sign-in). A password change ends the user's other sessions (all of them when
        changed by someone else, or on the device's shell).
        """
        user = self.user(name)
        actor_name = actor if isinstance(actor, str) else actor.name
        keep = None
        if password is not None:
            check_password(password)
            if isinstance(actor, Principal) and actor.via is Via.SESSION and actor.name == user.name:
                keep = actor.session_hash
                self._check_current_password(user.name, current_password, client)
            with self.gate.turn():
                password_hash = self.passwords.hash(password)
            self.store.set_password(user.name, password_hash)
            ended = self.store.end_sessions(user.name, keep=keep)
            outcome = f"password; {ended} sessions ended"
            self.audit.record("user_changed", actor=actor_name, target=user.name, client=client, outcome=outcome)
        if role is not None and role is not user.role:
            self.store.set_role(user.name, role)
            outcome = f"role {role.value}"
            self.audit.record("user_changed", actor=actor_name, target=user.name, client=client, outcome=outcome)
            if role is Role.ADMIN:
                self.setup_code.discard()
        return self.user(user.name)

    def _check_current_password(self, name: str, current_password: str | None, client: str) -> None:
        if not isinstance(current_password, str):
            raise Refused("current_password: give your current password to change it")
        keys = keys_for(name, client)
        wait = self.limits.retry_after(keys, self.clock())
        if wait is not None:
            raise Limited(wait)
        credentials = self.store.credentials(name)
        with self.gate.turn():
            right = self.passwords.verify(None if credentials is None else credentials.password_hash, current_password)
        if not right:
            self.limits.failed(keys, self.clock())
            outcome = "refused: wrong current password"
            self.audit.record("user_changed", actor=name, target=name, client=client, outcome=outcome)
            raise Refused("current_password: wrong password")

    def remove_user(self, actor: str, name: str, client: str) -> None:
        """Remove a user and their sessions; NotFound, or Conflict for the last admin."""
        user = self.user(name)
        self.store.remove_user(user.name)
        self.audit.record("user_removed", actor=actor, target=user.name, client=client)

    def end_sessions(self, actor: str, name: str, client: str) -> int:
        """Sign a user out everywhere; return how many sessions ended."""
        user = self.user(name)
        ended = self.store.end_sessions(user.name)
        self.audit.record("sessions_ended", actor=actor, target=user.name, client=client, outcome=f"{ended} ended")
        return ended

    # --- tokens --------------------------------------------------------------------------------

    def tokens(self) -> list[Token]:
        """Return every token (never the token itself)."""
        return self.store.tokens()

    def add_token(self, actor: str, name: str, scope: Scope, client: str) -> tuple[Token, str]:
        """Make a token; return it as it may be shown, and the token itself (to be shown once)."""
        check_name(name)
        text, token_hash = tokens.new_token()
        token = self.store.add_token(name, scope, token_hash, actor, self.clock())
        target, outcome = f"{token.name} (id {token.id})", f"scope {scope.value}"
        self.audit.record("token_added", actor=actor, target=target, client=client, outcome=outcome)
        return token, text

    def revoke_token(self, actor: str, token_id: int, client: str) -> Token:
        """Revoke a token: it stops working at its next request. NotFound if there is none."""
        token = self.store.revoke_token(token_id)
        self.audit.record("token_revoked", actor=actor, target=f"{token.name} (id {token.id})", client=client)
        return token

    # --- audit ---------------------------------------------------------------------------------

    def events(self, limit: int) -> list[AuditEvent]:
        """Return the newest audit events, newest first."""
        return self.store.events(limit)
