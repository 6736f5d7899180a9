"""The EiOpt service openleadr's VTN does not mount: oadrCreateOpt and oadrCancelOpt, parsed by
this project's codec (:mod:`adapters.openadr.codec`: size limit, no DTD or entities, schema
validation, typed messages) and recorded in the demo's :class:`~hems.dsrsp.ledger.Ledger`.

Without it a home's opt-out reached the demo DSRSP as HTTP 404 and was never seen.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from adapters.openadr import codec
from adapters.openadr import messages as m
from adapters.openadr.schema import CodecError
from adapters.openadr.vocab import ResponseCode
from hems.dsrsp.ledger import Answer, Ledger, OptRecord

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def eiopt_handler(
    ledger: Ledger, now: Clock = lambda: datetime.now(UTC)
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler for ``<prefix>/EiOpt``: every answer is an OpenADR message (HTTP 200),
    an error is an eiResponse code (454 invalid data, 452 unknown VEN or event, ...)."""

    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            message = codec.parse(await request.read())
        except CodecError as exc:
            log.warning("demo DSRSP: EiOpt message refused: %s", exc)
            return _xml(
                m.Response(
                    response=m.EiResponse(
                        code=exc.code, request_id="0", description=exc.description
                    )
                )
            )
        if isinstance(message, m.CreateOpt):
            reply: m.Message = _create(ledger, message, now())
        elif isinstance(message, m.CancelOpt):
            reply = _cancel(ledger, message, now())
        else:
            reply = m.Response(
                response=m.EiResponse(
                    code=ResponseCode.NOT_RECOGNIZED,
                    request_id="0",
                    description=f"{type(message).__name__} is not EiOpt",
                )
            )
        return _xml(reply)

    return handle


def _create(ledger: Ledger, opt: m.CreateOpt, at_utc: datetime) -> m.CreatedOpt:
    if opt.ven_id not in ledger.data.vens:
        return _refused(opt.request_id, opt.opt_id, f"VEN {opt.ven_id} is not registered")
    event = ledger.data.events.get(opt.event_id) if opt.event_id is not None else None
    if opt.event_id is not None and (event is None or event.ven_id != opt.ven_id):
        return _refused(opt.request_id, opt.opt_id, f"no event {opt.event_id} for this VEN")
    ledger.add_opt(
        OptRecord(
            opt_id=opt.opt_id,
            ven_id=opt.ven_id,
            opt_type=str(opt.opt_type),
            reason=opt.opt_reason,
            received_utc=at_utc,
            event_id=opt.event_id,
            windows=[(w.start_utc, w.duration_s) for w in opt.availability],
        )
    )
    if opt.event_id is not None:
        ledger.answer(
            opt.event_id, Answer(at_utc=at_utc, opt_type=opt.opt_type, via="oadrCreateOpt")
        )
    log.info(
        "demo DSRSP: %s sent %s %s (%s)",
        opt.ven_id,
        opt.opt_type,
        f"on event {opt.event_id}" if opt.event_id else f"for {len(opt.availability)} window(s)",
        opt.opt_reason,
    )
    return m.CreatedOpt(response=m.ok_response(opt.request_id), opt_id=opt.opt_id)


def _cancel(ledger: Ledger, cancel: m.CancelOpt, at_utc: datetime) -> m.CanceledOpt:
    if not ledger.cancel_opt(cancel.ven_id, cancel.opt_id, at_utc):
        return m.CanceledOpt(
            response=m.EiResponse(
                code=ResponseCode.INVALID_ID,
                request_id=cancel.request_id,
                description="no such opt",
            ),
            opt_id=cancel.opt_id,
        )
    log.info("demo DSRSP: %s cancelled opt %s", cancel.ven_id, cancel.opt_id)
    return m.CanceledOpt(response=m.ok_response(cancel.request_id), opt_id=cancel.opt_id)


def _refused(request_id: str, opt_id: str, reason: str) -> m.CreatedOpt:
    log.warning("demo DSRSP: opt %s refused: %s", opt_id, reason)
    return m.CreatedOpt(
        response=m.EiResponse(
            code=ResponseCode.INVALID_ID, request_id=request_id, description=reason
        ),
        opt_id=opt_id,
    )


def _xml(message: m.Message) -> web.Response:
    from aiohttp import web

    return web.Response(body=codec.render(message), content_type="application/xml")
