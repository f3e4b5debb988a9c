// One uPlot per chip and physical quantity (all temperatures of coretemp-isa-0000 together, the
// fans of nct6775 together...). Plots are created when the sensor list changes and otherwise
// only fed new data with setData, so a page left open for days keeps a constant DOM.
// Each sensor has a line (its value, or the mean of an aggregated point) and, after all the
// lines, a min and a max series that a uPlot band fills between: empty for raw samples.
// Dragging across a plot selects a span; the caller fetches it (`onZoom`).

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { worseSeverity } from "./alerts.js";
import {
  KIND_TITLES, columnToDisplay, displayUnit, formatShown, formatTicks, formatTime, formatTimeTicks, getDisplayUnits,
  sensorName, toDisplay,
} from "./format.js";
import { placeLabels } from "./limit-labels.js";

// Which thresholds are drawn, and in which colour: warning limits amber, critical ones red.
const LIMITS = { min: "warn", max: "warn", lcrit: "crit", crit: "crit", emergency: "crit" };
const KIND_ORDER = Object.keys(KIND_TITLES);
const PALETTE_SIZE = 8;

// uPlot's default axis font, for sizing the value axis to its widest tick label.
const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
let measurer = null;
function axisWidth(labels) {
  measurer ||= document.createElement("canvas").getContext("2d");
  measurer.font = AXIS_FONT;
  const widest = Math.max(0, ...(labels || []).map((label) => measurer.measureText(label).width));
  return Math.ceil(widest) + 24; // tick (10) + gap (5) + breathing room
}

const byNaturalOrder = (a, b) => a.localeCompare(b, undefined, { numeric: true });

/** Group key of a sensor: its chip and quantity (and unit, so one axis never mixes two). */
function groupKey(sensor) {
  return `${sensor.chip}\u0000${sensor.kind}\u0000${sensor.unit}`;
}

// Colours come from the stylesheet's custom properties, so light and dark themes stay in CSS.
function readTheme(element) {
  const css = getComputedStyle(element);
  const get = (name) => css.getPropertyValue(name).trim();
  return {
    text: get("--plot-text"),
    grid: get("--plot-grid"),
    warn: get("--limit-warn"),
    crit: get("--limit-crit"),
    frost: get("--limit-frost"),
    series: Array.from({ length: PALETTE_SIZE }, (_, i) => get(`--series-${i}`)),
  };
}

/**
 * The horizontal lines of a group: each distinct threshold once, and frost for temperatures; their
 * values in the display units, as the plotted data.
 */
function limitLines(sensors, frostThreshold) {
  const lines = new Map();
  sensors.forEach((sensor, index) => {
    for (const [name, value] of Object.entries(sensor.thresholds || {})) {
      if (!LIMITS[name] || typeof value !== "number") continue;
      const key = `${name}=${value}`;
      if (!lines.has(key)) lines.set(key, { name, value: toDisplay(value, sensor), tone: LIMITS[name], owners: [] });
      lines.get(key).owners.push(index + 1); // uPlot series index of a sensor that has this limit
    }
  });
  if (sensors[0].kind === "temperature" && typeof frostThreshold === "number") {
    lines.set("frost", { name: "frost", value: toDisplay(frostThreshold, sensors[0]), tone: "frost", owners: null });
  }
  return [...lines.values()];
}

/** The lines worth showing: those of at least one series not hidden by the filter or legend. */
function shownLines(u, group) {
  return group.lines.filter((line) => !line.owners || line.owners.some((i) => u.series[i]?.show !== false));
}

