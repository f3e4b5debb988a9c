"""The resolver: each setting's value and where it came from, the precedence, and mistakes named by their source."""
from __future__ import annotations

from pathlib import Path

import pytest

from frostserver.config import ConfigError, Layer, Setting, Settings, SettingsError, Source, load_settings, resolve
from frostserver.config.alerts import AlertsConfig
from frostserver.config.resolve import file_layer

BROWSER = "settings set in the browser"  # how the browser's layer (issue 22) will name itself


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "frostserver.toml"
    path.write_text(text, encoding="utf-8")
    return path


def browser(document: dict):
    """A stand-in for the layer the browser's settings store will give: a partial document."""
    return lambda settings: Layer(Source.BROWSER, BROWSER, document)


def test_with_nothing_set_every_setting_is_its_default():
    resolved = resolve({})

    assert resolved.settings == load_settings({})
    assert resolved["sampling.interval"] == Setting("sampling.interval", 1.0, Source.DEFAULT)
    assert resolved["FROST_WORKERS"] == Setting("FROST_WORKERS", 2, Source.DEFAULT)
    assert resolved["FROST_MAX_STREAMS"].value == 256 - 16  # what "0" means, not the 0
    assert resolved.source_of("alerts.rules.frost.for") == Source.DEFAULT
    assert resolved.layers == ()


def test_a_variable_comes_from_the_environment():
    resolved = resolve({"FROST_WORKERS": "3", "FROST_SYSFS_ROOT": "/host/sys"})

    assert resolved["FROST_WORKERS"] == Setting("FROST_WORKERS", 3, Source.ENVIRONMENT)
    assert resolved["FROST_SYSFS_ROOT"] == Setting("FROST_SYSFS_ROOT", Path("/host/sys"), Source.ENVIRONMENT)
    assert resolved.settings.workers == 3
    assert resolved.source_of("FROST_THREADS") == Source.DEFAULT


def test_a_key_of_the_file_comes_from_the_file(tmp_path):
    path = write(tmp_path, """
        [sampling]
        interval = 2
        [relabel]
        "coretemp-isa-0000/temp1" = "CPU"
        [alerts.rules.frost]
        for = "10m"
    """)

    resolved = resolve({"FROST_CONFIG": str(path)})

    assert resolved["FROST_CONFIG"].source == Source.ENVIRONMENT
    assert resolved["sampling.interval"] == Setting("sampling.interval", 2.0, Source.FILE)
    assert resolved["sampling.history"].source == Source.DEFAULT
    assert resolved['relabel."coretemp-isa-0000/temp1"'] == Setting(
        'relabel."coretemp-isa-0000/temp1"', "CPU", Source.FILE)
    assert resolved["alerts.rules.frost.for"] == Setting("alerts.rules.frost.for", "10m", Source.FILE)
    assert resolved.source_of("alerts.rules.frost.hysteresis") == Source.DEFAULT
    frost = next(rule for rule in resolved.settings.alerts.rules if rule.name == "frost")
    assert frost.hold == 600
    assert [layer.source for layer in resolved.layers] == [Source.FILE]  # the file's own values, for a reset


def test_a_tests_override_wins_over_the_file(tmp_path):
    path = write(tmp_path, "[history]\nminute_days = 7\n[alerts.rules.frost]\nfor = \"10m\"\n")
    alerts = AlertsConfig(device_name="Test")

    resolved = resolve({"FROST_CONFIG": str(path)}, {"history_minute_days": 30, "alerts": alerts})

    assert resolved["history.minute_days"] == Setting("history.minute_days", 30, Source.OVERRIDE)
    assert resolved.settings.alerts is alerts
    assert resolved.source_of("alerts.rules.frost.for") == Source.OVERRIDE  # the whole table is the test's
    assert "alerts.rules.frost.for" not in resolved.entries


def test_a_later_layer_wins_key_by_key_and_table_by_table(tmp_path):
    path = write(tmp_path, """
        [sampling]
        interval = 2
        history = 60
        [sensors.garden]
        file = "/sys/bus/w1/devices/28-0000/w1_slave"
        label = "Garden"
        [relabel]
        "coretemp-isa-0000/temp1" = "CPU"
    """)
    above = browser({"sampling": {"interval": 5}, "sensors": {"garden": {"label": "Greenhouse floor"}}})

    resolved = resolve({"FROST_CONFIG": str(path)}, layers=(file_layer, above))

    assert (resolved.settings.sample_interval, resolved.settings.ring_seconds) == (5.0, 60.0)
    assert (resolved["sampling.interval"].source, resolved["sampling.history"].source) == (Source.BROWSER, Source.FILE)
    (garden,) = resolved.settings.sensors
    assert (garden.file, garden.label) == ("/sys/bus/w1/devices/28-0000/w1_slave", "Greenhouse floor")
    assert resolved["sensors.garden.file"].source == Source.FILE
    assert resolved["sensors.garden.label"] == Setting("sensors.garden.label", "Greenhouse floor", Source.BROWSER)
    assert resolved['relabel."coretemp-isa-0000/temp1"'].source == Source.FILE


