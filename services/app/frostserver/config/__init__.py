"""FrostServer's configuration: a package under everything else, which imports nothing of the app but model.py.

One module per job:

- toml_file.py: read the config file (1 MiB at most, UTF-8, TOML) or one ConfigError line;
- errors.py: SettingsError, ConfigError (where, key, problem) and Invalid (a key and a problem);
- validate.py: the public validation primitives (number with bounds, duration, table, text,
  enum, list of names, ...) every schema builds on;
- id_patterns.py: globs over sensor ids ("coretemp-*/temp*"), for the overrides and alert rules;
- one schema module per table of the document: sampling.py (frost_threshold, [sampling],
  [history]), sensors.py ([sensors.<key>]), sensor_overrides.py ([filter], [relabel],
  [thresholds]), alerts.py ([alerts]), alert_rules.py ([alerts.rules.<name>]), access.py
  ([access]: anonymous reads, sessions, login lockouts), mqtt.py ([mqtt]), derived.py
  ([derived.<name>]: temperature and humidity pairs) and forecast.py ([forecast]); document.py
  puts them together;
- settings.py: every setting declared once (default, bounds, FROST_* variable or document key);
- resolve.py: the one place that decides each setting's value and its source (default, file,
  environment, ...) and builds Settings; load_settings() is what the processes call, once.
"""

from .errors import ConfigError, SettingsError
from .resolve import Layer, Resolved, Setting, Source, load_settings, resolve
from .settings import Settings

__all__ = [
    "ConfigError",
    "Layer",
    "Resolved",
    "Setting",
    "Settings",
    "SettingsError",
    "Source",
    "load_settings",
    "resolve",
]
