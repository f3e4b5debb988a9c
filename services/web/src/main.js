// Wiring: the sensor list, the sample feed, the alerts, and the two parts of the readings that
// show them. The landing page is the places overview (overview.js: a card per place, sparklines
// from one history request). "All sensors" (#all), the hardware panels with uPlot, is a lazy
// chunk (pages/panels.js) loaded when first opened: the first load carries no plotting library.
// An admin's sensor sheet is a lazy chunk too (pages/sheet.js).

import "./style.css";
import { setupAlerts, worseSeverity } from "./alerts.js";
import { fetchHistoryQuery, fetchSensors, request } from "./api.js";
import { formatTime, getDisplayUnits, setDisplayUnits } from "./format.js";
import { lazy } from "./lazy.js";
import { setupNotifications } from "./notify.js";
import { setupOverview } from "./overview.js";
import { SPARK_STEP, groupByPlace, sparklineQuery } from "./places.js";
import { canEdit, dashboardPart } from "./session.js";
import { startSession } from "./signin.js";
import { startSampleFeed } from "./stream.js";

const $ = (id) => document.getElementById(id);
const REFRESH_GAP_MS = 5000; // at most one unscheduled sensor-list refresh per 5 s

// The frost forecast (frost_eta) comes with the sensor list, not with the stream's samples, and is
// made again every few minutes: with forecast sensors, the list is fetched again this often.
const FORECAST_MS = 60_000;
const ALERTS_POLL_MS = 15_000; // while polling (no stream, so no alert events): the alert list this often
const SPARK_LATE_MS = 5000; // after a sparkline point closes, so the history holds its last sample
// A failed sparkline request (the app restarting, a busy history answering 503) is tried again
// this soon, then twice as late each time up to a minute: not at the next point, 15 min later.
const SPARK_RETRY_MS = [5000, 60_000];
const CATCH_UP_MS = 1000; // a sensor list older than the settings event said: asked again this soon
const CATCH_UP_TRIES = 30; // ...this many times at most (a worker that lags for good is not chased forever)

const panelsChunk = lazy(() => import("./pages/panels.js"), "the All sensors page");
const sheetChunk = lazy(() => import("./pages/sheet.js"), "the sensor's settings");

let sensorList = { sensors: [], interval: 1, frost_threshold: 0 }; // the last /api/v1/sensors answer
let sensors = [];
let sensorsById = new Map();
let forecasting = false; // some sensor has a frost forecast (frost_eta): decided per list, not per sample
let frostThreshold = 0;
let interval = 1;
const latest = { t: null, values: {}, status: {} };
let alertMarks = new Map();
let session = null;
let part = "overview";

const notifications = setupNotifications($("notify"));
const alerts = setupAlerts($("alerts"), $("alerts-announce"), { onChange: markAlerts, onNews: notifications.show });
const overview = setupOverview($("places"));
let panels = null; // the All sensors page, once loaded
let feed = null;

// ---- sensor list -----------------------------------------------------------------------------

let wantedRevision = 0; // the settings revision the stream said the sampler applies
let catchUpTries = 0;

function applySensors(answer) {
  sensorList = answer;
  // Older than the settings the stream announced (a worker that rendered it before the change):
  // shown meanwhile, and asked again shortly.
  if (typeof answer.revision === "number" && answer.revision < wantedRevision && catchUpTries < CATCH_UP_TRIES) {
    catchUpTries++;
    setTimeout(() => refreshSensors(true), CATCH_UP_MS);
  } else {
    catchUpTries = 0;
  }
  const next = answer.interval > 0 ? answer.interval : 1;
  if (next !== interval) {
    interval = next;
    feed?.setInterval(interval);
  }
  sensors = answer.sensors || [];
  sensorsById = new Map(sensors.map((s) => [s.id, s]));
  forecasting = sensors.some((s) => "frost_eta" in s);
  frostThreshold = typeof answer.frost_threshold === "number" ? answer.frost_threshold : 0;
  const units = getDisplayUnits();
  if (setDisplayUnits(answer.device?.units) !== units) alerts.redraw(); // its summaries in the new units
  showDeviceName(answer.device?.name);
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
  $("interval").textContent = `every ${interval} s`;
  const cards = overview.setSensors(sensors, frostThreshold);
  $("all-hidden").hidden = !(sensors.length > 0 && cards === 0);
  panels?.setSensors(answer);
  if (sparkDue || sparklinesMissing()) loadSparklines();
  render();
}

// The device's name (issue 22: [device] name, or set by an admin) beside "FrostServer", as text.
function showDeviceName(name) {
  const named = typeof name === "string" && name.trim() && name !== "FrostServer" ? name : null;
  const subtitle = document.querySelector("h1 .subtitle");
  const text = named ?? "sensors";
  if (subtitle.textContent !== text) {
    subtitle.textContent = text;
    subtitle.title = text;
    document.title = named ? `${named} · FrostServer` : "FrostServer sensors";
  }
}

