"""Run the MQTT publisher: `python -m frostserver.mqtt` (the supervisor starts it beside the sampler).

It follows the settings in force (settings/live.py's LiveSettings, as the sampler does): the broker
can be set, changed or removed in the browser while the app runs, so the process runs whether or
not a broker is named, and idles without one (one look at settings.db's change counter a second,
no connection, no thread). It is always running rather than started by the supervisor when a broker
appears because only the app's settings code can tell that a broker appeared: the supervisor imports
none of it, on purpose (supervisor.py). A configuration file it cannot read exits 78
(supervisor.EXIT_CONFIG, like the sampler's and the notifier's) and is not restarted: the error is said
once for the container, by the sampler. A broker setting only the publisher can judge (a CA file it
cannot read) it says itself, once per setting, and waits for another.
"""

from __future__ import annotations

import logging
import signal
import sys

from ..config import SettingsError
from ..logs import configure_logging
from ..settings.live import LiveSettings
from ..supervisor import EXIT_CONFIG
from .publisher import Publisher

log = logging.getLogger("frostserver.mqtt")


def main() -> int:
    """Publish to the broker the settings in force name, until SIGTERM."""
    try:
        live = LiveSettings()
    except SettingsError:
        return EXIT_CONFIG  # the sampler says it, once for the container (the same file, the same error)
    settings = live.current().settings
    configure_logging(settings.log_level)
    if settings.mqtt is None or not settings.mqtt.enabled:
        log.info("no MQTT broker ([mqtt] in the settings, or FROST_MQTT_URL): idle until one is set")
    publisher = Publisher(settings, in_force=lambda: live.current().settings)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: publisher.stopping.set())
    try:
        publisher.run()
    finally:
        live.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
