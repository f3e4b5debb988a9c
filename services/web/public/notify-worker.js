// The dashboard's service worker, for notifications alone (src/notify.js): browsers that show them
// only from a worker (Chrome on Android) get them through this one. It has no fetch handler, so it
// never sees a request: the page loads and caches exactly as without it.

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  // Back to the dashboard: an open tab if there is one, else a new one.
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((tabs) => {
      const tab = tabs.find((client) => new URL(client.url).pathname === "/");
      return tab ? tab.focus() : self.clients.openWindow("/");
    }),
  );
});
