// A sensor's sheet (issue 22; admins): its name, place, position in the place, hidden, calibration
// (an offset or two reference points) and its low and high limits, in a dialog over the page. Each
// field says where its value comes from (set here, the config file, default) and, when set here,
// offers the config file's value back. Save sends only what changed (PATCH /api/v1/sensors/{id}
// with If-Match: the revision the sheet started from); a 409 says the sensor changed elsewhere and
// shows it as it is now, a 400 marks the field it names. A lazy chunk: viewers never load it.
// Everything a person typed goes into the page as text.

import "./admin.css";
import "./sheet.css";
import { request } from "../api.js";
import { deltaToDisplay, displayUnit, formatValue, sensorName } from "../format.js";
import { UNSORTED, bySensorOrder, placeNames, placeOf, reorder } from "../places.js";
import { field, freshId, h } from "./dom.js";
import {
  SHEET_GROUPS, checkSheet, describeFields, numberText, settingOf, sheetFieldOf, sheetFields, sheetPatch, sourceWords,
} from "./setting-fields.js";

/** The API path of a sensor: its id's parts escaped, its "/" kept (the API's route is a path). */
export function sensorPath(id) {
  return `/api/v1/sensors/${id.split("/").map(encodeURIComponent).join("/")}`;
}

/**
 * Open the sheet of sensor `id` in `dialog` (a <dialog>). `sensors()` gives the device's sensors
 * as the page knows them (for places and positions); `onSaved()` is called after every change.
 */
export async function showSheet(dialog, { id, sensors, onSaved }) {
  const title = h("h2", { id: "sheet-title", className: "clamp", text: sensorName(sensors().find((s) => s.id === id) || { id }) });
  const close = h("button", { type: "button", className: "sheet-close", text: "Close", onclick: () => dialog.close() });
  const body = h("div", { className: "sheet-body" }, h("p", { className: "hint", text: "Loading…" }));
  dialog.replaceChildren(h("div", { className: "sheet-head" }, title, close), body);
  dialog.onclose = () => dialog.replaceChildren();
  if (!dialog.open) dialog.showModal();
  try {
    const [sensor, settings] = await Promise.all([
      request(sensorPath(id)),
      request("/api/v1/settings").catch((err) => {
        if (err.status === 401) throw err;
        return null; // sources unknown (an older app): the sheet still edits
      }),
    ]);
    if (!dialog.open) return;
    const sheet = new Sheet(dialog, title, body, sensor, settings?.sensors?.[id], { sensors, onSaved });
    sheet.render();
  } catch (err) {
    body.replaceChildren(h("p", { className: "form-error", role: "alert", text: `Could not load this sensor: ${err.message}` }));
  }
}

class Sheet {
  constructor(dialog, title, body, sensor, entry, { sensors, onSaved }) {
    this.dialog = dialog;
    this.title = title;
    this.body = body;
    this.sensors = sensors;
    this.onSaved = onSaved;
    this.resets = new Set(); // groups to reset to the config file's value on Save
    this.load(sensor, entry);
  }

  load(sensor, entry) {
    this.sensor = sensor;
    this.entry = entry;
    this.before = sheetFields(sensor, entry);
  }