let refreshing = false;
let refreshAgain = false;
let refreshTimer = 0;
let lastRefresh = 0;

// Called when a sample names an unknown sensor or a status changed: rate-limited, so a sensor
// that flaps between ok and alarm does not turn into a request per sample. `now`: a settings
// change, which the page shows at once (after the request in flight, if any).
function refreshSensors(now = false) {
  if (refreshing) {
    refreshAgain ||= now;
    return;
  }
  if (!now) {
    if (refreshTimer) return;
    const wait = lastRefresh + REFRESH_GAP_MS - Date.now();
    if (wait > 0) {
      refreshTimer = setTimeout(() => {
        refreshTimer = 0;
        refreshSensors();
      }, wait);
      return;
    }
  }
  refreshing = true;
  lastRefresh = Date.now();
  fetchSensors()
    .then(applySensors)
    .catch((err) => console.warn("sensor list:", err.message))
    .finally(() => {
      refreshing = false;
      if (refreshAgain) {
        refreshAgain = false;
        refreshSensors(true);
      }
    });
}

// The stream's `settings` event ({revision}): the sampler now applies a change made anywhere.
function onSettingsEvent(change) {
  if (Number.isInteger(change?.revision)) wantedRevision = Math.max(wantedRevision, change.revision);
  catchUpTries = 0;
  settingsChanged();
}

// A change of settings, here (a sheet saved, the settings page) or in another browser (the
// stream's `settings` event): the sensor list again, and the calibration marks of the plots.
// `fromSettingsPage`: the settings page made it and already shows it, so it is not told again
// (that was a second GET of the settings and the sensor list at once, on every save there).
function settingsChanged(fromSettingsPage = false) {
  refreshSensors(true);
  panels?.settingsChanged();
  // The settings page, if open, reads them again.
  if (!fromSettingsPage) dispatchEvent(new Event("frost:settings-changed"));
  if (editor()) checkSettingsFile();
}

// Admins are told when the settings file was moved aside (damaged or foreign): the config file's
// values apply meanwhile, and what was set here is in the file moved aside.
async function checkSettingsFile() {
  try {
    const settings = await request("/api/v1/settings");
    const note = $("settings-note");
    const movedAside = settings?.status?.state === "moved_aside";
    note.hidden = !movedAside;
    note.textContent = movedAside
      ? `The settings file was moved aside: the config file's values apply. ${settings.status.message || ""}`.trim()
      : "";
  } catch (err) {
    if (err.status !== 404 && err.status !== 401) console.info("settings:", err.message);
  }
}
addEventListener("frost:settings", () => settingsChanged(true));

// ---- the sparklines: one history request for all of them, every SPARK_STEP ---------------------

let sparkAnswerIds = null; // the ids the last answer holds
let sparkDue = false; // (re)connected: load them once the sensor list says which are shown
let sparkLoading = false;
let sparkTimer = 0;
let sparkRetryMs = 0; // the wait before the next try after a failure (0: the last one succeeded)

const shownIds = () => groupByPlace(sensors).flatMap((card) => card.sensors.map((s) => s.id));

// A sensor shown on the overview (a new one, one no longer hidden) that the last answer lacks.
function sparklinesMissing() {
  return sparkAnswerIds !== null && shownIds().some((id) => !sparkAnswerIds.has(id));
}

async function loadSparklines() {
  clearTimeout(sparkTimer);
  sparkDue = false;
  if (sparkLoading) return;
  sparkLoading = true;
  const now = latest.t ?? Date.now() / 1000;
  const ids = shownIds();
  let failed = false;
  try {
    const answer = await fetchHistoryQuery(sparklineQuery(now, interval, ids));
    // What was asked counts as answered, even if the answer left a sensor out (no history of it
    // yet): asking again on every sensor list would be a request a second while polling.
    sparkAnswerIds = new Set([...ids, ...Object.keys(answer?.series || {})]);
    if (answer) overview.setHistory(answer, now); // null: an app without history, no sparklines
  } catch (err) {
    console.info("sparklines:", err.message);
    failed = true;
  } finally {
    sparkLoading = false;
  }
  sparkRetryMs = failed ? Math.min(SPARK_RETRY_MS[1], sparkRetryMs ? sparkRetryMs * 2 : SPARK_RETRY_MS[0]) : 0;
  // Next when the current point closes (points are aligned to the step): a new point a step.
  const step = Math.max(SPARK_STEP, interval);
  const untilPoint = (step - (Date.now() / 1000 % step)) * 1000 + SPARK_LATE_MS;
  const untilNext = failed ? Math.min(sparkRetryMs, untilPoint) : untilPoint;
  sparkTimer = setTimeout(() => (document.hidden ? sparkWhenShown() : loadSparklines()), untilNext);
}

