"""Forecasts (PV, load, heat, prices, carbon) on the optimiser's time grid.

Not built yet: issue 3.
"""
