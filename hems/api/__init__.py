"""The HTTP API (FastAPI): JSON over the service's operations (:mod:`hems.usecases`), installed
on the service's app by :func:`hems.api.routes.install_api` (the app: :mod:`hems.app`)."""