// A hidden tab asks for nothing; it catches up when shown again.
function sparkWhenShown() {
  addEventListener("visibilitychange", function shown() {
    if (document.hidden) return;
    removeEventListener("visibilitychange", shown);
    loadSparklines();
  });
}

// ---- samples ---------------------------------------------------------------------------------

function onSample(sample) {
  if (typeof sample.t !== "number" || !sample.values) return;
  panels?.onSample(sample);
  if (latest.t != null && sample.t < latest.t) return; // an old replay: the readings stay newest
  latest.t = sample.t;
  let stale = false;
  for (const [id, value] of Object.entries(sample.values)) {
    const status = (sample.status && sample.status[id]) || "ok";
    if (!sensorsById.has(id) || status !== latest.status[id]) stale = true;
    latest.values[id] = value;
    latest.status[id] = status;
  }
  // An unknown id means new hardware or a new config; a changed status means new alarm details.
  if (stale || (forecasting && Date.now() - lastRefresh > FORECAST_MS)) refreshSensors();
  render();
}

// ---- alerts ----------------------------------------------------------------------------------

// Sensors with an active alert are marked on the overview, in the table and on their plot card;
// device-wide alerts (no sensor) only show in the banner.
function markAlerts(active) {
  const bySensor = new Map();
  for (const alert of active) {
    if (!alert.sensor) continue;
    const mark = bySensor.get(alert.sensor) || { severity: undefined, summaries: [] };
    mark.severity = worseSeverity(mark.severity, alert.severity);
    mark.summaries.push(alert.summary || alert.label);
    bySensor.set(alert.sensor, mark);
  }
  alertMarks = bySensor;
  overview.setAlerts(bySensor);
  panels?.setAlerts(bySensor);
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
    refreshSensors(true);
    sparkDue = true;
    panels?.reconnected();
    alerts.refresh(); // alerts may have fired or resolved meanwhile: the whole set again
    alertsPolledAt = Date.now();
  }
  live = name === "live";
}

// ---- drawing ---------------------------------------------------------------------------------

let frame = 0;

// Coalesce samples into one update per animation frame; hidden tabs get no frames and so no
// work, and catch up in one update when shown again.
function render() {
  if (!frame) frame = requestAnimationFrame(draw);
}

function draw() {
  frame = 0;
  $("last-sample").textContent = latest.t == null ? "No sample yet" : `Last sample ${formatTime(latest.t)}`;
  const status = (id) => latest.status[id] || sensorsById.get(id)?.status || "ok";
  // A new day resets today's lows and highs: the history then says what today holds so far.
  if (overview.update((id) => latest.values[id], status, latest.t)) loadSparklines();
}

// ---- the two parts: places, or All sensors --------------------------------------------------

function showPart(route) {
  part = dashboardPart(route);
  for (const element of document.querySelectorAll("[data-part]")) element.hidden = element.dataset.part !== part;
  for (const [link, name] of [["part-overview", "overview"], ["part-all", "all"]]) {
    if (name === part) $(link).setAttribute("aria-current", "page");
    else $(link).removeAttribute("aria-current");
  }
  if (part === "all") openPanels();
  else panels?.hide();
}

async function openPanels() {
  if (panels) {
    panels.show();
    return;
  }
  const note = $("panels-loading");
  try {
    const { startPanels } = await panelsChunk();
    panels ||= startPanels({
      latest,
      detailOf: (id) => sensorsById.get(id) || {},
      onOpen: editor(),
    });
    note.hidden = true;
    panels.setSensors(sensorList);
    panels.setAlerts(alertMarks);
    if (part === "all") panels.show();
  } catch (err) {
    note.hidden = false;
    note.textContent = err.message;
  }
}

// ---- a sensor's sheet (admins) ----------------------------------------------------------------

const editor = () => (session && canEdit(session) ? openSheet : null);

async function openSheet(id) {
  try {
    const { showSheet } = await sheetChunk();
    showSheet($("sheet"), {
      id,
      sensors: () => sensors,
      onSaved: () => settingsChanged(),
    });
  } catch (err) {
    const note = $("settings-note");
    note.hidden = false;
    note.textContent = err.message;
  }
}

// ---- start: once the session says the readings are the view to show --------------------------

let editable = null;

function startDashboard(current, route = "") {
  session = current;
  const open = editor();
  if (open !== editable) {
    editable = open;
    overview.setEditable(open);
    if (open) checkSettingsFile();
  }
  showPart(route);
  feed ||= startSampleFeed({
    onSample,
    onAlert: alerts.onEvent,
    onSettings: onSettingsEvent,
    onSensors: onPolledSensors,
    onState,
    interval,
  });
}

function stopDashboard() {
  feed?.stop();
  feed = null;
  live = false; // started again, the feed's first "live" refreshes everything
}

startSession({ dashboard: startDashboard, ended: stopDashboard });
