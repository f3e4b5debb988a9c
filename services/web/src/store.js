// The recent history of every sensor, as columns over one ring of timestamps: memory stays bounded
// (a fixed number of rows, and nothing older than the longest window) however long the page runs.

export const LONGEST_WINDOW = 15 * 60; // seconds; the widest choice of the window selector

// A silence longer than this many sample intervals is a gap (app restart, lost connection):
// a row of nulls is inserted so uPlot breaks the line instead of drawing across it.
const GAP_INTERVALS = 3;

export class SampleHistory {
  /** Keep up to `maxAge` seconds of samples taken every `interval` seconds. */
  constructor(interval = 1, maxAge = LONGEST_WINDOW) {
    this.interval = interval > 0 ? interval : 1;
    this.maxAge = maxAge;
    // Room for one full window at the nominal rate, plus slack for gap rows and jitter.
    this.capacity = Math.ceil(maxAge / this.interval) + 64;
    this.times = new Float64Array(this.capacity);
    this.columns = new Map(); // sensor id -> Float64Array, NaN where there is no value
    this.start = 0; // ring index of the oldest row
    this.length = 0;
  }

  get lastTime() {
    return this.length ? this.times[this.index(this.length - 1)] : null;
  }

  index(row) {
    return (this.start + row) % this.capacity;
  }

  column(id) {
    let column = this.columns.get(id);
    if (!column) {
      column = new Float64Array(this.capacity).fill(NaN);
      this.columns.set(id, column);
    }
    return column;
  }

  /** Drop the columns of sensors that are gone. */
  retain(ids) {
    const keep = new Set(ids);
    for (const id of this.columns.keys()) if (!keep.has(id)) this.columns.delete(id);
  }

  clear() {
    this.start = 0;
    this.length = 0;
  }

  /** Append one sample ({id: value|null}); samples not newer than the last are ignored. */
  push(t, values) {
    return this.pushRow(t, (id) => values[id], Object.keys(values));
  }

  /** Replace the contents with a columnar history answer ({timestamps, series}). */
  load({ timestamps, series }) {
    this.clear();
    const ids = Object.keys(series);
    timestamps.forEach((t, row) => this.pushRow(t, (id) => series[id]?.[row], ids));
  }

  pushRow(t, valueOf, ids) {
    if (typeof t !== "number") return false;
    const last = this.lastTime;
    if (last != null && t <= last) return false; // a replay after reconnecting, or out of order
    if (last != null && t - last > GAP_INTERVALS * this.interval) this.append(last + this.interval, () => null);
    for (const id of ids) this.column(id); // a new sensor gets a column of NaN, then its value
    this.append(t, valueOf);
    // Rows older than the longest window are of no use to any plot.
    const cutoff = t - this.maxAge;
    while (this.length && this.times[this.start] < cutoff) {
      this.start = (this.start + 1) % this.capacity;
      this.length--;
    }
    return true;
  }

  append(t, valueOf) {
    let i;
    if (this.length < this.capacity) {
      i = this.index(this.length++);
    } else {
      i = this.start; // full: overwrite the oldest row
      this.start = (this.start + 1) % this.capacity;
    }
    this.times[i] = t;
    for (const [id, column] of this.columns) {
      const value = valueOf(id);
      column[i] = typeof value === "number" ? value : NaN;
    }
  }

  /** Return uPlot data [times, ...one array per id] for the rows at or after `since`. */
  window(since, ids) {
    // Timestamps grow along the ring: binary-search the first row in the window.
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.times[this.index(mid)] < since) lo = mid + 1;
      else hi = mid;
    }
    const count = this.length - lo;
    const xs = new Array(count);
    const ys = ids.map(() => new Array(count));
    const columns = ids.map((id) => this.columns.get(id));
    for (let k = 0; k < count; k++) {
      const i = this.index(lo + k);
      xs[k] = this.times[i];
      for (let s = 0; s < ids.length; s++) {
        const v = columns[s] ? columns[s][i] : NaN;
        ys[s][k] = Number.isNaN(v) ? null : v; // null makes uPlot leave a gap
      }
    }
    return [xs, ...ys];
  }
}

/**
 * Return uPlot data for `ids` from a history answer: [times, one mean (or raw value) column per
 * id, then a min and a max column per id]. Raw answers and unknown ids get band columns of nulls.
 */
export function answerWindow(answer, ids) {
  const xs = answer.timestamps || [];
  const nulls = new Array(xs.length).fill(null);
  const means = [];
  const bands = [];
  for (const id of ids) {
    const series = answer.series?.[id];
    if (Array.isArray(series)) {
      means.push(series);
      bands.push(nulls, nulls);
    } else if (series) {
      means.push(series.mean);
      bands.push(series.min, series.max);
    } else {
      means.push(nulls);
      bands.push(nulls, nulls);
    }
  }
  return [xs, ...means, ...bands];
}

/** Extend live data [times, ...values] with null band columns, two per series. */
export function withoutBands(data) {
  const nulls = new Array(data[0].length).fill(null);
  return [...data, ...data.slice(1).flatMap(() => [nulls, nulls])];
}
