"""GET /api/v1/history over the ring and the tiers on disk: parameters, merging, re-aggregation, CSV."""
import csv
import io

import pytest

from frostserver.history import Bucket
from frostserver.http import create_app
from frostserver.http.context import context
from frostserver.history.plan import plan
from frostserver.history.query import MAX_POINTS, Limits, default_step
from frostserver.http.history_params import BadParameter, parse_history_request, parse_time
from frostserver.model import Reading, Sensor
from frostserver.sampler import Sampler
from frostserver.store.writer import StoreWriter

from clocks import WallClock
from history_helpers import fold_buckets

T0 = 1_764_763_200.0  # 2025-12-03T12:00:00Z, a whole hour
LIMITS = Limits(interval=1.0, ring_seconds=900.0, longest_seconds=730 * 86400.0, newest=T0)


def sensor(channel: str) -> Sensor:
    return Sensor(id=f"coretemp-isa-0000/{channel}", chip="coretemp-isa-0000", chip_name="coretemp",
                  channel=channel, kind="temperature", label=channel, unit="°C")


PACKAGE = sensor("temp1")
VANISHED = "nvme-pci-0100/temp1"  # in the tiers only: a drive that was removed


class FakeTiers:
    """The history's Tiers (what an answer reads of HistoryReader) over buckets a test gives, folded by the reference."""

    def __init__(self, buckets: dict[str, dict[str, list[Bucket]]]):
        self.held = buckets  # tier -> sensor id -> buckets, oldest first
        self.asked = []

    def buckets(self, tier, sensor_ids, start, end):
        self.asked.append((tier, start, end))
        return {sid: [b for b in rows if start <= b.start < end]
                for sid, rows in self.held.get(tier, {}).items()
                if (sensor_ids is None or sid in sensor_ids) and any(start <= b.start < end for b in rows)}

    def fold(self, tier, sensor_ids, start, end, origin, step, count):
        return fold_buckets(self.buckets(tier, sensor_ids, start, end), sensor_ids, start, end, origin, step, count)

    def span(self, tier):
        starts = [b.start for rows in self.held.get(tier, {}).values() for b in rows]
        return (min(starts), max(starts)) if starts else None

    def sensor_ids(self):
        return sorted({sid for rows in self.held.values() for sid in rows})


def minute(start, low, high, mean, count=60):
    return Bucket(start, 60.0, low, high, mean, count, "ok")


def hour(start, low, high, mean, count=3600):
    return Bucket(start, 3600.0, low, high, mean, count, "ok")


def request(**args):
    sensors = args.pop("sensor", [])
    accept = args.pop("accept", "")
    return parse_history_request({k: str(v) for k, v in args.items()}, sensors, accept, LIMITS)


def query(**args):
    return request(**args).query


# --- parameters ---------------------------------------------------------------------------------


def test_seconds_alone_is_todays_raw_request_ending_at_the_newest_sample():
    asked = request(seconds=60)
    assert (asked.query.start, asked.query.end, asked.query.step, asked.format) == (T0 - 60, T0, None, "json")
    assert query().start == T0 - 900  # no parameter: all of the ring, as before


@pytest.mark.parametrize("text, expected", [
    ("1764763200", T0),
    ("1764763200.5", T0 + 0.5),
    ("2025-12-03T12:00:00Z", T0),
    ("2025-12-03t12:00:00z", T0),
    ("2025-12-03T13:30:00+01:30", T0),
    ("2025-12-03T12:00:00.250Z", T0 + 0.25),
])
def test_times_are_unix_seconds_or_rfc_3339(text, expected):
    assert parse_time("from", text) == expected


def test_from_and_to_make_the_range_and_a_long_one_gets_about_a_thousand_points():
    q = query(**{"from": "2025-12-02T12:00:00Z", "to": "2025-12-03T12:00:00Z"})
    assert (q.start, q.end) == (T0 - 86400, T0)
    assert q.step == 120 and 500 <= 86400 / q.step <= 1000
    assert [default_step(s) for s in (3600, 6 * 3600, 7 * 86400, 30 * 86400, 365 * 86400)] == [
        5, 30, 900, 3600, 43200]


def test_a_short_range_older_than_the_ring_is_aggregated_not_raw():
    assert query(**{"from": T0 - 7200, "to": T0 - 7000}).step == 1.0


