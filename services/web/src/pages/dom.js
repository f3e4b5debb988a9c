// Building the admins' pages (accounts, settings, a sensor's sheet) out of elements, never markup:
// everything a person typed (a name, a place, what the audit log quotes) goes in as text.

/**
 * Build an element: `props` are properties (text: its textContent; on<event>: a listener), the
 * children nodes or strings (strings become text nodes, never markup).
 */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "text") element.textContent = value;
    else if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key in element) element[key] = value;
    else element.setAttribute(key, value);
  }
  element.append(...children.filter((child) => child != null && child !== false));
  return element;
}

let ids = 0;

/** A fresh id for an element (a page may hold several forms with the same fields). */
export function freshId(prefix = "f") {
  return `${prefix}-${++ids}`;
}

/** A label and its input, tied by a fresh id. */
export function field(label, input) {
  input.id ||= freshId("field");
  return [h("label", { htmlFor: input.id, text: label }), input];
}
