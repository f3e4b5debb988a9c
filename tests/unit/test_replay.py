"""The frost forecast and frost_expected replayed over twelve nights (tests/unit/nights/), and the replay command.

The nights are synthetic (tests/nights.py describes the model: radiative cooling towards a sky
temperature, clouds, fronts, wind gusts, dew, sunrise, sensor noise and resolution), six with frost
and six cold without it. Each is replayed with the defaults a device runs (window 60 min, 15 min of
data, lead time 3 h, frost_expected for 10 min with 1 °C of hysteresis, frost for 5 min, threshold
0 °C), the humidity paired. replay.txt beside them is the whole report, a golden file: the README's
figures ("Frost ahead") are its last line. After a deliberate change, write both again with

    TZ=UTC python3 tests/nights.py tests/unit/nights   # only when the model changed
    FROST_REPLAY_GOLDEN=write .venv/bin/python -m pytest tests/unit/test_replay.py
"""
from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import pytest

import nights
from frostserver.forecast import replay
from frostserver.forecast.replay import BadCsv, Settings, read_csv

HERE = Path(__file__).parent
NIGHTS = HERE / "nights"
GOLDEN = NIGHTS / "replay.txt"
README = HERE.parents[1] / "README.md"
BY_NAME = {night.name: night for night in nights.NIGHTS}


