"""A conformance case's tracelog: every message the VEN sent and received, timestamped, with the
XML bytes exactly as they were on the wire (signature included), and the runner's notes.

:class:`TraceLog` is the transport's tracer (:class:`~adapters.openadr.transport.
TransportTracer`): it only records, so the VEN under test behaves as it does without one. The
cases read their verdicts from it too (what the VEN actually sent), so a check holds for the
bytes a certification lab would look at, not for the VEN's own idea of what it did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from adapters.openadr import codec
from adapters.openadr.messages import Message
from adapters.openadr.schema import CodecError

OUT = "VEN -> VTN"
IN = "VTN -> VEN"
NOTE = "note"
FAILED = "failed"

M = TypeVar("M")


@dataclass(frozen=True, slots=True)
class TraceEntry:
    """One line of the tracelog: ``body`` is the wire bytes (empty for notes and failures)."""

    at_utc: datetime
    direction: str
    service: str
    text: str = ""
    status: int | None = None
    body: bytes = b""
    message: Message | None = None


@dataclass
class TraceLog:
    """What one case saw, in order."""

    case_id: str
    entries: list[TraceEntry] = field(default_factory=list)

    def sent(self, service: str, body: bytes) -> None:
        self.entries.append(_entry(OUT, service, body=body))

    def received(self, service: str, status: int, body: bytes) -> None:
        self.entries.append(_entry(IN, service, status=status, body=body))

    def pushed(self, service: str, body: bytes) -> None:
        """A push from the VTN, as it arrived at the VEN's endpoint (push mode)."""
        self.entries.append(_entry(IN, service, text="push", body=body))

    def answered(self, service: str, body: bytes) -> None:
        """The VEN's answer to a push, as it left in the HTTP response."""
        self.entries.append(_entry(OUT, service, text="answer to the push", body=body))

    def failed(self, service: str, reason: str) -> None:
        self.entries.append(_entry(FAILED, service, text=reason))

    def note(self, text: str) -> None:
        """A step of the case (what the VTN was made to do), between the messages."""
        self.entries.append(_entry(NOTE, "", text=text))

    def sent_messages(self, kind: type[M]) -> list[M]:
        """The messages of type ``kind`` the VEN sent, in order."""
        return [
            e.message for e in self.entries if e.direction == OUT and isinstance(e.message, kind)
        ]

    def received_messages(self, kind: type[M]) -> list[M]:
        """The messages of type ``kind`` the VEN received, in order."""
        return [
            e.message for e in self.entries if e.direction == IN and isinstance(e.message, kind)
        ]

    def failures(self) -> list[TraceEntry]:
        return [e for e in self.entries if e.direction == FAILED]

    def write(self, path: Path) -> None:
        """The tracelog as text: a header line per entry, then the XML bytes as they were."""
        chunks = [f"# tracelog of conformance case {self.case_id}\n".encode()]
        for entry in self.entries:
            chunks.append(_header(entry).encode())
            if entry.body:
                chunks.append(entry.body)
                chunks.append(b"" if entry.body.endswith(b"\n") else b"\n")
        path.write_bytes(b"".join(chunks))


def _entry(
    direction: str, service: str, *, text: str = "", status: int | None = None, body: bytes = b""
) -> TraceEntry:
    return TraceEntry(
        at_utc=datetime.now(UTC),
        direction=direction,
        service=service,
        text=text,
        status=status,
        body=body,
        message=_parsed(body),
    )


def _parsed(body: bytes) -> Message | None:
    """The message in ``body`` as the codec reads it, signature not checked (the VEN's own
    verifier decides that; the tracelog only needs to know what was said), None if unreadable."""
    if not body.strip():
        return None
    try:
        return codec.parse(body)
    except CodecError:
        return None


def _header(entry: TraceEntry) -> str:
    at = entry.at_utc.isoformat(timespec="microseconds").replace("+00:00", "Z")
    if entry.direction == NOTE:
        return f"--- {at}  note: {entry.text}\n"
    if entry.direction == FAILED:
        return f"--- {at}  {entry.service}: no usable answer: {entry.text}\n"
    status = f"  HTTP {entry.status}" if entry.status is not None else ""
    status += f"  ({entry.text})" if entry.text else ""
    name = f" {codec.message_name(entry.message)}" if entry.message is not None else ""
    size = f"({len(entry.body)} bytes)"
    return f"--- {at}  {entry.direction}  {entry.service}{name}{status}  {size}\n"
