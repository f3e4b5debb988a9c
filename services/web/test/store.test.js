// store.js: the bounded sample history the live plots draw from, and the history answers' layout.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LONGEST_WINDOW, SampleHistory, answerWindow, withoutBands } from "../src/store.js";

const times = (history) => history.window(-Infinity, [])[0];

describe("SampleHistory", () => {
  it("returns uPlot columns for the rows at or after `since`, null where a sensor had no value", () => {
    const history = new SampleHistory(1, 60);
    history.push(100, { a: 1, b: 10 });
    history.push(101, { a: 2 });
    history.push(102, { a: 3, b: null });
    assert.deepEqual(history.window(101, ["a", "b", "unknown"]), [
      [101, 102],
      [2, 3],
      [null, null],
      [null, null],
    ]);
    assert.deepEqual(history.window(0, ["b"]), [[100, 101, 102], [10, null, null]]);
  });

  it("ignores a sample not newer than the last one (a replay after reconnecting)", () => {
    const history = new SampleHistory(1, 60);
    assert.equal(history.push(100, { a: 1 }), true);
    assert.equal(history.push(100, { a: 9 }), false);
    assert.equal(history.push(99, { a: 9 }), false);
    assert.equal(history.push("101", { a: 9 }), false);
    assert.deepEqual(history.window(0, ["a"]), [[100], [1]]);
  });

  it("inserts a row of nulls after a silence of more than three intervals, so the line breaks", () => {
    const history = new SampleHistory(2, 600);
    history.push(100, { a: 1 });
    history.push(106, { a: 2 }); // three intervals: no gap
    history.push(120, { a: 3 }); // seven: a gap row one interval after the last sample
    assert.deepEqual(history.window(0, ["a"]), [[100, 106, 108, 120], [1, 2, null, 3]]);
  });

  it("keeps nothing older than maxAge before the newest sample", () => {
    const history = new SampleHistory(1, 10);
    for (let t = 0; t <= 30; t++) history.push(t, { a: t });
    assert.deepEqual(times(history), [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    assert.equal(history.lastTime, 30);
  });

  it("stays within its capacity however many samples come, the oldest overwritten first", () => {
    // A clock that steps by less than the interval (jitter) fits more rows into maxAge than
    // capacity allows: the ring must still hold the newest `capacity` rows in order.
    const history = new SampleHistory(1, 10);
    const count = history.capacity * 3;
    for (let i = 1; i <= count; i++) history.push(i / 100, { a: i });
    const [xs, ys] = history.window(-Infinity, ["a"]);
    assert.equal(xs.length, history.capacity);
    assert.equal(ys.at(-1), count);
    assert.equal(ys[0], count - history.capacity + 1);
    assert.ok(xs.every((x, k) => k === 0 || x > xs[k - 1]), "times are in order");
  });

  it("drops the columns of sensors that are gone, and starts over on clear", () => {
    const history = new SampleHistory(1, 60);
    history.push(1, { a: 1, b: 2 });
    history.retain(["a"]);
    assert.deepEqual([...history.columns.keys()], ["a"]);
    assert.deepEqual(history.window(0, ["b"]), [[1], [null]]);
    history.clear();
    assert.equal(history.lastTime, null);
    assert.equal(history.push(0, { a: 0 }), true, "an older time is accepted after clear");
  });

  it("loads a columnar history answer in place of what it held", () => {
    const history = new SampleHistory(1, LONGEST_WINDOW);
    history.push(5000, { a: 99 });
    history.load({ timestamps: [10, 11, 12], series: { a: [1, null, 3], b: [4, 5, 6] } });
    assert.deepEqual(history.window(0, ["a", "b"]), [[10, 11, 12], [1, null, 3], [4, 5, 6]]);
  });

  it("treats a non-positive interval as one second", () => {
    assert.equal(new SampleHistory(0, 60).interval, 1);
    assert.equal(new SampleHistory(-5, 60).interval, 1);
  });
});

describe("answerWindow", () => {
  it("lays out means first, then a min and a max column per sensor", () => {
    const answer = {
      timestamps: [0, 60],
      series: { a: { mean: [1, 2], min: [0, 1], max: [2, 3] }, raw: [7, 8] },
    };
    assert.deepEqual(answerWindow(answer, ["a", "raw", "gone"]), [
      [0, 60],
      [1, 2],
      [7, 8],
      [null, null],
      [0, 1],
      [2, 3],
      [null, null],
      [null, null],
      [null, null],
      [null, null],
    ]);
  });

  it("copes with an answer that has no timestamps or series", () => {
    assert.deepEqual(answerWindow({}, ["a"]), [[], [], [], []]);
  });
});

describe("withoutBands", () => {
  it("adds two null band columns per series to live data", () => {
    assert.deepEqual(withoutBands([[1, 2], [3, 4], [5, 6]]), [
      [1, 2],
      [3, 4],
      [5, 6],
      [null, null],
      [null, null],
      [null, null],
      [null, null],
    ]);
  });
});