  render() {
    const { sensor } = this;
    const unit = displayUnit(sensor);
    const input = (name, props = {}) => h("input", { name, value: this.before[name], autocomplete: "off", spellcheck: false, ...props });
    this.inputs = {
      label: input("label", { maxLength: 256 }), // the check says how long a name may be, not a silent cut
      place: input("place", { maxLength: 256 }),
      hidden: h("input", { type: "checkbox", name: "hidden", checked: this.before.hidden }),
      offset: input("offset", { inputMode: "decimal" }),
      raw1: input("raw1", { inputMode: "decimal" }),
      actual1: input("actual1", { inputMode: "decimal" }),
      raw2: input("raw2", { inputMode: "decimal" }),
      actual2: input("actual2", { inputMode: "decimal" }),
      low: input("low", { inputMode: "decimal" }),
      high: input("high", { inputMode: "decimal" }),
    };
    const places = h("datalist", { id: freshId("places") }, ...placeNames(this.sensors()).map((name) => h("option", { value: name })));
    this.inputs.place.setAttribute("list", places.id);
    this.inputs.place.placeholder = UNSORTED;
    this.errors = {};
    this.sources = {};
    this.modes = Object.fromEntries(["none", "offset", "points"].map((mode) => [mode,
      h("input", { type: "radio", name: "mode", value: mode, checked: this.before.mode === mode, onchange: () => this.showMode() })]));

    const now = formatValue(sensor.value, sensor);
    const raw = typeof sensor.raw_value === "number" ? `, raw ${formatValue(sensor.raw_value, sensor)}` : "";
    this.note = h("p", { className: "sheet-note", role: "status" });
    this.error = h("p", { className: "form-error", role: "alert" });
    this.offsetPart = h("div", { className: "sheet-offset" }, ...field(`Offset (${unit || "in the sensor's unit"}), added to each reading`, this.inputs.offset));
    const gain = typeof sensor.calibration?.gain === "number" && sensor.calibration.gain !== 1;
    this.pointsPart = h("div", { className: "sheet-points" },
      gain ? h("p", { className: "hint", text: `Now: ${calibrationText(sensor.calibration, sensor)}. Enter two points to change it.` }) : null,
      h("p", { className: "hint", text: `Two readings of the sensor beside the true values (${unit}), e.g. in ice water and in boiling water.` }),
      h("div", { className: "points" },
        ...field("Point 1, the sensor read", this.inputs.raw1), ...field("Point 1, the true value", this.inputs.actual1),
        ...field("Point 2, the sensor read", this.inputs.raw2), ...field("Point 2, the true value", this.inputs.actual2)));
    this.form = h("form", { className: "sheet-form", noValidate: true, onsubmit: (event) => this.save(event) },
      h("p", { className: "hint sheet-id" }, sensor.id, h("br"), `Reads ${now}${raw}`),
      this.setting("label", ...field("Name", this.inputs.label)),
      this.setting("place", ...field("Place (pick one or type a new one; empty: the config file's, else Unsorted)", this.inputs.place), places),
      this.position(),
      this.setting("hidden", h("label", { className: "inline" }, this.inputs.hidden,
        " Hide from the places overview (still sampled, recorded, in All sensors and the API)")),
      this.setting("calibration",
        h("fieldset", { className: "modes" }, h("legend", { text: "Calibration" }),
          h("label", { className: "inline" }, this.modes.none, " None"),
          h("label", { className: "inline" }, this.modes.offset, " An offset"),
          h("label", { className: "inline" }, this.modes.points, " Two reference points")),
        this.offsetPart, this.pointsPart),
      this.setting("low", ...field(`Low limit (${unit}; empty: the config file's)`, this.inputs.low)),
      this.setting("high", ...field(`High limit (${unit}; empty: the config file's)`, this.inputs.high)),
      this.note, this.error,
      h("div", { className: "actions sheet-actions" },
        h("button", { type: "submit", className: "primary", text: "Save" }),
        h("button", { type: "button", text: "Cancel", onclick: () => this.dialog.close() })));
    // Editing a field that was reset: it is the value typed that counts again.
    this.form.addEventListener("input", (event) => {
      const group = groupOf(event.target.name);
      if (group && this.resets.delete(group)) this.showSource(group);
      if (group) this.mark(group, "");
    });
    this.body.replaceChildren(this.form);
    for (const group of Object.keys(SHEET_GROUPS)) this.showSource(group);
    this.showMode();
  }

  // One setting: its controls, then a line saying where its value comes from, with a reset.
  setting(group, ...controls) {
    this.sources[group] = h("p", { className: "source" });
    this.errors[group] = h("p", { className: "field-error", role: "alert" });
    return h("div", { className: "setting", "data-setting": group }, ...controls, this.errors[group], this.sources[group]);
  }

  // The field whose source a group shows: the calibration's is where offset or two points came from.
  settingFor(group) {
    if (group !== "calibration") return settingOf(this.entry, group);
    const points = settingOf(this.entry, "calibration");
    return points.source !== "default" ? points : settingOf(this.entry, "offset");
  }

