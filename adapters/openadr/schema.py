"""Hostile-input-safe XML parsing and validation against the official OpenADR 2.0b schema.

The XSD files are read from the installed ``openleadr`` distribution (``openleadr/schema``),
located through :mod:`importlib.metadata` so that openleadr itself (and aiohttp) is never
imported; they are not copied into this repository. Inbound bytes go
through :func:`parse_untrusted`: the guard of :mod:`adapters.openadr.xml_guard` (a size limit,
UTF-8 only, no DOCTYPE, no ENTITY, no processing instruction), then a parser with no DTD, no
entity expansion, no network access and no huge trees; then :func:`validate`. Every failure is
a :class:`CodecError` carrying the OpenADR response code to answer with, never another
exception.
"""

from __future__ import annotations

import functools
from importlib import metadata
from pathlib import Path

from lxml import etree

from adapters.openadr.vocab import ResponseCode
from adapters.openadr.xml_guard import MAX_MESSAGE_BYTES as MAX_MESSAGE_BYTES
from adapters.openadr.xml_guard import HostileXmlError, check_untrusted_xml

SCHEMA_PACKAGE = "openleadr"
SCHEMA_FILE = "oadr_20b.xsd"


class CodecError(Exception):
    """A message could not be parsed, validated or rendered.

    Attributes:
        code: the OpenADR response code to answer with (454 invalid data, 453 not recognised...).
        description: a short, log-safe reason.
    """

    def __init__(self, code: ResponseCode, description: str) -> None:
        super().__init__(f"{int(code)} {description}")
        self.code = code
        self.description = description[:500]


class SchemaUnavailableError(RuntimeError):
    """The 2.0b XSD could not be loaded (``openleadr`` is not installed)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


_PARSER = _parser()


def trusted_parser() -> etree.XMLParser:
    """A parser for XML this package wrote itself (still no DTD, entities or network)."""
    return _parser()


@functools.cache
def schema() -> etree.XMLSchema:
    """The 2.0b schema, loaded once (about 0.3 s)."""
    # A trusted file from an installed distribution; its imports resolve next to it, offline.
    doc = etree.parse(str(schema_path()), _parser())
    return etree.XMLSchema(doc)


def schema_path() -> Path:
    """Where the installed openleadr distribution keeps ``oadr_20b.xsd``."""
    try:
        dist = metadata.distribution(SCHEMA_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise SchemaUnavailableError(
            "the OpenADR 2.0b XSD comes from the 'openleadr' distribution: install it"
        ) from exc
    path = Path(str(dist.locate_file(f"{SCHEMA_PACKAGE}/schema/{SCHEMA_FILE}")))
    if not path.is_file():
        raise SchemaUnavailableError(f"{path} is missing from the openleadr distribution")
    return path


def parse_untrusted(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> etree._Element:
    """Parse bytes from the network into an element tree, or raise :class:`CodecError`."""
    if not isinstance(data, bytes | bytearray):
        raise CodecError(ResponseCode.INVALID_DATA, "message is not bytes")
    try:
        check_untrusted_xml(bytes(data), max_bytes=max_bytes)
    except HostileXmlError as exc:
        raise CodecError(ResponseCode.INVALID_DATA, str(exc)) from None
    if not data.strip():
        raise CodecError(ResponseCode.INVALID_DATA, "empty message")
    try:
        root = etree.fromstring(bytes(data), _PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise CodecError(ResponseCode.INVALID_DATA, f"not well-formed XML: {exc}") from None
    if root is None:
        raise CodecError(ResponseCode.INVALID_DATA, "no root element")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        # A second line of defence: the guard refused every DOCTYPE it could see.
        raise CodecError(ResponseCode.INVALID_DATA, "DOCTYPE and entities are refused")
    return root


def validate(root: etree._Element) -> None:
    """Validate a tree against the 2.0b schema or raise :class:`CodecError` (454)."""
    xsd = schema()
    if not xsd.validate(root):
        error = xsd.error_log.last_error
        where = f"line {error.line}: " if error is not None else ""
        message = error.message if error is not None else "schema validation failed"
        raise CodecError(ResponseCode.INVALID_DATA, f"schema: {where}{message}")
