// The settings forms' decisions, pure (sheet.js and settings.js do the DOM): where a value comes
// from in words, numbers as people type them, a sensor sheet's checks, and what it sends: only
// the fields changed, null for a field reset to the config file's value, SI units whatever the
// display units. The server checks everything again and is the one that counts.

import { deltaFromDisplay, deltaToDisplay, fromDisplay, sensorName, toDisplay } from "../format.js";
import { UNSORTED, placeOf } from "../places.js";

export const MAX_NAME = 64; // characters (code points), as the server counts them

const SOURCE_WORDS = {
  default: "default",
  file: "from the config file",
  browser: "set here",
  environment: "from the environment",
};

/** Where a setting's value comes from, in words ("set here", "from the config file", "default"). */
export function sourceWords(source) {
  return SOURCE_WORDS[source] || SOURCE_WORDS.default;
}

/** A setting's {value, source, file_value} from the settings document, or a default one. */
export function settingOf(entry, field) {
  const setting = entry?.[field];
  if (!setting || typeof setting !== "object") return { value: null, source: "default", file_value: null };
  return { value: setting.value ?? null, source: setting.source || "default", file_value: setting.file_value ?? null };
}

const length = (text) => [...text].length;

/**
 * A number as typed: "" is null (no value), a decimal comma is a point (a phone's keyboard in
 * most of Europe), anything else (1e309, NaN, "12 °C") is NaN. No exponents: nobody types a
 * temperature as 1e1, and 1e309 is Infinity.
 */
export function parseNumber(text) {
  const bare = String(text ?? "").trim().replace(",", ".");
  if (!bare) return null;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(bare)) return NaN;
  return Number(bare);
}

/** A number for an input field: up to `decimals` decimals, trailing zeros dropped; "" for none. */
export function numberText(value, decimals = 3) {
  if (typeof value !== "number" || !Number.isFinite(value)) return "";
  return String(Number(value.toFixed(decimals)));
}

/** A name (a sensor's, a place's, the device's): the message to show, or "" when it is fine. */
export function checkText(text, what, { required = true } = {}) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed) return required ? `Enter a ${what}.` : "";
  if (length(trimmed) > MAX_NAME) return `A ${what} has at most ${MAX_NAME} characters; this one has ${length(trimmed)}.`;
  return "";
}

// ---- a sensor's sheet --------------------------------------------------------------------------

/** How a sensor is calibrated, for the sheet's choice: "none", "offset" or "points". */
export function calibrationMode(sensor, entry) {
  const points = settingOf(entry, "calibration").value;
  if (points && Array.isArray(points.raw)) return "points";
  const calibration = sensor.calibration;
  if (!calibration) return "none";
  if (typeof calibration.gain === "number" && calibration.gain !== 1) return "points";
  return typeof calibration.offset === "number" && calibration.offset !== 0 ? "offset" : "none";
}

/**
 * The sheet's fields as shown (text, in the display units) for a sensor of /api/v1/sensors and its
 * entry of GET /api/v1/settings' `sensors` (undefined when nothing is set for it).
 */
export function sheetFields(sensor, entry) {
  const points = settingOf(entry, "calibration").value;
  const thresholds = sensor.thresholds || {};
  const low = settingOf(entry, "low").value ?? thresholds.min;
  const high = settingOf(entry, "high").value ?? thresholds.max;
  const point = (list, i) => numberText(toDisplay(Array.isArray(list) ? list[i] : null, sensor));
  return {
    label: sensorName(sensor), // a sensor nobody named is called by its channel: that is its name now
    place: typeof sensor.place === "string" ? sensor.place : "",
    hidden: sensor.hidden === true,
    mode: calibrationMode(sensor, entry),
    offset: numberText(deltaToDisplay(sensor.calibration?.offset ?? null, sensor)),
    raw1: point(points?.raw, 0),
    actual1: point(points?.actual, 0),
    raw2: point(points?.raw, 1),
    actual2: point(points?.actual, 1),
    low: numberText(toDisplay(low ?? null, sensor)),
    high: numberText(toDisplay(high ?? null, sensor)),
  };
}

// Which of the sheet's groups each field belongs to: a reset is per group.
export const SHEET_GROUPS = {
  label: ["label"],
  place: ["place"],
  hidden: ["hidden"],
  calibration: ["mode", "offset", "raw1", "actual1", "raw2", "actual2"],
  low: ["low"],
  high: ["high"],
};

/**
 * Check the sheet's fields (text, display units): {field: message} of the fields to fix, {} when
 * all are fine. The fields named are the server's (label, place, offset, calibration, limits).
 */
