// The current-readings table: a real <table>, one <tbody> per chip as lm-sensors prints them,
// rows created when the sensor list changes and only their text updated on each sample.

import { KIND_TITLES, formatValue, frostIn, getDisplayUnits, isFrost, sensorName } from "./format.js";

const LIMIT_NAMES = ["lcrit", "min", "max", "crit", "emergency"];
const KIND_ORDER = Object.keys(KIND_TITLES);
const byNaturalOrder = (a, b) => a.localeCompare(b, undefined, { numeric: true });

// One span per limit, so a narrow column wraps between limits and never inside "crit 100.0 °C".
function limitsContent(sensor) {
  const thresholds = sensor.thresholds || {};
  const parts = [];
  for (const name of LIMIT_NAMES) {
    if (typeof thresholds[name] !== "number") continue;
    if (parts.length) parts.push(" ");
    parts.push(cell("span", `${name} ${formatValue(thresholds[name], sensor)}`, "limit"));
  }
  return parts;
}

function statusText(status, detail) {
  if (status === "alarm" && detail.alarms && detail.alarms.length) return `alarm (${detail.alarms.join(", ")})`;
  if ((status === "fault" || status === "error") && detail.error) return `${status}: ${detail.error}`;
  return status;
}

function cell(tag, text, className) {
  const element = document.createElement(tag);
  element.textContent = text;
  if (className) element.className = className;
  return element;
}

/** Manage the rows of `table` (which already holds its caption and header). */
export function setupTable(table) {
  const rows = new Map(); // sensor id -> {sensor, row, value, statusText, alertMark, text, ...}
  const bodies = []; // [{body, ids}]
  let idsKey = "";
  let frostThreshold = 0;
  let alerts = new Map(); // sensor id -> {severity, summaries}
  let open = null; // admins: open a sensor's sheet from its name

  function build(sensors) {
    for (const { body } of bodies) body.remove();
    bodies.length = 0;
    rows.clear();
    const sorted = [...sensors].sort(
      (a, b) =>
        byNaturalOrder(a.chip, b.chip) ||
        KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
        byNaturalOrder(a.channel, b.channel),
    );
    let current = null;
    for (const sensor of sorted) {
      if (!current || current.chip !== sensor.chip) {
        const body = document.createElement("tbody");
        const header = document.createElement("tr");
        const th = cell("th", "", "chip");
        th.scope = "rowgroup";
        th.colSpan = 4;
        th.title = sensor.chip;
        th.append(cell("span", sensor.chip, "clamp"));
        header.append(th);
        body.append(header);
        table.append(body);
        current = { chip: sensor.chip, body, ids: [] };
        bodies.push(current);
      }
      const row = document.createElement("tr");
      // The name in a span that CSS clamps: a label may be thousands of characters long.
      const name = cell("th", "");
      name.scope = "row";
      const nameText = cell("span", sensorName(sensor), "clamp");
      if (open) {
        // For admins the name opens the sensor's sheet; the span inside keeps the clamping.
        const edit = cell("button", "", "sensor-edit");
        edit.type = "button";
        edit.setAttribute("aria-haspopup", "dialog");
        edit.addEventListener("click", () => open?.(sensor.id));
        edit.append(nameText);
        name.append(edit);
      } else {
        name.append(nameText);
      }
      const value = cell("td", "—", "value");
      const limits = cell("td", "", "limits");
      // The status in words, then the sensor's active alert if it has one (setAlerts).
      const status = cell("td", "", "status");
      const words = cell("span", "", "status-text");
      const alertMark = cell("span", "", "alert-mark");
      alertMark.hidden = true;
      status.append(words, " ", alertMark);
      row.append(name, value, limits, status);
      current.body.append(row);
      current.ids.push(sensor.id);
      const entry = { sensor, row, name, nameText, value, limits, statusText: words, alertMark, text: "", state: "", metaKey: "", alert: "" };
      rows.set(sensor.id, entry);
      markAlert(entry);
    }
  }

  // Rows are rebuilt with the sensor list: each new one takes its mark from the last setAlerts.
  function markAlert(entry) {
    const alert = alerts.get(entry.sensor.id);
    const key = alert ? `${alert.severity}|${alert.summaries.join("\n")}` : "";
    if (key === entry.alert) return;
    entry.alert = key;
    if (alert) entry.row.dataset.alert = alert.severity;
    else delete entry.row.dataset.alert;
    entry.alertMark.hidden = !alert;
    entry.alertMark.textContent = alert ? `${alert.severity} alert` : "";
    entry.alertMark.title = alert ? alert.summaries.join("\n") : "";
  }

  return {
    /** Let admins open a sensor's sheet from its name (`onOpen(id)`), or nobody (null). */
    setEditable(onOpen) {
      open = onOpen;
      idsKey = ""; // the names become buttons (or text) on the next setSensors
    },

    /** Match the rows to the sensor list; rebuild only when the set of sensors changed. */
    setSensors(sensors, frost = 0) {
      frostThreshold = frost;
      const key = sensors.map((s) => `${s.chip}/${s.id}`).join("\n");
      if (key !== idsKey) {
        idsKey = key;
        build(sensors);
      }
      for (const sensor of sensors) {
        const entry = rows.get(sensor.id);
        entry.sensor = sensor;
        // While polling this runs every second: touch the DOM only when the metadata changed.
        const metaKey = JSON.stringify([sensorName(sensor), sensor.chip_name, sensor.source, sensor.thresholds, getDisplayUnits()]);
        if (metaKey === entry.metaKey) continue;
        entry.metaKey = metaKey;
        entry.nameText.textContent = sensorName(sensor);
        // The whole name, even when the cell shows only its start; then where it comes from.
        entry.name.title = `${sensorName(sensor)}\n${sensor.id} (${sensor.chip_name}, ${sensor.source})`;
        entry.limits.replaceChildren(...limitsContent(sensor));
      }
    },

    /** Show the latest values and statuses; `detailOf(id)` gives {alarms, error, frost_eta} for the status text. */
    update(valueOf, statusOf, detailOf) {
      for (const [id, entry] of rows) {
        const text = formatValue(valueOf(id), entry.sensor);
        if (text !== entry.text) entry.value.textContent = entry.text = text;
        const status = statusOf(id);
        const frost = isFrost(valueOf(id), entry.sensor, frostThreshold);
        let words = statusText(status, detailOf(id));
        if (frost) words = `${status === "ok" ? "" : `${words}, `}frost (≤ ${formatValue(frostThreshold, entry.sensor)})`;
        // The forecast's frost (frost_eta of the sensor list), while it is still ahead.
        const ahead = frost ? "" : frostIn(detailOf(id).frost_eta);
        if (ahead) words += `, ${ahead}`;
        const state = `${status}|${words}`;
        if (state !== entry.state) {
          entry.state = state;
          entry.row.dataset.status = status;
          entry.row.toggleAttribute("data-frost", frost);
          entry.statusText.textContent = words;
        }
      }
    },

    /** Mark the rows of sensors with an active alert: `bySensor` maps an id to {severity, summaries}. */
    setAlerts(bySensor) {
      alerts = bySensor;
      for (const entry of rows.values()) markAlert(entry);
    },

    /** Hide the rows that `match(sensor)` rejects, and chips left without rows. */
    setFilter(match) {
      for (const { body, ids } of bodies) {
        let any = false;
        for (const id of ids) {
          const entry = rows.get(id);
          entry.row.hidden = !match(entry.sensor);
          any ||= !entry.row.hidden;
        }
        body.hidden = !any;
      }
    },
  };
}
