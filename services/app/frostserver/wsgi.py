"""The WSGI entry point Gunicorn loads: one app per worker process."""
from . import create_app

app = create_app()
