// The settings page (issue 22; admins, #settings): the device (name, frost threshold, display
// units), the alert rules (on or off, thresholds, for, hysteresis, severity, which sensors or
// places), the notification targets (added as a URL, shown masked afterwards, never the URL;
// removed; "send a test" with each target's result), the MQTT broker (issue 23: the password
// write-only; FROST_MQTT_URL read-only here), the frost forecast and the dew point pairs (issue 24),
// and the settings as a TOML file (export, import). Each field says where its value comes from and, when set here, offers the config file's
// back. A lazy chunk: viewers never load it (and the API answers their writes 403 anyway).
//
// A change made elsewhere (another browser: the stream's `settings` event, which main.js passes on
// as `frost:settings-changed`; not this page's own `frost:settings`, which it shows itself) reloads
// the page's sections that hold no edits; a section with edits keeps them, and its Save gets the
// 409 that says so.

import "./admin.css";
import "./settings.css";
import { fetchSensors, request } from "../api.js";
import { deltaToDisplay, displayUnit, formatValue, sensorName, setDisplayUnits } from "../format.js";
import { field, freshId, h } from "./dom.js";
import {
  FORECAST_FIELDS, RULE_FIELDS, brokerState, checkDevice, checkForecast, checkMqtt, checkRule, deviceFields, devicePatch,
  durationText, forecastFields, forecastPatch, listText, mqttFields, mqttPatch, pairChoices, pairName, placesOf,
  ruleFields, ruleIsTemperature, rulePatch, settingOf, sourceWords,
} from "./setting-fields.js";

const TEMPERATURE = { kind: "temperature", unit: "°C" };
const RULE_WORDS = { enabled: "On", above: "Above", below: "Below", for: "For", hysteresis: "Hysteresis",
  severity: "Severity", sensors: "Sensors (ids or globs, comma-separated; empty: every sensor)",
  places: "Places (comma-separated; empty: every place)" };
const DEVICE_WIDE = new Set(["enabled", "for", "severity"]); // what sampling_stopped, a device-wide rule, takes

let current = null; // the page shown: one listener for every time the page is opened
addEventListener("frost:settings-changed", () => current?.load());

/** Show the page in `section` (its heading and back link stay). */
export function showSettings(section) {
  section.querySelector("#settings-loading")?.remove();
  section.querySelector(".settings-page")?.remove();
  current = new SettingsPage();
  section.append(current.element);
  current.load();
}

class SettingsPage {
  constructor() {
    this.status = h("p", { className: "notice settings-status", role: "status", hidden: true });
    this.note = h("p", { className: "note", role: "status" });
    this.device = h("div");
    this.rules = h("div", { className: "rules" });
    this.targets = h("div");
    this.mqtt = h("div");
    this.forecast = h("div");
    this.pairs = h("div");
    this.sensors = []; // /api/v1/sensors' sensors: the pairs' choices
    this.transfer = this.transferPanel();
    this.dirty = new Set(); // sections with edits not saved: a reload leaves them alone
    this.settings = null;
    this.element = h("div", { className: "settings-page" },
      this.status, this.note,
      h("section", { className: "panel", "aria-labelledby": "device-title" }, h("h3", { id: "device-title", text: "This device" }), this.device),
      h("section", { className: "panel", "aria-labelledby": "targets-title" }, h("h3", { id: "targets-title", text: "Notification targets" }), this.targets),
      h("section", { className: "panel", "aria-labelledby": "rules-title" }, h("h3", { id: "rules-title", text: "Alert rules" }),
        h("p", { className: "hint", text: "Open a rule to change it. A sensor's own low and high limits are in its sheet: tap it on the places page." }),
        this.rules),
      h("section", { className: "panel", "aria-labelledby": "forecast-title" }, h("h3", { id: "forecast-title", text: "Frost forecast" }),
        h("p", { className: "hint", text: "A trend of the recent past, not a weather forecast: when it reaches the frost threshold within " +
          "the lead time, the rule frost_expected (with the alert rules above) warns." }),
        this.forecast),
      h("section", { className: "panel", "aria-labelledby": "pairs-title" }, h("h3", { id: "pairs-title", text: "Dew point pairs" }),
        h("p", { className: "hint", text: "A temperature and a humidity sensor paired give three sensors: dew point, frost point and " +
          "absolute humidity, from the next sample on." }),
        this.pairs),
      h("section", { className: "panel", "aria-labelledby": "mqtt-title" }, h("h3", { id: "mqtt-title", text: "MQTT (Home Assistant)" }),
        this.mqtt),
      this.transfer);
  }

