"""The settings an admin sets in the browser: stored on the device, a layer above the config file, applied live.

One module per job:

- database.py: settings.db (SQLite, beside accounts.db): its schema and version, a damaged or
  foreign file moved aside (a notice kept for the banner);
- store.py: SettingsStore, the one module with SQL: the browser's layer (entries of the config
  file's shape), the notification targets added here, the revisions, the change log; and Watch,
  which tells cheaply whether the file changed;
- live.py: LiveSettings, each process's settings in force, resolved again when the file changes
  (the browser's layer is a LayerSource of config/resolve.py);
- changes.py: what a change from the API does to the layer, validated against the file (a 400
  names the field; a stale revision is a 409);
- export.py: the settings as a TOML file the config file accepts, and reading one back (import).

What the browser sets is exactly what a config file could say ([device], frost_threshold,
[customize."<id>"], [alerts.rules.<name>], [alerts] notify), so export and import are the same TOML.
"""
