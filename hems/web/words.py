"""Money, carbon and DSR events in the words the pages use (issue 28): a saving is never
"£-0.00" (a zero is "£0.00", a loss says "cost £0.40 more"), and an event is titled by what it
asks and when, not by the DSRSP's id."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hems.usecases.records import EventPublic

UK = ZoneInfo("Europe/London")
PENNY = 0.005
"""Below half a penny a saving shows as £0.00 (no sign)."""

EVENT_NOUNS = {
    "import_cap": "Import limit",
    "export_floor": "Export request",
    "setpoint": "Grid setpoint",
    "reduction": "Reduction",
}
"""Each DSR request's kind (:class:`kernel.dsr.DsrKind`) as a title's first words."""


def pounds(gbp: float) -> str:
    """An amount of money without a sign: ``£1.20``; anything under half a penny ``£0.00``."""
    return f"£{abs(gbp):.2f}" if abs(gbp) >= PENNY else "£0.00"


def saving(gbp: float) -> str:
    """A saving against the baseline for a table cell: ``£1.20``, ``£0.00``, or for a loss
    ``cost £0.40 more``."""
    return f"cost {pounds(gbp)} more" if gbp <= -PENNY else pounds(gbp)


def savings_sentence(gbp: float, carbon_kg: float, period: str) -> str:
    """The history's headline: ``Saved £1.20 and 2.0 kg CO2 over <period>.``, each part
    turned round when it is a loss (``Cost £0.40 more and saved 2.0 kg CO2 ...``)."""
    money = f"cost {pounds(gbp)} more" if gbp <= -PENNY else f"saved {pounds(gbp)}"
    kg = abs(carbon_kg) if abs(carbon_kg) >= 0.05 else 0.0
    carbon = f"emitted {kg:.1f} kg CO2 more" if carbon_kg <= -0.05 else f"saved {kg:.1f} kg CO2"
    if money.startswith("saved") and carbon.startswith("saved"):
        carbon = carbon.removeprefix("saved ")
    text = f"{money} and {carbon} over {period}."
    return text[:1].upper() + text[1:]


def _hhmm(t: datetime) -> str:
    return t.astimezone(UK).strftime("%H:%M")


def event_title(e: EventPublic) -> str:
    """``Import limit 1.5 kW, Mon 30 Nov 18:00-19:00`` (UK time; the end's day when it is
    another)."""
    noun = EVENT_NOUNS.get(e.kind, e.kind.replace("_", " ").capitalize())
    start, end = e.start.astimezone(UK), e.end.astimezone(UK)
    until = _hhmm(end) if end.date() == start.date() else end.strftime("%a %d %b %H:%M")
    return f"{noun} {e.value_kw:g} kW, {start:%a %d %b %H:%M}-{until}"


def opted_out(e: EventPublic) -> str:
    """What the page says after an opt-out, naming the event by its title."""
    return f"You have opted out of {event_title(e)}. The home has re-planned without it."


TEMPLATE_GLOBALS = {
    "pounds": pounds,
    "saving": saving,
    "savings_sentence": savings_sentence,
    "event_title": event_title,
}
"""What the templates call (registered in :mod:`hems.web.routes`)."""
