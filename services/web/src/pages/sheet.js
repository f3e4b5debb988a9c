// A sensor's sheet (admins): filled in by the next commit.

export function showSheet(dialog, { id }) {
  dialog.textContent = `Settings of ${id}: not yet.`;
  dialog.showModal();
}
