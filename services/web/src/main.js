// Wiring: the sensor list, the sample feed, the history ring, and the views that show them.
// Ranges up to LONGEST_WINDOW are live: drawn from the samples the stream brings. Longer ones,
// and spans dragged across a plot, are fetched from the history API (min-max bands with the mean
// when aggregated); a long range is fetched again every REFETCH_MS while it is shown.

import "./style.css";
import { setupAlerts, worseSeverity } from "./alerts.js";
import { fetchHistory, fetchRange, fetchSensors, historyUrl } from "./api.js";
import { formatTime } from "./format.js";
import { setupNotifications } from "./notify.js";
import { setupPlots } from "./plots.js";
import { startSession } from "./signin.js";
import { LONGEST_WINDOW, SampleHistory, answerWindow, withoutBands } from "./store.js";
import { startSampleFeed } from "./stream.js";
import { setupTable } from "./table.js";

const $ = (id) => document.getElementById(id);
const WINDOW_KEY = "frostserver.window";
const REFRESH_GAP_MS = 5000; // at most one unscheduled sensor-list refresh per 5 s

const REFETCH_MS = 60_000;
// The frost forecast (frost_eta) comes with the sensor list, not with the stream's samples, and is
// made again every few minutes: with forecast sensors, the list is fetched again this often.
const FORECAST_MS = 60_000;
const ALERTS_POLL_MS = 15_000; // while polling (no stream, so no alert events): the alert list this often

// What the plots show; read by the plots at draw time. live: from the stream's samples;
// otherwise from `fetched`, the answer for [since, until].
const view = { seconds: 300, since: 0, until: 0, fitLimits: true, live: true, zoomed: false };
let fetched = null; // {answer, from, to}
let paused = false;
let frozenAt = null; // sample time shown while paused

let sensors = [];
let sensorsById = new Map();
let frostThreshold = 0;
let history = new SampleHistory(1);
const latest = { t: null, values: {}, status: {} };

const plots = setupPlots($("plots"), view, { onZoom: zoomTo });
const table = setupTable($("readings"));
const notifications = setupNotifications($("notify"));
const alerts = setupAlerts($("alerts"), $("alerts-announce"), { onChange: markAlerts, onNews: notifications.show });
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
  if (stale || (Date.now() - lastRefresh > FORECAST_MS && sensors.some((s) => "frost_eta" in s))) refreshSensors();
  if (!paused) render();
}

// ---- alerts ----------------------------------------------------------------------------------

// Sensors with an active alert are marked in the table and on their plot card; device-wide
// alerts (no sensor) only show in the banner. Marks are not frozen by Pause: they are not data.
function markAlerts(active) {
  const bySensor = new Map();
  for (const alert of active) {
    if (!alert.sensor) continue;
    const mark = bySensor.get(alert.sensor) || { severity: undefined, summaries: [] };
    mark.severity = worseSeverity(mark.severity, alert.severity);
    mark.summaries.push(alert.summary || alert.label);
    bySensor.set(alert.sensor, mark);
  }
  table.setAlerts(bySensor);
  plots.setAlerts(bySensor);
}

let alertsPolledAt = 0;

// Polling brings the sensor list each interval but no alert events: fetch the alerts now and then.
// (The feed calls this only while polling.)
function onPolledSensors(answer) {
  applySensors(answer);
  if (Date.now() - alertsPolledAt >= ALERTS_POLL_MS) {
    alertsPolledAt = Date.now();
    alerts.refresh();
  }
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
    alerts.refresh(); // alerts may have fired or resolved meanwhile: the whole set again
    alertsPolledAt = Date.now();
  }
  live = name === "live";
}

// ---- drawing ---------------------------------------------------------------------------------

let frame = 0;
let drawnAnswer = null; // the fetched answer the plots show
let plotsStale = false; // sensors, filter or style changed: feed the plots again

// Coalesce samples and clicks into one draw per animation frame; hidden tabs get no frames and
// so no work, and catch up in one draw when shown again.
function render() {
  if (!frame) frame = requestAnimationFrame(draw);
}

function draw() {
  frame = 0;
  $("last-sample").textContent = latest.t == null ? "No sample yet" : `Last sample ${formatTime(latest.t)}`;
  if (view.live) {
    const until = paused ? frozenAt : latest.t;
    view.until = until ?? Date.now() / 1000;
    view.since = view.until - view.seconds;
    plots.draw((ids) => withoutBands(history.window(view.since, ids)));
  } else if (plotsStale || drawnAnswer !== fetched) {
    // A fetched range changes only when fetched again: samples redraw the table, not the plots.
    const answer = fetched?.answer || { timestamps: [], series: {} };
    plots.draw((ids) => answerWindow(answer, ids));
    drawnAnswer = fetched;
  }
  plotsStale = false;
  const csv = historyUrl(view.since, view.until, "csv");
  if ($("download-csv").getAttribute("href") !== csv) $("download-csv").setAttribute("href", csv);
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
  plotsStale = true;
  const none = words.length > 0 && sensors.length > 0 && !sensors.some(match);
  $("no-match").hidden = !none;
  render(); // plots that were hidden have not been fed: feed them now
}

