// Pages that only some people open (an admin's settings and accounts) load when first opened, not
// with the page a phone loads first: each is a dynamic import() that Vite builds into a hashed
// chunk of its own, and bundle-budget.js weighs the first load and each lazy chunk separately.
//
//   const settingsPage = lazy(() => import("./pages/settings.js"), "the settings page");
//   ...on navigation: const { showSettings } = await settingsPage();
//
// The import() must be written out in the call (not built from a variable) for Vite to find it.

/**
 * Wrap a chunk's `load()` (a function returning import(...)) so the chunk is fetched once, when
 * first asked for. A failed load is not remembered (a network blip must not break the page for
 * good): the next call tries again. Its error says what to do, since the usual cause is a
 * dashboard updated since this page was opened, whose old chunks are gone (publish-dashboard.sh).
 */
export function lazy(load, what = "this page") {
  let loading = null;
  return function open() {
    loading ||= Promise.resolve()
      .then(load)
      .catch((err) => {
        loading = null;
        throw new Error(`Could not load ${what} (${err.message}): the dashboard may have been updated since ` +
          "this page was opened; reload the page.", { cause: err });
      });
    return loading;
  };
}