export function checkSheet(fields) {
  const problems = {};
  const label = checkText(fields.label, "name");
  if (label) problems.label = label;
  const place = checkText(fields.place, "place", { required: false });
  if (place) problems.place = place;
  if (fields.mode === "offset") {
    const offset = parseNumber(fields.offset);
    if (offset === null || !Number.isFinite(offset)) problems.offset = "Enter the offset as a number, e.g. 0.5 or -1.2.";
  }
  if (fields.mode === "points") {
    const numbers = ["raw1", "actual1", "raw2", "actual2"].map((name) => parseNumber(fields[name]));
    if (numbers.some((n) => n === null || !Number.isFinite(n))) {
      problems.calibration = "Enter both reference points: what the sensor read, and the true value, as numbers.";
    } else if (numbers[0] === numbers[2]) {
      problems.calibration = "The two points need different readings: take the second at another temperature.";
    }
  }
  const low = parseNumber(fields.low);
  const high = parseNumber(fields.high);
  if (Number.isNaN(low)) problems.low = "Enter the low limit as a number, or leave it empty for the config file's.";
  if (Number.isNaN(high)) problems.high = "Enter the high limit as a number, or leave it empty for the config file's.";
  if (typeof low === "number" && typeof high === "number" && Number.isFinite(low) && Number.isFinite(high) && low >= high) {
    problems.high = "The high limit must be above the low limit.";
  }
  return problems;
}

const SI_DECIMALS = 6; // what a conversion leaves (0.1 °F is 0.0555… °C): enough, and no float noise
const si = (value) => (value == null ? value : Number(value.toFixed(SI_DECIMALS)));

/**
 * The body of PATCH /api/v1/sensors/{id}: the fields that differ from `before` (both from
 * sheetFields, `after` as edited), in SI units, and null for each group in `resets` (back to the
 * config file's value). Empty when nothing changed.
 */
export function sheetPatch(sensor, before, after, resets = new Set()) {
  const body = {};
  const changed = (group) => SHEET_GROUPS[group].some((name) => String(before[name]) !== String(after[name]));
  if (resets.has("label")) body.label = null;
  else if (changed("label") && after.label.trim() !== before.label.trim()) body.label = after.label.trim();
  if (resets.has("place")) body.place = null;
  else if (changed("place")) body.place = after.place.trim() || null; // empty: the file's place, else Unsorted
  if (resets.has("hidden")) body.hidden = null;
  else if (changed("hidden")) body.hidden = Boolean(after.hidden);
  if (resets.has("calibration")) {
    body.offset = null;
    body.calibration = null;
  } else if (changed("calibration")) {
    if (after.mode === "none") body.offset = 0; // no correction, whatever the file says
    if (after.mode === "offset") body.offset = si(deltaFromDisplay(parseNumber(after.offset), sensor));
    if (after.mode === "points") {
      const value = (name) => si(fromDisplay(parseNumber(after[name]), sensor));
      body.calibration = { raw: [value("raw1"), value("raw2")], actual: [value("actual1"), value("actual2")] };
    }
  }
  const limits = {};
  for (const side of ["low", "high"]) {
    if (resets.has(side)) limits[side] = null;
    else if (changed(side)) limits[side] = si(fromDisplay(parseNumber(after[side]), sensor)); // empty: null, the file's
  }
  if (Object.keys(limits).length) body.limits = limits;
  return body;
}

// The server names a refused field as it calls it; the sheet's field that shows the message.
const SERVER_FIELDS = { label: "label", place: "place", order: "place", hidden: "hidden", offset: "offset",
  calibration: "calibration", gain: "calibration", limits: "high", low: "low", high: "high" };

/** The sheet's field that a 400's `field` names ("limits.low" and the like too); null if none. */
export function sheetFieldOf(serverField) {
  if (typeof serverField !== "string") return null;
  const parts = serverField.split(/[.[\]/]/).filter(Boolean);
  for (const part of parts.reverse()) if (SERVER_FIELDS[part]) return SERVER_FIELDS[part];
  return null;
}

/** A sheet's fields (sheetFields) in words, `unit` the display unit: what "changed elsewhere" shows. */
export function describeFields(fields, unit = "") {
  const withUnit = (text) => (unit ? `${text} ${unit}` : text);
  const parts = [`name “${fields.label}”`, `place “${fields.place || UNSORTED}”`];
  if (fields.hidden) parts.push("hidden");
  if (fields.mode === "offset") parts.push(`offset ${withUnit(fields.offset)}`);
  if (fields.mode === "points") parts.push("calibrated through two points");
  if (fields.low) parts.push(`low ${withUnit(fields.low)}`);
  if (fields.high) parts.push(`high ${withUnit(fields.high)}`);
  return parts.join(", ");
}

