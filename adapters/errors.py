"""Typed errors raised by the adapters, so a caller can tell "the source is down" from "the source
answered nonsense" from "we have nothing recent enough to plan with"."""

from __future__ import annotations

from datetime import timedelta


class AdapterError(Exception):
    """Base class of every error an adapter raises."""


class FetchError(AdapterError):
    """A source could not be reached or kept failing (timeouts, transport errors, 5xx, 429) after
    the bounded retries, or answered with a client error (4xx) that retrying cannot mend."""

    def __init__(
        self, source: str, reason: str, *, attempts: int = 1, status_code: int | None = None
    ) -> None:
        self.source = source
        self.reason = reason
        self.attempts = attempts
        self.status_code = status_code  # the last HTTP status, when the source answered one
        super().__init__(f"{source}: {reason} (after {attempts} attempt(s))")


class ParseError(AdapterError):
    """A payload or file did not have the expected shape (missing keys, wrong types, empty)."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class DataMissingError(AdapterError):
    """Nothing is cached for ``key``: the source has never been fetched successfully."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"no data cached for {key!r}")


class StaleDataError(AdapterError):
    """The newest cached data for ``key`` is older than the caller's limit.

    Attributes:
        age: how old the newest fetch is.
        max_age: the caller's limit.
    """

    def __init__(self, key: str, age: timedelta, max_age: timedelta) -> None:
        self.key = key
        self.age = age
        self.max_age = max_age
        super().__init__(
            f"data for {key!r} is {age.total_seconds() / 3600:.1f} h old, "
            f"older than the limit of {max_age.total_seconds() / 3600:.1f} h"
        )
