"""The home's own metered history: half-hourly smart-meter CSV files (:mod:`.files`)."""