// ---- the device and the alert rules (the settings page) ---------------------------------------

const TEMPERATURE = { kind: "temperature", unit: "°C" }; // the frost threshold, a temperature rule's limits

/** A duration in seconds as the config file writes it: "5m", "1h30m", "90s", "0s". */
export function durationText(value) {
  if (typeof value === "string") return value;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) return "";
  const hours = Math.floor(value / 3600);
  const minutes = Math.floor((value % 3600) / 60);
  const seconds = Number((value % 60).toFixed(3));
  const text = `${hours ? `${hours}h` : ""}${minutes ? `${minutes}m` : ""}${seconds ? `${seconds}s` : ""}`;
  return text || "0s";
}

/** A list (a rule's sensors or places) as one line of text, and back: comma-separated. */
export function listText(value) {
  return Array.isArray(value) ? value.join(", ") : typeof value === "string" ? value : "";
}

export function parseList(text) {
  return String(text ?? "").split(",").map((item) => item.trim()).filter(Boolean);
}

/** The device form's fields as shown, from GET /api/v1/settings (the frost threshold in the display units). */
export function deviceFields(settings) {
  return {
    name: String(settingOf(settings?.device, "name").value ?? ""),
    units: settingOf(settings?.device, "units").value === "fahrenheit" ? "fahrenheit" : "celsius",
    frost_threshold: numberText(toDisplay(settings?.frost_threshold?.value ?? null, TEMPERATURE)),
  };
}

/** Check the device form: {field: message}. */
export function checkDevice(fields) {
  const problems = {};
  const name = checkText(fields.name, "device name");
  if (name) problems.name = name;
  const frost = parseNumber(fields.frost_threshold);
  if (frost === null || !Number.isFinite(frost)) problems.frost_threshold = "Enter the frost threshold as a number, e.g. 0.5.";
  return problems;
}

/** The body of PATCH /api/v1/settings: what changed (the threshold in °C), null for a reset. */
export function devicePatch(before, after, resets = new Set()) {
  const body = {};
  const device = {};
  for (const name of ["name", "units"]) {
    if (resets.has(name)) device[name] = null;
    else if (after[name] !== before[name]) device[name] = name === "name" ? after.name.trim() : after.units;
  }
  if (Object.keys(device).length) body.device = device;
  if (resets.has("frost_threshold")) body.frost_threshold = null;
  else if (after.frost_threshold !== before.frost_threshold) {
    body.frost_threshold = si(fromDisplay(parseNumber(after.frost_threshold), TEMPERATURE));
  }
  return body;
}

export const RULE_FIELDS = ["enabled", "above", "below", "for", "hysteresis", "severity", "sensors", "places"];

// The built-in rules that judge temperatures alone (config/alert_rules.py's BUILTIN_RULES): the
// settings document does not list a rule's kinds.
const TEMPERATURE_RULES = new Set(["frost", "temperature_max", "temperature_crit"]);

/**
 * Whether a rule's numbers are temperatures (its kinds are temperature alone, or it is a built-in
 * temperature rule): shown in the display units.
 */
export function ruleIsTemperature(entry, name = "") {
  const kinds = settingOf(entry, "kinds").value;
  if (Array.isArray(kinds)) return kinds.length === 1 && kinds[0] === "temperature";
  return TEMPERATURE_RULES.has(name);
}

/** A rule's fields as shown, from its entry of GET /api/v1/settings' `rules`. */
export function ruleFields(entry, name = "") {
  const temperature = ruleIsTemperature(entry, name) ? TEMPERATURE : null;
  const limit = (value) => (typeof value === "number" ? numberText(toDisplay(value, temperature)) : String(value ?? ""));
  return {
    enabled: settingOf(entry, "enabled").value !== false,
    above: limit(settingOf(entry, "above").value),
    below: limit(settingOf(entry, "below").value),
    for: durationText(settingOf(entry, "for").value),
    hysteresis: numberText(deltaToDisplay(settingOf(entry, "hysteresis").value, temperature)),
    severity: settingOf(entry, "severity").value === "critical" ? "critical" : "warning",
    sensors: listText(settingOf(entry, "sensors").value),
    places: listText(settingOf(entry, "places").value),
  };
}

