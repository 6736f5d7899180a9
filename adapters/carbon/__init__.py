"""Grid carbon intensity: the NESO Carbon Intensity API (:mod:`.intensity_api`) and its CSV
files (:mod:`.files`)."""
