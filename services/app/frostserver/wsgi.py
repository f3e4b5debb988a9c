"""The WSGI entry point Gunicorn loads (gunicorn.conf.py: wsgi_app)."""

from .http import create_app

app = create_app()