@pytest.mark.parametrize("args, parameter, words", [
    ({"seconds": "abc"}, "seconds", "integer"),
    ({"seconds": "0"}, "seconds", "between 1 and"),
    ({"seconds": "1e9"}, "seconds", "integer"),
    ({"seconds": str(731 * 86400)}, "seconds", "between 1 and 63072000"),
    ({"seconds": "60", "from": "1764763000"}, "seconds", "not both"),
    ({"from": "yesterday"}, "from", "RFC 3339"),
    ({"from": "2025-12-03T12:00:00"}, "from", "RFC 3339"),  # no offset: which zone?
    ({"from": "2025-13-03T12:00:00Z"}, "from", "RFC 3339"),
    ({"to": "-5"}, "to", "between 1970"),
    ({"from": str(T0), "to": str(T0 - 1)}, "to", "later than from"),
    ({"step": "0"}, "step", "number of seconds"),
    ({"step": "nan"}, "step", "number of seconds"),
    ({"step": "inf"}, "step", "number of seconds"),
    ({"step": "fast"}, "step", "number of seconds"),
    ({"step": "0.5"}, "step", "sampling interval"),
    ({"step": "31622401"}, "step", "at most a year"),
    ({"seconds": "86400", "step": "1"}, "step", f"cap of {MAX_POINTS}"),
    ({"format": "xml"}, "format", "json or csv"),
])
def test_a_bad_parameter_is_named(args, parameter, words):
    with pytest.raises(BadParameter) as raised:
        query(**args)
    assert raised.value.parameter == parameter
    assert str(raised.value).startswith(parameter + ":") and words in str(raised.value)


@pytest.mark.parametrize("parameter", ["seconds", "step", "from", "to"])
@pytest.mark.parametrize("text", ["١٢٣", "٦٠", "1_000", "+60", " 60", "60 ", "6\u00a00", "1e3", "0x3c", "60.", ".5", "６０"])
def test_numbers_are_ascii_digits_only(parameter, text):
    with pytest.raises(BadParameter) as raised:
        query(**{parameter: text})
    assert raised.value.parameter == parameter and repr(text) in str(raised.value)


@pytest.mark.parametrize("args", [{"to": "0"}, {"to": "0.4", "seconds": "60"}, {"to": "1970-01-01T00:00:00Z"},
                                  {"to": "0", "from": "0"}])
def test_a_range_that_ends_at_time_0_is_a_400_that_says_why(args):
    with pytest.raises(BadParameter) as raised:
        query(**args)
    assert raised.value.parameter == "to" and "1970-01-01T00:00:01Z" in str(raised.value)
    assert query(**{"from": "0", "to": "1"}).end == 1.0  # the first second is a range


def test_times_are_kept_to_the_millisecond_and_the_answer_says_from_to_and_seconds_so(client, ring):
    q = query(**{"from": "2025-12-03T11:59:00.1Z", "to": "2025-12-03T12:00:00.123456789Z"})
    assert (q.start, q.end, q.seconds) == (T0 - 59.9, T0 + 0.123, 60.023)
    body = client.get("/api/v1/history?from=2025-12-03T11:59:00.1Z&to=2025-12-03T12:00:00Z&step=30").get_json()
    assert (body["from"], body["to"], body["seconds"]) == (T0 - 59.9, T0, 59.9)  # 59.9, not 59.899999856...
    whole = client.get("/api/v1/history?from=2025-12-03T11:59:00Z&to=2025-12-03T12:00:00Z&step=30").get_json()
    assert [type(whole[key]) for key in ("from", "to", "seconds")] == [int, int, int]


def test_the_cap_error_says_the_cap_and_the_smallest_step_that_fits():
    with pytest.raises(BadParameter, match=r"86400 s at a step of 1 s is 86401 points per sensor, over the cap of "
                                           r"10000; ask a step of at least 9 s"):
        query(seconds=86400, step=1)
    assert query(seconds=86400, step=9).step == 9  # what it said fits


def test_csv_comes_from_format_or_accept():
    assert request(format="csv").format == "csv"
    assert request(accept="text/csv").format == "csv"
    assert request(accept="application/json, text/csv").format == "json"
    assert request(accept="text/csv", format="json").format == "json"


# --- planning: which source for which stretch ---------------------------------------------------


def test_each_stretch_comes_from_the_finest_source_holding_it():
    parts = plan(T0 - 30 * 86400, T0, 3600.0, 1.0, ring_oldest=T0 - 900,
                 tier_oldest={"minute": T0 - 14 * 86400 + 30, "hour": T0 - 400 * 86400})
    assert [(p.source, p.start, p.end, p.step) for p in parts] == [
        ("hour", T0 - 30 * 86400, T0 - 14 * 86400 + 3600, 3600),  # the minutes' first whole hour
        ("minute", T0 - 14 * 86400 + 3600, T0, 3600),  # the ring's 15 minutes are not a whole point...
        ("ring", T0, T0, 3600),  # ...but the newest point, at `to`, is the ring's alone
    ]


