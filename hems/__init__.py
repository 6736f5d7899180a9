"""The service: the domain, storage, the planning loop, dispatch, the OpenADR bridge, the HTTP
API and web app, the ``hems`` CLI (also ``cem``), the demo simulation and the backtests.

See docs/service.md.
"""