  async load() {
    try {
      const [settings, sensors] = await Promise.all([request("/api/v1/settings"), fetchSensors().catch(() => null)]);
      if (Array.isArray(sensors?.sensors)) this.sensors = sensors.sensors;
      this.show(settings);
    } catch (err) {
      if (err.status !== 401) this.say(`Could not load the settings: ${err.message}`, true);
    }
  }

  /** Show a settings document (GET /api/v1/settings, or a write's answer): sections without edits. */
  show(settings) {
    if (!settings || typeof settings !== "object") return;
    this.settings = settings;
    setDisplayUnits(settingOf(settings.device, "units").value);
    const state = settings.status?.state;
    this.status.hidden = state !== "moved_aside";
    this.status.textContent = state === "moved_aside"
      ? `The settings file was damaged and moved aside: the config file's values apply. ${settings.status.message || ""}`.trim()
      : "";
    if (!this.dirty.has("device")) this.device.replaceChildren(this.deviceForm());
    this.showRules();
    this.showTargets();
    if (!this.dirty.has("forecast")) this.forecast.replaceChildren(this.forecastForm());
    if (!this.dirty.has("pair")) this.pairs.replaceChildren(...this.pairsPanel());
    if (!this.dirty.has("mqtt")) this.mqtt.replaceChildren(...this.mqttPanel());
  }

  changed(settings) {
    this.show(settings);
    // The readings (main.js) fetch the sensor list again; this page already shows the answer.
    dispatchEvent(new Event("frost:settings"));
  }

  say(message, failed = false) {
    this.note.textContent = message;
    this.note.classList.toggle("form-error", failed);
  }

  // ---- one setting: its field, where its value comes from, and a reset --------------------------

  // A setting's line under its field: its source and, when set here, a button that puts the config
  // file's value back (sent as null on Save). `onReset` fills the field with that value.
  sourceLine(setting, fileText, onReset) {
    const line = h("p", { className: "source" });
    const show = () => {
      line.replaceChildren(sourceWords(setting.source));
      line.dataset.source = setting.source;
      if (setting.source === "browser") {
        line.append(h("button", { type: "button", text: "Use the config file's", title: `The config file's: ${fileText}`,
          onclick: () => {
            onReset();
            line.replaceChildren("Back to the config file's value when saved.");
          } }));
      }
    };
    show();
    return line;
  }

  // ---- the device ----------------------------------------------------------------------------

  deviceForm() {
    const settings = this.settings;
    const before = deviceFields(settings);
    const resets = new Set();
    const unit = displayUnit(TEMPERATURE);
    const name = h("input", { name: "name", value: before.name, autocomplete: "off", spellcheck: false, maxLength: 256 });
    const frost = h("input", { name: "frost_threshold", value: before.frost_threshold, inputMode: "decimal", autocomplete: "off" });
    const units = h("select", { name: "units" },
      h("option", { value: "celsius", text: "°C (Celsius)", selected: before.units === "celsius" }),
      h("option", { value: "fahrenheit", text: "°F (Fahrenheit)", selected: before.units === "fahrenheit" }));
    const errors = { name: fieldError(), frost_threshold: fieldError() };
    const error = h("p", { className: "form-error", role: "alert" });
    const setting = (key) => (key === "frost_threshold" ? settings.frost_threshold : settings.device?.[key]) || { source: "default" };
    const line = (key, input, fileText, fileValue) => this.sourceLine(setting(key), fileText, () => {
      input.value = fileValue;
      resets.add(key);
    });
    const fileFrost = setting("frost_threshold").file_value;
    const form = h("form", { className: "stack settings-form", noValidate: true, onsubmit: async (event) => {
      event.preventDefault();
      const after = { name: name.value, units: units.value, frost_threshold: frost.value };
      const problems = checkDevice(after);
      for (const [key, message] of Object.entries(errors)) showError(message, { name, frost_threshold: frost }[key], resets.has(key) ? "" : problems[key]);
      if (Object.keys(problems).some((key) => !resets.has(key))) return;
      const body = devicePatch(before, after, resets);
      if (!Object.keys(body).length) return;
      const saved = await this.write(error, "PATCH", "/api/v1/settings", body, settings.revision, "device");
      if (saved) this.say("Saved.");
    } },
    ...field("Device name (in the page's title and the notifications)", name), errors.name,
    line("name", name, String(setting("name").file_value ?? "FrostServer"), String(setting("name").file_value ?? "FrostServer")),
    ...field(`Frost threshold (${unit}): temperatures at or below it are frost`, frost), errors.frost_threshold,
    line("frost_threshold", frost, formatValue(fileFrost ?? 0, TEMPERATURE), deviceFields({ frost_threshold: { value: fileFrost ?? 0 } }).frost_threshold),
    ...field("Units on this dashboard, in the CSV download and the notifications", units),
    line("units", units, setting("units").file_value === "fahrenheit" ? "°F" : "°C", setting("units").file_value === "fahrenheit" ? "fahrenheit" : "celsius"),
    error,
    h("button", { type: "submit", className: "primary", text: "Save" }));
    form.addEventListener("input", () => this.dirty.add("device"));
    form.addEventListener("change", () => this.dirty.add("device"));
    return form;
  }