def test_a_step_finer_than_a_tier_is_rounded_up_to_its_buckets_there():
    parts = plan(T0 - 3600, T0, 5.0, 1.0, ring_oldest=T0 - 899.5, tier_oldest={"minute": T0 - 86400, "hour": None})
    assert [(p.source, p.start, p.end, p.step, p.raw) for p in parts] == [
        ("minute", T0 - 3600, T0 - 840, 60, False),
        ("ring", T0 - 840, T0, 5, False),
    ]
    raw = plan(T0 - 3600, T0, 1.0, 1.0, ring_oldest=T0 - 899.5, tier_oldest={"minute": T0 - 86400})
    assert [(p.source, p.raw) for p in raw] == [("minute", False), ("ring", True)]


def test_a_range_a_finer_tier_holds_whole_is_not_rounded_to_the_coarser_tier():
    # A young history (its first hour): the minutes hold all of the last 10 minutes, the hour tier
    # only the current hour; the answer keeps the minutes' resolution.
    parts = plan(T0 - 600, T0, 60.0, 1.0, ring_oldest=T0 - 5, tier_oldest={"minute": T0 - 1200, "hour": T0 - 3600})
    assert [(p.source, p.start, p.step) for p in parts] == [("minute", T0 - 600, 60), ("ring", T0, 60)]


def test_without_the_history_on_disk_the_ring_answers_and_the_rest_is_null():
    parts = plan(T0 - 3600, T0, 5.0, 1.0, ring_oldest=T0 - 900, tier_oldest={})
    assert [(p.source, p.start, p.step) for p in parts] == [("ring", T0 - 3600, 5)]


def test_a_young_history_answers_a_step_of_60_from_its_minutes_not_from_its_first_hour():
    # The case: at 20:04, minutes since 19:48, the hour 19:00 rolled up from them, the
    # ring's 15 minutes since 19:49. The hour tier holds nothing the minutes do not.
    now, hour_start = T0 + 4 * 60, T0 - 3600  # 20:04 and 19:00, T0 being 20:00
    parts = plan(now - 3600, now, 60.0, 1.0, ring_oldest=now - 900,
                 tier_oldest={"minute": T0 - 12 * 60, "hour": hour_start})
    assert [(p.source, p.start, p.end, p.step) for p in parts] == [
        ("minute", now - 3600, now - 900, 60),  # nulls before 19:48, then minutes
        ("ring", now - 900, now, 60),
    ]


def test_just_after_a_move_aside_the_ring_answers_at_the_step_asked():
    # Empty tiers (a fresh database), or a minute or two written since: nothing older than the ring.
    for tiers in ({"minute": None, "hour": None}, {"minute": T0 - 120, "hour": None},
                  {"minute": T0 - 120, "hour": T0 - 3600}):
        parts = plan(T0 - 3600, T0, 60.0, 1.0, ring_oldest=T0 - 900, tier_oldest=tiers)
        assert [(p.source, p.start, p.end, p.step) for p in parts] == [("ring", T0 - 3600, T0, 60)], tiers


def test_a_minute_from_before_a_restart_of_the_container_still_answers_beside_the_new_ring():
    # The history started at T0 - 70, the container restarted at T0 - 30 (a new ring, empty): the
    # minute T0 - 60 holds samples the ring never had; its hour was rolled up from the same minutes.
    parts = plan(T0 - 600, T0, 60.0, 1.0, ring_oldest=T0 - 30, tier_oldest={"minute": T0 - 60, "hour": T0 - 3600})
    assert [(p.source, p.start, p.end, p.step) for p in parts] == [("minute", T0 - 600, T0, 60), ("ring", T0, T0, 60)]


