"""The HTTP API (FastAPI): built by :func:`hems.api.app.create_app`."""
