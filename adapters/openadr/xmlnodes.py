"""Small lxml helpers shared by the wire modules: qualified names, child text, and the pieces
every service uses (eiResponse, eiTarget, itemBase, xCal dtstart/duration)."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TypeAlias

from lxml import etree

from adapters.openadr.events import ItemUnit, Target
from adapters.openadr.messages import EiResponse
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import NS, ItemKind, ResponseCode, SiScale
from adapters.openadr.xmltime import (
    format_datetime,
    format_duration,
    parse_datetime,
    parse_duration,
)

Element: TypeAlias = etree._Element  # lxml ships no type stubs: this is Any to mypy


@functools.cache
def q(tag: str) -> str:
    """``"ei:venID"`` -> ``"{http://docs.oasis-open.org/ns/energyinterop/201110}venID"``."""
    prefix, local = tag.split(":", 1)
    return f"{{{NS[prefix]}}}{local}"


class Node:
    """An element being rendered into a :class:`CanonicalWriter` (prefixed tag, ``"ei:rID"``).

    Outbound messages are written straight to text in document order: :func:`sub` appends the
    start tag (and text) of a child and closes every element opened after ``parent``. That
    costs about a microsecond an element, against several for an lxml element plus a C14N pass,
    and the text is already in canonical form, so a signature digests it as it is. Renderers
    must therefore add children in document order: adding a child to an element that has been
    closed raises ValueError (every message type is rendered by the tests).
    """

    __slots__ = ("attrs", "start_at", "tag", "text", "writer")

    def __init__(self, tag: str, text: str | None, writer: CanonicalWriter, start_at: int) -> None:
        self.tag = tag
        self.text = text
        self.writer = writer
        self.start_at = start_at
        self.attrs: dict[str, str] | None = None

    def set(self, name: str, value: str) -> None:
        """Set an attribute (a prefixed name, e.g. ``"ei:schemaVersion"``)."""
        if self.attrs is None:
            self.attrs = {}
        self.attrs[name] = value
        self.writer.rewrite_start(self)


# XML 1.0 Char production: C0 controls other than tab, LF and CR, surrogates, U+FFFE, U+FFFF
# cannot be written (lxml refuses them too). Surrogates fail the UTF-8 encoding itself.
_C0_NOT_XML = bytes(b for b in range(0x20) if b not in b"\t\n\r")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
)


def escape_text(value: str) -> str:
    """Text content escaped as C14N 1.0 writes it."""
    if "&" in value or "<" in value or ">" in value or "\r" in value:
        return value.translate(_TEXT_ESCAPES)
    return value


class CanonicalWriter:
    """Writes one element tree, rooted at :attr:`root`, in Canonical XML 1.0 form.

    The form is that of the tree as a standalone document (inclusive C14N, no comments): every
    namespace in ``namespaces`` is declared on the root, sorted by prefix, and no element below
    declares any (every prefix used must be one of them); attributes are sorted by namespace
    URI then local name; empty elements are start-end pairs; text and attribute values are
    escaped as C14N 1.0 prescribes. ``tests/adapters/openadr/test_codec.py`` checks the output
    against lxml's C14N of the same document.
    """

    def __init__(self, root_tag: str, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces
        self._decls = "".join(f' xmlns:{p}="{namespaces[p]}"' for p in sorted(namespaces))
        self.out: list[str] = []
        self.seen: set[str] = set()
        self.root = self.open(root_tag, None)
        self.stack: list[Node] = [self.root]

    def open(self, tag: str, text: str | None) -> Node:
        self.check(tag)
        node = Node(tag, text, self, len(self.out))
        decls = self._decls if not self.out else ""
        self.out.append(f"<{tag}{decls}>{escape_text(text)}" if text else f"<{tag}{decls}>")
        return node

    def check(self, tag: str) -> None:
        if tag.split(":", 1)[0] not in self.namespaces:
            raise ValueError(f"the prefix of {tag} is not declared")
        self.seen.add(tag)

    def close_to(self, parent: Node) -> None:
        """Close the elements opened after ``parent``."""
        stack = self.stack
        while stack[-1] is not parent:
            self.out.append(f"</{stack.pop().tag}>")
            if not stack:
                raise ValueError(f"{parent.tag} is closed: render in document order")

    def rewrite_start(self, node: Node) -> None:
        attrs = node.attrs or {}
        keys = sorted(
            (self.namespaces[k.split(":", 1)[0]] if ":" in k else "", k.split(":")[-1], k)
            for k in attrs
        )  # by namespace URI (unqualified first: the empty URI), then by local name
        rendered = "".join(f' {k}="{attrs[k].translate(_ATTR_ESCAPES)}"' for _, _, k in keys)
        decls = self._decls if node is self.root else ""
        text = escape_text(node.text) if node.text else ""
        self.out[node.start_at] = f"<{node.tag}{decls}{rendered}>{text}"

    def finish(self) -> bytes:
        """The document as UTF-8 bytes; CodecError (454) for characters XML cannot carry."""
        out = self.out
        while self.stack:
            out.append(f"</{self.stack.pop().tag}>")
        try:
            data = "".join(out).encode()
        except UnicodeEncodeError:
            raise CodecError(ResponseCode.INVALID_DATA, "a surrogate cannot be sent") from None
        if (
            len(data.translate(None, _C0_NOT_XML)) != len(data)
            or b"\xef\xbf\xbe" in data
            or b"\xef\xbf\xbf" in data
        ):
            raise CodecError(ResponseCode.INVALID_DATA, "a control character cannot be sent")
        return data


# sub and leaf are the renderers' inner loop (a few hundred calls a message): inlined by hand.


def sub(parent: Node, tag: str, text: str | None = None) -> Node:
    """Append a child element to ``parent`` (which must still be open) and return it."""
    w = parent.writer
    if w.stack[-1] is not parent:
        w.close_to(parent)
    if tag not in w.seen:
        w.check(tag)
    out = w.out
    node = Node(tag, text, w, len(out))
    if text:
        if "&" in text or "<" in text or ">" in text or "\r" in text:
            text = text.translate(_TEXT_ESCAPES)
        out.append(f"<{tag}>{text}")
    else:
        out.append(f"<{tag}>")
    w.stack.append(node)
    return node


def leaf(parent: Node, tag: str, text: str | None = None) -> None:
    """Append a child element that gets no children of its own (cheaper than :func:`sub`)."""
    w = parent.writer
    if w.stack[-1] is not parent:
        w.close_to(parent)
    if tag not in w.seen:
        w.check(tag)
    if text:
        if "&" in text or "<" in text or ">" in text or "\r" in text:
            text = text.translate(_TEXT_ESCAPES)
        w.out.append(f"<{tag}>{text}</{tag}>")
    else:
        w.out.append(f"<{tag}></{tag}>")


def raw(parent: Node, xml: str) -> None:
    """Append content already in canonical form (escaped with :func:`escape_text`, declared
    prefixes only, start-end pairs) to ``parent``."""
    w = parent.writer
    if w.stack[-1] is not parent:
        w.close_to(parent)
    w.out.append(xml)


@functools.cache
def _steps(path: str) -> tuple[str, ...]:
    """``"ei:a/xcal:b"`` -> the Clark names of each child step (``*``: any element)."""
    return tuple(q(step) if ":" in step else step for step in path.split("/"))


def _children(el: Element, tag: str) -> list[Element]:
    return [c for c in el if c.tag == tag or (tag == "*" and isinstance(c.tag, str))]


def findall(el: Element, path: str) -> list[Element]:
    """Children along a path of child steps. Hand-rolled: lxml 6's ``find`` costs ~16 µs per
    call here, iterating a few children costs well under 1 µs."""
    level = [el]
    for tag in _steps(path):
        level = [c for parent in level for c in _children(parent, tag)]
    return level


def find(el: Element, path: str) -> Element | None:
    node = el
    for tag in _steps(path):
        for child in node:
            if child.tag == tag or (tag == "*" and isinstance(child.tag, str)):
                node = child
                break
        else:
            return None
    return node


def text(el: Element, path: str) -> str | None:
    child = find(el, path)
    if child is None or child.text is None:
        return None
    return str(child.text).strip()


def required(el: Element, path: str) -> str:
    value = text(el, path)
    if value is None:
        raise CodecError(ResponseCode.INVALID_DATA, f"missing {path}")
    return value


def boolean(value: str | None) -> bool:
    return value is not None and value.strip().lower() in {"true", "1"}


def fmt_bool(value: bool) -> str:
    return "true" if value else "false"


def fmt_float(value: float) -> str:
    """A float as xs:float text (repr keeps it exact; no exponent surprises for integers)."""
    if value != value or value in (float("inf"), float("-inf")):
        raise CodecError(ResponseCode.INVALID_DATA, "NaN and infinite values are not sent")
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def number(el: Element, path: str) -> float:
    raw = required(el, path)
    try:
        return float(raw)
    except ValueError:
        raise CodecError(ResponseCode.INVALID_DATA, f"{path} is not a number") from None


def duration_at(el: Element, path: str) -> float | None:
    """Read a DurationPropType (``<path><xcal:duration>PT..``) or None."""
    raw = text(el, f"{path}/xcal:duration")
    if raw is None:
        return None
    try:
        return parse_duration(raw)
    except ValueError:
        raise CodecError(ResponseCode.INVALID_DATA, f"bad duration in {path}") from None


def datetime_at(el: Element, path: str) -> datetime | None:
    raw = text(el, path)
    if raw is None:
        return None
    try:
        return parse_datetime(raw)
    except ValueError:
        raise CodecError(ResponseCode.INVALID_DATA, f"bad date-time in {path}") from None


def required_datetime(el: Element, path: str) -> datetime:
    value = datetime_at(el, path)
    if value is None:
        raise CodecError(ResponseCode.INVALID_DATA, f"missing {path}")
    return value


def add_duration(parent: Node, tag: str, seconds: float) -> None:
    leaf(sub(parent, tag), "xcal:duration", format_duration(seconds))


def add_dtstart(parent: Node, value: datetime) -> None:
    leaf(sub(parent, "xcal:dtstart"), "xcal:date-time", format_datetime(value))


# --- eiResponse ------------------------------------------------------------------------------


def add_response(parent: Node, response: EiResponse, tag: str = "ei:eiResponse") -> None:
    el = sub(parent, tag)
    leaf(el, "ei:responseCode", f"{int(response.code):03d}")
    if response.description is not None:
        leaf(el, "ei:responseDescription", response.description)
    leaf(el, "pyld:requestID", response.request_id)


def read_response(el: Element) -> EiResponse:
    code = required(el, "ei:responseCode")
    return EiResponse(
        code=int(code),
        description=text(el, "ei:responseDescription"),
        request_id=text(el, "pyld:requestID") or "",
    )


# --- eiTarget --------------------------------------------------------------------------------

_TARGET_ORDER = (
    ("end_device_assets", "power:endDeviceAsset"),
    ("group_ids", "ei:groupID"),
    ("resource_ids", "ei:resourceID"),
    ("ven_ids", "ei:venID"),
    ("party_ids", "ei:partyID"),
)


def add_target(parent: Node, target: Target, tag: str = "ei:eiTarget") -> None:
    el = sub(parent, tag)
    for field_name, child in _TARGET_ORDER:
        for value in getattr(target, field_name):
            if child == "power:endDeviceAsset":
                leaf(sub(el, child), "power:mrid", value)
            else:
                leaf(el, child, value)


def read_target(el: Element | None) -> Target:
    if el is None:
        return Target()
    return Target(
        ven_ids=tuple(e.text.strip() for e in findall(el, "ei:venID") if e.text),
        resource_ids=tuple(e.text.strip() for e in findall(el, "ei:resourceID") if e.text),
        group_ids=tuple(e.text.strip() for e in findall(el, "ei:groupID") if e.text),
        party_ids=tuple(e.text.strip() for e in findall(el, "ei:partyID") if e.text),
        end_device_assets=tuple(
            e.text.strip() for e in findall(el, "power:endDeviceAsset/power:mrid") if e.text
        ),
    )


# --- itemBase --------------------------------------------------------------------------------

_ITEM_PREFIX = {
    ItemKind.POWER_REAL: "power",
    ItemKind.ENERGY_REAL: "power",
    ItemKind.VOLTAGE: "power",
    ItemKind.CURRENCY_PER_KWH: "oadr",
    ItemKind.CUSTOM: "oadr",
}
_ITEM_DESCRIPTION = {
    ItemKind.POWER_REAL: "RealPower",
    ItemKind.ENERGY_REAL: "RealEnergy",
    ItemKind.VOLTAGE: "Voltage",
    ItemKind.CURRENCY_PER_KWH: "currencyPerKWh",
}
_ITEM_BY_TAG = {q(f"{prefix}:{kind.value}"): kind for kind, prefix in _ITEM_PREFIX.items()}


def add_item(parent: Node, unit: ItemUnit) -> None:
    el = sub(parent, f"{_ITEM_PREFIX[unit.kind]}:{unit.kind.value}")
    leaf(
        el,
        "power:itemDescription" if unit.kind in _POWER_NS else "oadr:itemDescription",
        _ITEM_DESCRIPTION.get(unit.kind, unit.description),
    )
    leaf(el, "power:itemUnits" if unit.kind in _POWER_NS else "oadr:itemUnits", unit.units)
    leaf(el, "scale:siScaleCode", unit.scale.value)
    if unit.kind is ItemKind.POWER_REAL:
        attrs = sub(el, "power:powerAttributes")
        leaf(attrs, "power:hertz", fmt_float(unit.hertz))
        leaf(attrs, "power:voltage", fmt_float(unit.voltage_v))
        leaf(attrs, "power:ac", fmt_bool(unit.ac))


_POWER_NS = frozenset({ItemKind.POWER_REAL, ItemKind.ENERGY_REAL, ItemKind.VOLTAGE})


def read_item(parent: Element) -> ItemUnit | None:
    """The itemBase child of ``parent`` (any substitution we know), or None."""
    for child in parent:
        kind = _ITEM_BY_TAG.get(child.tag) if isinstance(child.tag, str) else None
        if kind is None:
            continue
        ns = "power" if kind in _POWER_NS else "oadr"
        scale_raw = text(child, "scale:siScaleCode") or "none"
        try:
            scale = SiScale(scale_raw)
        except ValueError:
            raise CodecError(
                ResponseCode.INVALID_DATA, f"unknown siScaleCode {scale_raw}"
            ) from None
        attrs = find(child, "power:powerAttributes")
        return ItemUnit(
            kind=kind,
            units=text(child, f"{ns}:itemUnits") or "",
            scale=scale,
            description=text(child, f"{ns}:itemDescription") or "",
            hertz=float(text(attrs, "power:hertz") or 50) if attrs is not None else 50.0,
            voltage_v=float(text(attrs, "power:voltage") or 230) if attrs is not None else 230.0,
            ac=boolean(text(attrs, "power:ac")) if attrs is not None else True,
        )
    return None
