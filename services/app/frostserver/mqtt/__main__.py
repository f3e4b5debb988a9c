"""Run the MQTT publisher: `python -m frostserver.mqtt` (the supervisor starts it beside the sampler).

Without an [mqtt] table (or FROST_MQTT_URL), or with `enabled = false`, it exits at once with
status 0 and the supervisor does not start it again. A configuration it cannot run with exits 78
(config.EXIT_CONFIG, like the sampler's and the notifier's), and is not restarted either: an error
in the file is said once for the container, by the sampler; one only the publisher can see (a CA
file it cannot read) it says itself, once.
"""

from __future__ import annotations

import logging
import signal
import sys

from ..config import SettingsError, load_settings
from ..logs import configure_logging
from .publisher import Publisher

log = logging.getLogger("frostserver.mqtt")

EXIT_CONFIG = 78


def main() -> int:
    """Publish to the configured broker until SIGTERM."""
    try:
        settings = load_settings()
    except SettingsError:
        return EXIT_CONFIG  # the sampler says it, once for the container (the same file, the same error)
    configure_logging(settings.log_level)
    config = settings.mqtt
    if config is None or not config.enabled:
        log.info("no MQTT broker ([mqtt] in the config file, or FROST_MQTT_URL): nothing to publish")
        return 0
    if config.ca_file is not None:
        try:
            with open(config.ca_file, "rb"):
                pass
        except OSError as error:
            log.error(
                "mqtt.ca_file: cannot read %s (%s): mount the broker's CA certificate there, readable by the app; "
                "not publishing",
                config.ca_file,
                error.strerror or error,
            )
            return EXIT_CONFIG
    publisher = Publisher(settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: publisher.stopping.set())
    log.info(
        "publishing to %s as device %s (discovery under %s/)",
        config.shown,
        publisher.device_id,
        config.discovery_prefix,
    )
    publisher.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