/** Check a rule's form: {field: message}. */
export function checkRule(fields) {
  const problems = {};
  for (const side of ["above", "below"]) {
    const text = fields[side].trim();
    if (text && !/^[a-z_]+$/.test(text) && !Number.isFinite(parseNumber(text))) {
      problems[side] = `Enter a number, or a limit's name (max, crit, min, frost_threshold...).`;
    }
  }
  if (fields.above.trim() && fields.below.trim()) problems.below = "A rule has one condition: above or below, not both.";
  const hysteresis = parseNumber(fields.hysteresis);
  if (Number.isNaN(hysteresis) || hysteresis < 0) problems.hysteresis = "Enter the hysteresis as a number of 0 or more.";
  if (fields.for.trim() && !/^(\d+(\.\d+)?h)?(\d+(\.\d+)?m)?(\d+(\.\d+)?s)?$/.test(fields.for.trim())) {
    problems.for = 'Enter a duration like "90s", "5m" or "1h30m".';
  }
  return problems;
}

/** The body of PATCH /api/v1/settings/rules/{name}: what changed, null for a reset or an emptied field. */
export function rulePatch(entry, before, after, resets = new Set(), rule = "") {
  const temperature = ruleIsTemperature(entry, rule) ? TEMPERATURE : null;
  const body = {};
  for (const key of RULE_FIELDS) {
    if (resets.has(key)) {
      body[key] = null;
      continue;
    }
    if (String(after[key]) === String(before[key])) continue;
    const text = typeof after[key] === "string" ? after[key].trim() : after[key];
    if (text === "") body[key] = null;
    else if (key === "enabled") body.enabled = Boolean(after.enabled);
    else if (key === "above" || key === "below") {
      const number = parseNumber(text);
      body[key] = Number.isFinite(number) ? si(fromDisplay(number, temperature)) : text;
    } else if (key === "hysteresis") body.hysteresis = si(deltaFromDisplay(parseNumber(text), temperature));
    else if (key === "sensors" || key === "places") body[key] = parseList(text);
    else body[key] = text;
  }
  return body;
}

// ---- the MQTT broker, the frost forecast, derived pairs (issues 23 and 24) ---------------------