  showSource(group) {
    const line = this.sources[group];
    const setting = this.settingFor(group);
    if (this.resets.has(group)) {
      line.replaceChildren("Back to the config file's value when saved.");
      return;
    }
    line.replaceChildren(sourceWords(setting.source));
    line.dataset.source = setting.source;
    if (setting.source !== "browser") return;
    const fileText = this.fileValueText(group, setting.file_value);
    line.append(h("button", { type: "button", text: "Use the config file's", title: `The config file's: ${fileText}`,
      onclick: () => this.reset(group, setting.file_value) }));
  }

  fileValueText(group, value) {
    if (value == null) return "none";
    if (group === "hidden") return value ? "hidden" : "shown";
    if (group === "calibration") return calibrationText(value, this.sensor);
    if (group === "low" || group === "high") return formatValue(value, this.sensor);
    return String(value);
  }

  // Show the config file's value in the group's fields, to be sent as null (a reset) on Save.
  reset(group, fileValue) {
    const fromFile = sheetFields({ ...this.sensor, label: group === "label" ? fileValue : this.sensor.label,
      place: group === "place" ? fileValue : this.sensor.place, hidden: group === "hidden" ? fileValue === true : this.sensor.hidden,
      calibration: group === "calibration" && fileValue && typeof fileValue === "object" ? fileValue : null,
      thresholds: { min: group === "low" ? fileValue : null, max: group === "high" ? fileValue : null } }, undefined);
    for (const name of SHEET_GROUPS[group]) this.setValue(name, fromFile[name]);
    this.resets.add(group);
    this.showSource(group);
    this.showMode();
  }

  setValue(name, value) {
    if (name === "mode") for (const [mode, radio] of Object.entries(this.modes)) radio.checked = mode === value;
    else if (name === "hidden") this.inputs.hidden.checked = value;
    else this.inputs[name].value = value ?? "";
  }

  values() {
    const values = Object.fromEntries(Object.entries(this.inputs).map(([name, input]) => [name, input.type === "checkbox" ? input.checked : input.value]));
    values.mode = Object.entries(this.modes).find(([, radio]) => radio.checked)?.[0] || "none";
    return values;
  }

  showMode() {
    const { mode } = this.values();
    this.offsetPart.hidden = mode !== "offset";
    this.pointsPart.hidden = mode !== "points";
  }

