// Units and number formatting: the one place that turns a sensor value into text, and the one
// place that converts units. The API reports every kind in its base unit (see the app's
// model.UNITS) and stays SI; the device's display units (`device.units` of /api/v1/sensors:
// "celsius" or "fahrenheit") apply to temperatures here, in both directions (what is shown, and
// what a form sends back). Otherwise we only choose decimals and, for quantities that span many
// decades, an SI prefix.

export const KIND_TITLES = {
  temperature: "Temperatures",
  voltage: "Voltages",
  current: "Currents",
  power: "Power",
  energy: "Energy",
  humidity: "Humidity",
  fan: "Fans",
  pwm: "PWM duty",
  frequency: "Frequencies",
  intrusion: "Intrusion",
  other: "Other",
};

// Decimals as lm-sensors prints them, give or take: °C to a tenth, fans as whole RPM.
const DECIMALS = {
  temperature: 1,
  voltage: 3,
  current: 2,
  humidity: 1,
  fan: 0,
  pwm: 0,
};

// Units whose values range over decades (mW..kW, Hz..GHz, J..MJ) read better with a prefix.
const PREFIXED_UNITS = new Set(["W", "J", "Hz"]);
const PREFIXES = [
  [1e9, "G"],
  [1e6, "M"],
  [1e3, "k"],
  [1, ""],
  [1e-3, "m"],
];

export const MISSING = "—";

// ---- display units ---------------------------------------------------------------------------

export const UNITS = ["celsius", "fahrenheit"];
let displayUnits = "celsius";

/** Show temperatures in `units` from now on ("celsius" or "fahrenheit"; anything else: celsius). */
export function setDisplayUnits(units) {
  displayUnits = units === "fahrenheit" ? "fahrenheit" : "celsius";
  return displayUnits;
}

export function getDisplayUnits() {
  return displayUnits;
}

const fahrenheit = (sensor) => displayUnits === "fahrenheit" && sensor?.kind === "temperature";

/** A sensor's unit as shown: "°F" for a temperature in fahrenheit, else the API's. */
export function displayUnit(sensor) {
  return fahrenheit(sensor) ? "°F" : sensor?.unit || "";
}

/** A value of the sensor (SI, as the API says it) in the display units. */
export function toDisplay(value, sensor) {
  if (typeof value !== "number" || !fahrenheit(sensor)) return value;
  return (value * 9) / 5 + 32;
}

/** A value typed in the display units, in the sensor's SI unit for the API. */
export function fromDisplay(value, sensor) {
  if (typeof value !== "number" || !fahrenheit(sensor)) return value;
  return ((value - 32) * 5) / 9;
}

/** A difference (a calibration offset, a hysteresis) in the display units: no +32. */
export function deltaToDisplay(value, sensor) {
  if (typeof value !== "number" || !fahrenheit(sensor)) return value;
  return (value * 9) / 5;
}

/** A difference typed in the display units, in the sensor's SI unit. */
export function deltaFromDisplay(value, sensor) {
  if (typeof value !== "number" || !fahrenheit(sensor)) return value;
  return (value * 5) / 9;
}

/**
 * A text of the app's (an alert's summary: "Garden at -0.5 °C: at or below the frost threshold
 * (0.5 °C)") with its temperatures in the display units; the same text in celsius. The API's texts
 * stay SI, as its numbers do.
 */
export function temperaturesInText(text) {
  if (displayUnits !== "fahrenheit" || typeof text !== "string") return text;
  return text.replace(/(-?\d+(?:\.(\d+))?)\s?°C/g, (_, number, decimals = "") =>
    `${((Number(number) * 9) / 5 + 32).toFixed(Math.max(1, decimals.length))} °F`);
}

/** A column of values (nulls kept) in the display units; the same array when nothing converts. */
export function columnToDisplay(values, sensor) {
  if (!fahrenheit(sensor)) return values;
  return values.map((v) => (v == null ? v : (v * 9) / 5 + 32));
}

function prefixFor(unit, magnitude) {
  if (!PREFIXED_UNITS.has(unit) || !magnitude) return [1, ""];
  return PREFIXES.find(([factor]) => magnitude >= factor) || PREFIXES[PREFIXES.length - 1];
}

function withUnit(text, unit) {
  return unit ? `${text} ${unit}` : text;
}

/** Format one reading of a sensor ({kind, unit}, SI) in the display units, "—" when there is none. */
export function formatValue(value, sensor) {
  if (value == null || Number.isNaN(value)) return MISSING;
  return formatShown(toDisplay(value, sensor), sensor);
}

