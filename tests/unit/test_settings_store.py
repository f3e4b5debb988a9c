"""settings.db: its file (ours, or moved aside), the store's transactions and revisions, the Watch, LiveSettings."""
from __future__ import annotations

import logging
import os
import sqlite3
import threading

import pytest

from frostserver.settings import database
from frostserver.settings.live import DROPPED, MOVED_ASIDE, UNAVAILABLE, LiveSettings, browser_document
from frostserver.settings.store import Edit, SettingsStore, Touch, Unavailable

SENSOR = "w1-0-28-000005e2fdc3/temp1"


def label_edit(label: str, sensor: str = SENSOR):
    return lambda before: Edit(set={("customize", sensor, "label"): label}, touched=[Touch("sensor", sensor, "label")])


def test_a_new_file_gets_our_id_version_and_wal(tmp_path):
    store = SettingsStore(tmp_path)
    assert store.snapshot().revision == 0
    connection = sqlite3.connect(tmp_path / "settings.db")
    assert connection.execute("PRAGMA application_id").fetchone()[0] == database.APPLICATION_ID
    assert connection.execute("PRAGMA user_version").fetchone()[0] == database.SCHEMA_VERSION
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_garbage_file_is_moved_aside_with_one_log_line_and_a_notice(tmp_path, caplog):
    (tmp_path / "settings.db").write_bytes(b"this is no database" * 100)
    with caplog.at_level(logging.ERROR):
        snapshot = SettingsStore(tmp_path).snapshot()
    [moved] = list(tmp_path.glob("settings.db.corrupt-*"))
    assert moved.read_bytes().startswith(b"this is no database")
    assert len(caplog.records) == 1 and moved.name in caplog.records[0].getMessage()
    assert snapshot.notice is not None and moved.name in snapshot.notice and "damaged" in snapshot.notice


def test_another_programs_database_is_moved_aside_untouched(tmp_path):
    other = sqlite3.connect(tmp_path / "settings.db")
    other.execute("CREATE TABLE recipes (name TEXT)")
    other.commit()
    other.close()
    snapshot = SettingsStore(tmp_path).snapshot()
    [moved] = list(tmp_path.glob("settings.db.foreign-*"))
    assert sqlite3.connect(moved).execute("SELECT name FROM sqlite_master").fetchall() == [("recipes",)]
    assert "another program" in snapshot.notice


