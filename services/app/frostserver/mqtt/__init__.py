"""The MQTT publisher: every sensor of the device in Home Assistant, by its MQTT discovery.

A process of its own (`python -m frostserver.mqtt`, __main__.py), started by the supervisor when
the configuration names a broker ([mqtt], or FROST_MQTT_URL). It reads the store as the workers do
and never touches the sampler. One job per module:

- publisher.py: the loop: what is due, from the store and the alerts journal, into the outbox;
- discovery.py: the topics and Home Assistant's config payloads (and the seams issue 22 fills:
  names, areas, what is shown);
- schedule.py: when a state is due (a change, min_interval, max_interval);
- outbox.py: the newest message per topic, one in flight per topic: bounded, whatever the broker does;
- connection.py: paho-mqtt's client, reconnection with back-off, one log line per outage;
- device.py: the device's id (kept in the history's volume) and its board;
- status.py: mqtt.json, the publisher's status for /metrics and /readyz (its codec).
"""
