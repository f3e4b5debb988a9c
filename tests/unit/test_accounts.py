"""Accounts: signing in, lockouts, sessions' expiry, claiming, tokens, passwords and the hash gate, on a fake clock."""
from __future__ import annotations

import logging
import os
import stat
import threading

import pytest
from argon2 import PasswordHasher

from frostserver.accounts import sessions, tokens
from frostserver.accounts.hash_gate import HashGate
from frostserver.accounts.model import (
    BadInput,
    Busy,
    Conflict,
    Limited,
    Refused,
    Role,
    Scope,
    Unavailable,
    Via,
    WrongCredentials,
)
from frostserver.accounts.passwords import MEMORY_COST, PARALLELISM, TIME_COST, Passwords
from frostserver.accounts.setup_code import ALPHABET, SetupCode, shown
from frostserver.config.access import AccessConfig

from accounts_helpers import START, make_accounts
from clocks import WallClock

PASSWORD = "correct horse battery staple"


@pytest.fixture
def clock():
    return WallClock(START)


@pytest.fixture
def accounts(tmp_path, clock):
    made = make_accounts(tmp_path, AccessConfig(lockout=60, max_lockout=300), clock=clock)
    made.add_user("cli", "ada", PASSWORD, Role.ADMIN, "local")
    return made


def test_a_right_password_signs_in_with_a_new_session_each_time(accounts):
    first = accounts.login("ADA", PASSWORD, "192.0.2.1")  # names are case-insensitive
    second = accounts.login("ada", PASSWORD, "192.0.2.1")
    assert first.user.name == "ada" and first.cookie != second.cookie and first.csrf_token != second.csrf_token
    principal = accounts.session(first.cookie)
    assert (principal.name, principal.via, principal.role) == ("ada", Via.SESSION, Role.ADMIN)
    assert principal.csrf_token == first.csrf_token and principal.is_admin_session
    assert first.cookie not in repr(first)  # no secret in a repr


def test_an_unknown_user_and_a_wrong_password_fail_alike_and_cost_a_hash_each(accounts):
    hashed = []

    class Counting(PasswordHasher):
        def verify(self, *args):
            hashed.append(1)
            return super().verify(*args)

    accounts.passwords = Passwords(Counting(time_cost=1, memory_cost=8, parallelism=1))
    accounts.store.set_password("ada", accounts.passwords.hash(PASSWORD))
    with pytest.raises(WrongCredentials) as unknown:
        accounts.login("nobody", PASSWORD, "192.0.2.1")
    with pytest.raises(WrongCredentials) as wrong:
        accounts.login("ada", "not the password", "192.0.2.1")
    assert str(unknown.value) == str(wrong.value) == "Wrong user name or password"
    assert len(hashed) == 2  # the unknown user was checked against the dummy hash
    targets = [event.target for event in accounts.events(10) if event.action == "login_failed"]
    assert targets == ["ada", "(unknown user)"]  # never what was typed for a name nobody has


def test_an_account_is_locked_after_its_attempts_whatever_the_password_then_free_after_retry_after(accounts, clock):
    for _ in range(4):
        with pytest.raises(WrongCredentials):
            accounts.login("ada", "guess", "192.0.2.1")
    with pytest.raises(WrongCredentials):  # the fifth failure: still a 401, and it locks
        accounts.login("ada", "guess", "192.0.2.2")
    with pytest.raises(Limited) as locked:
        accounts.login("ada", PASSWORD, "198.51.100.9")  # the right password, from elsewhere: locked too
    assert locked.value.retry_after == 60
    clock.now += 60
    assert accounts.login("ada", PASSWORD, "198.51.100.9").user.name == "ada"


def test_lockouts_in_a_row_double_but_never_past_max_lockout(accounts, clock):
    waits = []
    for _ in range(6):
        for _ in range(5):
            try:
                accounts.login("ada", "guess", "192.0.2.1")
            except WrongCredentials:
                pass
        with pytest.raises(Limited) as locked:
            accounts.login("ada", "guess", "192.0.2.1")
        waits.append(locked.value.retry_after)
        clock.now += locked.value.retry_after
    assert waits == [60, 120, 240, 300, 300, 300]
    clock.now += 2 * 300 + 1  # quiet for long enough: the doubling starts over
    for _ in range(5):
        with pytest.raises(WrongCredentials):
            accounts.login("ada", "guess", "192.0.2.1")
    with pytest.raises(Limited) as locked:
        accounts.login("ada", "guess", "192.0.2.1")
    assert locked.value.retry_after == 60