  // ---- the alert rules -----------------------------------------------------------------------

  showRules() {
    const rules = this.settings.rules && typeof this.settings.rules === "object" ? this.settings.rules : {};
    const open = new Set([...this.rules.querySelectorAll("details[open]")].map((d) => d.dataset.rule));
    const kept = new Map([...this.rules.querySelectorAll("details[data-rule]")].map((d) => [d.dataset.rule, d]));
    this.rules.replaceChildren(...Object.entries(rules).map(([name, entry]) => {
      if (this.dirty.has(`rule:${name}`) && kept.has(name)) return kept.get(name);
      const details = this.ruleItem(name, entry);
      details.open = open.has(name);
      return details;
    }));
    if (!Object.keys(rules).length) this.rules.append(h("p", { className: "hint", text: "No rules." }));
  }

  ruleItem(name, entry) {
    const before = ruleFields(entry, name);
    const resets = new Set();
    const temperature = ruleIsTemperature(entry, name);
    const unit = temperature ? displayUnit(TEMPERATURE) : "in the sensor's unit";
    const deviceWide = name === "sampling_stopped";
    const valueRule = !deviceWide && (before.above || before.below);
    const shown = RULE_FIELDS.filter((key) => (deviceWide ? DEVICE_WIDE.has(key)
      : (key !== "above" && key !== "below") || valueRule));
    const inputs = {};
    const errors = {};
    const parts = [];
    for (const key of shown) {
      let input;
      if (key === "enabled") input = h("input", { type: "checkbox", name: key, checked: before.enabled });
      else if (key === "severity") {
        input = h("select", { name: key }, ...["warning", "critical"].map((s) => h("option", { value: s, text: s, selected: before.severity === s })));
      } else input = h("input", { name: key, value: before[key], autocomplete: "off", spellcheck: false });
      inputs[key] = input;
      errors[key] = fieldError();
      const label = key === "above" || key === "below" ? `${RULE_WORDS[key]} (${unit}, or a limit: max, crit, min, frost_threshold)`
        : key === "hysteresis" ? `${RULE_WORDS[key]} (${unit}): how far back past the limit resolves it`
          : key === "for" ? `${RULE_WORDS[key]}: how long it must hold (e.g. 90s, 5m, 1h30m)` : RULE_WORDS[key];
      const setting = settingOf(entry, key);
      const line = this.sourceLine(setting, ruleFileText(key, setting.file_value, temperature), () => {
        const fromFile = ruleFields({ ...entry, [key]: { value: setting.file_value } }, name)[key];
        if (key === "enabled") input.checked = fromFile;
        else input.value = fromFile;
        resets.add(key);
      });
      if (key === "enabled") parts.push(h("label", { className: "inline" }, input, " On"), errors[key], line);
      else parts.push(...field(label, input), errors[key], line);
    }
    const error = h("p", { className: "form-error", role: "alert" });
    const summary = h("summary", {}, h("strong", { text: name }), " ", h("span", { className: "hint", text: ruleSummary(before, temperature) }));
    const form = h("form", { className: "stack settings-form", noValidate: true, onsubmit: async (event) => {
      event.preventDefault();
      const after = { ...before };
      for (const [key, input] of Object.entries(inputs)) after[key] = input.type === "checkbox" ? input.checked : input.value;
      const problems = checkRule(after);
      for (const key of Object.keys(inputs)) showError(errors[key], inputs[key], resets.has(key) ? "" : problems[key]);
      if (Object.keys(problems).some((key) => inputs[key] && !resets.has(key))) return;
      const body = rulePatch(entry, before, after, resets, name);
      if (!Object.keys(body).length) return;
      const saved = await this.write(error, "PATCH", `/api/v1/settings/rules/${encodeURIComponent(name)}`, body,
        this.settings.revision, `rule:${name}`, inputs);
      if (saved) {
        this.say(`The rule ${name} is saved.`);
        this.load(); // the answer is the rule; the page shows the whole document again
      }
    } }, ...parts, error, h("button", { type: "submit", className: "primary", text: `Save ${name}` }));
    const details = h("details", { className: "rule", "data-rule": name }, summary, form);
    form.addEventListener("input", () => this.dirty.add(`rule:${name}`));
    form.addEventListener("change", () => this.dirty.add(`rule:${name}`));
    return details;
  }

