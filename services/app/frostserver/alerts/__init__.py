"""Alerts: rules judged on every sample, and notifications that reach a person.

- what a rule is, the built-in rules (frost, a temperature's own limits, a faulted sensor,
  sampling stopped; voltage and fan alarms on request) and the config file's [alerts] table are
  the configuration's: config/alert_rules.py and config/alerts.py;
- alert.py: an alert (Alert, AlertEvent), the one type every process passes on;
- sampling_stopped.py: the one judge of sampling_stopped, for the API, the stream and the notifier;
- engine.py: judges the rules on each sample, in the sampler, with `for` and hysteresis;
- journal.py: `alerts.json`, the alerts firing and the recent events, written by the sampler alone
  (in the history's directory, so they survive restarts) and read by the workers and the notifier;
- messages.py: an alert in words, for notifications and the API;
- notifier.py: the notifier process (`python -m frostserver.alerts.notifier`), the one place that
  sends: Apprise, off the sampling path, with retries and back-off; it also tells when sampling
  has stopped, which the sampler cannot tell of itself; notifier_status.py: its counters
  (`notifier.json`) for /metrics; its cursors (`notified.json`) beside the journal;
- send.py: one attempt to send, in a child process with Apprise (`python -m frostserver.alerts.send`).
"""
