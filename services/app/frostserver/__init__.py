"""FrostServer: serve a device's hwmon sensors as JSON, Server-Sent Events and Prometheus metrics.

Processes in the app container, one job each (README.md, "Architecture"):

- supervisor.py: the container's PID 1; starts the sampler, the notifier, the MQTT publisher and
  Gunicorn, restarts the first three with back-off, replaces a sampler that stops beating (heartbeat.py),
  forwards stop signals, reaps every child;
- sampler.py: the sampling process, the store's only writer: it reads every source once per
  interval (hwmon/ for the kernel's sensors, config_sensors.py for files and commands declared in
  the config file), applies overrides.py (the config's [filter], [relabel], [thresholds]),
  publishes each sample to store/ and judges the alert rules (alerts/);
- alerts/notifier.py: sends the alerts to the config file's notification targets (Apprise);
- mqtt/: publishes every sensor and alert to an MQTT broker, with Home Assistant's discovery;
- http/: Gunicorn's workers, which only read the store and render it at the edges: the JSON API,
  the event stream, /metrics, the health probes.

config/ reads every setting once (the environment and the config file) into one typed Settings,
and says where each value came from; model.py holds the domain objects they all share.
"""

__version__ = "0.2.0"
