// places.js: the places overview's decisions (cards, order, today's low and high, sparklines).

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  SPARK_STEP, UNSORTED, dayRange, groupByPlace, localMidnight, placeNames, reorder, seriesOf, sparkPath,
  sparklineQuery, widen,
} from "../src/places.js";

const sensor = (id, fields = {}) => ({ id, label: id, kind: "temperature", unit: "°C", place: null, order: 0, hidden: false, ...fields });
const names = (cards) => cards.map((card) => [card.name, card.sensors.map((s) => s.id)]);

describe("groupByPlace", () => {
  it("makes a card per place by name, Unsorted last, hidden sensors left out", () => {
    const cards = groupByPlace([
      sensor("a"), sensor("b", { place: "Greenhouse" }), sensor("c", { place: "Cellar" }),
      sensor("d", { place: "Greenhouse", hidden: true }), sensor("e", { hidden: true }),
    ]);
    assert.deepEqual(names(cards), [["Cellar", ["c"]], ["Greenhouse", ["b"]], [UNSORTED, ["a"]]]);
    assert.equal(cards[2].place, null);
  });

  it("orders a place's sensors by order, then by id in natural order", () => {
    const cards = groupByPlace([
      sensor("temp10", { order: 1 }), sensor("temp9", { order: 1 }), sensor("x", { order: -3 }), sensor("y", { order: 5 }),
    ]);
    assert.deepEqual(names(cards), [[UNSORTED, ["x", "temp9", "temp10", "y"]]]);
  });

  it("reads an older app's sensors (no place, order or hidden) as one Unsorted card by id", () => {
    const cards = groupByPlace([{ id: "b" }, { id: "a" }]);
    assert.deepEqual(names(cards), [[UNSORTED, ["a", "b"]]]);
  });

  it("takes a blank place for none, and a place named like markup as the text it is", () => {
    const hostile = "<img src=x onerror=alert(1)>";
    const cards = groupByPlace([sensor("a", { place: "  " }), sensor("b", { place: hostile })]);
    assert.deepEqual(names(cards), [[hostile, ["b"]], [UNSORTED, ["a"]]]);
  });

  it("shows no card when every sensor is hidden", () => {
    assert.deepEqual(groupByPlace([sensor("a", { hidden: true })]), []);
  });
});

describe("placeNames and reorder", () => {
  it("lists every place once, hidden sensors' too, by name", () => {
    const all = [sensor("a", { place: "Shed" }), sensor("b", { place: "Attic", hidden: true }), sensor("c", { place: "Shed" }), sensor("d")];
    assert.deepEqual(placeNames(all), ["Attic", "Shed"]);
  });

  it("moves a sensor up or down within its place, renumbering the place 1..n", () => {
    const all = [
      sensor("a", { place: "P", order: 1 }), sensor("b", { place: "P", order: 2 }), sensor("c", { place: "P", order: 3 }),
      sensor("z", { place: "Q", order: 1 }),
    ];
    assert.deepEqual(reorder(all, "c", -1), [{ id: "c", order: 2 }, { id: "b", order: 3 }]);
    assert.deepEqual(reorder(all, "a", 1), [{ id: "b", order: 1 }, { id: "a", order: 2 }]);
    assert.deepEqual(reorder(all, "a", -1), [], "the first cannot go up");
    assert.deepEqual(reorder(all, "z", 1), [], "alone in its place");
    assert.deepEqual(reorder(all, "nobody", 1), []);
  });

  it("never jumps two places when orders are equal (the default) or far apart", () => {
    const all = [sensor("a", { order: 0 }), sensor("b", { order: 0 }), sensor("c", { order: 0 })];
    const changes = reorder(all, "c", -1);
    const after = all.map((s) => ({ ...s, ...changes.find((c) => c.id === s.id) }));
    assert.deepEqual(groupByPlace(after)[0].sensors.map((s) => s.id), ["a", "c", "b"]);
  });
});