  // ---- the frost forecast, MQTT: forms of text fields, each with its source and reset ----------

  // A form over one table of the settings document (`entry`): `inputs` by key, their labels, each
  // with its source line and a reset; `submit(values, resets)` saves.
  tableForm(section, entry, inputs, labels, submit) {
    const resets = new Set();
    const errors = {};
    const parts = [];
    for (const [key, input] of Object.entries(inputs)) {
      errors[key] = fieldError();
      const setting = settingOf(entry, key);
      const fileText = setting.file_value == null ? "none" : typeof setting.file_value === "boolean"
        ? (setting.file_value ? "on" : "off") : Array.isArray(setting.file_value) ? listText(setting.file_value) || "none"
          : typeof setting.file_value === "number" && /window|min_data|lead_time|interval/.test(key) ? durationText(setting.file_value)
            : String(setting.file_value);
      const line = this.sourceLine(setting, fileText, () => {
        if (input.type === "checkbox") input.checked = setting.file_value !== false;
        else input.value = fileText === "none" ? "" : fileText;
        resets.add(key);
      });
      if (input.type === "checkbox") parts.push(h("label", { className: "inline" }, input, ` ${labels[key]}`), errors[key], line);
      else parts.push(...field(labels[key], input), errors[key], line);
    }
    const error = h("p", { className: "form-error", role: "alert" });
    const form = h("form", { className: "stack settings-form", noValidate: true, onsubmit: async (event) => {
      event.preventDefault();
      const values = {};
      for (const [key, input] of Object.entries(inputs)) values[key] = input.type === "checkbox" ? input.checked : input.value;
      const problems = submit.check(values);
      for (const key of Object.keys(inputs)) showError(errors[key], inputs[key], resets.has(key) ? "" : problems[key]);
      if (Object.keys(problems).some((key) => inputs[key] && !resets.has(key))) return;
      const body = submit.body(values, resets);
      if (!body) return;
      const saved = await this.write(error, "PATCH", "/api/v1/settings", body, this.settings.revision, section, submit.fields(inputs));
      if (saved) this.say(submit.saved);
    } }, ...parts, error, h("button", { type: "submit", className: "primary", text: "Save" }));
    form.addEventListener("input", () => this.dirty.add(section));
    form.addEventListener("change", () => this.dirty.add(section));
    return form;
  }

