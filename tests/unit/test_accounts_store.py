"""The accounts database: its file judged like the history's, and the store's rules kept inside transactions."""
from __future__ import annotations

import logging
import sqlite3
import threading

import pytest

from frostserver.accounts import database
from frostserver.accounts.model import Conflict, NotFound, Role, Scope, Unavailable
from frostserver.accounts.store import AUDIT_KEPT, AccountStore, AuditEvent

NOW = 1_800_000_000.0


def test_a_new_file_gets_our_id_version_and_wal(tmp_path):
    store = AccountStore(tmp_path)
    assert store.admin_exists() is False
    connection = sqlite3.connect(tmp_path / "accounts.db")
    assert connection.execute("PRAGMA application_id").fetchone()[0] == database.APPLICATION_ID
    assert connection.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_another_programs_database_is_moved_aside_untouched(tmp_path, caplog):
    path = tmp_path / "accounts.db"
    other = sqlite3.connect(path)
    other.execute("CREATE TABLE users (login TEXT)")
    other.execute("INSERT INTO users VALUES ('theirs')")
    other.commit()
    other.close()
    before = path.read_bytes()
    with caplog.at_level(logging.ERROR, "frostserver.accounts"):
        assert AccountStore(tmp_path).admin_exists() is False
    moved = list(tmp_path.glob("accounts.db.foreign-*"))
    assert len(moved) == 1 and moved[0].read_bytes() == before  # never stamped, never switched to WAL
    assert "another program's" in caplog.text and "users" in caplog.text


def test_a_corrupt_file_is_moved_aside_with_one_log_line_and_a_fresh_one_started(tmp_path, caplog):
    (tmp_path / "accounts.db").write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.ERROR, "frostserver.accounts"):
        store = AccountStore(tmp_path)
        store.add_user("ada", Role.ADMIN, "hash", NOW)
    assert len(list(tmp_path.glob("accounts.db.corrupt-*"))) == 1
    assert len([r for r in caplog.records if "moved it aside" in r.getMessage()]) == 1
    assert store.admin_exists()


def test_a_newer_schema_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "accounts.db"
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA application_id={database.APPLICATION_ID}")
    newer.execute(f"PRAGMA user_version={database.SCHEMA_VERSION + 1}")
    newer.execute("CREATE TABLE future (x)")
    newer.commit()
    newer.close()
    before = path.read_bytes()
    with pytest.raises(Unavailable, match="newer than this FrostServer's"):
        AccountStore(tmp_path).admin_exists()
    assert path.read_bytes() == before and not list(tmp_path.glob("accounts.db.*-*"))


def test_a_directory_that_cannot_hold_it_is_unavailable_not_a_crash(tmp_path):
    with pytest.raises(Unavailable, match="cannot be used"):
        AccountStore(tmp_path / "missing").admin_exists()


def test_names_are_unique_whatever_their_case(tmp_path):
    store = AccountStore(tmp_path)
    store.add_user("Ada", Role.ADMIN, "hash", NOW)
    with pytest.raises(Conflict, match="exists already"):
        store.add_user("ada", Role.VIEWER, "hash", NOW)
    assert store.credentials("ADA").name == "Ada"


def test_the_last_admin_can_be_neither_removed_nor_demoted(tmp_path):
    store = AccountStore(tmp_path)
    store.add_user("ada", Role.ADMIN, "hash", NOW)
    store.add_user("vic", Role.VIEWER, "hash", NOW)
    with pytest.raises(Conflict, match="last admin"):
        store.remove_user("ada")
    with pytest.raises(Conflict, match="last admin"):
        store.set_role("ada", Role.VIEWER)
    store.set_role("vic", Role.ADMIN)
    store.remove_user("ada")
    assert [user.name for user in store.users(NOW, 0, 0)] == ["vic"]
    with pytest.raises(NotFound):
        store.remove_user("ada")


def test_only_one_first_admin_when_two_claim_at_once(tmp_path):
    results = []

    def claim(name: str) -> None:
        try:
            AccountStore(tmp_path).add_user(name, Role.ADMIN, "hash", NOW, only_first_admin=True)
            results.append("made")
        except Conflict:
            results.append("conflict")

    AccountStore(tmp_path).admin_exists()  # the file exists: the threads race on the rows only
    threads = [threading.Thread(target=claim, args=(f"admin{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["conflict"] * 7 + ["made"]


def test_a_users_sessions_go_with_the_user_and_can_end_all_but_one(tmp_path):
    store = AccountStore(tmp_path)
    store.add_user("ada", Role.ADMIN, "hash", NOW)
    store.add_user("vic", Role.VIEWER, "hash", NOW)
    for n in range(3):
        store.add_session("vic", bytes([n]) * 32, "csrf", NOW, created_before=0)
    assert store.users(NOW, 0, 0)[1].sessions == 3
    assert store.end_sessions("vic", keep=bytes([0]) * 32) == 2
    assert store.session(bytes([0]) * 32) is not None and store.session(bytes([1]) * 32) is None
    store.remove_user("vic")
    assert store.session(bytes([0]) * 32) is None


def test_tokens_keep_only_a_hash_and_are_revoked_for_good(tmp_path):
    store = AccountStore(tmp_path)
    token = store.add_token("prometheus", Scope.READ, b"h" * 32, "ada", NOW)
    assert store.token(b"h" * 32).scope is Scope.READ and store.token_alive(token.id)
    assert store.revoke_token(token.id).name == "prometheus"
    assert store.token(b"h" * 32) is None and not store.token_alive(token.id)
    with pytest.raises(NotFound):
        store.revoke_token(token.id)
    with pytest.raises(NotFound):  # an id from a URL that no SQLite integer holds (the fuzzer found it)
        store.revoke_token(44409241929203572736)


def test_the_audit_log_keeps_the_newest_events(tmp_path):
    store = AccountStore(tmp_path)
    for n in range(AUDIT_KEPT + 200):
        store.add_event(AuditEvent(NOW + n, "ada", "login", "ada", "local", "ok"))
    events = store.events(5000)
    assert AUDIT_KEPT <= len(events) < AUDIT_KEPT + 64
    assert events[0].at == NOW + AUDIT_KEPT + 199  # newest first


def test_a_connection_is_never_used_across_a_fork(tmp_path, monkeypatch):
    store = AccountStore(tmp_path)
    store.admin_exists()  # leaves an idle connection, as the Gunicorn master does before it forks
    inherited = list(store._pool._idle)
    monkeypatch.setattr("os.getpid", lambda: -1)  # what a forked child sees
    store.admin_exists()
    assert inherited and all(connection not in store._pool._idle for connection in inherited)