/** Format a value already in the display units (a plot's legend and limit lines hold such values). */
export function formatShown(value, sensor) {
  if (value == null || Number.isNaN(value)) return MISSING;
  const { kind } = sensor;
  const unit = displayUnit(sensor);
  const [factor, prefix] = prefixFor(unit, Math.abs(value));
  const scaled = value / factor;
  let decimals = DECIMALS[kind];
  if (decimals == null) decimals = Number.isInteger(value) ? 0 : 3;
  if (kind === "voltage" && Math.abs(value) >= 10) decimals = 2;
  // Prefixed values keep three significant digits: 450 mW, 35.2 W, 1.50 GHz.
  if (PREFIXED_UNITS.has(unit) && scaled) decimals = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(scaled))));
  return withUnit(scaled.toFixed(decimals), prefix + unit);
}

/** Format the ticks of one axis with their unit: a shared prefix, just enough decimals for the step. */
export function formatTicks(ticks, unit) {
  const magnitude = Math.max(...ticks.map(Math.abs));
  const [factor, prefix] = prefixFor(unit, magnitude);
  const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) / factor : 1;
  let decimals = Math.min(6, Math.max(0, -Math.floor(Math.log10(step || 1) + 1e-9)));
  // uPlot also steps by 2.5 x 10^n: 0.25 needs two decimals, or 0.75 would read "0.8".
  const scaledStep = step * 10 ** decimals;
  if (decimals < 6 && Math.abs(scaledStep - Math.round(scaledStep)) > 1e-6) decimals++;
  return ticks.map((t) => withUnit((t / factor).toFixed(decimals), prefix + unit));
}

// A date without its year, as both the cursor's time and the axis ticks show it: "Dec 3".
const formatDay = (date) => date.toLocaleDateString([], { month: "short", day: "numeric" });

/** Format a unix time in seconds as local wall-clock time, to the second; with the date if asked. */
export function formatTime(seconds, withDate = false) {
  if (seconds == null) return MISSING;
  const date = new Date(seconds * 1000);
  const time = date.toLocaleTimeString([], { hour12: false });
  return withDate ? `${formatDay(date)} ${time}` : time;
}

/**
 * Format time-axis ticks as 24-hour wall-clock time, with seconds only when ticks need them; over
 * long ranges, ticks at midnight (or all, when days apart) show the date.
 */
export function formatTimeTicks(ticks, withDate = false) {
  const seconds = ticks.some((t) => Math.round(t) % 60 !== 0);
  const options = { hour: "2-digit", minute: "2-digit", hour12: false };
  if (seconds) options.second = "2-digit";
  const daysApart = ticks.length > 1 && ticks[1] - ticks[0] >= 86400;
  // Every plot's axis runs this on each sample: format the date only for ticks that show it.
  return ticks.map((t) => {
    const date = new Date(t * 1000);
    if (daysApart || (withDate && date.getHours() === 0 && date.getMinutes() === 0)) return formatDay(date);
    return date.toLocaleTimeString([], options);
  });
}

/**
 * Cut a text to at most `max` characters, ending in "…" when cut: for text that flows inline (an
 * alert's summary quotes its sensor's label, which may be thousands of characters long).
 */
export function shorten(text, max) {
  const chars = [...text]; // code points: never half of an emoji or other surrogate pair
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("").trimEnd()}…`;
}

/** Name a sensor as lm-sensors does: its label, else its channel. */
export function sensorName(sensor) {
  return sensor.label || sensor.channel || sensor.id;
}

/** Say a span of whole minutes briefly: "45 min", "2 h 5 min", "2 h". */
function span(minutes) {
  const hours = Math.floor(minutes / 60);
  if (!hours) return `${minutes} min`;
  return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
}

/**
 * Say how long ago a unix time was, coarsely: "just now", "3 min ago", "2 h 5 min ago", "3 d ago".
 * A time ahead of `now` (the device's clock ahead of the browser's) counts as just now.
 */
export function formatAgo(seconds, now = Date.now() / 1000) {
  if (typeof seconds !== "number") return MISSING;
  const ago = Math.floor(now - seconds);
  if (ago < 60) return "just now";
  const hours = Math.floor(ago / 3600);
  if (hours < 24) return `${span(Math.floor(ago / 60))} ago`;
  const days = Math.floor(hours / 24);
  return hours % 24 ? `${days} d ${hours % 24} h ago` : `${days} d ago`;
}

/**
 * Whether a reading is a temperature at or below the frost threshold (the plots draw that line, the
 * overview and the table mark it); a derived one (a dew or frost point) never is: it is not the
 * air's temperature.
 */
export function isFrost(value, sensor, frostThreshold) {
  return sensor.kind === "temperature" && sensor.source !== "derived" && typeof value === "number" &&
    typeof frostThreshold === "number" && value <= frostThreshold;
}

/**
 * Say when a sensor's forecast frost comes (its frost_eta, unix time): "frost in 2 h 10 min", or
 * "" when it has none or it is past (the frost itself is said then).
 */
export function frostIn(eta, now = Date.now() / 1000) {
  return typeof eta === "number" && eta > now ? `frost in ${span(Math.max(1, Math.round((eta - now) / 60)))}` : "";
}
