// The places overview's decisions, pure (overview.js does the DOM): which sensors go in which card
// and in which order, today's low and high from the history, and the 24 h sparklines' paths.

export const UNSORTED = "Unsorted"; // the card of the sensors without a place
export const SPARK_STEP = 900; // s: a sparkline point. 15 min divides every time zone's offset, so
// points (aligned to multiples of the step since 1970, history/plan.py) start at local midnight
export const SPARK_SECONDS = 86400;
const MAX_SENSOR_PARAMS = 4000; // characters of sensor=... beyond which the request asks for all

const byNaturalOrder = (a, b) => a.localeCompare(b, undefined, { numeric: true });

/** A sensor's place as the overview shows it: its own, or null (the "Unsorted" card). */
export function placeOf(sensor) {
  return typeof sensor.place === "string" && sensor.place.trim() ? sensor.place : null;
}

const orderOf = (sensor) => (Number.isFinite(sensor.order) ? sensor.order : 0);

/** Order within a place: by `order`, then by id (the API's default order is by id too). */
export function bySensorOrder(a, b) {
  return orderOf(a) - orderOf(b) || byNaturalOrder(a.id, b.id);
}

/**
 * The overview's cards: [{place, name, sensors}] for the sensors not hidden, places by name and
 * "Unsorted" (place null) last, sensors in each by order then id.
 */
export function groupByPlace(sensors) {
  const places = new Map();
  for (const sensor of sensors) {
    if (sensor.hidden === true) continue;
    const place = placeOf(sensor);
    if (!places.has(place)) places.set(place, []);
    places.get(place).push(sensor);
  }
  return [...places.entries()]
    .sort(([a], [b]) => (a === null) - (b === null) || (a !== null && byNaturalOrder(a, b)))
    .map(([place, members]) => ({ place, name: place ?? UNSORTED, sensors: members.sort(bySensorOrder) }));
}

/** Every place any sensor has (hidden ones too), by name: what the sheet offers to pick from. */
export function placeNames(sensors) {
  return [...new Set(sensors.map(placeOf).filter((place) => place !== null))].sort(byNaturalOrder);
}

/**
 * Move sensor `id` by `delta` (-1 up, +1 down) within its place, among `sensors` (all of the
 * device's; hidden ones keep their turn). Returns the orders that change, [{id, order}], the place
 * renumbered 1..n: an order equal to a neighbour's would sort by id and could jump past two.
 */
export function reorder(sensors, id, delta) {
  const sensor = sensors.find((s) => s.id === id);
  if (!sensor) return [];
  const place = placeOf(sensor);
  const members = sensors.filter((s) => placeOf(s) === place).sort(bySensorOrder);
  const from = members.indexOf(sensor);
  const to = from + delta;
  if (to < 0 || to >= members.length || to === from) return [];
  members.splice(from, 1);
  members.splice(to, 0, sensor);
  return members.map((s, i) => ({ id: s.id, order: i + 1 })).filter(({ id: sid, order }) => {
    const before = sensors.find((s) => s.id === sid);
    return orderOf(before) !== order || !Number.isFinite(before.order);
  });
}

/** Local midnight before a Unix time (seconds), in the browser's time zone. */
export function localMidnight(seconds) {
  const date = new Date(seconds * 1000);
  date.setHours(0, 0, 0, 0);
  return date.getTime() / 1000;
}

/**
 * The query of the one history request all the sparklines share: the last 24 h at SPARK_STEP (or
 * the sampling interval, if longer), aligned, for `ids` (all sensors when that list is long).
 */
export function sparklineQuery(now, interval, ids = []) {
  const step = Math.max(SPARK_STEP, Math.ceil(interval / SPARK_STEP) * SPARK_STEP);
  const from = Math.floor((now - SPARK_SECONDS) / step) * step;
  const params = new URLSearchParams({ from: String(from), to: String(Math.ceil(now)), step: String(step) });
  const sensors = new URLSearchParams(ids.map((id) => ["sensor", id]));
  if (ids.length && sensors.toString().length <= MAX_SENSOR_PARAMS) for (const id of ids) params.append("sensor", id);
  return params.toString();
}

/**
 * One sensor's columns from a history answer: {times, mean, min, max}, aggregated or raw (then
 * the three are the samples); null when the answer has nothing of it.
 */
export function seriesOf(answer, id) {
  const series = answer?.series?.[id];
  const times = Array.isArray(answer?.timestamps) ? answer.timestamps : null;
  if (!series || !times) return null;
  if (Array.isArray(series)) return { times, mean: series, min: series, max: series };
  if (!Array.isArray(series.mean)) return null;
  return { times, mean: series.mean, min: series.min || series.mean, max: series.max || series.mean };
}

const finite = (v) => typeof v === "number" && Number.isFinite(v);

/**
 * Today's low and high of a sensor, {low, high}, from its history points that start at or after
 * `since` (local midnight); null when none has a value.
 */
export function dayRange(series, since) {
  if (!series) return null;
  let low = Infinity;
  let high = -Infinity;
  series.times.forEach((t, i) => {
    if (t < since) return;
    if (finite(series.min[i])) low = Math.min(low, series.min[i]);
    if (finite(series.max[i])) high = Math.max(high, series.max[i]);
  });
  return low <= high ? { low, high } : null;
}

/** A day's range widened by a new reading; the same object when the reading is inside it. */
export function widen(range, value) {
  if (!finite(value)) return range;
  if (!range) return { low: value, high: value };
  if (value >= range.low && value <= range.high) return range;
  return { low: Math.min(range.low, value), high: Math.max(range.high, value) };
}

/**
 * The path ("M x,y L x,y ...", one decimal) of a sparkline `width` x `height` for the points
 * (times, values) over [from, to]; a missing value breaks the line. Values are scaled between
 * their min and max (a flat line in the middle when they are all equal); "" without any value.
 */
export function sparkPath(times, values, from, to, width, height) {
  let min = Infinity;
  let max = -Infinity;
  values.forEach((v, i) => {
    if (!finite(v) || times[i] < from || times[i] > to) return;
    min = Math.min(min, v);
    max = Math.max(max, v);
  });
  if (min > max || !(to > from)) return "";
  const pad = 1; // the stroke's half-width, so the extremes are not cut at the edges
  const x = (t) => round(((t - from) / (to - from)) * width);
  const y = max === min ? () => round(height / 2) : (v) => round(pad + (1 - (v - min) / (max - min)) * (height - 2 * pad));
  const inside = (i) => finite(values[i]) && times[i] >= from && times[i] <= to;
  let path = "";
  for (let i = 0; i < times.length; i++) {
    if (!inside(i)) continue;
    const joined = i > 0 && inside(i - 1);
    path += `${joined ? "L" : path ? " M" : "M"}${x(times[i])},${y(values[i])}`;
    // A point alone (a young device's first one, one between gaps): a dot, by the round cap.
    if (!joined && !inside(i + 1)) path += "h0";
  }
  return path;
}

const round = (v) => Math.round(v * 10) / 10;
