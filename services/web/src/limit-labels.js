// Where the plots write their threshold lines' labels ("frost 0.5 °C", "min 0.0 °C"). Two lines
// a few pixels apart once had their labels drawn over each other; placed here, labels never
// overlap: each sits at the plot's right edge just above its line, else just below it, else left of
// the labels in its way. Pure geometry in canvas pixels, so it is tested without a canvas.

/**
 * Place one label per line. `labels`: [{y, width}] (the line's y and the text's width);
 * `area`: {right, top, bottom} of the plot; `height` of a label and the `gap` between a label and
 * its line or its neighbour. Returns, in the order given, {x, y, side}: the text's right end, its
 * bottom (draw with textAlign "right", textBaseline "bottom") and "above" or "below" its line.
 */
export function placeLabels(labels, { right, top, bottom }, height, gap) {
  const placed = []; // boxes already taken: {left, right, top, bottom}
  const spots = new Array(labels.length);
  // Top to bottom: a line's label takes the room above it before the line below can.
  const order = labels.map((label, i) => i).sort((a, b) => labels[a].y - labels[b].y);
  for (const i of order) {
    const { y, width } = labels[i];
    const sides = [
      { side: "above", bottom: y - gap },
      { side: "below", bottom: y + gap + height },
    ];
    // Inside the plot if it can be: a line at the very top has no room above it.
    const inside = sides.filter((s) => s.bottom - height >= top && s.bottom <= bottom);
    const candidates = inside.length ? inside : sides;
    const box = (spot, x) => ({ left: x - width, right: x, top: spot.bottom - height, bottom: spot.bottom });
    let spot = candidates.find((s) => !placed.some((p) => overlaps(p, box(s, right))));
    let x = right;
    if (!spot) {
      // Both sides taken: move left, past every label in the way, on the first side.
      spot = candidates[0];
      for (let blocker = placed.find((p) => overlaps(p, box(spot, x))); blocker; blocker = placed.find((p) => overlaps(p, box(spot, x)))) {
        x = blocker.left - gap;
      }
    }
    placed.push(box(spot, x));
    spots[i] = { x, y: spot.bottom, side: spot.side };
  }
  return spots;
}

function overlaps(a, b) {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}