def test_an_address_is_locked_after_its_own_attempts_across_names(tmp_path, clock):
    accounts = make_accounts(tmp_path, AccessConfig(login_attempts=100, address_attempts=3), clock=clock)
    for name in ("a1", "a2", "a3"):
        with pytest.raises(WrongCredentials):
            accounts.login(name, "guess", "192.0.2.1")
    with pytest.raises(Limited):
        accounts.login("a4", "guess", "192.0.2.1")
    with pytest.raises(WrongCredentials):
        accounts.login("a4", "guess", "192.0.2.99")  # another address is not locked


def test_a_session_ends_when_idle_or_old_and_its_last_use_is_written_once_a_minute(accounts, clock):
    access = accounts.access
    signed = accounts.login("ada", PASSWORD, "192.0.2.1")
    for _ in range(3):  # used every 11 hours: never idle for 12, until 7 days have passed
        clock.now += 11 * 3600
        assert accounts.session(signed.cookie) is not None
    clock.now += access.session_idle
    assert accounts.session(signed.cookie) is None
    fresh = accounts.login("ada", PASSWORD, "192.0.2.1")
    writes = []
    touch = accounts.store.touch_session
    accounts.store.touch_session = lambda *a: writes.append(a) or touch(*a)
    for _ in range(120):
        clock.now += 1
        accounts.session(fresh.cookie)
    assert len(writes) == 2
    clock.now = START + 50 * 3600 + access.session_lifetime
    assert accounts.session(fresh.cookie) is None


def test_logout_and_a_password_change_end_sessions_at_once(accounts):
    one = accounts.login("ada", PASSWORD, "192.0.2.1")
    two = accounts.login("ada", PASSWORD, "192.0.2.1")
    accounts.logout(accounts.session(one.cookie), "192.0.2.1")
    assert accounts.session(one.cookie) is None and accounts.session(two.cookie) is not None
    me = accounts.session(two.cookie)
    three = accounts.login("ada", PASSWORD, "192.0.2.1")
    with pytest.raises(Refused, match="current_password"):
        accounts.change_user(me, "ada", "192.0.2.1", password="a new password")
    accounts.change_user(me, "ada", "192.0.2.1", password="a new password", current_password=PASSWORD)
    assert accounts.session(two.cookie) is not None  # the one that asked stays
    assert accounts.session(three.cookie) is None
    assert accounts.login("ada", "a new password", "192.0.2.1")


def test_claiming_needs_the_code_which_dies_when_used(accounts, tmp_path, clock):
    fresh = make_accounts(tmp_path / "new", clock=clock)
    code = fresh.current_setup_code()
    with pytest.raises(Refused, match="Wrong or used setup code"):
        fresh.claim("AAAA-AAAA-AAAA", "ada", PASSWORD, "192.0.2.1")
    with pytest.raises(BadInput, match="username"):
        fresh.claim(code, "no spaces please", PASSWORD, "192.0.2.1")
    signed = fresh.claim(code.lower().replace("-", " "), "ada", PASSWORD, "192.0.2.1")
    assert signed.user.role is Role.ADMIN and fresh.current_setup_code() is None
    assert not (tmp_path / "new" / "run" / "setup-code").exists()
    with pytest.raises(Conflict):
        fresh.claim(code, "eve", PASSWORD, "192.0.2.1")
    assert code.replace("-", "") not in repr(fresh.events(100))  # never in the audit log


def test_an_admin_made_on_the_shell_ends_the_setup_code(tmp_path, clock, caplog):
    accounts = make_accounts(tmp_path, clock=clock)
    with caplog.at_level(logging.WARNING, "frostserver.accounts"):
        code = accounts.announce()
    assert caplog.records[-1].getMessage() == (
        f"FrostServer is not claimed yet: open http://<device>:8080/ and enter the setup code {code}, "
        "or run `make user NAME=... ROLE=admin`")
    accounts.add_user("cli", "ada", PASSWORD, Role.ADMIN, "local")
    assert accounts.current_setup_code() is None and accounts.announce() is None