function drawLimits(u, group, theme) {
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const dpr = uPlot.pxRatio;
  ctx.save();
  ctx.font = `${11 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = "right";
  ctx.textBaseline = "bottom";
  const drawn = [];
  for (const line of shownLines(u, group)) {
    const y = Math.round(u.valToPos(line.value, "y", true));
    if (y < top || y > top + height) continue; // off-scale when limits are not kept in view
    ctx.strokeStyle = theme[line.tone];
    ctx.lineWidth = dpr;
    ctx.setLineDash(line.tone === "crit" ? [] : [6 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(left, y);
    ctx.lineTo(left + width, y);
    ctx.stroke();
    const text = `${line.name} ${formatShown(line.value, group.sensors[0])}`;
    drawn.push({ y, text, width: ctx.measureText(text).width, colour: theme[line.tone] });
  }
  // Labels after every line, placed so that close lines' labels never overlap.
  const area = { right: left + width - 4 * dpr, top, bottom: top + height };
  // Text only, no patch behind it: the newest samples run under these labels at the right edge.
  placeLabels(drawn, area, 12 * dpr, 2 * dpr).forEach((spot, i) => {
    ctx.fillStyle = drawn[i].colour;
    ctx.fillText(drawn[i].text, spot.x, spot.y);
  });
  ctx.restore();
}

// A sensor's forecast frost (its frost_eta): a dashed line in its colour from its newest point to
// the frost line at that time, clipped to the plot.
function drawForecasts(u, group, theme, etas) {
  const frost = group.lines.find((line) => line.name === "frost");
  if (!frost) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(left, top, width, height);
  ctx.clip();
  ctx.setLineDash([4 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
  ctx.lineWidth = 1.5 * uPlot.pxRatio;
  group.sensors.forEach((sensor, i) => {
    const values = u.data[i + 1];
    let last = values.length;
    while (last-- > 0 && values[last] == null);
    const eta = etas.get(sensor.id);
    if (!(eta > u.data[0][last]) || u.series[i + 1].show === false) return;
    ctx.strokeStyle = theme.series[i % PALETTE_SIZE];
    ctx.beginPath();
    ctx.moveTo(u.valToPos(u.data[0][last], "x", true), u.valToPos(values[last], "y", true));
    ctx.lineTo(u.valToPos(eta, "x", true), u.valToPos(frost.value, "y", true));
    ctx.stroke();
  });
  ctx.restore();
}

// Settings changes worth a mark on a plot: those that change the values drawn from then on.
const MARKED_FIELDS = new Set(["offset", "calibration", "gain"]);

/** A vertical dashed line, "calibrated" at its top, where a sensor of the group was calibrated. */
function drawMarks(u, group, theme) {
  if (!group.marks.length) return;
  const { ctx } = u;
  const { left, top, width, height } = u.bbox;
  const dpr = uPlot.pxRatio;
  ctx.save();
  ctx.strokeStyle = theme.text;
  ctx.fillStyle = theme.text;
  ctx.lineWidth = dpr;
  ctx.setLineDash([2 * dpr, 3 * dpr]);
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  ctx.textBaseline = "top";
  for (const at of group.marks) {
    const x = Math.round(u.valToPos(at, "x", true));
    if (x < left || x > left + width) continue;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.fillText("calibrated", x + 3 * dpr, top + 2 * dpr);
  }
  ctx.restore();
}

// uPlot series indexes of sensor i's min and max among `count` sensors: after all the lines, as
// store.js lays out the data (answerWindow, withoutBands).
const bandSeries = (count, i) => [count + 2 * i + 1, count + 2 * i + 2];

/** A colour from the stylesheet (#rrggbb) made translucent for a band's fill or edges. */
function translucent(colour, alpha) {
  return /^#[0-9a-f]{6}$/i.test(colour) ? colour + alpha : colour;
}

/**
 * Mount the plots into `element`. `view` is shared with the caller and read at draw time:
 * {since, until} is the x range (dates on the time axis when it spans more than a day),
 * fitLimits keeps threshold lines inside the y range, live says the data is samples (no bands).
 * `onZoom(from, to)` gets the span dragged across a plot.
 */
export function setupPlots(element, view, { onZoom = () => {} } = {}) {
  // Derived from the range at each use, so the legend's time (set during draw) and the axis agree.
  const withDate = () => view.until - view.since > 86400;
  const groups = new Map(); // group key -> {sensors, card, plot, legendRows, ...}
  const byArea = new Map(); // plot area element -> group, for the resize observer
  let theme = readTheme(element);
  let frostThreshold = 0;
  let matches = () => true;
  let alerts = new Map(); // sensor id -> {severity, summaries}
  let etas = new Map(); // sensor id -> its forecast frost (frost_eta), where it has one

  // How far past the newest sample a plot reaches to show its sensors' forecast frost: to the
  // latest such time, but never more than the range shown (the past keeps at least half).
  const ahead = (group) =>
    view.zoomed ? 0 : Math.min(view.until - view.since, Math.max(0, ...group.sensors.map((s) => (etas.get(s.id) || 0) - view.until)));
  let changes = []; // settings changes [{at, sensor, field}], for the calibration marks

  const resizer = new ResizeObserver((entries) => {
    for (const entry of entries) {
      const group = byArea.get(entry.target);
      const width = Math.floor(entry.contentRect.width);
      if (group && width > 0 && width !== group.plot.width) group.plot.setSize({ width, height: plotHeight(width) });
    }
  });

  const plotHeight = (width) => (width < 480 ? 180 : 220);

  function createPlot(group, area) {
    const unit = displayUnit(group.sensors[0]);
    const count = group.sensors.length;
    const width = Math.floor(area.clientWidth) || 400;
    const axis = { stroke: theme.text, grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.grid, width: 1 } };
    const options = {
      width,
      height: plotHeight(width),
      // Drag to select a span: not uPlot's own zoom (the data it has is too coarse), a fetch of it.
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      scales: {
        x: { time: true, range: () => [view.since, view.until + ahead(group)] },
        y: {
          range: (u, min, max) => {
            const values = [min, max].filter((v) => v != null);
            if (view.fitLimits) values.push(...shownLines(u, group).map((line) => line.value));
            if (!values.length) return [0, 1];
            return uPlot.rangeNum(Math.min(...values), Math.max(...values), 0.1, true);
          },
        },
      },
      axes: [
        { ...axis, space: 60, values: (u, ticks) => formatTimeTicks(ticks, withDate()) }, // room for "16:26:30"
        {
          ...axis,
          values: (u, ticks) => formatTicks(ticks, unit),
          size: (u, labels) => axisWidth(labels),
        },
      ],
      series: [
        { label: "Time", value: (u, t) => formatTime(t, withDate()) },
        ...group.sensors.map((sensor, i) => ({
          label: sensorName(sensor),
          stroke: theme.series[i % PALETTE_SIZE],
          width: 1.5,
          value: (u, v) => formatShown(v, sensor),
        })),
        ...group.sensors.flatMap((sensor, i) =>
          ["min", "max"].map((statistic) => ({
            label: `${sensorName(sensor)} ${statistic}`,
            stroke: translucent(theme.series[i % PALETTE_SIZE], "55"),
            width: 1,
            points: { show: false },
            value: (u, v) => formatShown(v, sensor),
          })),
        ),
      ],
      // The min-max band of sensor i: uPlot fills from its max series down to its min.
      bands: group.sensors.map((sensor, i) => ({
        series: bandSeries(count, i).reverse(),
        fill: translucent(theme.series[i % PALETTE_SIZE], "26"),
      })),
      hooks: {
        draw: [
          (u) => drawLimits(u, group, theme),
          (u) => drawForecasts(u, group, theme, etas),
          (u) => drawMarks(u, group, theme),
        ],
        setSelect: [
          (u) => {
            const { left, width: span } = u.select;
            if (span >= 4) onZoom(u.posToVal(left, "x"), u.posToVal(left + span, "x"));
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          },
        ],
      },
    };
    const empty = [[], ...group.sensors.flatMap(() => [[], [], []])];
    const plot = new uPlot(options, empty, area);
    plot.ctx.canvas.setAttribute("role", "img");
    plot.ctx.canvas.setAttribute("aria-label", `${group.title} of ${group.chip}; the current values are in the readings table`);
    return plot;
  }

  function createGroup(key, sensors) {
    const { chip, kind } = sensors[0];
    const unit = displayUnit(sensors[0]);
    const title = KIND_TITLES[kind] || kind;
    const card = document.createElement("section");
    card.className = "plot-card";
    const heading = document.createElement("h3");
    const chipName = document.createElement("span");
    chipName.className = "chip clamp"; // a driver's name may be thousands of characters long
    chipName.textContent = chip;
    chipName.title = chip;
    const quantity = document.createElement("span");
    quantity.className = "quantity";
    quantity.textContent = unit ? `${title} (${unit})` : title;
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.hidden = true;
    const alertBadge = document.createElement("span");
    alertBadge.className = "alert-badge";
    alertBadge.hidden = true;
    heading.append(chipName, " ", quantity, " ", alertBadge, " ", badge);
    const area = document.createElement("div");
    area.className = "plot-area";
    card.append(heading, area);
    element.append(card);

    const group = { key, chip, kind, title, sensors, card, badge, alertBadge, area, lines: limitLines(sensors, frostThreshold), marks: [] };
    group.marks = marksOf(group);
    card.dataset.marks = String(group.marks.length); // for people reading the DOM, and tests
    group.plot = createPlot(group, area);
    // uPlot's legend rows, in series order after the time row: the lines' (where alarms and alerts
    // get highlighted), then the band series', which are drawn, not listed.
    const rows = [...group.plot.root.querySelectorAll(".u-legend .u-series")].slice(1);
    group.legendRows = rows.slice(0, sensors.length);
    for (const row of rows.slice(sensors.length)) row.hidden = true;
    // The stylesheet cuts a long name short with an ellipsis: the whole of it on hover.
    group.legendRows.forEach((row, i) => {
      const label = row.querySelector(".u-label");
      if (label) label.title = sensorName(sensors[i]);
    });
    group.statusKey = "";
    group.alertKey = "";
    markAlerts(group);
    group.shown = group.sensors.map(() => true);
    byArea.set(area, group);
    resizer.observe(area);
    return group;
  }

  // A card with a sensor in an active alert says so with a word and its worst severity; so does
  // that sensor's legend row.
  function markAlerts(group) {
    const marks = group.sensors.map((s) => alerts.get(s.id));
    const key = JSON.stringify(marks);
    if (key === group.alertKey) return;
    group.alertKey = key;
    marks.forEach((mark, i) => {
      const row = group.legendRows[i];
      if (!row) return;
      if (mark) row.dataset.alert = mark.severity;
      else delete row.dataset.alert;
    });
    const alerting = group.sensors.filter((_, i) => marks[i]);
    const worst = marks.reduce((soFar, mark) => worseSeverity(soFar, mark?.severity), undefined);
    if (worst) group.card.dataset.alert = worst;
    else delete group.card.dataset.alert;
    group.alertBadge.hidden = alerting.length === 0;
    group.alertBadge.textContent =
      alerting.length === 1 ? `alert: ${sensorName(alerting[0])}` : `${alerting.length} sensors alerting`;
    group.alertBadge.title = [group.alertBadge.textContent, ...marks.flatMap((mark) => mark?.summaries || [])].join("\n");
  }

  // The times at which a sensor of the group was calibrated.
  function marksOf(group) {
    const ids = new Set(group.sensors.map((s) => s.id));
    return changes.filter((c) => ids.has(c.sensor) && MARKED_FIELDS.has(c.field) && typeof c.at === "number").map((c) => c.at);
  }

  function destroyGroup(group) {
    resizer.unobserve(group.area);
    byArea.delete(group.area);
    group.plot.destroy();
    group.card.remove();
    groups.delete(group.key);
  }

  // What makes a plot's setup differ: its series, their names, the lines drawn and their units.
  const signature = (sensors) =>
    JSON.stringify([frostThreshold, getDisplayUnits(), sensors.map((s) => [s.id, sensorName(s), s.thresholds])]);

  return {
    /** Create, keep or replace plots to match the sensor list. */
    setSensors(sensors, frost = 0) {
      frostThreshold = frost;
      etas = new Map(sensors.filter((s) => typeof s.frost_eta === "number").map((s) => [s.id, s.frost_eta]));
      const wanted = new Map();
      for (const sensor of sensors) {
        const key = groupKey(sensor);
        if (!wanted.has(key)) wanted.set(key, []);
        wanted.get(key).push(sensor);
      }
      for (const members of wanted.values()) members.sort((a, b) => byNaturalOrder(a.channel, b.channel));
      for (const group of [...groups.values()]) {
        const next = wanted.get(group.key);
        if (!next || signature(next) !== group.signature) destroyGroup(group);
      }
      const order = [...wanted.keys()].sort((a, b) => {
        const [chipA, kindA] = a.split("\u0000");
        const [chipB, kindB] = b.split("\u0000");
        return byNaturalOrder(chipA, chipB) || KIND_ORDER.indexOf(kindA) - KIND_ORDER.indexOf(kindB);
      });
      for (const key of order) {
        let group = groups.get(key);
        if (!group) {
          group = createGroup(key, wanted.get(key));
          group.signature = signature(wanted.get(key));
          groups.set(key, group);
        }
        element.append(group.card); // re-appending an existing node only moves it: keeps the order
      }
      this.setFilter(matches);
    },

    /** Feed every visible plot its data: `dataFor(ids)` is [times, lines..., min and max per line]. */
    draw(dataFor) {
      for (const group of groups.values()) {
        if (group.card.hidden) continue;
        // The API's values are SI; a plot of temperatures in fahrenheit gets its columns converted.
        const raw = dataFor(group.sensors.map((s) => s.id));
        const data = [raw[0], ...raw.slice(1).map((column) => columnToDisplay(column, group.sensors[0]))];
        group.plot.setData(data);
        // How many sensors show a min-max band (aggregated points): for people reading the DOM and tests.
        // Live samples never have one: no scan of every window's null columns on each sample.
        const count = group.sensors.length;
        const bands = view.live ? 0 : group.sensors.filter((_, i) => data[bandSeries(count, i)[0]].some((v) => v != null)).length;
        if (group.card.dataset.bands !== String(bands)) group.card.dataset.bands = String(bands);
        // With the pointer away from the plot the legend shows the newest values, not blanks.
        if (group.plot.cursor.left == null || group.plot.cursor.left < 0) group.plot.setLegend({ idx: data[0].length - 1 });
      }
    },

    /** Highlight sensors in alarm or fault: in the legend, and on the card with a count. */
    setStatuses(statusOf) {
      for (const group of groups.values()) {
        const statuses = group.sensors.map((s) => statusOf(s.id));
        const key = statuses.join();
        if (key === group.statusKey) continue; // touch the DOM only on change
        group.statusKey = key;
        const alarms = statuses.filter((s) => s === "alarm").length;
        const faults = statuses.filter((s) => s === "fault" || s === "error").length;
        statuses.forEach((status, i) => {
          const row = group.legendRows[i];
          if (row) row.dataset.status = status;
        });
        group.card.classList.toggle("has-alarm", alarms > 0);
        group.card.classList.toggle("has-fault", faults > 0);
        const notes = [];
        if (alarms) notes.push(`${alarms} in alarm`);
        if (faults) notes.push(`${faults} faulty`);
        group.badge.textContent = notes.join(", ");
        group.badge.hidden = notes.length === 0;
      }
    },

    /** Mark the sensors with an active alert: `bySensor` maps an id to {severity, summaries}. */
    setAlerts(bySensor) {
      alerts = bySensor;
      for (const group of groups.values()) markAlerts(group);
    },

    /** Show only plots with a sensor that `match(sensor)` accepts; within a plot, only those series. */
    setFilter(match) {
      matches = match;
      for (const group of groups.values()) {
        const shown = group.sensors.map(match);
        group.card.hidden = !shown.some(Boolean);
        const count = group.sensors.length;
        shown.forEach((show, i) => {
          if (show === group.shown[i]) return;
          for (const index of [i + 1, ...bandSeries(count, i)]) group.plot.setSeries(index, { show });
        });
        group.shown = shown;
      }
    },

    /** Mark calibration changes ({at, sensor, field} of /api/v1/settings/changes) on their sensors' plots. */
    setMarks(list) {
      changes = list;
      for (const group of groups.values()) {
        const marks = marksOf(group);
        if (JSON.stringify(marks) === JSON.stringify(group.marks)) continue;
        group.marks = marks;
        group.card.dataset.marks = String(marks.length);
        group.plot.redraw(false);
      }
    },

    /** Rebuild every plot, e.g. after the colour scheme changed. */
    restyle(sensors, frost) {
      theme = readTheme(element);
      for (const group of [...groups.values()]) destroyGroup(group);
      this.setSensors(sensors, frost);
    },
  };
}
