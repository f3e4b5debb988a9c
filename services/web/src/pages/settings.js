// The settings page (admins): filled in by the next commit.

export function showSettings(section) {
  section.querySelector("#settings-loading").textContent = "Not yet.";
}
