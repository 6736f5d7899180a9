"""Hostile XML bodies, shared by the tests of every XML input the project parses (the VEN's
codec, its push endpoint, the demo DSRSP's VTN and the running service)."""

from __future__ import annotations

from pathlib import Path

OADR = "http://openadr.org/oadr-2.0b/2012/07"


def _billion_laughs(depth: int = 10, fan_out: int = 10) -> bytes:
    """``fan_out ** (depth - 1)`` expansions of a two-letter entity in ~600 bytes: with the
    defaults, 10^9 laughs (2 GB), the payload that segfaulted libxml2 in openleadr's VTN."""
    entities = ['<!ENTITY a0 "ha">'] + [
        f'<!ENTITY a{i} "' + f"&a{i - 1};" * fan_out + '">' for i in range(1, depth)
    ]
    return (
        f'<?xml version="1.0"?><!DOCTYPE oadrPayload [{"".join(entities)}]>'
        f'<oadrPayload xmlns="{OADR}">&a{depth - 1};</oadrPayload>'
    ).encode()


BILLION_LAUGHS = _billion_laughs()

QUADRATIC_BLOWUP = (
    f'<?xml version="1.0"?><!DOCTYPE oadrPayload [<!ENTITY a "{"x" * 20_000}">]>'
    f'<oadrPayload xmlns="{OADR}">{"&a;" * 20_000}</oadrPayload>'
).encode()
"""One 20 kB entity referenced 20,000 times: 400 MB from an 100 kB body, no nesting."""


def xxe(path: Path) -> bytes:
    """An external entity that asks the parser to read ``path`` into the document."""
    return (
        f'<?xml version="1.0"?><!DOCTYPE oadrPayload [<!ENTITY x SYSTEM "file://{path}">]>'
        f'<oadrPayload xmlns="{OADR}">&x;</oadrPayload>'
    ).encode()


EXTERNAL_DTD = (
    '<?xml version="1.0"?><!DOCTYPE oadrPayload SYSTEM "http://127.0.0.1:9/evil.dtd">'
    f'<oadrPayload xmlns="{OADR}"/>'
).encode()

UTF16_BILLION_LAUGHS = BILLION_LAUGHS.decode().replace('<?xml version="1.0"?>', "").encode("utf-16")
"""The same laughs in UTF-16 (with a BOM), where a byte scan for ``<!DOCTYPE`` finds nothing."""

STYLESHEET_PI = (
    '<?xml version="1.0"?><?xml-stylesheet href="file:///etc/passwd"?>'
    f'<oadrPayload xmlns="{OADR}"/>'
).encode()


def oversized(max_bytes: int) -> bytes:
    """A well-formed body one byte over ``max_bytes``."""
    head, tail = f'<oadrPayload xmlns="{OADR}">'.encode(), b"</oadrPayload>"
    return head + b" " * (max_bytes + 1 - len(head) - len(tail)) + tail


def hostile_bodies(secret: Path, max_bytes: int) -> dict[str, bytes]:
    """Every hostile body by name (for parametrised tests)."""
    return {
        "billion-laughs": BILLION_LAUGHS,
        "quadratic-blowup": QUADRATIC_BLOWUP,
        "xxe-local-file": xxe(secret),
        "external-dtd": EXTERNAL_DTD,
        "utf16-billion-laughs": UTF16_BILLION_LAUGHS,
        "processing-instruction": STYLESHEET_PI,
        "oversized": oversized(max_bytes),
    }


HOSTILE_NAMES = tuple(hostile_bodies(Path("/nonexistent"), 1))
"""The names of :func:`hostile_bodies`, for ``pytest.mark.parametrize``."""
