// limit-labels.js: threshold labels never overlap, however close their lines are.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { placeLabels } from "../src/limit-labels.js";

const AREA = { right: 400, top: 0, bottom: 200 };
const HEIGHT = 12;
const GAP = 2;

const boxes = (labels, spots) =>
  spots.map((spot, i) => ({ left: spot.x - labels[i].width, right: spot.x, top: spot.y - HEIGHT, bottom: spot.y }));

function assertNoOverlap(labels, spots) {
  const all = boxes(labels, spots);
  all.forEach((a, i) =>
    all.slice(i + 1).forEach((b, k) => {
      const overlap = a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
      assert.ok(!overlap, `labels ${i} and ${i + 1 + k} overlap: ${JSON.stringify([a, b])}`);
    }),
  );
}

describe("placeLabels", () => {
  it("puts a lone label at the right edge, just above its line", () => {
    assert.deepEqual(placeLabels([{ y: 100, width: 60 }], AREA, HEIGHT, GAP), [{ x: 400, y: 98, side: "above" }]);
  });

  it("puts the lower of two close lines' labels below its line (frost 0.5 °C over min 0.0 °C)", () => {
    const labels = [
      { y: 104, width: 70 }, // min 0.0 °C, the lower line, given first
      { y: 100, width: 80 }, // frost 0.5 °C
    ];
    const spots = placeLabels(labels, AREA, HEIGHT, GAP);
    assert.deepEqual(spots, [
      { x: 400, y: 104 + GAP + HEIGHT, side: "below" },
      { x: 400, y: 100 - GAP, side: "above" },
    ]);
    assertNoOverlap(labels, spots);
  });

  it("leaves labels of lines far enough apart each above its own line", () => {
    const labels = [{ y: 50, width: 70 }, { y: 150, width: 70 }];
    assert.deepEqual(placeLabels(labels, AREA, HEIGHT, GAP).map((s) => s.side), ["above", "above"]);
  });

  it("moves a third label on the same lines to the left of the others", () => {
    const labels = [{ y: 100, width: 80 }, { y: 101, width: 70 }, { y: 102, width: 60 }];
    const spots = placeLabels(labels, AREA, HEIGHT, GAP);
    assertNoOverlap(labels, spots);
    assert.ok(spots[2].x < 400, "the third label moved left");
    assert.ok(spots[2].x <= 400 - 80 - GAP, "past the label in its way, with a gap");
  });

  it("writes the label of a line at the top of the plot below it, inside the plot", () => {
    const [spot] = placeLabels([{ y: 5, width: 60 }], AREA, HEIGHT, GAP);
    assert.equal(spot.side, "below");
    assert.ok(spot.y <= AREA.bottom && spot.y - HEIGHT >= AREA.top);
  });

  it("never overlaps, for many lines at any spacing", () => {
    // A fixed pseudo-random sequence: the same cases on every run.
    let seed = 20;
    const random = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let round = 0; round < 200; round++) {
      const labels = Array.from({ length: 1 + Math.floor(random() * 6) }, () => ({
        y: Math.round(random() * 200),
        width: 40 + Math.round(random() * 60),
      }));
      assertNoOverlap(labels, placeLabels(labels, AREA, HEIGHT, GAP));
    }
  });
});
