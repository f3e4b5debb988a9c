// "All sensors" (#all): the hardware panels, one uPlot per chip and quantity, and the readings
// table, with their controls (time range, pause, filter, limits in view, the CSV download). A lazy
// chunk (src/lazy.js): uPlot is about 50 KB, and the landing page (the places overview) needs none
// of it. main.js hands it the sensor list, every sample and the active alerts once it is loaded.
//
// Ranges up to LONGEST_WINDOW are live: drawn from the samples the stream brings, kept here in a
// ring from the moment the chunk loads (backfilled from the history API). Longer ones, and spans
// dragged across a plot, are fetched from the history API (min-max bands with the mean when
// aggregated); a long range is fetched again every REFETCH_MS while it is shown.

import "./panels.css";
import { fetchChanges, fetchHistory, fetchRange, historyUrl } from "../api.js";
import { formatTime, getDisplayUnits } from "../format.js";
import { setupPlots } from "../plots.js";
import { LONGEST_WINDOW, SampleHistory, answerWindow, withoutBands } from "../store.js";
import { setupTable } from "../table.js";

const $ = (id) => document.getElementById(id);
const WINDOW_KEY = "frostserver.window";
const REFETCH_MS = 60_000;

/**
 * Start the panels. `latest` is main.js's {t, values, status} of the newest sample (read, never
 * written here); `detailOf(id)` gives a sensor's {alarms, error}; `onOpen(id)` (admins) opens a
 * sensor's sheet from its table row, null for anyone else.
 */
export function startPanels({ latest, detailOf, onOpen = null }) {
  // What the plots show; read by the plots at draw time. live: from the stream's samples;
  // otherwise from `fetched`, the answer for [since, until].
  const view = { seconds: 300, since: 0, until: 0, fitLimits: true, live: true, zoomed: false };
  let fetched = null; // {answer, from, to}
  let paused = false;
  let frozenAt = null; // sample time shown while paused
  let shown = false;

  let sensors = [];
  let frostThreshold = 0;
  let units = getDisplayUnits();
  let history = new SampleHistory(1);

  const plots = setupPlots($("plots"), view, { onZoom: zoomTo });
  const table = setupTable($("readings"));
  table.setEditable(onOpen);
  let match = () => true;

  // ---- history and samples -------------------------------------------------------------------

  let backfilling = false;
  let pending = []; // samples that arrive while the history is being fetched

  // Fill the plots with what the app sampled while they were not listening (first open, after an
  // outage). Without a history endpoint (404) the plots simply fill from now on.
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
    if (backfilling) pending.push(sample);
    else history.push(sample.t, sample.values);
    if (!paused) render();
  }

  // ---- calibration marks: where a sensor's calibration changed, on its plot --------------------

  let marksAsked = null; // the AbortController of the request in flight

  async function loadMarks() {
    marksAsked?.abort();
    const controller = new AbortController();
    marksAsked = controller;
    const to = view.live ? (latest.t ?? Date.now() / 1000) : view.until;
    const from = view.live ? to - LONGEST_WINDOW : view.since;
    try {
      const answer = await fetchChanges(from, to, { signal: controller.signal });
      if (marksAsked !== controller) return;
      plots.setMarks(Array.isArray(answer?.changes) ? answer.changes : []);
      plotsStale = true;
      render();
    } catch (err) {
      if (err.name !== "AbortError") console.info("calibration marks:", err.message);
    }
  }

  // ---- drawing -------------------------------------------------------------------------------

  let frame = 0;
  let drawnAnswer = null; // the fetched answer the plots show
  let plotsStale = false; // sensors, filter or style changed: feed the plots again

  // Coalesce samples and clicks into one draw per animation frame; hidden tabs (and the panels
  // while the overview is shown) get no draws, and catch up in one when shown again.
  function render() {
    if (shown && !frame) frame = requestAnimationFrame(draw);
  }

  function draw() {
    frame = 0;
    if (!shown) return;
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
    const csv = historyUrl(view.since, view.until, "csv", getDisplayUnits());
    if ($("download-csv").getAttribute("href") !== csv) $("download-csv").setAttribute("href", csv);
    if (paused) return; // the table and highlights freeze with the plots
    const status = (id) => latest.status[id] || "ok";
    plots.setStatuses(status);
    table.update((id) => latest.values[id], status, detailOf);
  }

  // ---- controls ------------------------------------------------------------------------------

  function applyFilter() {
    const words = $("filter").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    match = (s) => {
      const haystack = `${s.chip} ${s.chip_name} ${s.label} ${s.channel} ${s.kind} ${s.id} ${s.place || ""}`.toLowerCase();
      return words.every((word) => haystack.includes(word));
    };
    plots.setFilter(match);
    table.setFilter(match);
    plotsStale = true;
    const none = words.length > 0 && sensors.length > 0 && !sensors.some(match);
    $("no-match").hidden = !none;
    render(); // plots that were hidden have not been fed: feed them now
  }

  // ---- ranges: live, fetched, zoomed -----------------------------------------------------------

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
      loadMarks();
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
    loadMarks();
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
      if (document.hidden || !shown) return scheduleRefetch();
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

  setupControls();
  backfill();

  return {
    /** Take a sensor list (/api/v1/sensors): plots and rows to match, a ring for its interval. */
    setSensors(answer) {
      const interval = answer.interval > 0 ? answer.interval : 1;
      if (interval !== history.interval) {
        // A new sampling rate changes how many rows a window needs: start a ring of the right size.
        history = new SampleHistory(interval);
        backfill();
      }
      sensors = answer.sensors || [];
      frostThreshold = typeof answer.frost_threshold === "number" ? answer.frost_threshold : 0;
      history.retain(sensors.map((s) => s.id));
      $("layout").hidden = sensors.length === 0; // an empty table under "No sensors found" is noise
      if (units !== getDisplayUnits()) {
        units = getDisplayUnits();
        plots.restyle(sensors, frostThreshold); // axes and limit lines in the new units
      } else {
        plots.setSensors(sensors, frostThreshold);
      }
      table.setSensors(sensors, frostThreshold);
      applyFilter();
    },

    onSample,
    setAlerts(bySensor) {
      table.setAlerts(bySensor);
      plots.setAlerts(bySensor);
    },

    /** Back online (or settings changed): fetch what was missed, and the calibration marks. */
    reconnected() {
      backfill();
      loadMarks();
    },

    /** The settings changed (a calibration may have): its mark on the plots. */
    settingsChanged: loadMarks,

    show() {
      shown = true;
      plotsStale = true;
      render();
    },

    hide() {
      shown = false;
    },
  };
}
