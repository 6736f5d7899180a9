"""The operations' own refusal of an input the models cannot check (it needs the store or the
clock); the not-found, conflict and planning-unavailable errors are the store's and the
planner's (:mod:`hems.usecases`)."""

from __future__ import annotations

from typing import Any


class InvalidInputError(ValueError):
    """An input the operation refuses: ``loc`` names the field as a request body's path
    (``("body", "target")``), ``message`` says why, ``value`` is what was given. The API
    answers 422 in its models' shape; the web app shows the message by the field."""

    def __init__(self, loc: tuple[str | int, ...], message: str, value: Any) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.value = value