const DURATION = /^(\d+(\.\d+)?h)?(\d+(\.\d+)?m)?(\d+(\.\d+)?s)?$/;
const HOST = /^[A-Za-z0-9._:-]{1,253}$/; // config/mqtt.py's HOST: a name, an IPv4 or IPv6 address
const TOPIC = /^[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*$/;
// The broker's parts: saved together (a broker set here replaces the config file's whole, its
// password too), so the form sends all of them when one changes.
export const BROKER_FIELDS = ["host", "port", "tls", "username"];
export const MQTT_FIELDS = ["enabled", ...BROKER_FIELDS, "discovery_prefix", "min_interval", "max_interval"];

/** The MQTT form's fields as shown, from GET /api/v1/settings' `mqtt`; and how the broker stands. */
export function mqttFields(settings) {
  const mqtt = settings?.mqtt;
  const value = (key) => settingOf(mqtt, key).value;
  const port = value("port");
  return {
    enabled: value("enabled") !== false,
    host: String(value("host") ?? ""),
    port: typeof port === "number" ? String(port) : "",
    tls: value("tls") === true,
    username: String(value("username") ?? ""),
    discovery_prefix: String(value("discovery_prefix") ?? "homeassistant"),
    min_interval: durationText(value("min_interval") ?? 10),
    max_interval: durationText(value("max_interval") ?? 300),
  };
}

/** How the broker stands: shown as scheme://host:port (or null), set where, whether a password is set. */
export function brokerState(settings) {
  const broker = settingOf(settings?.mqtt, "broker");
  return {
    shown: typeof broker.value === "string" ? broker.value : null,
    source: broker.source,
    fromEnvironment: broker.source === "environment",
    passwordSet: settingOf(settings?.mqtt, "password").value != null,
    setHere: Object.values(settings?.mqtt || {}).some((entry) => entry?.source === "browser"),
  };
}

/** Check the MQTT form: {field: message}. */
export function checkMqtt(fields, { brokerRequired = true } = {}) {
  const problems = {};
  const host = fields.host.trim();
  if (!host && brokerRequired) problems.host = "Enter the broker's host name or IP address, e.g. 192.168.1.10.";
  else if (host && !HOST.test(host)) problems.host = "A host name or IP address has only letters, digits, '.', '-' and ':'.";
  const port = fields.port.trim();
  if (port && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    problems.port = "Enter a port number between 1 and 65535 (1883, or 8883 with TLS).";
  }
  if (!TOPIC.test(fields.discovery_prefix.trim())) {
    problems.discovery_prefix = "Enter topic levels of letters, digits, '_' or '-', e.g. homeassistant.";
  }
  for (const key of ["min_interval", "max_interval"]) {
    const text = fields[key].trim();
    if (!text || !DURATION.test(text)) problems[key] = 'Enter a duration like "10s", "5m" or "1h".';
  }
  if (fields.password && !fields.username.trim()) problems.username = "A password needs a user name.";
  return problems;
}

/**
 * The `mqtt` of PATCH /api/v1/settings: what changed (the broker's parts all together when one
 * did), the password only when one was typed, null for a reset or an emptied user name.
 */
export function mqttPatch(before, after, resets = new Set(), password = "") {
  const body = {};
  const changed = (key) => String(after[key]).trim() !== String(before[key]).trim();
  const brokerChanged = BROKER_FIELDS.some(changed) || password !== "";
  for (const key of MQTT_FIELDS) {
    if (resets.has(key)) {
      body[key] = null;
      continue;
    }
    if (!changed(key) && !(brokerChanged && BROKER_FIELDS.includes(key))) continue;
    if (key === "enabled" || key === "tls") body[key] = Boolean(after[key]);
    else if (key === "port") body.port = after.port.trim() ? Number(after.port.trim()) : null;
    else if (key === "username") body.username = after.username.trim() || null;
    else body[key] = String(after[key]).trim();
  }
  if (password !== "") body.password = password;
  return body;
}

export const FORECAST_FIELDS = ["enabled", "window", "min_data", "lead_time", "sensors", "places"];

/** The forecast form's fields as shown, from GET /api/v1/settings' `forecast`. */
export function forecastFields(settings) {
  const value = (key) => settingOf(settings?.forecast, key).value;
  return {
    enabled: value("enabled") !== false,
    window: durationText(value("window") ?? 3600),
    min_data: durationText(value("min_data") ?? 900),
    lead_time: durationText(value("lead_time") ?? 10800),
    sensors: listText(value("sensors")),
    places: listText(value("places")),
  };
}

/** Check the forecast form: {field: message}. */
export function checkForecast(fields) {
  const problems = {};
  for (const key of ["window", "min_data", "lead_time"]) {
    const text = fields[key].trim();
    if (!text || !DURATION.test(text)) problems[key] = 'Enter a duration like "30m", "1h" or "3h".';
  }
  return problems;
}

/** The `forecast` of PATCH /api/v1/settings: what changed, null for a reset. */
export function forecastPatch(before, after, resets = new Set()) {
  const body = {};
  for (const key of FORECAST_FIELDS) {
    if (resets.has(key)) body[key] = null;
    else if (String(after[key]).trim() === String(before[key]).trim()) continue;
    else if (key === "enabled") body.enabled = Boolean(after.enabled);
    else if (key === "sensors" || key === "places") body[key] = parseList(after[key]);
    else body[key] = after[key].trim();
  }
  return body;
}

/**
 * A new pair's name from its label: what its sensors' ids are made of (derived/<name>/dew_point),
 * letters, digits, '-' and '_' only; another number when the name is taken.
 */
export function pairName(label, taken = []) {
  const base = String(label ?? "").normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 56) || "pair";
  const names = new Set(taken);
  if (!names.has(base)) return base;
  for (let n = 2; ; n++) if (!names.has(`${base}-${n}`)) return `${base}-${n}`;
}

/**
 * The sensors a pair may take, of one place ("" for all): measured temperature and humidity
 * sensors of /api/v1/sensors, never a derived one, by name.
 */
export function pairChoices(sensors, place = "") {
  const list = Array.isArray(sensors) ? sensors : [];
  const inPlace = list.filter((s) => typeof s?.id === "string" && !s.id.startsWith("derived/")
    && (!place || (placeOf(s) ?? UNSORTED) === place));
  const byName = (a, b) => sensorName(a).localeCompare(sensorName(b));
  return {
    temperatures: inPlace.filter((s) => s.kind === "temperature").sort(byName),
    humidities: inPlace.filter((s) => s.kind === "humidity").sort(byName),
  };
}

/** The places of /api/v1/sensors' sensors, sorted ("Unsorted" for those in none), for the pair form. */
export function placesOf(sensors) {
  const places = new Set((Array.isArray(sensors) ? sensors : []).filter((s) => !String(s?.id).startsWith("derived/"))
    .map((s) => placeOf(s) ?? UNSORTED));
  return [...places].sort((a, b) => a.localeCompare(b));
}
