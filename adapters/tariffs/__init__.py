"""Tariffs: Octopus Energy's public API (:mod:`.octopus`), static time-of-use tariffs from
configuration (:mod:`.time_of_use`) and Agile CSV loaders (:mod:`.files`)."""