def test_the_setup_code_is_made_once_mode_0600_and_every_process_reads_the_same(tmp_path):
    codes = []
    threads = [threading.Thread(target=lambda: codes.append(SetupCode(tmp_path).ensure())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(codes)) == 1 and len(codes[0]) == 12 and set(codes[0]) <= set(ALPHABET)
    assert stat.S_IMODE(os.stat(tmp_path / "setup-code").st_mode) == 0o600
    assert sorted(path.name for path in tmp_path.iterdir()) == ["setup-code"]  # no temporary file left
    assert shown("ABCDEFGHJKMN") == "ABCD-EFGH-JKMN"
    assert not set("01OIL") & set(ALPHABET)


def test_tokens_sign_in_by_scope_until_revoked(accounts):
    token, text = accounts.add_token("ada", "prometheus", Scope.READ, "192.0.2.1")
    assert text.startswith("frost_") and len(text) == 49
    principal = accounts.token(text)
    assert (principal.via, principal.scope, principal.role, principal.may_change) == (
        Via.TOKEN, Scope.READ, Role.VIEWER, False)
    assert accounts.tokens()[0].last_used is not None
    writer = accounts.token(accounts.add_token("ada", "script", Scope.WRITE, "local")[1])
    assert writer.may_change and not writer.is_admin_session  # changes the device, never manages accounts
    accounts.revoke_token("ada", token.id, "192.0.2.1")
    assert accounts.token(text) is None and not accounts.still_valid(principal)
    assert accounts.token("frost_" + "x" * 43) is None and accounts.token("garbage") is None
    assert text not in repr(accounts.events(100)) and text not in repr(accounts.tokens())


def test_the_hash_gate_refuses_with_busy_after_its_wait(tmp_path, clock):
    gate = HashGate(at_once=1, wait=0.05)
    accounts = make_accounts(tmp_path, gate=gate, clock=clock)
    with gate.turn(), pytest.raises(Busy) as busy:
        accounts.login("ada", PASSWORD, "192.0.2.1")
    assert busy.value.retry_after == 1 and gate.refused == 1
    with pytest.raises(WrongCredentials):  # the turn is back
        accounts.login("ada", PASSWORD, "192.0.2.1")


def test_the_shipped_parameters_are_argon2id_with_owasps_m12_t3_p1():
    hashed = Passwords().hash("x" * 8)
    assert hashed.startswith(f"$argon2id$v=19$m={MEMORY_COST},t={TIME_COST},p={PARALLELISM}$")
    assert (MEMORY_COST, TIME_COST, PARALLELISM) == (12288, 3, 1)


def test_a_hash_of_older_parameters_is_rehashed_at_the_next_sign_in(accounts):
    old = Passwords().hash(PASSWORD)  # the shipped parameters differ from the tests' cheap ones
    accounts.store.set_password("ada", old)
    accounts.login("ada", PASSWORD, "192.0.2.1")
    assert accounts.store.credentials("ada").password_hash != old


@pytest.mark.parametrize("name", ["", "a" * 65, "two words", "ada/../x", "é", "a\nb"])
def test_names_are_letters_digits_dot_underscore_dash(accounts, name):
    with pytest.raises(BadInput, match="1 to 64 letters"):
        accounts.add_user("ada", name, PASSWORD, Role.VIEWER, "local")


@pytest.mark.parametrize("password", ["short", "x" * 1025])
def test_passwords_are_8_to_1024_characters(accounts, password):
    with pytest.raises(BadInput, match="8 to 1024"):
        accounts.add_user("ada", "vic", password, Role.VIEWER, "local")


def test_cookie_and_token_formats():
    value, hashed = sessions.new_session_id()
    assert sessions.parse_cookie(value) == hashed and sessions.parse_cookie(value + "x") is None
    assert sessions.parse_cookie(None) is None
    assert tokens.bearer("Bearer  frost_abc ") == "frost_abc" and tokens.bearer("Basic Zm9v") is None
    assert tokens.bearer(None) is None and tokens.parse_token("frost_abc") is None


def test_a_volume_that_takes_no_writes_signs_nobody_out(accounts, clock, monkeypatch):
    signed = accounts.login("ada", PASSWORD, "192.0.2.1")
    token = accounts.add_token("ada", "reader", Scope.READ, "local")[1]

    def refuse(*_):
        raise Unavailable("disk full")

    monkeypatch.setattr(accounts.store, "touch_session", refuse)
    monkeypatch.setattr(accounts.store, "touch_token", refuse)
    clock.now += 3600
    assert accounts.session(signed.cookie) is not None and accounts.token(token) is not None