@pytest.fixture(autouse=True)
def utc(monkeypatch):
    """Times in the reports are the device's local time: UTC here, whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def replayed(name: str, humidity: bool = True) -> replay.SensorReplay:
    recording = read_csv((NIGHTS / f"{name}.csv").read_text())
    results = replay.replay(recording, Settings(), [nights.HUMIDITY] if humidity else [])
    (result,) = [result for result in results if result.sensor == nights.TEMPERATURE]  # (not the humidity)
    return result


def whole_report() -> str:
    parts, results = [], []
    for night in nights.NIGHTS:
        result = replayed(night.name)
        results.append(result)
        parts.append(f"== {night.name}: {night.story}\n{replay.report([result], Settings())}")
    return "\n\n".join(parts) + f"\n\nAll twelve nights: {replay.summary(results)}\n"


def test_the_fixtures_are_what_the_model_writes():
    for night in nights.NIGHTS:
        assert (NIGHTS / f"{night.name}.csv").read_text() == nights.csv_text(night), night.name


def test_the_report_of_every_night_is_the_golden_one():
    report = whole_report()
    if os.environ.get("FROST_REPLAY_GOLDEN") == "write":
        GOLDEN.write_text(report)
    assert report == GOLDEN.read_text()


def test_the_readme_gives_the_figures_the_replay_gave():
    last = GOLDEN.read_text().strip().splitlines()[-1].removeprefix("All twelve nights: ")
    assert last.split(" (")[0] in " ".join(README.read_text().split())


@pytest.mark.parametrize("night", [n.name for n in nights.NIGHTS if n.frost])
def test_every_frost_is_warned_of_at_least_half_an_hour_before_it_comes(night):
    result = replayed(night)
    assert result.frosts and not result.missed
    assert all(frost.lead_time >= 1800 for frost in result.frosts)
    assert all(frost.alert_at > frost.warned_at for frost in result.frosts)  # before the frost alert too


@pytest.mark.parametrize("night", ["clear-calm-moist", "overcast", "hovering"])
def test_cold_nights_without_frost_that_a_trend_can_tell_bring_no_warning(night):
    result = replayed(night)
    assert not result.frosts and not result.warnings


def test_the_dew_point_floor_keeps_a_moist_night_quiet_that_the_trend_alone_would_warn_of():
    assert replayed("clear-calm-moist", humidity=True).warnings == []
    alone = replayed("clear-calm-moist", humidity=False)
    assert len(alone.warnings) == len(alone.false_alarms) == 1


@pytest.mark.parametrize("night", ["clouds-arrive", "warm-front"])
def test_what_a_trend_cannot_know_of_clouds_and_fronts_is_one_false_alarm(night):
    result = replayed(night)
    assert not result.frosts and len(result.false_alarms) == len(result.warnings) == 1
    assert result.warnings[0].resolved_at is not None  # it ends when the trend turns


def test_the_median_lead_time_and_the_false_alarms_over_all_nights():
    results = [replayed(night.name) for night in nights.NIGHTS]
    leads = [frost.lead_time for result in results for frost in result.frosts]
    false_alarms = sum(len(result.false_alarms) for result in results)
    print(f"median lead time {statistics.median(leads) / 60:.0f} min over {len(leads)} frosts; "
          f"{false_alarms} false alarms in {sum(len(r.warnings) for r in results)} warnings")
    assert len(leads) == 6 and statistics.median(leads) >= 3600
    assert false_alarms <= 5  # the README says which: two nights' clouds and fronts, the windy night's gusts


# --- the command ------------------------------------------------------------------------------


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = replay.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_prints_the_report(capsys):
    status, out, err = run(capsys, "replay", str(NIGHTS / "cold-front.csv"), "--humidity", nights.HUMIDITY)
    assert status == 0 and err == ""
    assert "frost_expected fires: " in out and "frost came: at or below 0 °C (warned 56 min before" in out
    assert out.strip().endswith("(no frost while it fired or within the lead time)")


def test_the_options_change_the_window_lead_time_and_threshold(capsys):
    path = str(NIGHTS / "hovering.csv")
    status, out, _ = run(capsys, "replay", path, "--threshold", "1", "--lead-time", "2h", "--window", "90m",
                         "--min-data", "20m", "--for", "5m", "--hysteresis", "0.5", "--frost-for", "1m")
    assert status == 0
    assert out.startswith("window 1 h 30 min, min data 20 min, lead time 2 h, threshold 1 °C, frost_expected for "
                          "5 min (hysteresis 0.5 °C), frost for 1 min")
    assert "frost came: at or below 1 °C" in out  # hovering dips under 1 °C


def test_an_aggregated_download_is_replayed_from_its_means():
    recording = read_csv((NIGHTS / "cold-front.csv").read_text())
    assert list(recording.columns) == [nights.TEMPERATURE, nights.HUMIDITY]
    assert len(recording.times) == 480


def test_a_download_of_the_app_is_read_header_guard_and_empty_cells_included():
    text = ("time,epoch,'-weird-isa-0000/temp1,b-isa-0/temp1\n"
            "2026-01-14T16:00:00Z,1768406400,5.0,\n"
            "2026-01-14T16:00:01.500Z,1768406401.5,,4.0\n")
    recording = read_csv(text)
    assert recording.times == [1768406400.0, 1768406401.5]
    assert recording.columns == {"-weird-isa-0000/temp1": [5.0, None], "b-isa-0/temp1": [None, 4.0]}


def test_a_time_column_alone_will_do():
    recording = read_csv("time,garden/temp1\n2026-01-14T16:00:00+01:00,3\n2026-01-14T16:02:00+01:00,2.5\n")
    assert recording.times == [1768402800.0, 1768402920.0]


@pytest.mark.parametrize(("text", "says"), [
    ("", "the file is empty"),
    ("when,a/temp1\n1,2\n", "no 'time' or 'epoch' column in the header: when, a/temp1"),
    ("epoch\n1\n2\n", "no sensor column in the header"),
    ("epoch,a/t\n1,2\n", "fewer than two rows of samples"),
    ("epoch,a/t\n2,1\n1,1\n", "line 3: the time '1' is not after the line before's"),
    ("epoch,a/t\n1,1\nyesterday,1\n", "line 3: 'yesterday' is neither Unix seconds nor an ISO 8601 time"),
    ("epoch,a/t\n1,1\n2,warm\n", "line 3, a/t: 'warm' is not a number"),
])
def test_a_csv_it_cannot_read_is_one_line_saying_where(tmp_path, capsys, text, says):
    path = tmp_path / "night.csv"
    path.write_text(text)
    status, out, err = run(capsys, "replay", str(path))
    assert status == 2 and out == ""
    assert err == f"{path}: {says}\n"


@pytest.mark.parametrize(("humidity", "says"), [
    (["nosuch/humidity1"], "--humidity: no column 'nosuch/humidity1' in the CSV"),
    (["a/t=b/h", "c/t=b/h"], "--humidity c/t=b/h: no temperature column 'c/t' in the CSV"),
])
def test_a_humidity_that_pairs_with_nothing_is_refused(humidity, says):
    recording = read_csv("epoch,a/t,b/h,x/t\n1,1,50,1\n2,1,50,1\n")
    with pytest.raises(BadCsv, match=says.replace("/", "/")):
        replay.replay(recording, Settings(), humidity)


def test_a_humidity_alone_needs_one_temperature_to_go_with():
    recording = read_csv("epoch,a/t,b/h,x/t\n1,1,50,1\n2,1,50,1\n")
    with pytest.raises(BadCsv, match="say which temperature it goes with, TEMP=b/h"):
        replay.replay(recording, Settings(), ["b/h"])


def test_a_bad_duration_option_is_one_line(tmp_path, capsys):
    status, _, err = run(capsys, "replay", str(NIGHTS / "overcast.csv"), "--window", "an hour")
    assert status == 2 and '--window: must be a duration like "90s", "5m" or "1h30m"' in err


def test_the_apps_own_csv_download_replays(tmp_path, capsys):
    from frostserver.http import create_app
    from frostserver.model import Reading, Sensor
    from frostserver.sampler import Sampler
    from frostserver.store.writer import StoreWriter
    from sources import ListSource

    probe = Sensor("w1_slave_temp-virtual-0/temp1", "w1_slave_temp-virtual-0", "w1_slave_temp", "temp1",
                   "temperature", "Garden", "°C")
    store = StoreWriter.open(tmp_path / "run", capacity=400, columns=8, interval=10.0)  # the run dir, as on a device
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 3600,
                      "sample_interval": 10.0})
    times = iter(range(1_768_406_400, 1_768_410_000, 10))
    source = ListSource()
    sampler = Sampler({"hwmon": source}, store, clock=lambda: float(next(times)))
    try:
        for step in range(270):  # 45 minutes from 4 °C down 6 °C an hour: frost 40 minutes in
            source.pairs = [(probe, Reading(round(4.0 - step * 10 * 6 / 3600, 4)))]
            sampler.sample_once()
    finally:
        sampler.close()
    answer = app.test_client().get("/api/v1/history?format=csv&seconds=2700")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    path = tmp_path / "download.csv"
    path.write_bytes(answer.get_data())
    capsys.readouterr()  # the app's own log lines (an unclaimed device says so) are not the replay's
    status, out, err = run(capsys, "replay", str(path), "--for", "1m", "--min-data", "10m")
    assert status == 0 and err == ""
    assert "frost_expected fires: Garden" not in out  # the replay names sensors by id, not label
    assert "w1_slave_temp-virtual-0/temp1: frost expected at about" in out
    assert "frost came: at or below 0 °C (warned " in out and "0 false alarms" in out


def test_a_csv_on_the_standard_input_is_replayed(capsys, monkeypatch):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO((NIGHTS / "early-frost.csv").read_text()))
    status, out, err = run(capsys, "replay", "-", "--humidity", nights.HUMIDITY)
    assert status == 0 and err == "" and "frost came: at or below 0 °C (warned 38 min before" in out