// ---- ranges: live, fetched, zoomed -------------------------------------------------------------

const RANGE_BUTTONS = [...document.querySelectorAll("#ranges button")];
const RANGE_NAMES = new Map(RANGE_BUTTONS.map((b) => [Number(b.dataset.seconds), b.textContent]));
let loading = null; // the AbortController of the fetch in flight
let refetchTimer = 0;

function pressRange(seconds) {
  for (const button of RANGE_BUTTONS) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.seconds) === seconds));
  }
}

function showRangeStatus(state, text) {
  const status = $("range-status");
  status.hidden = !state;
  status.dataset.state = state || "";
  status.textContent = text || "";
  $("plots").closest(".plots").setAttribute("aria-busy", String(state === "loading"));
}

function selectRange(seconds) {
  view.seconds = seconds;
  view.zoomed = false;
  pressRange(seconds);
  clearTimeout(refetchTimer);
  if (seconds <= LONGEST_WINDOW) {
    loading?.abort();
    view.live = true;
    fetched = null;
    showRangeStatus(null);
    render();
    return;
  }
  const until = latest.t ?? Date.now() / 1000;
  loadRange(until - seconds, until, RANGE_NAMES.get(seconds));
}

// Fetch [from, to] and show it. `name` says what is loading; `quiet` refreshes without a notice.
async function loadRange(from, to, name, quiet = false) {
  loading?.abort();
  const controller = new AbortController();
  loading = controller;
  view.live = false;
  view.since = from;
  view.until = to;
  if (!quiet) showRangeStatus("loading", `Loading ${name}…`);
  render();
  try {
    const answer = await fetchRange(from, to, { signal: controller.signal });
    if (loading !== controller) return; // another range was chosen meanwhile
    fetched = { answer, from, to };
    showRangeStatus(null);
    render();
  } catch (err) {
    if (err.name === "AbortError" || loading !== controller) return;
    showRangeStatus("error", `Could not load ${name}: ${err.message}. Choose a range to try again.`);
  } finally {
    if (loading === controller) loading = null;
  }
  // A long range keeps moving, slowly: fetch it again now and then (not a zoomed span).
  if (!view.live && !view.zoomed) scheduleRefetch();
}

function scheduleRefetch() {
  clearTimeout(refetchTimer);
  const seconds = view.seconds;
  refetchTimer = setTimeout(() => {
    if (view.live || view.zoomed || view.seconds !== seconds) return;
    if (document.hidden) return scheduleRefetch();
    const until = latest.t ?? Date.now() / 1000;
    loadRange(until - seconds, until, RANGE_NAMES.get(seconds), true);
  }, REFETCH_MS);
}

// A span dragged across a plot: fetch it at the finer step its length gets.
function zoomTo(from, to) {
  if (!(to - from >= 2 * history.interval)) return;
  clearTimeout(refetchTimer);
  view.seconds = to - from;
  view.zoomed = true;
  pressRange(null);
  const name = `${formatTime(from, true)} – ${formatTime(to, true)}`;
  loadRange(from, to, name);
}

function setupControls() {
  let seconds = 300;
  try {
    const saved = Number(localStorage.getItem(WINDOW_KEY));
    if (RANGE_NAMES.has(saved)) seconds = saved;
  } catch {
    // Storage may be disabled; the default range is fine.
  }
  for (const button of RANGE_BUTTONS) {
    button.addEventListener("click", () => {
      const chosen = Number(button.dataset.seconds);
      try {
        localStorage.setItem(WINDOW_KEY, String(chosen));
      } catch {
        // Not remembered, still applied.
      }
      selectRange(chosen);
    });
  }
  selectRange(seconds);

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

// ---- start: once the session says the readings are the view to show --------------------------

let controlsReady = false;

function startDashboard() {
  if (!controlsReady) {
    setupControls();
    controlsReady = true;
  }
  feed ||= startSampleFeed({
    onSample,
    onAlert: alerts.onEvent,
    onSensors: onPolledSensors,
    onState,
    interval: history.interval,
  });
}

function stopDashboard() {
  feed?.stop();
  feed = null;
  live = false; // started again, the feed's first "live" refreshes everything
}

startSession({ dashboard: startDashboard, ended: stopDashboard });