def test_a_history_with_minutes_and_older_hours_uses_each_where_it_is_the_finest():
    # Minutes kept 14 days (pruned to a quarter past), hours for a year: the hour of the oldest
    # minute holds minutes since pruned, so the hour tier answers up to the minutes' first whole hour.
    minute_oldest = T0 - 14 * 86400 + 900
    parts = plan(T0 - 15 * 86400, T0, 60.0, 1.0, ring_oldest=T0 - 900,
                 tier_oldest={"minute": minute_oldest, "hour": T0 - 365 * 86400})
    assert [(p.source, p.start, p.end, p.step) for p in parts] == [
        ("hour", T0 - 15 * 86400, T0 - 14 * 86400 + 3600, 3600),
        ("minute", T0 - 14 * 86400 + 3600, T0 - 900, 60),
        ("ring", T0 - 900, T0, 60),
    ]
    # The young history of the test above, once its hours are older than its minutes (the minutes
    # of its first hour pruned): the hour tier takes part again.
    parts = plan(T0 - 10800, T0, 60.0, 1.0, ring_oldest=T0 - 900,
                 tier_oldest={"minute": T0 - 7200 + 60, "hour": T0 - 10800})
    assert [(p.source, p.start, p.end) for p in parts] == [
        ("hour", T0 - 10800, T0 - 3600), ("minute", T0 - 3600, T0 - 900), ("ring", T0 - 900, T0)]


def test_a_young_history_through_the_api_gives_minute_points(make_app):
    now = T0 + 4 * 60
    client = make_app(clock=WallClock(now), tiers=FakeTiers({
        "minute": {PACKAGE.id: [minute(T0 - 12 * 60 + 60 * m, 10.0 + m, 10.0 + m, 10.0 + m) for m in range(16)]},
        "hour": {PACKAGE.id: [hour(T0 - 3600, 10.0, 21.0, 15.5, count=720)]},
    })).test_client()
    body = client.get(f"/api/v1/history?seconds=3600&step=60&sensor={PACKAGE.id}").get_json()
    assert [part["source"] for part in body["parts"]] == ["minute"]  # no ring in this app, no hour
    means = dict(zip(body["timestamps"], body["series"][PACKAGE.id]["mean"], strict=True))
    assert len(means) == 61 and means[T0 - 12 * 60] == 10.0 and means[T0 + 3 * 60] == 25.0
    assert means[T0 - 13 * 60] is None  # before the oldest minute: nothing, not the hour's mean


# --- through the API ----------------------------------------------------------------------------


@pytest.fixture
def make_app(tmp_path):
    """Make an app over the test's run directory (the ring's), with create_app's fakes (clock, tiers, history_gate)."""
    def make(**fakes):
        return create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "ring_seconds": 60}, **fakes)
    return make


@pytest.fixture
def app(make_app):
    """The app without a history on disk."""
    return make_app()


@pytest.fixture
def ring(tmp_path):
    """Sixty samples of PACKAGE in the ring, one a second up to T0: values 0..59 ending at T0."""
    times = iter(T0 - 59 + i for i in range(1000))
    source = type("Source", (), {"sample": lambda self: self.pairs, "close": lambda self: None})()
    store = StoreWriter.open(tmp_path / "run", capacity=61, columns=16, interval=1.0)
    sampler = Sampler({"hwmon": source}, store, clock=lambda: next(times))
    for value in range(60):
        source.pairs = [(PACKAGE, Reading(float(value)))]
        sampler.sample_once()
    yield
    sampler.close()


@pytest.fixture
def tiers():
    """A day of minutes of PACKAGE and a vanished sensor before the ring, a week of hours before that."""
    held = {"minute": {PACKAGE.id: [], VANISHED: []}, "hour": {PACKAGE.id: [], VANISHED: []}}
    for m in range(1, 1441):
        start = T0 - 60 * m
        held["minute"][PACKAGE.id].append(minute(start, 10.0, 30.0, 20.0))
        if m > 720:  # gone 12 hours ago
            held["minute"][VANISHED].append(minute(start, 40.0, 40.0, 40.0))
    for h in range(1, 24 * 7 + 1):
        held["hour"][PACKAGE.id].append(hour(T0 - 3600 * h, 5.0, 35.0, 20.0))
        if h > 12:
            held["hour"][VANISHED].append(hour(T0 - 3600 * h, 40.0, 40.0, 40.0))
    for rows in (r for tier in held.values() for r in tier.values()):
        rows.reverse()
    return FakeTiers(held)


@pytest.fixture
def tiered(make_app, tiers):
    """The app with `tiers` as its history on disk."""
    return make_app(tiers=tiers)


@pytest.fixture
def client(app):
    return app.test_client()


