"""WSGI entry point: `gunicorn wsgi:app` (configuration from instance/ and EXCHANGE_* variables)."""
from exchange import create_app

app = create_app()