describe("today's low and high", () => {
  const answer = {
    timestamps: [900, 1800, 2700, 3600],
    series: {
      agg: { min: [1, null, -2, 4], max: [5, null, 3, 9], mean: [3, null, 0, 6] },
      raw: [10, 12, null, 8],
    },
  };

  it("takes the lowest min and highest max of the points since midnight", () => {
    assert.deepEqual(dayRange(seriesOf(answer, "agg"), 0), { low: -2, high: 9 });
    assert.deepEqual(dayRange(seriesOf(answer, "agg"), 2700), { low: -2, high: 9 });
    assert.deepEqual(dayRange(seriesOf(answer, "agg"), 3600), { low: 4, high: 9 });
    assert.deepEqual(dayRange(seriesOf(answer, "raw"), 1800), { low: 8, high: 12 }, "raw samples are their own min and max");
  });

  it("says nothing for a sensor without values since midnight, or not in the answer", () => {
    assert.equal(dayRange(seriesOf(answer, "agg"), 4000), null);
    assert.equal(seriesOf(answer, "gone"), null);
    assert.equal(dayRange(null, 0), null);
    assert.equal(seriesOf(null, "agg"), null);
    assert.equal(seriesOf({ timestamps: [1], series: { x: { min: [1] } } }, "x"), null, "no mean: nothing to draw");
  });

  it("widens with each new reading, and keeps the same object when nothing changes", () => {
    const range = { low: 1, high: 5 };
    assert.equal(widen(range, 3), range);
    assert.equal(widen(range, null), range);
    assert.equal(widen(range, NaN), range);
    assert.deepEqual(widen(range, -1), { low: -1, high: 5 });
    assert.deepEqual(widen(range, 7), { low: 1, high: 7 });
    assert.deepEqual(widen(null, 2), { low: 2, high: 2 });
    assert.equal(widen(undefined, null), undefined);
  });

  it("starts the day at local midnight", () => {
    const noon = new Date(2025, 0, 15, 12, 30, 5).getTime() / 1000;
    assert.equal(localMidnight(noon), new Date(2025, 0, 15).getTime() / 1000);
    assert.equal(localMidnight(localMidnight(noon)), localMidnight(noon));
  });
});

describe("sparklineQuery", () => {
  it("asks the last 24 h at a 15 min step, aligned, for the sensors shown", () => {
    const params = new URLSearchParams(sparklineQuery(100_000.4, 1, ["a/temp1", "b/temp2"]));
    assert.equal(params.get("step"), String(SPARK_STEP));
    assert.equal(Number(params.get("from")) % SPARK_STEP, 0);
    assert.ok(Number(params.get("from")) <= 100_000 - 86400);
    assert.equal(params.get("to"), "100001");
    assert.deepEqual(params.getAll("sensor"), ["a/temp1", "b/temp2"]);
  });

  it("asks for every sensor rather than write a query string too long for a proxy", () => {
    const ids = Array.from({ length: 300 }, (_, i) => `hostile-driver-isa-${i}/temp${i}`);
    assert.deepEqual(new URLSearchParams(sparklineQuery(1e6, 1, ids)).getAll("sensor"), []);
  });

  it("never asks a step finer than the sampling interval", () => {
    assert.equal(new URLSearchParams(sparklineQuery(1e6, 1000)).get("step"), String(2 * SPARK_STEP));
  });
});

describe("sparkPath", () => {
  it("scales the points into the box, the highest value at the top", () => {
    assert.equal(sparkPath([0, 50, 100], [0, 10, 5], 0, 100, 100, 22), "M0,21L50,1L100,11");
  });

  it("breaks the line at a missing value and leaves out points outside the range", () => {
    assert.equal(sparkPath([-10, 0, 10, 20, 30], [9, 1, null, 2, 3], 0, 30, 30, 12), "M0,11h0 M20,6L30,1");
  });

  it("draws equal values as a flat line in the middle, and nothing without any value", () => {
    assert.equal(sparkPath([0, 10], [4, 4], 0, 10, 10, 20), "M0,10L10,10");
    assert.equal(sparkPath([0, 10], [null, NaN], 0, 10, 10, 20), "");
    assert.equal(sparkPath([], [], 0, 10, 10, 20), "");
    assert.equal(sparkPath([0], [1], 10, 10, 10, 20), "", "an empty range");
    assert.equal(sparkPath([0, 10], [null, 3], 0, 10, 10, 20), "M10,10h0", "a lone point is a dot");
  });
});