def test_a_range_the_ring_holds_keeps_todays_raw_shape(client, ring):
    body = client.get("/api/v1/history?seconds=3").get_json()
    assert body["resolution"] == "raw" and body["step"] == 1 and body["seconds"] == 3
    assert body["timestamps"] == [T0 - 3, T0 - 2, T0 - 1, T0]
    assert body["series"] == {PACKAGE.id: [56.0, 57.0, 58.0, 59.0]}
    assert body["parts"] == [{"source": "ring", "from": T0 - 3, "to": T0, "step": 1}]


def test_the_ring_re_aggregated_at_a_step_has_min_max_and_mean(client, ring):
    body = client.get(f"/api/v1/history?seconds=20&step=10&sensor={PACKAGE.id}").get_json()
    assert body["resolution"] == "aggregated" and body["timestamps"] == [T0 - 20, T0 - 10, T0]
    assert body["series"][PACKAGE.id] == {"min": [39.0, 49.0, 59.0], "max": [48.0, 58.0, 59.0],
                                          "mean": [43.5, 53.5, 59.0]}


def test_a_day_merges_the_hours_the_minutes_and_the_ring(tiered, ring):
    client = tiered.test_client()
    response = client.get(f"/api/v1/history?from={T0 - 86400 - 7200:.0f}&to={T0:.0f}&step=600&sensor={PACKAGE.id}")
    body = response.get_json()
    assert [(p["source"], p["step"]) for p in body["parts"]] == [("hour", 3600), ("minute", 600), ("ring", 600)]
    assert body["parts"][0]["to"] == body["parts"][1]["from"] == T0 - 86400  # the minutes' first whole hour
    series = body["series"][PACKAGE.id]
    assert body["timestamps"][:3] == [T0 - 86400 - 7200, T0 - 86400 - 3600, T0 - 86400]
    assert series["min"][:2] == [5.0, 5.0] and series["min"][2:-1] == [10.0] * (len(series["min"]) - 3)
    assert series["mean"][-1] == 59.0  # the sample at T0: no minute from T0 has ended, the ring has it
    assert len(body["timestamps"]) == len(series["mean"]) == 2 + 144 + 1


def test_an_hour_takes_the_ring_for_what_it_holds_and_minutes_before(tiered, ring):
    client = tiered.test_client()
    body = client.get(f"/api/v1/history?seconds=3600&sensor={PACKAGE.id}").get_json()
    assert body["step"] == 5
    ring_part = body["parts"][-1]
    assert ring_part["source"] == "ring" and ring_part["step"] == 5 and body["parts"][0]["source"] == "minute"
    assert body["parts"][0]["step"] == 60 and body["parts"][0]["to"] == ring_part["from"]
    first = body["timestamps"].index(ring_part["from"])
    assert body["series"][PACKAGE.id]["mean"][first - 1] == 20.0  # a minute from the tier
    assert body["series"][PACKAGE.id]["max"][-1] == 59.0  # the newest sample, from the ring


def test_a_vanished_sensor_stays_queryable_while_the_tiers_hold_it(tiered, ring):
    client = tiered.test_client()
    body = client.get(f"/api/v1/history?seconds=86400&sensor={VANISHED}").get_json()
    means = body["series"][VANISHED]["mean"]
    assert 40.0 in means and means[-1] is None
    everything = client.get("/api/v1/history?seconds=86400").get_json()
    assert set(everything["series"]) == {PACKAGE.id, VANISHED}
    assert client.get("/api/v1/history?seconds=86400&sensor=nope/temp1").status_code == 400


def test_a_missing_history_on_disk_answers_the_ring_and_nulls(client, ring):
    body = client.get("/api/v1/history?seconds=60&step=30").get_json()
    assert body["series"][PACKAGE.id]["mean"] == [14.0, 43.5, 59.0]  # 0..28 (none at T0 - 60), 29..58, 59
    too_far = client.get("/api/v1/history?seconds=3600").get_json()
    assert too_far["parameter"] == "seconds" and "between 1 and 60" in too_far["message"]


def test_a_bad_parameter_is_a_400_in_the_error_shape(client, ring):
    response = client.get("/api/v1/history?seconds=60&step=-1")
    assert response.status_code == 400 and response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"status": 400, "error": "Bad Request", "parameter": "step",
                                   "message": "step: must be a number of seconds in ASCII digits (60, 0.5), got '-1'"}


