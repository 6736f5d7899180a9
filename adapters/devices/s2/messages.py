"""Incoming S2 messages, validated with s2-python's pydantic models before anything reads them.

Every frame an RM sends is untrusted: it may not be text, not JSON, not an object, of an
unknown type or not match its type's schema. :func:`parse_message` turns each of these into an
:class:`InvalidS2MessageError` carrying the ReceptionStatus S2 prescribes for it (INVALID_DATA for
what is not an S2 message at all, INVALID_MESSAGE for a message that breaks its schema), the
message id it refers to (the nil UUID when none can be read) and a short reason for the log.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pydantic import ValidationError
from s2python.common import ReceptionStatusValues
from s2python.message import S2Message
from s2python.s2_parser import TYPE_TO_MESSAGE_CLASS
from s2python.s2_validation_error import S2ValidationError

NIL_ID = uuid.UUID(int=0)
# at most this many pydantic errors are named in a reason, each cut to _REASON_CHARS
_ERRORS_NAMED = 3
_REASON_CHARS = 120


class InvalidS2MessageError(Exception):
    """A frame that is not a valid S2 message.

    Attributes:
        status: the ReceptionStatus to answer with.
        subject_id: the message id it refers to (NIL_ID when unreadable).
        reason: what is wrong, short enough for one log line.
    """

    def __init__(self, status: ReceptionStatusValues, subject_id: uuid.UUID, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.subject_id = subject_id
        self.reason = reason


def parse_message(frame: str | bytes) -> S2Message:
    """The S2 message in ``frame``; raises :class:`InvalidS2MessageError`."""
    if isinstance(frame, bytes):
        try:
            frame = frame.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidS2MessageError(
                ReceptionStatusValues.INVALID_DATA, NIL_ID, "a binary frame that is not UTF-8"
            ) from None
    try:
        document: Any = json.loads(frame)
    except (ValueError, RecursionError) as error:
        reason = f"not JSON ({str(error)[:_REASON_CHARS]})"
        raise InvalidS2MessageError(ReceptionStatusValues.INVALID_DATA, NIL_ID, reason) from None
    if not isinstance(document, dict):
        raise InvalidS2MessageError(ReceptionStatusValues.INVALID_DATA, NIL_ID, "not a JSON object")
    subject_id = _message_id(document)
    message_type = document.get("message_type")
    message_class = (
        TYPE_TO_MESSAGE_CLASS.get(message_type) if isinstance(message_type, str) else None
    )
    if message_class is None:
        shown = repr(message_type)[:_REASON_CHARS]
        raise InvalidS2MessageError(
            ReceptionStatusValues.INVALID_DATA, subject_id, f"unknown message_type {shown}"
        )
    try:
        return message_class.from_dict(document)
    except (S2ValidationError, ValidationError, TypeError, ValueError) as error:
        reason = f"invalid {message_type}: {_summary(error)}"
        raise InvalidS2MessageError(
            ReceptionStatusValues.INVALID_MESSAGE, subject_id, reason
        ) from None


def _message_id(document: dict[str, Any]) -> uuid.UUID:
    value = document.get("message_id")
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            pass
    return NIL_ID


def _summary(error: Exception) -> str:
    """The first pydantic errors as ``field: problem``; else the error's text, cut short."""
    cause = error.__cause__ if isinstance(error, S2ValidationError) else error
    if isinstance(cause, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or '(message)'}: {e['msg']}"[:_REASON_CHARS]
            for e in cause.errors()[:_ERRORS_NAMED]
        ]
        more = cause.error_count() - len(parts)
        return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
    return str(error)[:_REASON_CHARS]