  mark(group, message) {
    const error = this.errors[group];
    if (!error) return;
    error.textContent = message;
    for (const name of SHEET_GROUPS[group]) {
      const input = this.inputs[name];
      if (!input) continue;
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  // ---- the position within the place: moved at once (it changes the sensors around it too) ------

  position() {
    const siblings = () => this.sensors().filter((s) => placeOf(s) === placeOf(this.sensor)).sort(bySensorOrder);
    const text = h("span");
    const up = h("button", { type: "button", text: "Move up", onclick: () => this.move(-1) });
    const down = h("button", { type: "button", text: "Move down", onclick: () => this.move(1) });
    this.showPosition = () => {
      const list = siblings();
      const at = list.findIndex((s) => s.id === this.sensor.id);
      text.textContent = `Position ${at + 1} of ${list.length} in ${placeOf(this.sensor) ?? UNSORTED}`;
      up.disabled = at <= 0;
      down.disabled = at < 0 || at >= list.length - 1;
    };
    this.showPosition();
    this.errors.order = h("p", { className: "field-error", role: "alert" });
    return h("div", { className: "setting", "data-setting": "order" }, h("p", { className: "inline" }, text), h("div", { className: "actions" }, up, down), this.errors.order);
  }

  async move(delta) {
    const all = this.sensors();
    const changes = reorder(all, this.sensor.id, delta);
    this.errors.order.textContent = "";
    try {
      for (const { id, order } of changes) {
        const sibling = id === this.sensor.id ? this.sensor : all.find((s) => s.id === id);
        const saved = await request(sensorPath(id), { method: "PATCH", body: { order }, ifMatch: sibling.revision });
        if (id === this.sensor.id && saved) this.sensor = { ...this.sensor, ...saved };
        const known = all.find((s) => s.id === id);
        if (known && saved) Object.assign(known, saved); // the next move starts from these revisions
      }
    } catch (err) {
      this.errors.order.textContent = err.status === 409
        ? "Changed elsewhere meanwhile: the positions are shown as they are now; try again."
        : `Could not move it: ${err.message}`;
    }
    this.onSaved();
    this.showPosition();
  }

  // ---- save -----------------------------------------------------------------------------------

  async save(event) {
    event.preventDefault();
    const button = this.form.querySelector("button[type=submit]");
    if (button.disabled) return;
    this.error.textContent = "";
    this.note.textContent = "";
    const after = this.values();
    const problems = checkSheet(after);
    for (const group of Object.keys(SHEET_GROUPS)) this.mark(group, this.resets.has(group) ? "" : problems[group] || "");
    const invalid = Object.keys(SHEET_GROUPS).find((group) => problems[group] && !this.resets.has(group));
    if (invalid) {
      this.focus(invalid);
      return;
    }
    const patch = sheetPatch(this.sensor, this.before, after, this.resets);
    if (!Object.keys(patch).length) {
      this.dialog.close();
      return;
    }
    button.disabled = true;
    try {
      await request(sensorPath(this.sensor.id), { method: "PATCH", body: patch, ifMatch: this.sensor.revision });
      this.onSaved();
      this.dialog.close();
    } catch (err) {
      this.refused(err, after);
    } finally {
      button.disabled = false;
    }
  }

  refused(err, after) {
    if (err.status === 409) {
      const current = currentSensor(err.body);
      if (!current) {
        this.error.textContent = `${err.message}: close the sheet and open it again.`;
        return;
      }
      // What was not edited here takes the new values; what was edited keeps the edits, to be
      // saved over them (from the new revision) or dropped with Cancel.
      const edited = Object.keys(SHEET_GROUPS).filter((group) =>
        this.resets.has(group) || SHEET_GROUPS[group].some((name) => String(after[name]) !== String(this.before[name])));
      this.load(current, this.entry);
      for (const group of Object.keys(SHEET_GROUPS)) {
        if (!edited.includes(group)) for (const name of SHEET_GROUPS[group]) this.setValue(name, this.before[name]);
      }
      this.showMode();
      this.title.textContent = sensorName(current);
      this.note.textContent = `Changed elsewhere meanwhile. Now: ${describeFields(this.before, displayUnit(current))}. ` +
        "Your changes are still here: Save again to apply them, or Cancel.";
      this.onSaved();
      return;
    }
    const group = err.status === 400 ? sheetFieldOf(err.field) : null;
    if (group && this.errors[group]) {
      this.mark(group, err.message);
      this.focus(group);
    } else {
      this.error.textContent = err.message;
    }
  }

  focus(group) {
    const name = SHEET_GROUPS[group]?.find((n) => this.inputs[n] && !this.inputs[n].closest("[hidden]"));
    this.inputs[name]?.focus();
  }
}

/** A calibration ({offset} or {gain, offset}, SI) in words, in the display units. */
function calibrationText(calibration, sensor) {
  if (!calibration || typeof calibration !== "object") return "none";
  const offset = numberText(deltaToDisplay(calibration.offset ?? 0, sensor));
  if (typeof calibration.gain === "number" && calibration.gain !== 1) {
    return `value = ${numberText(calibration.gain, 4)} × reading ${offset.startsWith("-") ? "−" : "+"} ${offset.replace("-", "")} (two points)`;
  }
  return `offset ${offset}`;
}

const groupOf = (name) => Object.keys(SHEET_GROUPS).find((group) => SHEET_GROUPS[group].includes(name)) || null;

// A 409's body: the sensor as it is now, by itself or under "sensor".
function currentSensor(body) {
  const sensor = body?.sensor && typeof body.sensor === "object" ? body.sensor : body;
  return sensor && typeof sensor.id === "string" ? sensor : null;
}
