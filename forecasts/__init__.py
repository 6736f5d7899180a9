"""Forecasts on the planner's time grid from what was known at the issue time (docs/forecasts.md).

* :mod:`forecasts.base_load`: the home's base load from its metered history, P10/P50/P90;
* :mod:`forecasts.pv`: PV output with pvlib from the weather forecast, P10/P50/P90;
* :mod:`forecasts.heat`: outdoor temperature and solar gains for the building model;
* :mod:`forecasts.prices`, :mod:`forecasts.carbon`: published / API values exactly, a same-slot
  pattern beyond, flagged.

Pure functions of pandas series: no HTTP, no storage (that is :mod:`adapters`).
"""
