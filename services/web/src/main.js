// Wiring: the sensor list, the sample feed, the history ring, and the views that show them.

import "./style.css";
import { fetchHistory, fetchSensors } from "./api.js";
import { formatTime } from "./format.js";
import { setupPlots } from "./plots.js";
import { LONGEST_WINDOW, SampleHistory } from "./store.js";
import { startSampleFeed } from "./stream.js";
import { setupTable } from "./table.js";

const $ = (id) => document.getElementById(id);
const WINDOW_KEY = "frostserver.window";
const REFRESH_GAP_MS = 5000; // at most one unscheduled sensor-list refresh per 5 s

// What the plots show; read by the plots at draw time.
const view = { seconds: 300, since: 0, until: 0, fitLimits: true };
let paused = false;
let frozenAt = null; // sample time shown while paused

let sensors = [];
let sensorsById = new Map();
let frostThreshold = 0;
let history = new SampleHistory(1);
const latest = { t: null, values: {}, status: {} };

const plots = setupPlots($("plots"), view);
const table = setupTable($("readings"));
let feed = null;
let match = () => true;

// ---- sensor list -----------------------------------------------------------------------------

function applySensors(answer) {
  const interval = answer.interval > 0 ? answer.interval : 1;
  if (interval !== history.interval) {
    // A new sampling rate changes how many rows a window needs: start a ring of the right size.
    history = new SampleHistory(interval);
    feed?.setInterval(interval);
    backfill();
  }
  sensors = answer.sensors || [];
  sensorsById = new Map(sensors.map((s) => [s.id, s]));
  frostThreshold = typeof answer.frost_threshold === "number" ? answer.frost_threshold : 0;
  history.retain(sensors.map((s) => s.id));
  // The list carries readings too; use them unless the stream already brought newer ones.
  if (answer.sampled_at != null && (latest.t == null || answer.sampled_at >= latest.t)) {
    latest.t = answer.sampled_at;
    for (const s of sensors) {
      latest.values[s.id] = s.value;
      latest.status[s.id] = s.status || "ok";
    }
  }
  $("loading").hidden = true;
  $("no-sensors").hidden = sensors.length > 0;
  $("layout").hidden = sensors.length === 0; // an empty table under "No sensors found" is noise
  $("interval").textContent = `every ${interval} s`;
  plots.setSensors(sensors, frostThreshold);
  table.setSensors(sensors, frostThreshold);
  applyFilter();
}

let refreshing = false;
let refreshTimer = 0;
let lastRefresh = 0;

// Called when a sample names an unknown sensor or a status changed: rate-limited, so a sensor
// that flaps between ok and alarm does not turn into a request per sample.
function refreshSensors() {
  if (refreshing || refreshTimer) return;
  const wait = lastRefresh + REFRESH_GAP_MS - Date.now();
  if (wait > 0) {
    refreshTimer = setTimeout(() => {
      refreshTimer = 0;
      refreshSensors();
    }, wait);
    return;
  }
  refreshing = true;
  lastRefresh = Date.now();
  fetchSensors()
    .then(applySensors)
    .catch((err) => console.warn("sensor list:", err.message))
    .finally(() => {
      refreshing = false;
    });
}

// ---- history and samples ---------------------------------------------------------------------

let backfilling = false;
let pending = []; // samples that arrive while the history is being fetched

// Fill the plots with what the app sampled while this page was not listening (first load,
// after an outage). Without a history endpoint (404) the plots simply fill from now on.
async function backfill() {
  if (backfilling) return;
  backfilling = true;
  pending = [];
  try {
    const answer = await fetchHistory(LONGEST_WINDOW);
    if (answer && Array.isArray(answer.timestamps) && answer.series) history.load(answer);
  } catch (err) {
    console.warn("history:", err.message);
  } finally {
    backfilling = false;
    for (const sample of pending) history.push(sample.t, sample.values);
    pending = [];
    render();
  }
}