  forecastForm() {
    const before = forecastFields(this.settings);
    const text = (key, more = {}) => h("input", { name: key, value: before[key], autocomplete: "off", spellcheck: false, ...more });
    const inputs = {
      enabled: h("input", { type: "checkbox", name: "enabled", checked: before.enabled }),
      window: text("window"), min_data: text("min_data"), lead_time: text("lead_time"),
      places: text("places", { placeholder: "e.g. Greenhouse, Garden" }), sensors: text("sensors"),
    };
    const labels = {
      enabled: "Forecast frost", window: "Trend over the last (e.g. 60m)", min_data: "No forecast before this much data (e.g. 15m)",
      lead_time: "Warn this far ahead at most (e.g. 3h)", places: "Places (comma-separated; empty: as sensors)",
      sensors: "Sensors (ids or globs, comma-separated; both empty: those the frost rule watches)",
    };
    return this.tableForm("forecast", this.settings.forecast, inputs, labels, {
      check: checkForecast,
      body: (values, resets) => {
        const forecast = forecastPatch(before, values, resets);
        return Object.keys(forecast).length ? { forecast } : null;
      },
      fields: (all) => Object.fromEntries(FORECAST_FIELDS.map((key) => [`forecast.${key}`, all[key]])),
      saved: "The forecast is saved: it applies from the next sample.",
    });
  }

  mqttPanel() {
    const state = brokerState(this.settings);
    const status = h("p", { className: "row-title" },
      state.shown ? h("span", { className: "target-shown", text: state.shown }) : "No broker: nothing is published.",
      state.shown ? h("span", { className: "hint", text: ` (${sourceWords(state.source)})` }) : null);
    const before = mqttFields(this.settings);
    const text = (key, more = {}) => h("input", { name: key, value: before[key], autocomplete: "off", autocapitalize: "none",
      spellcheck: false, ...more });
    const broker = state.fromEnvironment ? { disabled: true } : {};
    const password = h("input", { type: "password", name: "password", autocomplete: "new-password", ...broker,
      placeholder: state.passwordSet ? "set: leave empty to keep it" : "none" });
    const inputs = {
      enabled: h("input", { type: "checkbox", name: "enabled", checked: before.enabled }),
      host: text("host", { placeholder: "e.g. 192.168.1.10 or broker.local", ...broker }),
      port: text("port", { inputMode: "numeric", placeholder: "1883, or 8883 with TLS", ...broker }),
      tls: h("input", { type: "checkbox", name: "tls", checked: before.tls, ...broker }),
      username: text("username", broker),
      discovery_prefix: text("discovery_prefix"), min_interval: text("min_interval"), max_interval: text("max_interval"),
    };
    const labels = {
      enabled: "Publish to the broker", host: "Broker host", port: "Port", tls: "TLS (mqtts)", username: "User name",
      discovery_prefix: "Home Assistant's discovery prefix", min_interval: "A state at most this often (e.g. 10s)",
      max_interval: "A state at least this often (e.g. 5m)",
    };
    const form = this.tableForm("mqtt", this.settings.mqtt, inputs, labels, {
      check: (values) => checkMqtt({ ...values, password: password.value }, { brokerRequired: !state.fromEnvironment && !state.shown }),
      body: (values, resets) => {
        const mqtt = mqttPatch(before, values, resets, state.fromEnvironment ? "" : password.value);
        return Object.keys(mqtt).length ? { mqtt } : null;
      },
      fields: (all) => ({ ...Object.fromEntries(Object.entries(all).map(([key, input]) => [`mqtt.${key}`, input])),
        "mqtt.password": password }),
      saved: "Saved: the publisher follows it within a sample or two.",
    });
    // The password is write-only: a field to type a new one, never the one set.
    form.insertBefore(h("div", { className: "stack" }, ...field("Password (write-only: never shown)", password),
      h("p", { className: "hint", text: "A broker saved here replaces the config file's whole: enter its password here too." })),
    form.querySelector("input[name=discovery_prefix]").previousElementSibling);
    const parts = [status];
    if (state.fromEnvironment) {
      parts.push(h("p", { className: "notice", text: "The broker is set by FROST_MQTT_URL in the environment (.env): it stays above " +
        "what is set here. Change or remove it there, then restart the app." }));
    }
    parts.push(form);
    if (state.setHere) {
      const error = h("p", { className: "form-error", role: "alert" });
      parts.push(h("div", { className: "actions" }, h("button", { type: "button", className: "danger",
        text: "Remove the broker set here", onclick: async () => {
          const saved = await this.write(error, "DELETE", "/api/v1/settings/mqtt", undefined, this.settings.revision, "mqtt");
          if (saved) this.say(state.shown && settingOf(this.settings.mqtt, "broker").value
            ? "Removed: the config file's broker applies again." : "Removed: nothing is published.");
        } })), error);
    }
    return parts;
  }

