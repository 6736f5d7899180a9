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


def sub(parent: Element, tag: str, text: str | None = None) -> Element:
    el = etree.SubElement(parent, q(tag))
    if text is not None:
        el.text = text
    return el


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


def add_duration(parent: Element, tag: str, seconds: float) -> None:
    sub(sub(parent, tag), "xcal:duration", format_duration(seconds))


def add_dtstart(parent: Element, value: datetime) -> None:
    sub(sub(parent, "xcal:dtstart"), "xcal:date-time", format_datetime(value))


# --- eiResponse ------------------------------------------------------------------------------


def add_response(parent: Element, response: EiResponse, tag: str = "ei:eiResponse") -> None:
    el = sub(parent, tag)
    sub(el, "ei:responseCode", f"{int(response.code):03d}")
    if response.description is not None:
        sub(el, "ei:responseDescription", response.description)
    sub(el, "pyld:requestID", response.request_id)


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


def add_target(parent: Element, target: Target, tag: str = "ei:eiTarget") -> None:
    el = sub(parent, tag)
    for field_name, child in _TARGET_ORDER:
        for value in getattr(target, field_name):
            if child == "power:endDeviceAsset":
                sub(sub(el, child), "power:mrid", value)
            else:
                sub(el, child, value)


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


def add_item(parent: Element, unit: ItemUnit) -> None:
    el = sub(parent, f"{_ITEM_PREFIX[unit.kind]}:{unit.kind.value}")
    sub(el, "power:itemDescription" if unit.kind in _POWER_NS else "oadr:itemDescription")
    el[-1].text = _ITEM_DESCRIPTION.get(unit.kind, unit.description)
    sub(el, "power:itemUnits" if unit.kind in _POWER_NS else "oadr:itemUnits", unit.units)
    sub(el, "scale:siScaleCode", unit.scale.value)
    if unit.kind is ItemKind.POWER_REAL:
        attrs = sub(el, "power:powerAttributes")
        sub(attrs, "power:hertz", fmt_float(unit.hertz))
        sub(attrs, "power:voltage", fmt_float(unit.voltage_v))
        sub(attrs, "power:ac", fmt_bool(unit.ac))


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
