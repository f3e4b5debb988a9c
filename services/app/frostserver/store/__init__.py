"""The store: how the sampler process hands samples to the Gunicorn workers, through the run directory.

One owner per file: the sampler writes all of them, workers only read (each through a small reader
that is safe across threads).

    recent.ring     ring.py      the recent samples' values and statuses (memory-mapped)
    catalog.json    catalog.py   every sensor's metadata and its column in the ring
    chips.json      chips.py     every hwmon chip: names, adapter, settings of channels without a reading
    latest.json     latest.py    the newest sample's readings in full
    counters.json   counters.py  the sampler's counters, for /metrics and /readyz
    settings.json   applied.py   the device-wide settings it applies (name, units, frost threshold)
    sampler.lock    liveness.py  held by the live sampler

Each file has its typed codec (encode/decode, with a version) in the module beside its writer.
writer.py gathers the sampler's writers (StoreWriter), reader.py a worker's readers (StoreReader).
The run directory is a tmpfs in the container (FROST_RUN_DIR): nothing here outlives the container.
"""

RING_FILE = "recent.ring"
CATALOG_FILE = "catalog.json"
CHIPS_FILE = "chips.json"
LATEST_FILE = "latest.json"
COUNTERS_FILE = "counters.json"
APPLIED_FILE = "settings.json"
LOCK_FILE = "sampler.lock"
