"""The app for `make dev` (scripts/dev.sh): `flask --app scripts/dev_app.py:create_dev_app --debug run`.

Flask's reloader loads the app twice: in a parent process that only watches the source files, and
in the child that serves (restarted after every edit). Only the child may sample: a sampler in the
parent would hold the sampler's lock, running the code from before the last edit, for as long as
`make dev` runs.
"""
from werkzeug.serving import is_running_from_reloader

from frostserver import create_app


def create_dev_app():
    """Create the app, sampling only in the reloader's serving child."""
    return create_app(start_sampler=is_running_from_reloader())
