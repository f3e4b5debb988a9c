"""Setting up the device from the browser: the settings API (issue 22).

- PATCH /api/v1/sensors/<id>: a sensor's label, place, order, hidden, offset or two-point
  calibration, limits; answered with the sensor as GET /api/v1/sensors/<id> will show it;
- GET, PATCH /api/v1/settings: every setting with its source; the device's name and units, the
  frost threshold; PATCH /api/v1/settings/rules/<name>: an alert rule;
- POST /api/v1/settings/targets, DELETE /api/v1/settings/targets/<id>, POST .../targets/test:
  notification targets (write-only: never shown whole) and a test message to each;
- GET /api/v1/settings/export, POST /api/v1/settings/import: the settings as a TOML file;
- GET /api/v1/settings/changes: what changed when (the plots mark calibrations).

Every write needs an admin's session (with its CSRF token) or a write token (@needs(Need.CHANGE),
access.py). A write names what it changes as the config file would (settings/changes.py), is
checked against the file with the file's own validators (a 400 names the field), refused with a
409 when what it changes changed after the revision the client saw (If-Match: "<revision>", or
the body's `revision`), and is one transaction of settings.db. The sampler applies it at its next
sample (settings/live.py); the answer already shows it (overrides.preview).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.routing import BaseConverter

from ..accounts.model import Via
from ..alerts.send import child_test, child_usable
from ..config.alerts import display_target, parse_target
from ..config.derived import DERIVED_PREFIX, PAIR_NAME
from ..config.errors import Invalid
from ..config.mqtt import BROKER_KEYS
from ..model import ERROR, Reading, Sensor
from ..overrides import preview
from ..settings import changes
from ..settings.changes import BadField, StaleRevision
from ..settings.export import MAX_IMPORT_BYTES, export_text, import_plan, read_import
from ..settings.live import Current
from ..settings.store import Edit, Snapshot, Target, Touch, Unavailable
from .access import Need, needs, who
from .context import context
from .documents import sensor_json
from .errors import json_error
from .history_params import LATEST_TIME, BadParameter, parse_time
from .settings_document import BROWSER_TARGET, FILE_TARGET, pair_fields, rule_fields, settings_document
from .signin import answer, json_object

bp = Blueprint("settings", __name__)


class TargetId(BaseConverter):
    """A notification target's id in a path: f<n> (the file's n-th) or b<n> (the browser's row n).

    So that /api/v1/settings/targets/test is the test and no target: a DELETE there is a 405.
    """

    regex = "[fb][0-9]{1,18}"


# Before the routes: a rule's converter must be known when the rule is added.
bp.record_once(lambda state: state.app.url_map.converters.update(target_id=TargetId))

IF_MATCH = re.compile(r'\s*(?:W/)?"?([0-9]{1,18})"?\s*')
CHECK_SECONDS = 30.0  # s for the child that asks Apprise whether it can use a URL (it imports Apprise)
TEST_SECONDS = 20.0  # s each target of "send a test" has to answer (all at once), the child then killed
CHANGES_LIMIT = 1000
RETRY_AFTER = "5"  # s: a locked or unreadable settings file


def live_now() -> Current:
    return context().live.current()


def by() -> str:
    """Return who makes the change, as the change log keeps it."""
    principal = who()
    assert principal is not None  # Need.CHANGE refuses nobody-signed-in
    return principal.name if principal.via is Via.SESSION else f"{principal.name} (token)"


def seen_revision(body: dict[str, Any]) -> int | None:
    """Return the revision the client saw: If-Match ("7", W/"7", 7, * for none) or the body's `revision`."""
    revision = body.get("revision")
    if revision is not None and (isinstance(revision, bool) or not isinstance(revision, int) or revision < 0):
        raise BadField("revision", "revision: must be a whole number, as GET gives it")
    header = request.headers.get("If-Match")
    if header is not None and header.strip() != "*":
        match = IF_MATCH.fullmatch(header)
        if match is None:
            raise BadField("If-Match", 'If-Match: must be a revision like "7", as GET gives it')
        return int(match.group(1))  # the header wins over the body
    return revision


def write(plan: Any) -> Current:
    """Run a change's plan in one transaction of settings.db; return the settings it leaves in force."""
    ctx = context()
    store = ctx.live.store
    if store is None:
        raise Unavailable("this app has no settings store")
    snapshot: Snapshot = store.write(plan, by(), ctx.clock())
    return ctx.live.adopt(snapshot)


@bp.errorhandler(BadField)
def _bad_field(error: BadField) -> Response:
    return json_error(400, str(error), field=error.field)


@bp.errorhandler(Unavailable)
def _unavailable(error: Unavailable) -> Response:
    response = json_error(503, f"Settings cannot be changed now: {error}")
    response.headers["Retry-After"] = RETRY_AFTER
    return response


# --- sensors -----------------------------------------------------------------------------------


def shown_sensor(sensor_id: str, current: Current) -> bytes:
    """Return a sensor's object as GET will show it once the sampler applies `current` (overrides.preview)."""
    ctx = context()
    sensor = ctx.store.catalog.current().sensors[sensor_id]
    sample = ctx.store.latest_sample()
    found = {s.id: r for s, r in sample.pairs} if sample is not None else {}
    reading = found.get(sensor_id) or Reading(None, status=ERROR, error="not in the newest sample")
    custom = current.settings.sensor_overrides.customize.get(sensor_id)
    revision = 0 if current.snapshot is None else current.snapshot.revision_of("sensor", sensor_id)
    return sensor_json(*preview(sensor, reading, custom, revision))


def known_sensor(sensor_id: str) -> Sensor | None:
    sensor = context().store.catalog.current().sensors.get(sensor_id)
    return None if sensor is None or sensor.ignored else sensor


@bp.patch("/api/v1/sensors/<path:sensor_id>")
@needs(Need.CHANGE)
def patch_sensor(sensor_id: str) -> Response:
    """Change what a person says about a sensor; answer the sensor as it will be shown."""
    sensor = known_sensor(sensor_id)
    if sensor is None:
        return json_error(404, f"No sensor with id {sensor_id!r}")
    body = json_object()
    change = changes.sensor_change(sensor_id, body)
    check = changes.limits_in_order(sensor) if "limits" in body else None
    try:
        current = write(changes.plan(context().live, change, "sensor", sensor_id, seen_revision(body), check))
    except StaleRevision:
        now = live_now()
        return stale(
            f"Sensor {sensor_id!r} was changed by someone else since", sensor=raw_json(shown_sensor(sensor_id, now))
        )
    return json_bytes(shown_sensor(sensor_id, current))


def stale(message: str, **current: Any) -> Response:
    return json_error(409, f"{message}: here it is as it is now; apply your change to it again", **current)


def raw_json(body: bytes) -> Any:
    return json.loads(body)


def json_bytes(body: bytes, status: int = 200) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the device and the rules ------------------------------------------------------------------


def document_of(current: Current) -> dict[str, Any]:
    return settings_document(current, dict(context().store.catalog.current().sensors))


@bp.get("/api/v1/settings")
def get_settings() -> Response:
    """Return every setting with its value, source and file value (targets masked)."""
    return answer(document_of(live_now()))


@bp.patch("/api/v1/settings")
@needs(Need.CHANGE)
def patch_settings() -> Response:
    """Change the device's name or units, the frost threshold, the MQTT broker ([mqtt]) or the forecast ([forecast])."""
    body = json_object()
    change = changes.device_change({k: v for k, v in body.items() if k not in ("mqtt", "forecast")})
    if "mqtt" in body:
        change.update(changes.mqtt_change(body["mqtt"]))
        refused = broker_in_environment(change)
        if refused is not None:
            return refused
    if "forecast" in body:
        change.update(changes.forecast_change(body["forecast"]))
    try:
        current = write(changes.plan(context().live, change, "device", "", seen_revision(body)))
    except StaleRevision:
        return stale("The device's settings were changed by someone else since", settings=document_of(live_now()))
    return answer(document_of(current))


def broker_in_environment(change: changes.Change) -> Response | None:
    """Refuse to set the broker while FROST_MQTT_URL sets it: the environment stays above the browser (a 409)."""
    if context().live.file.settings.mqtt_url is None:
        return None
    setting = [
        key[1] for key, value in change.items() if key[0] == "mqtt" and key[1] in BROKER_KEYS and value is not None
    ]
    if not setting:
        return None
    return json_error(
        409,
        "The MQTT broker is set by FROST_MQTT_URL in the environment (.env), which the browser cannot override: "
        "change or remove it there, then restart the app",
        field=f"mqtt.{setting[0]}",
    )


@bp.delete("/api/v1/settings/mqtt")
@needs(Need.CHANGE)
def remove_broker() -> Response:
    """Remove every [mqtt] setting made in the browser (the config file's broker, if any, applies again)."""
    try:
        current = write(changes.plan(context().live, changes.mqtt_change(None), "device", "", seen_revision({})))
    except StaleRevision:
        return stale("The device's settings were changed by someone else since", settings=document_of(live_now()))
    return answer(document_of(current))


# --- derived pairs -----------------------------------------------------------------------------


@bp.put("/api/v1/settings/derived/<name>")
@needs(Need.CHANGE)
def put_pair(name: str) -> Response:
    """Pair a temperature and a humidity sensor as [derived.<name>]: their dew point, frost point, absolute humidity."""
    if not PAIR_NAME.fullmatch(name):
        raise BadField("name", "name: 1 to 64 letters, digits, '_' or '-' (it becomes derived/<name>/...)")
    body = json_object()
    change = changes.pair_change(name, body)
    for field, kind in (("temperature", "temperature"), ("humidity", "humidity")):
        check_input(field, kind, change[("derived", name, field)])
    try:
        current = write(changes.plan(context().live, change, "derived", name, seen_revision(body)))
    except StaleRevision:
        now = live_now()
        return stale(f"Pair {name!r} was changed by someone else since", pair=document_of(now)["derived"].get(name))
    return answer({"name": name, "revision": current.revision, **pair_fields(current, name)})


def check_input(field: str, kind: str, sensor_id: Any) -> None:
    """Refuse a pair's input that is no sensor of this device, or not of the kind it needs (a 400 naming the field)."""
    if not isinstance(sensor_id, str):
        raise BadField(field, f"{field}: must be a sensor id like 'sht3x-i2c-1-44/temp1'")
    sensor = known_sensor(sensor_id)
    if sensor is None:
        raise BadField(field, f"{field}: no sensor with id {sensor_id!r} on this device")
    if sensor.kind != kind or sensor.id.startswith(DERIVED_PREFIX):
        raise BadField(field, f"{field}: {sensor_id!r} is a {sensor.kind} sensor; a pair needs a measured {kind} one")


@bp.delete("/api/v1/settings/derived/<name>")
@needs(Need.CHANGE)
def remove_pair(name: str) -> Response:
    """Remove a pair made in the browser; one only in the config file is a 409 (remove it there)."""
    current = live_now()
    in_browser = current.snapshot is not None and any(key[:2] == ("derived", name) for key in current.snapshot.entries)
    if not in_browser:
        if any(pair.name == name for pair in current.file.settings.derived):
            return json_error(409, f"The pair {name!r} is set in the config file ([derived.{name}]): remove it there")
        return json_error(404, f"No derived pair named {name!r}")
    try:
        write(changes.plan(context().live, changes.pair_removal(name), "derived", name, seen_revision({})))
    except StaleRevision:
        return stale(
            f"Pair {name!r} was changed by someone else since", pair=document_of(live_now())["derived"].get(name)
        )
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.patch("/api/v1/settings/rules/<name>")
@needs(Need.CHANGE)
def patch_rule(name: str) -> Response:
    """Change an alert rule (a built-in one, or one of the config file's)."""
    if name not in {rule.name for rule in live_now().settings.alerts.rules}:
        return json_error(404, f"No alert rule named {name!r}")
    body = json_object()
    change = changes.rule_change(name, body)
    try:
        current = write(changes.plan(context().live, change, "rule", name, seen_revision(body)))
    except StaleRevision:
        now = live_now()
        return stale(f"Rule {name!r} was changed by someone else since", rule=rule_answer(now, name))
    return answer(rule_answer(current, name))


def rule_answer(current: Current, name: str) -> dict[str, Any]:
    return {"name": name, "revision": current.revision, **rule_fields(current, name)}


# --- notification targets ----------------------------------------------------------------------


@bp.post("/api/v1/settings/targets")
@needs(Need.CHANGE)
def add_target() -> Response:
    """Add a notification target (an Apprise URL); answer it masked: the URL is never shown back."""
    body = json_object()
    url = body.get("url")
    try:
        url = parse_target(url, ("url",))
    except Invalid as error:
        raise BadField("url", f"url: {error.problem}") from None
    current = live_now()
    if url in current.settings.alerts.targets:
        return json_error(409, f"{display_target(url)} is a notification target already")
    usable = child_usable([url], CHECK_SECONDS)
    if usable is None:
        response = json_error(503, "Cannot check the URL now (the sender did not answer); try again")
        response.headers["Retry-After"] = RETRY_AFTER
        return response
    if not usable[0]:
        raise BadField("url", "url: Apprise cannot use this URL: an unknown service, or a malformed URL")

    def plan(snapshot: Snapshot) -> Edit:
        if any(target.url == url for target in snapshot.targets):
            return Edit()
        candidate = replace(snapshot, targets=(*snapshot.targets, Target(0, url)))
        changes.refuse_dropped(context().live, candidate, {("alerts", "notify"): [url]})
        return Edit(add_targets=[url], touched=[Touch("targets", "", "notify")])

    after = write(plan)
    added = next(t for t in (after.snapshot.targets if after.snapshot else ()) if t.url == url)
    return answer({"id": f"{BROWSER_TARGET}{added.id}", "shown": display_target(url), "source": "browser"}, 201)


@bp.delete("/api/v1/settings/targets/<target_id:target_id>")
@needs(Need.CHANGE)
def remove_target(target_id: str) -> Response:
    """Remove a notification target added in the browser (the file's stay: they are the file's)."""
    current = live_now()
    if target_id.startswith(FILE_TARGET) and target_id[1:].isdigit():
        number = int(target_id[1:])
        if 1 <= number <= len(current.file.settings.alerts.targets):
            return json_error(409, "This target is set in the config file ([alerts] notify): remove it there")
    if target_id.startswith(BROWSER_TARGET):
        number = int(target_id[1:])

        def plan(snapshot: Snapshot) -> Edit:
            if not any(target.id == number for target in snapshot.targets):
                raise LookupError(target_id)
            return Edit(remove_targets=[number], touched=[Touch("targets", "", "notify")])

        try:
            write(plan)
        except LookupError:
            pass
        else:
            response = Response(status=204)
            response.headers["Cache-Control"] = "no-store"
            return response
    return json_error(404, f"No notification target with id {target_id!r}")


@bp.post("/api/v1/settings/targets/test")
@needs(Need.CHANGE)
def test_targets() -> Response:
    """Send a test notification to every target at once; say each one's result (within about TEST_SECONDS)."""
    current = live_now()
    listed = settings_document(current, {})["targets"]
    urls = list(current.settings.alerts.targets)
    if not urls:
        return answer({"results": []})
    turn = context().test_turn  # one test at a time per worker: each child loads Apprise (about 20 MB)
    if not turn.acquire(blocking=False):
        response = json_error(503, "A test is under way already; try again when it has ended")
        response.headers["Retry-After"] = RETRY_AFTER
        return response
    try:
        name = current.settings.device.name
        problems = child_test(
            urls, f"[{name}] test notification", f"FrostServer on {name} can reach you here.", TEST_SECONDS
        )
    finally:
        turn.release()
    by_url = dict(zip(urls, problems, strict=True))
    file_urls = list(current.file.settings.alerts.targets)
    browser = {f"{BROWSER_TARGET}{t.id}": t.url for t in (current.snapshot.targets if current.snapshot else ())}
    results = []
    for target in listed:
        url = file_urls[int(target["id"][1:]) - 1] if target["source"] == "file" else browser[target["id"]]
        problem = by_url.get(url)
        results.append({**target, "ok": problem is None, "message": "sent" if problem is None else problem})
    return answer({"results": results})


# --- export and import -----------------------------------------------------------------------


@bp.get("/api/v1/settings/export")
def export() -> Response:
    """Return the settings in force that the browser can set, as a TOML file (secrets left out)."""
    response = Response(export_text(live_now(), context().clock), mimetype="text/plain")
    response.headers["Content-Disposition"] = 'attachment; filename="frostserver-settings.toml"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/v1/settings/import")
@needs(Need.CHANGE)
def import_settings() -> Response:
    """Replace the settings set in the browser with a TOML file's (an export); answer the new GET body."""
    request.max_content_length = MAX_IMPORT_BYTES  # a file, not a form's JSON: larger than the app's default
    if request.mimetype not in ("application/toml", "text/plain", "text/x-toml"):
        raise BadField("body", "the body must be TOML, sent as application/toml or text/plain")
    raw = request.get_data(cache=False)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise BadField("body", f"not UTF-8 text (bad byte on line {line})") from None
    document = read_import(text)
    current = write(import_plan(context().live, document, text))
    return answer(document_of(current))


# --- what changed when -------------------------------------------------------------------------


@bp.get("/api/v1/settings/changes")
def get_changes() -> Response:
    """Return the changes of a range (of one sensor with `sensor`), oldest first."""
    try:
        start = parse_time("from", request.args["from"]) if "from" in request.args else 0.0
        end = parse_time("to", request.args["to"]) if "to" in request.args else LATEST_TIME
    except BadParameter as error:
        return json_error(400, str(error), parameter=error.parameter)
    sensor = request.args.get("sensor")
    store = context().live.store
    found = [] if store is None else store.changes(sensor, start, end, CHANGES_LIMIT)
    return answer(
        {
            "changes": [
                {
                    "at": change.at,
                    "sensor": change.item if change.scope == "sensor" else None,
                    "scope": change.scope,
                    "item": change.item,
                    "field": change.field,
                    "by": change.by,
                    "revision": change.revision,
                }
                for change in found
                if sensor is None or change.scope == "sensor"
            ]
        }
    )
