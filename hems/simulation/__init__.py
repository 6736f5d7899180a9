"""Simulated devices with real physics, for the demo and the tests (``hems run --demo``).

They implement :class:`adapters.devices.driver.DeviceDriver`, so the service drives them exactly
as it drives real devices. Their physics are the optimiser's own models (the exact 1R1C step,
the hplib COP), with noise on what the planner only forecasts (PV, base load, temperatures).
"""