  // ---- dew point pairs -----------------------------------------------------------------------

  pairsPanel() {
    const pairs = this.settings.derived && typeof this.settings.derived === "object" ? this.settings.derived : {};
    const list = h("ul", { className: "rows" }, ...Object.entries(pairs).map(([name, entry]) => this.pairRow(name, entry)));
    if (!Object.keys(pairs).length) list.append(h("li", { className: "hint", text: "None yet." }));
    return [list, this.pairForm(Object.keys(pairs))];
  }

  pairRow(name, entry) {
    const value = (key) => settingOf(entry, key).value;
    const byId = new Map(this.sensors.map((s) => [s.id, s]));
    const named = (id) => (byId.has(id) ? sensorName(byId.get(id)) : String(id ?? "?"));
    const inFile = settingOf(entry, "temperature").file_value != null;
    const setHere = Object.values(entry || {}).some((e) => e?.source === "browser");
    const actions = h("div", { className: "actions" });
    if (setHere) {
      actions.append(h("button", { type: "button", className: "danger", text: inFile ? "Use the config file's" : "Remove", onclick: async () => {
        try {
          await request(`/api/v1/settings/derived/${encodeURIComponent(name)}`, { method: "DELETE" });
          this.say(inFile ? `The pair ${name} is the config file's again.` : `The pair ${name} was removed: its sensors go at the next sample.`);
          this.load();
          dispatchEvent(new Event("frost:settings"));
        } catch (err) {
          if (err.status !== 401) this.say(err.message, true);
        }
      } }));
    } else {
      actions.append(h("span", { className: "hint", text: "Set in the config file: change it there." }));
    }
    return h("li", { className: "row", "data-pair": name },
      h("p", { className: "row-title" }, h("strong", { text: String(value("label") ?? name) }),
        h("span", { className: "hint", text: ` · ${value("place") ?? "no place"} · ${sourceWords(setHere ? "browser" : "file")}` })),
      h("p", { className: "hint", text: `${named(value("temperature"))} + ${named(value("humidity"))}` }),
      actions);
  }

  pairForm(taken) {
    const places = placesOf(this.sensors);
    const place = h("select", { name: "place" }, h("option", { value: "", text: "All sensors" }),
      ...places.map((p) => h("option", { value: p, text: p })));
    const temperature = h("select", { name: "temperature" });
    const humidity = h("select", { name: "humidity" });
    const label = h("input", { name: "label", autocomplete: "off", maxLength: 48, placeholder: "e.g. Greenhouse air" });
    const fill = () => {
      const choices = pairChoices(this.sensors, place.value);
      const options = (list) => (list.length ? list.map((s) => h("option", { value: s.id, text: `${sensorName(s)} (${s.id})` }))
        : [h("option", { value: "", text: "none here" })]);
      temperature.replaceChildren(...options(choices.temperatures));
      humidity.replaceChildren(...options(choices.humidities));
    };
    place.addEventListener("change", fill);
    fill();
    const error = h("p", { className: "form-error", role: "alert" });
    const inputs = { temperature, humidity, label, place };
    const form = h("form", { className: "stack settings-form", noValidate: true, onsubmit: async (event) => {
      event.preventDefault();
      if (!temperature.value || !humidity.value) {
        error.textContent = "Choose a temperature and a humidity sensor (another place, or All sensors, may have them).";
        return;
      }
      const text = label.value.trim();
      const name = pairName(text || place.value || "pair", taken);
      const body = { temperature: temperature.value, humidity: humidity.value };
      if (text) body.label = text;
      if (place.value) body.place = place.value;
      const saved = await this.write(error, "PUT", `/api/v1/settings/derived/${encodeURIComponent(name)}`, body, null, "pair", inputs);
      if (saved) {
        this.say(`Paired: ${text || name}'s dew point, frost point and absolute humidity appear from the next sample.`);
        this.load();
      }
    } },
    h("h4", { text: "Pair two sensors" }),
    ...field("Place (its sensors go there too)", place),
    ...field("Temperature sensor", temperature),
    ...field("Humidity sensor", humidity),
    ...field("Name (optional: their names begin with it)", label),
    error,
    h("button", { type: "submit", className: "primary", text: "Pair" }));
    form.addEventListener("input", () => this.dirty.add("pair"));
    return form;
  }

