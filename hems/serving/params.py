"""Path parameters shared by every route, bounded where the store's columns are.

Ids are SQL ``BIGINT``/SQLite ``INTEGER`` keys: 1 ... 2**63 - 1. Unbounded, an id past that
reached the driver and failed there (``OverflowError``, a 500); bounded, it is a 422 naming
the parameter, like any other invalid input.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

MAX_ID = 2**63 - 1

HomeIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A home's id")]
OverrideIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="An override's id")]
SessionIdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A saving session's id")]
EventIdPath = Annotated[
    str,
    Path(
        min_length=1,
        max_length=128,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="The DSR event's id, as the DSRSP named it",
    ),
]