function onSample(sample) {
  if (typeof sample.t !== "number" || !sample.values) return;
  if (backfilling) pending.push(sample);
  else history.push(sample.t, sample.values);
  if (latest.t != null && sample.t < latest.t) return; // an old replay: the table stays newest
  latest.t = sample.t;
  let stale = false;
  for (const [id, value] of Object.entries(sample.values)) {
    const status = (sample.status && sample.status[id]) || "ok";
    if (!sensorsById.has(id) || status !== latest.status[id]) stale = true;
    latest.values[id] = value;
    latest.status[id] = status;
  }
  // An unknown id means new hardware or a new config; a changed status means new alarm details.
  if (stale) refreshSensors();
  if (!paused) render();
}

// ---- connection state ------------------------------------------------------------------------

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  offline: "Offline",
};
let live = false;

function onState({ name, mode, detail }) {
  const element = $("connection");
  element.dataset.state = name;
  let text = STATE_TEXT[name] || name;
  if (name === "live" && mode === "polling") text += " (polling)";
  if (detail) text += `: ${detail}`;
  $("connection-text").textContent = text;
  // Coming (back) online: the sensors may have changed and samples were missed meanwhile.
  if (name === "live" && !live) {
    refreshSensors();
    backfill();
  }
  live = name === "live";
}

// ---- drawing ---------------------------------------------------------------------------------

let frame = 0;

// Coalesce samples and clicks into one draw per animation frame; hidden tabs get no frames and
// so no work, and catch up in one draw when shown again.
function render() {
  if (!frame) frame = requestAnimationFrame(draw);
}

function draw() {
  frame = 0;
  $("last-sample").textContent = latest.t == null ? "No sample yet" : `Last sample ${formatTime(latest.t)}`;
  const until = paused ? frozenAt : latest.t;
  view.until = until ?? Date.now() / 1000;
  view.since = view.until - view.seconds;
  plots.draw(history);
  if (paused) return; // the table and highlights freeze with the plots
  const status = (id) => latest.status[id] || sensorsById.get(id)?.status || "ok";
  plots.setStatuses(status);
  table.update(
    (id) => latest.values[id],
    status,
    (id) => sensorsById.get(id) || {},
  );
}

// ---- controls --------------------------------------------------------------------------------

function applyFilter() {
  const words = $("filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  match = (s) => {
    const haystack = `${s.chip} ${s.chip_name} ${s.label} ${s.channel} ${s.kind} ${s.id}`.toLowerCase();
    return words.every((word) => haystack.includes(word));
  };
  plots.setFilter(match);
  table.setFilter(match);
  const none = words.length > 0 && sensors.length > 0 && !sensors.some(match);
  $("no-match").hidden = !none;
  render(); // plots that were hidden have not been fed: feed them now
}

function setupControls() {
  const windowSelect = $("window");
  try {
    const saved = localStorage.getItem(WINDOW_KEY);
    if (saved && [...windowSelect.options].some((o) => o.value === saved)) windowSelect.value = saved;
  } catch {
    // Storage may be disabled; the default window is fine.
  }
  view.seconds = Number(windowSelect.value);
  windowSelect.addEventListener("change", () => {
    view.seconds = Number(windowSelect.value);
    try {
      localStorage.setItem(WINDOW_KEY, windowSelect.value);
    } catch {
      // Not remembered, still applied.
    }
    render();
  });

  const pause = $("pause");
  pause.addEventListener("click", () => {
    paused = !paused;
    frozenAt = latest.t;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume" : "Pause";
    $("paused-note").hidden = !paused;
    $("paused-note").textContent = paused
      ? `Paused at ${formatTime(frozenAt)}; samples are still being recorded.`
      : "";
    render();
  });

  $("filter").addEventListener("input", applyFilter);
  $("controls").addEventListener("submit", (event) => event.preventDefault());

  const fitLimits = $("fit-limits");
  view.fitLimits = fitLimits.checked;
  fitLimits.addEventListener("change", () => {
    view.fitLimits = fitLimits.checked;
    render();
  });

  // Canvas colours are read from CSS once per plot: rebuild the plots when the scheme flips.
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
    plots.restyle(sensors, frostThreshold);
    applyFilter();
  });
}

setupControls();
feed = startSampleFeed({ onSample, onSensors: applySensors, onState, interval: history.interval });