  // ---- notification targets ------------------------------------------------------------------

  // The list is drawn again with each document; the form, the test button and its results stay
  // (a test's results must not vanish when the settings event of the target just added arrives).
  targetsPanel() {
    this.targetList = h("ul", { className: "rows" });
    const results = h("ul", { className: "rows test-results", "aria-live": "polite" });
    const testNote = h("p", { className: "note", role: "status" });
    this.testButton = h("button", { type: "button", text: "Send a test", disabled: true, onclick: async () => {
      const button = this.testButton;
      button.disabled = true;
      testNote.textContent = "Sending a test notification to each target…";
      results.replaceChildren();
      try {
        const answer = await request("/api/v1/settings/targets/test", { method: "POST", body: {} });
        const list = Array.isArray(answer?.results) ? answer.results : [];
        testNote.textContent = list.every((r) => r.ok) ? "Every target took the test." : "Some targets refused the test:";
        results.replaceChildren(...list.map((result) => h("li", { className: "row", "data-ok": String(result.ok === true) },
          h("strong", { text: result.ok ? "Sent" : "Failed" }), " ", h("span", { className: "target-shown", text: String(result.shown ?? result.id) }),
          result.message ? h("p", { className: "hint", text: String(result.message) }) : null)));
      } catch (err) {
        if (err.status !== 401) testNote.textContent = `Could not send a test: ${err.message}`;
      } finally {
        button.disabled = !this.targetList.querySelector("[data-target]");
      }
    } });
    this.targets.replaceChildren(this.targetList, this.addTargetForm(), h("div", { className: "actions" }, this.testButton), testNote, results);
  }

  showTargets() {
    if (!this.targetList) this.targetsPanel();
    const targets = Array.isArray(this.settings.targets) ? this.settings.targets : [];
    this.targetList.replaceChildren(...targets.map((target) => this.targetRow(target)));
    if (!targets.length) this.targetList.append(h("li", { className: "hint", text: "None: alerts show on this page only." }));
    this.testButton.disabled = !targets.length;
  }

  targetRow(target) {
    const shown = String(target.shown ?? target.id);
    const actions = h("div", { className: "actions" });
    if (target.source === "browser") {
      actions.append(h("button", { type: "button", className: "danger", text: "Remove", onclick: async () => {
        try {
          await request(`/api/v1/settings/targets/${encodeURIComponent(String(target.id))}`, { method: "DELETE" });
          this.say(`${shown} was removed.`);
          this.load();
          dispatchEvent(new Event("frost:settings"));
        } catch (err) {
          if (err.status !== 401) this.say(err.message, true);
        }
      } }));
    } else {
      actions.append(h("span", { className: "hint", text: "Set in the config file: change it there." }));
    }
    return h("li", { className: "row", "data-target": String(target.id) },
      h("p", { className: "row-title" }, h("span", { className: "target-shown", text: shown }), " ",
        h("span", { className: "hint", text: `(${sourceWords(target.source)})` })),
      actions);
  }

  addTargetForm() {
    const url = h("input", { name: "url", autocomplete: "off", autocapitalize: "none", spellcheck: false,
      placeholder: "e.g. ntfys://ntfy.sh/my-topic" });
    const error = h("p", { className: "form-error", role: "alert" });
    const form = h("form", { className: "stack", noValidate: true, onsubmit: async (event) => {
      event.preventDefault();
      if (!url.value.trim()) {
        error.textContent = "Enter the target's URL (Apprise's form: ntfys://..., mailtos://..., json://...).";
        url.focus();
        return;
      }
      try {
        const added = await request("/api/v1/settings/targets", { method: "POST", body: { url: url.value.trim() } });
        url.value = ""; // the URL leaves the page: the device shows it masked from now on
        error.textContent = "";
        this.say(`Added: ${added?.shown ?? "the target"}.`);
        this.load();
        dispatchEvent(new Event("frost:settings"));
      } catch (err) {
        if (err.status !== 401) error.textContent = err.message;
        url.focus();
      }
    } },
    h("h4", { id: freshId("add-target"), text: "Add a target" }),
    ...field("URL (shown masked once added: it may hold a password or a token)", url),
    error,
    h("button", { type: "submit", text: "Add target" }));
    return form;
  }

  // ---- export and import ---------------------------------------------------------------------