def test_a_newer_schema_is_left_alone_and_unavailable(tmp_path):
    SettingsStore(tmp_path).snapshot()
    connection = sqlite3.connect(tmp_path / "settings.db")
    connection.execute(f"PRAGMA user_version={database.SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(Unavailable, match="newer than this FrostServer"):
        SettingsStore(tmp_path).snapshot()
    assert not list(tmp_path.glob("settings.db.*-*"))


def test_a_directory_that_cannot_hold_it_is_unavailable_not_a_crash(tmp_path):
    with pytest.raises(Unavailable):
        SettingsStore(tmp_path / "missing").snapshot()


def test_each_change_grows_the_revision_stamps_what_it_touched_and_is_logged(tmp_path):
    store = SettingsStore(tmp_path)
    first = store.write(label_edit("Greenhouse floor"), "ada", 100.0)
    second = store.write(label_edit("Floor", "other-isa-0000/temp1"), "token:ci", 200.0)
    assert (first.revision, second.revision) == (1, 2)
    assert second.revision_of("sensor", SENSOR) == 1 and second.revision_of("sensor", "other-isa-0000/temp1") == 2
    assert second.entries[("customize", SENSOR, "label")] == "Greenhouse floor"  # untouched by the second
    assert [(c.at, c.by, c.item, c.field) for c in store.changes(None, 0, 1e12, 10)] == [
        (100.0, "ada", SENSOR, "label"), (200.0, "token:ci", "other-isa-0000/temp1", "label")]
    assert [c.revision for c in store.changes(SENSOR, 0, 150, 10)] == [1]


def test_a_plan_that_raises_changes_nothing_and_an_empty_edit_keeps_the_revision(tmp_path):
    store = SettingsStore(tmp_path)
    store.write(label_edit("A"), "ada", 1.0)

    def refuse(before):
        raise ValueError("stale")

    with pytest.raises(ValueError):
        store.write(refuse, "ada", 2.0)
    assert store.write(lambda before: Edit(), "ada", 3.0).revision == 1
    assert store.snapshot().entries == {("customize", SENSOR, "label"): "A"}


def test_none_deletes_an_entry_and_an_import_replaces_them_all(tmp_path):
    store = SettingsStore(tmp_path)
    store.write(lambda b: Edit(set={("device", "name"): "X", ("frost_threshold",): 1.5},
                               touched=[Touch("device", "", "name")]), "ada", 1.0)
    after = store.write(lambda b: Edit(set={("device", "name"): None}, touched=[Touch("device", "", "name")]), "ada", 2.0)
    assert after.entries == {("frost_threshold",): 1.5}
    imported = store.write(lambda b: Edit(set={("device", "units"): "fahrenheit"}, replace_entries=True,
                                          touched=[Touch("import", "", "*")]), "ada", 3.0)
    assert imported.entries == {("device", "units"): "fahrenheit"}


def test_targets_are_added_removed_and_never_in_a_repr(tmp_path):
    store = SettingsStore(tmp_path)
    url = "ntfy://secret-token@ntfy.example/topic"
    after = store.write(lambda b: Edit(add_targets=[url], touched=[Touch("targets", "", "notify")]), "ada", 1.0)
    [target] = after.targets
    assert target.url == url and "secret-token" not in repr(after)
    assert browser_document(after) == {"alerts": {"notify": [url]}}
    gone = store.write(lambda b: Edit(remove_targets=[target.id], touched=[Touch("targets", "", "notify")]), "ada", 2.0)
    assert gone.targets == ()


def test_two_writers_at_once_never_lose_a_change(tmp_path):
    store = SettingsStore(tmp_path)
    errors = []

    def write(number: int) -> None:
        try:
            for _ in range(10):
                SettingsStore(tmp_path).write(label_edit(f"w{number}", f"chip-isa-000{number}/temp1"), "ada", 1.0)
        except Exception as error:  # reported below: a lost write would show in the revision
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and store.snapshot().revision == 40


def test_the_watch_sees_another_connections_commit_and_a_file_started_afresh(tmp_path):
    store = SettingsStore(tmp_path)
    watch = store.watch()
    assert watch.changed() is True  # the first look
    assert watch.changed() is False
    SettingsStore(tmp_path).write(label_edit("A"), "ada", 1.0)
    assert watch.changed() is True and watch.changed() is False
    # Another process finds the file damaged, moves it aside and starts afresh: the watch follows.
    os.replace(tmp_path / "settings.db", tmp_path / "elsewhere.db")
    (tmp_path / "settings.db-wal").unlink(missing_ok=True)
    (tmp_path / "settings.db-shm").unlink(missing_ok=True)
    fresh = SettingsStore(tmp_path)
    fresh.write(label_edit("B"), "ada", 2.0)
    assert watch.changed() is True


def test_the_watch_of_a_file_that_cannot_be_read_asks_again_now_and_then(tmp_path):
    now = [0.0]
    watch = SettingsStore(tmp_path / "missing").watch(clock=lambda: now[0])
    assert watch.changed() is True  # say it once: the readers show "unavailable"
    assert watch.changed() is False
    now[0] += 31
    assert watch.changed() is True


def live(tmp_path, config: str = "", **kwargs) -> LiveSettings:
    path = tmp_path / "frostserver.toml"
    path.write_text(config)
    return LiveSettings({"FROST_CONFIG": str(path), "FROST_RUN_DIR": str(tmp_path)}, **kwargs)


def test_live_settings_follow_the_store_and_keep_the_files_view(tmp_path):
    settings = live(tmp_path, 'frost_threshold = 1.0\n[device]\nname = "File"\n')
    assert settings.current().settings.device.name == "File" and settings.current().revision == 0
    SettingsStore(tmp_path).write(lambda b: Edit(set={("device", "name"): "Browser", ("frost_threshold",): -2.0},
                                                 touched=[Touch("device", "", "name")]), "ada", 1.0)
    current = settings.current()
    assert (current.settings.device.name, current.settings.frost_threshold, current.revision) == ("Browser", -2.0, 1)
    assert current.file.settings.device.name == "File"
    assert settings.current() is current  # nothing changed: nothing resolved again


def test_live_settings_stamp_each_sensors_revision(tmp_path):
    settings = live(tmp_path)
    snapshot = SettingsStore(tmp_path).write(label_edit("A"), "ada", 1.0)
    assert settings.adopt(snapshot).settings.sensor_overrides.revisions == {SENSOR: 1}


def test_a_browser_value_the_file_no_longer_accepts_is_dropped_logged_once_and_reported(tmp_path, caplog):
    SettingsStore(tmp_path).write(lambda b: Edit(set={("customize", SENSOR, "high"): 20.0},
                                                 touched=[Touch("sensor", SENSOR, "high")]), "ada", 1.0)
    with caplog.at_level(logging.WARNING):
        settings = live(tmp_path, f'[customize."{SENSOR}"]\nlow = 30\n', log_changes=True)
        current = settings.current()
        settings.watch.changed = lambda: True  # as if the file changed again: still one line
        settings.current()
    assert current.status.state == DROPPED and "high" in current.status.message
    assert current.settings.sensor_overrides.customize[SENSOR].high is None
    assert len([r for r in caplog.records if "no longer fits" in r.getMessage()]) == 1


def test_a_moved_aside_file_is_reported_until_the_next_change(tmp_path):
    (tmp_path / "settings.db").write_bytes(b"garbage" * 1000)
    settings = live(tmp_path)
    assert settings.current().status.state == MOVED_ASIDE
    snapshot = SettingsStore(tmp_path).write(label_edit("A"), "ada", 1.0)
    assert settings.adopt(snapshot).status.state == "ok"


def test_an_unreadable_store_leaves_the_files_values_in_force(tmp_path):
    path = tmp_path / "frostserver.toml"
    path.write_text("frost_threshold = 3.0\n")
    settings = LiveSettings({"FROST_CONFIG": str(path), "FROST_ACCOUNTS_DIR": str(tmp_path / "missing")})
    current = settings.current()
    assert current.status.state == UNAVAILABLE and current.settings.frost_threshold == 3.0
