"""Weather forecasts for PV and heating: Open-Meteo (:mod:`.open_meteo`)."""
