"""The edges: market and weather data, OpenADR 2.0b (Interface A, :mod:`adapters.openadr`) and
the device driver interface (Interface B, :mod:`adapters.devices`).

* :mod:`adapters.tariffs`, :mod:`adapters.carbon`, :mod:`adapters.weather`: each source as a
  trio ``fetch_*`` (httpx with timeouts and bounded retries, :mod:`adapters.http`), ``read_*``
  (a saved response) and ``parse_*`` (pure), giving tz-aware UTC series on the slot grid
  (:mod:`adapters.slots`) with units in their names;
* :mod:`adapters.meter` and the ``files`` modules: loaders for the CSV files users have;
* :mod:`adapters.cache` (SQLite) and :mod:`adapters.fallback` (last known pattern) for restarts
  and outages, with the typed errors of :mod:`adapters.errors`.
"""