def test_a_value_replaces_a_whole_table_below_it(tmp_path):
    path = write(tmp_path, '[filter]\ninclude = ["coretemp-*/*", "config/*"]\nexclude = ["*/temp9"]\n')
    above = browser({"filter": {"include": ["nvme-*/*"]}})

    resolved = resolve({"FROST_CONFIG": str(path)}, layers=(file_layer, above))

    assert [p.glob for p in resolved.settings.sensor_overrides.include] == ["nvme-*/*"]  # a list is one value
    assert [p.glob for p in resolved.settings.sensor_overrides.exclude] == ["*/temp9"]
    assert resolved["filter.include"].source == Source.BROWSER


def test_a_mistake_is_named_by_the_source_that_made_it(tmp_path):
    path = write(tmp_path, "[sampling]\ninterval = 60\n")
    (tmp_path / "bad").mkdir()
    bad_file = write(tmp_path / "bad", "[sampling]\nhistory = true\n")

    with pytest.raises(ConfigError) as in_browser:
        resolve({"FROST_CONFIG": str(path)}, layers=(file_layer, browser({"sampling": {"interval": "often"}})))
    with pytest.raises(ConfigError) as in_file:
        resolve({"FROST_CONFIG": str(bad_file)}, layers=(file_layer, browser({"sampling": {"interval": 2}})))
    with pytest.raises(ConfigError) as across_keys:
        resolve({"FROST_CONFIG": str(path)}, layers=(file_layer, browser({"sampling": {"history": 30}})))
    with pytest.raises(SettingsError) as in_environment:
        resolve({"FROST_WORKERS": "lots"})

    assert str(in_browser.value) == f"{BROWSER}: sampling.interval: must be a number between 0.1 and 3600, got 'often'"
    assert str(in_file.value) == f"{bad_file}: sampling.history: must be a number between 10 and 86400, got true"
    # The browser set the history below the file's interval: the key the check names is the browser's.
    assert str(across_keys.value) == f"{BROWSER}: sampling.history: must be at least sampling.interval (60), got 30"
    assert str(in_environment.value) == "FROST_WORKERS: must be an integer, got 'lots'"


def test_a_mistake_no_source_made_by_itself_is_named_by_the_one_that_set_around_it(tmp_path):
    # The file sets an interval above the default history: the history is nobody's, the table the file's.
    path = write(tmp_path, "[sampling]\ninterval = 1000\n")

    with pytest.raises(ConfigError) as raised:
        resolve({"FROST_CONFIG": str(path)}, layers=(file_layer, browser({"frost_threshold": 1})))

    assert str(raised.value) == f"{path}: sampling.history: must be at least sampling.interval (1000), got 900"


def test_a_mistake_inside_a_list_is_the_source_of_the_list(tmp_path):
    path = write(tmp_path, "[alerts]\nnotify = []\n")

    with pytest.raises(ConfigError) as raised:
        resolve({"FROST_CONFIG": str(path)}, layers=(file_layer, browser({"alerts": {"notify": ["no scheme"]}})))

    assert (raised.value.path, raised.value.key) == (BROWSER, "alerts.notify[0]")


def test_secrets_are_never_shown(tmp_path):
    path = write(tmp_path, '[alerts]\nnotify = ["tgram://123456:SECRETTOKEN/chat", "json://hooks.example/x?k=KEY"]\n')

    resolved = resolve({"FROST_CONFIG": str(path)})

    notify = resolved["alerts.notify"]
    assert notify.secret and notify.source == Source.FILE
    assert notify.shown == ["tgram://…", "json://hooks.example/…"]
    assert "SECRETTOKEN" not in repr(notify) and "KEY" not in repr(resolved.entries)
    assert resolved.settings.alerts.targets[0] == "tgram://123456:SECRETTOKEN/chat"  # the notifier's to use
    assert "SECRETTOKEN" not in repr(resolved.layers)


def test_no_layer_reads_nothing(tmp_path):
    path = write(tmp_path, "[sampling]\ninterval = 2\n")

    resolved = resolve({"FROST_CONFIG": str(path)}, layers=())

    assert resolved.settings.config == path and resolved.settings.sample_interval == 1.0
    assert load_settings({"FROST_CONFIG": str(path)}, read_file=False) == resolved.settings
    assert resolved.settings == Settings(config=path, max_streams=240)


def test_no_notification_url_reaches_a_repr_of_the_settings():
    from frostserver.config.alerts import AlertsConfig
    from frostserver.config import load_settings

    secret = "tgram://BOTTOKEN123/12345"
    settings = load_settings({}, {"alerts": AlertsConfig(targets=(secret,))}, read_file=False)
    assert settings.alerts.targets == (secret,)
    assert "BOTTOKEN123" not in repr(settings) and "BOTTOKEN123" not in repr(settings.alerts)
