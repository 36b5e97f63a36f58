"""WSGI entry point: `gunicorn wsgi:app` (configuration from instance/ and EXCHANGE_* variables).

Each worker imports this module and warms its caches in the background (exchange/warmup.py).
"""
from exchange import create_app
from exchange.warmup import warm_in_background

app = create_app()
warm_in_background(app)
