// Browser notifications of alert changes. Permission is asked on a click, never on load, and the
// button is offered only where it can work: browsers allow notifications in a secure context
// alone (https, or localhost), and a device on a LAN is usually plain http. Elsewhere one sentence
// says why there is no button, so nobody clicks one that does nothing. The button and sentences
// are in index.html, one per state (data-when); this module shows the one that applies.

import { temperaturesInText } from "./format.js";

// Chrome on Android shows notifications only through a service worker (`new Notification` throws
// "Illegal constructor"): that one is registered the first time it is needed.
const WORKER = "/notify-worker.js";

/** Offer notifications in `element`; returns {show(alert, state)} for each alert change that is news. */
export function setupNotifications(element) {
  let failed = false;
  let worker = null; // the service worker registration's promise, once needed

  function state() {
    if (!window.isSecureContext) return "insecure";
    if (typeof Notification !== "function") return "unsupported";
    if (failed) return "failed";
    const { permission } = Notification;
    return permission === "granted" || permission === "denied" ? permission : "default";
  }

  function render() {
    const now = state();
    element.dataset.state = now;
    for (const part of element.children) part.hidden = part.dataset.when !== now;
  }

  async function ask() {
    // Older Safari takes a callback and returns nothing; the rest return a promise.
    await new Promise((resolve) => Notification.requestPermission(resolve)?.then(resolve, resolve));
    render();
  }

  function show(alert, change) {
    if (state() !== "granted" || !alert) return;
    const word = change === "resolved" ? "Resolved" : alert.severity === "critical" ? "Critical" : "Warning";
    const title = `${word}: ${alert.label}`;
    // The alert's key as tag: a repeat (or its resolution) replaces the earlier one, not piles up.
    const options = { body: temperaturesInText(alert.summary), tag: alert.key, renotify: true };
    try {
      const notification = new Notification(title, options);
      notification.onclick = () => {
        window.focus();
        notification.close();
      };
    } catch (err) {
      if (err.name !== "TypeError" || !navigator.serviceWorker) return giveUp(err);
      worker ||= navigator.serviceWorker.register(WORKER).then(() => navigator.serviceWorker.ready);
      worker.then((registration) => registration.showNotification(title, options)).catch(giveUp);
    }
  }

  function giveUp(err) {
    console.info(`notifications: ${err.message}`);
    failed = true;
    render();
  }

  element.querySelector("button").addEventListener("click", ask);
  render();
  // The permission can change in the browser's settings while the page is open.
  navigator.permissions
    ?.query({ name: "notifications" })
    .then((status) => status.addEventListener("change", render))
    .catch(() => {}); // not queryable in this browser: the state is read again on each change
  return { show };
}
