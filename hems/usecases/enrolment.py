"""The home's part in the DSRSP's programme: the consumer (or the operator) withdraws it while
staying a customer, its VEN deregisters (oadrCancelPartyRegistration) and stays deregistered,
across restarts, until it is enrolled again; a registration the DSRSP's VTN cancelled is
recorded, shown to the consumer and not retried until then. The operator also chooses how
each home's VEN talks (:class:`hems.storage.enrolments.VenMode`: pull, report-only or push).

Withdrawing is not declining events (the ``dsr_consent`` preference): a home without consent
stays registered, reports its telemetry and answers each event optOut; a withdrawn home is not
registered at all."""

from __future__ import annotations

from datetime import datetime

from hems.service import CemService
from hems.storage.enrolments import Enrolment, EnrolmentStatus, VenMode
from hems.usecases.errors import InvalidInputError
from hems.usecases.records import DsrEnrolment, VenModePublic

MESSAGES = {
    EnrolmentStatus.ENROLLED: "Your home is enrolled in your DSR provider's programme.",
    EnrolmentStatus.WITHDRAWN: "Your home is withdrawn from your DSR provider's programme: it "
    "is not registered with them and receives no DSR events until you enrol it again.",
    EnrolmentStatus.CANCELLED_BY_DSRSP: "Your DSR provider cancelled your home's registration: "
    "it receives no DSR events. Contact them, then enrol your home again.",
}


def public_enrolment(enrolment: Enrolment) -> DsrEnrolment:
    return DsrEnrolment(
        status=enrolment.status.value,
        since=enrolment.since,
        message=MESSAGES[enrolment.status],
    )


def enrolment(service: CemService, home_id: int) -> DsrEnrolment:
    """Where the home stands with the DSRSP (NotFoundError for no such home)."""
    return public_enrolment(enrolment_record(service, home_id))


def enrolment_record(service: CemService, home_id: int) -> Enrolment:
    """Where the home stands with the DSRSP, typed (its VEN registers only when enrolled)."""
    return service.store.enrolment(home_id)


def withdraw(service: CemService, home_id: int, actor: str) -> DsrEnrolment:
    """Withdraw the home (audited): its VEN deregisters and stays so until :func:`enrol`.
    Withdrawing a withdrawn home changes nothing."""
    if service.store.withdraw(home_id, service.clock.now(), actor):
        service.enrolment_changed(home_id, enrolled=False)
    return enrolment(service, home_id)


def enrol(service: CemService, home_id: int, actor: str) -> DsrEnrolment:
    """Enrol the home again after a withdrawal or the DSRSP's cancellation (audited): its VEN
    registers. Enrolling an enrolled home changes nothing."""
    if service.store.enrol(home_id, service.clock.now(), actor):
        service.enrolment_changed(home_id, enrolled=True)
    return enrolment(service, home_id)


def record_cancelled_by_dsrsp(service: CemService, home_id: int, at_utc: datetime) -> None:
    """The DSRSP's VTN cancelled the home's registration (the VEN's hook): recorded, so the
    consumer sees it and the VEN stays deregistered after a restart."""
    service.store.record_cancelled_by_vtn(home_id, at_utc)


def ven_mode(service: CemService, home_id: int) -> VenModePublic:
    """How the home's VEN talks (NotFoundError for no such home)."""
    return VenModePublic(mode=service.store.ven_mode(home_id))


def set_ven_mode(service: CemService, home_id: int, mode: VenMode, actor: str) -> VenModePublic:
    """The operator's choice of how the home's VEN talks (audited): a change makes the VEN
    again in the new mode (it deregisters and registers anew, unless withdrawn). Push mode
    needs the service's push listener (InvalidInputError without ``ven_push_port``)."""
    if mode is VenMode.PUSH and not service.settings.ven_push_port:
        raise InvalidInputError(
            ("body", "mode"),
            "push mode needs the VENs' push endpoint: set ven_push_port and its certificate",
            mode.value,
        )
    if service.store.set_ven_mode(home_id, mode, service.clock.now(), actor):
        service.ven_mode_changed(home_id)
    return ven_mode(service, home_id)