def test_csv_has_a_header_iso_times_epoch_seconds_and_values(client, ring):
    response = client.get(f"/api/v1/history?seconds=2&format=csv&sensor={PACKAGE.id}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="frostserver-history-20251203T115958Z-20251203T120000Z.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows == [["time", "epoch", f"temp1 ({PACKAGE.id}) °C"],  # its label, id and unit
                    ["2025-12-03T11:59:58Z", "1764763198", "57.0"],
                    ["2025-12-03T11:59:59Z", "1764763199", "58.0"],
                    ["2025-12-03T12:00:00Z", "1764763200", "59.0"]]


def test_aggregated_csv_has_min_max_and_mean_columns_and_empty_cells_for_no_value(tiered, ring):
    client = tiered.test_client()
    response = client.get(f"/api/v1/history?seconds=86400&sensor={PACKAGE.id}&sensor={VANISHED}",
                          headers={"Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["time", "epoch", f"temp1 ({PACKAGE.id}) min °C", f"temp1 ({PACKAGE.id}) max °C",
                       f"temp1 ({PACKAGE.id}) mean °C",
                       f"{VANISHED} min", f"{VANISHED} max", f"{VANISHED} mean"]  # no longer known: its id alone
    assert rows[1][:5] == ["2025-12-02T12:00:00Z", "1764676800", "10.0", "30.0", "20.0"]
    assert rows[-1][5:] == ["", "", ""]
    json_body = client.get(f"/api/v1/history?seconds=86400&sensor={PACKAGE.id}").get_json()
    assert len(rows) - 1 == len(json_body["timestamps"])  # the same points as the JSON


def test_csv_header_cells_that_a_spreadsheet_would_run_as_formulas_are_text_and_numbers_stay_numbers(make_app):
    hostile = ["=HYPERLINK(\"http://x\")-isa-0000/temp1", "+cmd-isa-0000/temp1", "-x-isa-0000/temp1",
               "@SUM(A1)-isa-0000/temp1", "\tx-isa-0000/temp1", "\rx-isa-0000/temp1", "coretemp-isa-0000/temp9"]
    held = FakeTiers({"minute": {sid: [minute(T0 - 120, -5.5, 1e-7, -2.25)] for sid in hostile}})
    client = make_app(clock=WallClock(T0), tiers=held).test_client()
    text = client.get("/api/v1/history?seconds=600&step=60&format=csv").get_data(as_text=True)
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:2] == ["time", "epoch"]
    expected = {sid: [("'" if sid[0] in "=+-@\t\r" else "") + f"{sid} {column}" for column in ("min", "max", "mean")]
                for sid in hostile}
    assert sorted(header[2:]) == sorted(cell for cells in expected.values() for cell in cells)
    [row] = [row for row in rows if row[1] == str(int(T0 - 120))]
    assert row[2:] == ["-5.5", "1e-07", "-2.25"] * len(hostile)  # data cells: numbers as they are, negative ones too


def test_answers_are_made_a_batch_of_sensors_at_a_time(make_app, ring, monkeypatch):
    from frostserver.http import history_render

    many = {f"chip-isa-0000/temp{n}": [minute(T0 - 60 * m, 1.0, 2.0, 1.5) for m in range(60, 0, -1)]
            for n in range(1, 10)}
    fake = FakeTiers({"minute": many})
    client = make_app(tiers=fake).test_client()
    points = 61  # an hour at a step of 60 s, both ends
    monkeypatch.setattr(history_render, "SENSOR_POINTS_PER_BATCH", 4 * points + 3)
    body = client.get("/api/v1/history?seconds=3600&step=60").get_json()
    assert len(body["series"]) == 10 and len(body["timestamps"]) == points
    assert len([asked for asked in fake.asked if asked[0] == "minute"]) == 3  # 10 sensors, 4 at a time
    monkeypatch.setattr(history_render, "SENSOR_POINTS_PER_BATCH", 1)  # fewer than a sensor's points: one at a time
    fake.asked.clear()
    assert client.get("/api/v1/history?seconds=3600&step=60").get_json() == body
    assert len([asked for asked in fake.asked if asked[0] == "minute"]) == 10


def test_large_answers_are_streamed(tiered, ring):
    client = tiered.test_client()
    response = client.get("/api/v1/history?seconds=86400")
    assert response.is_streamed


@pytest.mark.parametrize("query", [
    {"seconds": 30, "step": 10},
    {"from": "2025-12-02T12:00:00Z", "to": "2025-12-03T12:00:00Z"},
    {"seconds": 3600, "sensor": [VANISHED]},
    {"seconds": 60, "step": "0"},
    {"from": "soon"},
])
def test_history_answers_match_the_openapi_document(tiered, ring, query):
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", tiered)
    case = schema["/api/v1/history"]["GET"].Case(query=query)
    case.call_and_validate()


def test_csv_answers_match_the_openapi_document(tiered, ring):
    import schemathesis

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", tiered)
    case = schema["/api/v1/history"]["GET"].Case(query={"seconds": 600, "format": "csv"})
    case.call_and_validate()


def test_iso_times_are_utc_with_milliseconds_only_when_there_are_some():
    from frostserver.http.history_render import iso_time

    assert iso_time(T0) == "2025-12-03T12:00:00Z"
    assert iso_time(T0 + 0.25) == "2025-12-03T12:00:00.250Z"
    assert iso_time(T0 + 0.9996) == "2025-12-03T12:00:01Z"


def test_every_answer_gives_its_turn_back(tiered, ring):
    # Each request holds one of its worker's turns from before it reads anything until its answer
    # ends; a turn never given back would refuse every history request after two such requests.
    client = tiered.test_client()
    gate = context(tiered).history_gate
    for path in ("/api/v1/history?seconds=60", "/api/v1/history?seconds=86400&format=csv",
                 "/api/v1/history?seconds=-5", "/api/v1/history?seconds=60&sensor=no/such"):
        client.get(path).get_data()
        assert gate.taken == 0, path
    response = client.get("/api/v1/history?seconds=60")
    assert gate.taken == 1  # streamed: held until the body is done
    response.close()  # a client that leaves before reading the body
    assert gate.taken == 0, "closed unread"
    client.head("/api/v1/history?seconds=60").close()  # a WSGI server closes every answer
    assert gate.taken == 0, "HEAD"
    assert gate.refused == 0


def test_a_request_that_finds_every_turn_taken_waits_a_little_then_gets_a_503_with_retry_after(make_app, ring):
    from frostserver.http.history_gate import RETRY_AFTER_SECONDS, HistoryGate

    gate = HistoryGate(at_once=2, wait=0.0)  # no wait: the test's own pace
    client = make_app(history_gate=gate).test_client()
    held = [client.get("/api/v1/history?seconds=60"), client.get("/api/v1/history?seconds=30&format=csv")]
    assert gate.taken == 2
    refused = client.get("/api/v1/history?seconds=60")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    body = refused.get_json()
    assert body["status"] == 503 and "2 answers" in body["message"] and f"try again in {RETRY_AFTER_SECONDS} s" in body[
        "message"]
    assert refused.headers["Cache-Control"] == "no-store" and gate.refused == 1
    assert client.get("/api/v1/sensors").status_code == 200  # the gate is the history's alone
    held[0].get_data()  # one answer ends: its turn is free again
    assert client.get("/api/v1/history?seconds=60").status_code == 200
    held[1].close()
    assert gate.taken == 0


def test_two_apps_have_gates_of_their_own(tmp_path):
    first = create_app({"run_dir": tmp_path / "one", "sysfs_root": tmp_path / "sys"})
    second = create_app({"run_dir": tmp_path / "two", "sysfs_root": tmp_path / "sys"})
    assert context(first).history_gate is not context(second).history_gate


def test_numbers_are_written_as_json_writes_them_repeated_or_not():
    import json
    import math
    from array import array

    from frostserver.http.history_render import Numbers

    values = [0.0, -0.0, 45.0, 45.125, 1e-7, 1e16, -1.5e300, 1 / 3, math.nan, 45.125, -0.0, 0.0]
    numbers = Numbers()
    for _ in range(2):  # the second time from what it kept
        assert numbers.array(array("d", values)) == json.dumps(values, separators=(",", ":")).replace("NaN", "null")
    assert numbers.array([]) == "[]" and set(numbers) == {45.0, 45.125, 1e-7, 1e16, -1.5e300, 1 / 3}


def test_numbers_kept_per_answer_are_bounded_and_values_that_never_repeat_still_come_out_right(monkeypatch):
    import json
    from array import array

    from frostserver.http import history_render

    monkeypatch.setattr(history_render, "NUMBERS_KEPT", 100)
    numbers = history_render.Numbers()
    values = array("d", (20.0 + n / 1000 for n in range(1000)))
    assert numbers.array(values) == json.dumps(list(values), separators=(",", ":"))
    assert 0 < len(numbers) <= 100


@pytest.mark.parametrize("writer", ["Numbers", "floats", "MeanTexts", "cell"])
def test_infinities_and_nan_are_never_written_as_bare_words(writer):
    """No sample should hold an infinity (the sampler refuses them); if one does, it is no value, never invalid JSON."""
    import json
    import math
    from array import array

    from frostserver.http import history_render

    values = array("d", [math.inf, 1.5, -math.inf, math.nan, -2.25])
    if writer == "cell":
        assert [history_render._cell(v) for v in values] == ["", "1.5", "", "", "-2.25"]
        return
    if writer == "Numbers":
        text = history_render.Numbers().array(values)
    elif writer == "floats":
        text = history_render._floats(values)
    else:
        text = "[" + history_render.MeanTexts().text(values) + "]"
    assert text == "[null,1.5,null,null,-2.25]"
    assert json.loads(text, parse_constant=lambda word: pytest.fail(f"bare {word}")) == [None, 1.5, None, None, -2.25]


def test_a_raw_answer_makes_one_column_per_sensor_not_three(app, client, ring):
    """A sample's min, max and mean are its value: columns() of a raw answer shares one array for them."""
    from frostserver.history.answer import build_answer
    from frostserver.history.query import HistoryQuery

    answer = build_answer(HistoryQuery(T0 - 30, T0, None, None), 1.0, context(app).store, None)
    assert answer.raw and answer.sensor_ids
    columns = answer.columns(answer.sensor_ids)
    for sid in answer.sensor_ids:
        assert columns.low[sid] is columns.mean[sid] and columns.high[sid] is columns.mean[sid]
    assert client.get("/api/v1/history?seconds=30").get_json()["series"][PACKAGE.id]


def test_means_are_written_a_stretch_aligned_in_time_at_a_time_and_read_back_the_same():
    import json
    import math
    from array import array

    from frostserver.history.answer import HistoryAnswer
    from frostserver.history.plan import Part
    from frostserver.http.history_render import CHUNK_POINTS, MeanTexts, _means, stretches

    step = 120.0
    part = Part("minute", 1_700_000_040.0 - 5 * step, 1_700_000_040.0 + 90 * step, step, raw=False)
    answer = HistoryAnswer(query(seconds=86400), 1.0, [part], [part.grid()], [], None, None)
    spans = stretches(answer)
    assert [a for a, _, _ in spans] == [0] + [b for _, b, _ in spans[:-1]] and spans[-1][1] == len(part.grid())
    whole = [(a, b) for a, b, is_whole in spans if is_whole]
    assert whole and all(b - a == CHUNK_POINTS and round(part.grid()[a] / step) % CHUNK_POINTS == 0 for a, b in whole)
    values = array("d", [math.nan if n % 7 == 0 else 20.0 + n / 3 for n in range(len(part.grid()))])
    expected = json.dumps(list(values), separators=(",", ":")).replace("NaN", "null")
    texts = MeanTexts()
    assert _means(values, spans, texts) == expected and texts.size > 0
    assert _means(values, spans, texts) == expected  # read back
    assert _means(values, spans, None) == expected
    texts = MeanTexts(limit=1000)  # about two stretches of 32
    for n in range(5):
        assert texts.text(array("d", [n + 0.5]) * 32) == ",".join([str(n + 0.5)] * 32)
    assert 0 < texts.size <= 1000


@pytest.mark.parametrize("format", ["json", "csv"])
def test_the_largest_answer_holds_a_bounded_amount_of_memory(tmp_path, format):
    """The issue's request: 10,000 points of every sensor. What it holds at once does not grow with points x sensors."""
    import tracemalloc

    from frostserver.history.seed import seed
    from frostserver.http.history_render import SENSOR_POINTS_PER_BATCH

    (tmp_path / "history").mkdir()
    seed(tmp_path / "history" / "history.db", 1, 32, end=T0)
    app = create_app({"run_dir": tmp_path / "run", "sysfs_root": tmp_path / "sys", "history_dir": tmp_path / "history"},
                     clock=WallClock(T0))
    client = app.test_client()
    path = f"/api/v1/history?from=0&to=253402300799&step=25340231&format={format}"
    client.get("/api/v1/history?seconds=60").get_data()  # the app's first request: imports, caches
    tracemalloc.start()
    try:
        response = client.get(path)
        size = sum(len(piece) for piece in response.response)
        response.close()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200 and size > 1_000_000  # 10,000 points x 32 sensors x 3 values (or cells)
    # About 64 bytes a sensor-point of a batch, a MiB or two of rows being folded, the text of a piece:
    # the answer itself is more than that, and it held about 20 MiB before (then every sensor in a batch).
    bound = 64 * SENSOR_POINTS_PER_BATCH + 4 * 2**20
    assert peak < bound, f"{peak / 2**20:.1f} MiB"
    assert context(app).history_gate.taken == 0
