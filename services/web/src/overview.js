// The places overview, the landing page (issue 22): a card per place, each sensor with its current
// value in the display units, today's low and high, its alert state and a 24 h sparkline. Cards
// are built when the sensor list changes (places, order, names, hidden); a sample only changes the
// text that changed, and a sparkline's path is set only when the history changed it. Names are
// text (textContent), cut short by the stylesheet, whole in their title.

import { formatValue, frostIn, getDisplayUnits, isFrost, sensorName } from "./format.js";
import { SPARK_SECONDS, dayRange, groupByPlace, localMidnight, placeOf, seriesOf, sparkPath, widen } from "./places.js";

const SVG = "http://www.w3.org/2000/svg";
const SPARK_WIDTH = 120; // the viewBox; the stylesheet sizes the svg, the path stretches with it
const SPARK_HEIGHT = 28;
const STATUS_WORDS = { alarm: "alarm", fault: "fault", error: "error", disabled: "disabled" };

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text != null) node.textContent = text;
  return node;
}

/**
 * Mount the overview into `container`. `onOpen(id)`, when set (admins), opens a sensor's sheet:
 * each sensor is then a button; for anyone else it is plain text.
 */
export function setupOverview(container, { onOpen = null } = {}) {
  const rows = new Map(); // id -> {sensor, parts, text, day, alert, status, path}
  const ranges = new Map(); // id -> {low, high}: today's, SI
  const paths = new Map(); // id -> the sparkline's path
  let sensors = [];
  let key = "";
  let frostThreshold = null;
  let alerts = new Map();
  let day = 0; // local midnight of the ranges
  let open = onOpen;

  function build(groups) {
    rows.clear();
    const cards = groups.map(({ place, name, sensors: members }) => {
      const card = element("section", "place-card");
      if (place === null) card.dataset.unsorted = "";
      const title = element("h2", "place-name clamp", name);
      title.title = name;
      const list = element("ul", "place-sensors");
      list.append(...members.map(row));
      card.append(title, list);
      card.dataset.place = name;
      return card;
    });
    container.replaceChildren(...cards);
  }

  function row(sensor) {
    const item = element("li", "place-sensor");
    item.dataset.sensor = sensor.id;
    const body = element(open ? "button" : "div", "sensor-row");
    if (open) {
      body.type = "button";
      body.setAttribute("aria-haspopup", "dialog");
      body.addEventListener("click", () => open?.(sensor.id));
    }
    // In "Unsorted", named by the hardware: its chip tells two "Package id 0" apart.
    const title = element("span", "sensor-title clamp");
    title.append(element("span", "sensor-name", sensorName(sensor)));
    if (placeOf(sensor) === null && sensor.chip) title.append(" ", element("span", "sensor-chip", sensor.chip));
    title.title = `${sensorName(sensor)}\n${sensor.id}`;
    const value = element("span", "sensor-value", "—");
    const dayText = element("span", "sensor-day");
    const mark = element("span", "sensor-alert");
    mark.hidden = true;
    // The frost forecast's "frost in 2 h 10 min" (the sensor list's frost_eta), said again at each sample.
    const ahead = element("span", "sensor-ahead");
    ahead.hidden = true;
    const spark = document.createElementNS(SVG, "svg");
    spark.setAttribute("class", "spark");
    spark.setAttribute("viewBox", `0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`);
    spark.setAttribute("preserveAspectRatio", "none");
    spark.setAttribute("aria-hidden", "true");
    const line = document.createElementNS(SVG, "path");
    spark.append(line);
    const below = element("span", "sensor-below");
    below.append(dayText, ahead, mark);
    body.append(title, value, below, spark);
    item.append(body);
    const entry = {
      sensor, item, value, dayText, mark, ahead, line, text: "", dayKey: "", aheadText: "", alert: "", status: "", path: null,
    };
    rows.set(sensor.id, entry);
    markAlert(entry);
    drawDay(entry);
    drawSpark(entry);
    return item;
  }

  function drawDay(entry) {
    const range = ranges.get(entry.sensor.id);
    const text = range ? `low ${formatValue(range.low, entry.sensor)} · high ${formatValue(range.high, entry.sensor)}` : "";
    if (text !== entry.dayKey) entry.dayText.textContent = entry.dayKey = text;
  }

  function drawSpark(entry) {
    const path = paths.get(entry.sensor.id) || "";
    if (path === entry.path) return; // an unchanged history: the SVG is not touched
    entry.path = path;
    entry.line.setAttribute("d", path);
  }

  function markAlert(entry) {
    const alert = alerts.get(entry.sensor.id);
    const status = STATUS_WORDS[entry.status] || "";
    const words = alert ? `${alert.severity} alert` : status;
    const markKey = `${words}|${alert?.summaries.join("\n") || ""}`;
    if (markKey === entry.alert) return;
    entry.alert = markKey;
    if (alert) entry.item.dataset.alert = alert.severity;
    else delete entry.item.dataset.alert;
    entry.mark.hidden = !words;
    entry.mark.textContent = words;
    entry.mark.title = alert ? alert.summaries.join("\n") : "";
  }

  // A new day (the first sample after local midnight): yesterday's low and high no longer count.
  function startDay(t) {
    const midnight = localMidnight(t);
    if (midnight <= day) return false;
    day = midnight;
    ranges.clear();
    return true;
  }

  return {
    /**
     * Match the cards to the sensor list; rebuild them only when what they show changed. Returns
     * how many cards there are (0: every sensor hidden).
     */
    setSensors(list, frost = null) {
      sensors = list;
      frostThreshold = frost;
      // Grouped once per list (while polling, a list a second): the key, the cards and the count.
      const groups = groupByPlace(list);
      const next = JSON.stringify([
        getDisplayUnits(), Boolean(open),
        groups.map((card) => [card.name, card.sensors.map((s) => [s.id, sensorName(s), s.chip, s.kind, s.unit])]),
      ]);
      if (next !== key) {
        key = next;
        build(groups);
      }
      for (const s of list) {
        const entry = rows.get(s.id);
        if (entry) entry.sensor = s;
      }
      return groups.length;
    },

    /** Let admins open a sensor's sheet (`onOpen(id)`), or nobody (null). */
    setEditable(onOpenSensor) {
      open = onOpenSensor;
      key = ""; // rows change from text to buttons: rebuilt on the next setSensors
      this.setSensors(sensors, frostThreshold);
    },

    /** Show the latest values and statuses (`valueOf(id)`, `statusOf(id)`) at sample time `t`. */
    update(valueOf, statusOf, t) {
      const newDay = typeof t === "number" && startDay(t);
      for (const [id, entry] of rows) {
        const value = valueOf(id);
        const text = formatValue(value, entry.sensor);
        if (text !== entry.text) entry.value.textContent = entry.text = text;
        const frost = isFrost(value, entry.sensor, frostThreshold);
        if (frost !== entry.item.hasAttribute("data-frost")) entry.item.toggleAttribute("data-frost", frost);
        const aheadText = frost ? "" : frostIn(entry.sensor.frost_eta);
        if (aheadText !== entry.aheadText) {
          entry.ahead.textContent = entry.aheadText = aheadText;
          entry.ahead.hidden = !aheadText;
        }
        const before = ranges.get(id);
        const range = widen(before, value);
        if (range !== before || newDay) {
          if (range) ranges.set(id, range);
          drawDay(entry);
        }
        const status = statusOf(id) || "ok";
        if (status !== entry.status) {
          entry.status = status;
          entry.item.dataset.status = status;
          markAlert(entry);
        }
      }
      return newDay;
    },

    /**
     * Take the day's history (the one answer of every sparkline, over the last 24 h up to `now`):
     * today's low and high from its points since local midnight, and each sensor's sparkline.
     */
    setHistory(answer, now) {
      startDay(now);
      for (const [id, entry] of rows) {
        const series = seriesOf(answer, id);
        const fromHistory = dayRange(series, day);
        if (fromHistory) {
          const range = widen(widen(ranges.get(id), fromHistory.low), fromHistory.high);
          ranges.set(id, range);
          drawDay(entry);
        }
        paths.set(id, series ? sparkPath(series.times, series.mean, now - SPARK_SECONDS, now, SPARK_WIDTH, SPARK_HEIGHT) : "");
        drawSpark(entry);
      }
    },

    /** Mark the sensors with an active alert: `bySensor` maps an id to {severity, summaries}. */
    setAlerts(bySensor) {
      alerts = bySensor;
      for (const entry of rows.values()) markAlert(entry);
    },
  };
}