  transferPanel() {
    const file = h("input", { type: "file", name: "file", accept: ".toml,text/plain,application/toml" });
    const error = h("p", { className: "form-error", role: "alert" });
    const confirm = h("div", { className: "actions" });
    const form = h("form", { className: "stack", noValidate: true, onsubmit: (event) => {
      event.preventDefault();
      error.textContent = "";
      const chosen = file.files?.[0];
      if (!chosen) {
        error.textContent = "Choose a settings file (.toml) first.";
        return;
      }
      // It replaces every setting made here: ask in the form itself, the safe choice focused.
      const keep = h("button", { type: "button", text: "Keep the settings", onclick: () => confirm.replaceChildren() });
      confirm.replaceChildren(
        h("p", { className: "warning", text: `Import ${chosen.name}? It replaces every setting made here (not the config file's).` }),
        h("button", { type: "button", className: "danger", text: "Import and replace", onclick: async () => {
          confirm.replaceChildren();
          try {
            const text = await chosen.text();
            const answer = await request("/api/v1/settings/import", { method: "POST", body: text, contentType: "application/toml" });
            form.reset();
            this.dirty.clear();
            this.changed(answer);
            this.say(`Imported ${chosen.name}.`);
          } catch (err) {
            if (err.status !== 401) error.textContent = `Not imported: ${err.message}`;
          }
        } }),
        keep);
      keep.focus();
    } },
    ...field("A settings file exported from a device", file), confirm, error,
    h("button", { type: "submit", text: "Import" }));
    return h("section", { className: "panel", "aria-labelledby": "transfer-title" },
      h("h3", { id: "transfer-title", text: "Export and import" }),
      h("p", { className: "hint", text: "Every setting in force as a TOML file the config file accepts (secrets such as " +
        "notification URLs are left out): to copy this device's setup to another, or keep it in git." }),
      h("p", {}, h("a", { className: "button", href: "/api/v1/settings/export", download: "frostserver-settings.toml", text: "Export settings" })),
      form);
  }

  // ---- talking to the API --------------------------------------------------------------------

  /**
   * Send a settings write with the revision it started from. Its answer (the new document), or
   * null when refused: a 409 reloads the section as it is now and says so; a 400 marks the field.
   */
  async write(error, method, path, body, revision, section, inputs = {}) {
    error.textContent = "";
    try {
      const answer = await request(path, { method, body, ifMatch: revision });
      this.dirty.delete(section);
      if (answer && answer.revision != null && answer.device) this.changed(answer);
      else dispatchEvent(new Event("frost:settings")); // the caller reads the whole document again
      return answer ?? {};
    } catch (err) {
      if (err.status === 401) return null;
      if (err.status === 409) {
        this.dirty.delete(section);
        await this.load();
        this.say("Changed elsewhere meanwhile: the page shows the settings as they are now. Make your change again.", true);
        return null;
      }
      const named = err.field && (inputs[err.field] || inputs[err.field.split(".").pop()]);
      if (named) named.setAttribute("aria-invalid", "true");
      error.textContent = err.message;
      return null;
    }
  }
}

const fieldError = () => h("p", { className: "field-error", role: "alert" });

function showError(error, input, message) {
  error.textContent = message || "";
  if (!input) return;
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
}

function ruleFileText(key, value, temperature) {
  if (value == null) return "none";
  if (key === "enabled") return value ? "on" : "off";
  if (key === "for") return durationText(value);
  if (key === "sensors" || key === "places") return listText(value);
  if (typeof value === "number") {
    const sensor = temperature ? TEMPERATURE : null;
    return key === "hysteresis" ? String(deltaToDisplay(value, sensor)) : formatValue(value, sensor || { kind: "other", unit: "" });
  }
  return String(value);
}

function ruleSummary(fields, temperature) {
  const unit = temperature ? ` ${displayUnit(TEMPERATURE)}` : "";
  const condition = fields.above ? `above ${fields.above}${/\d$/.test(fields.above) ? unit : ""}`
    : fields.below ? `below ${fields.below}${/\d$/.test(fields.below) ? unit : ""}` : "";
  return [fields.enabled ? "on" : "off", condition, fields.for && `for ${fields.for}`, fields.severity].filter(Boolean).join(" · ");
}
