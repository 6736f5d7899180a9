"""Report registration and telemetry (rule 510), and a report-only VEN."""

from __future__ import annotations

from dataclasses import replace

from adapters.openadr import messages as m
from adapters.openadr.conformance.case import Case
from adapters.openadr.conformance.context import EV_KW, SITE_KW, CaseContext, expect
from adapters.openadr.conformance.tracelog import OUT
from adapters.openadr.ven import Ven
from adapters.openadr.vocab import ReportName

REPORT_ONLY_SELF = (
    "registers the VEN as report-only, which a real VTN would keep on record (--self only)"
)


async def reports(ctx: CaseContext) -> None:
    await ctx.ven.register()
    registered = ctx.trace.sent_messages(m.RegisterReport)
    expect(bool(registered), "no oadrRegisterReport after registration")
    names = {report.report_name for report in registered[-1].reports}
    expect(
        ReportName.METADATA_TELEMETRY_USAGE in names,
        f"no METADATA_TELEMETRY_USAGE offered (offered {sorted(names)})",
    )
    answers = ctx.trace.received_messages(m.RegisteredReport)
    expect(bool(answers) and answers[-1].response.ok, "no oadrRegisteredReport 200")
    if ctx.vtn is None:
        ctx.note("telemetry values checked only against the reference VTN")
        return
    record = ctx.vtn.record
    await ctx.poll_until(
        lambda: bool(record.values.get("site")) and bool(record.values.get("ev-charger")),
        "telemetry of the site and the EV charger at the VTN",
    )
    expect(bool(ctx.trace.sent_messages(m.UpdateReport)), "no oadrUpdateReport sent")
    site = {value for _, value in record.values["site"]}
    ev = {value for _, value in record.values["ev-charger"]}
    expect(site == {SITE_KW}, f"site values at the VTN {sorted(site)}, expected {SITE_KW}")
    expect(ev == {EV_KW}, f"EV charger values at the VTN {sorted(ev)}, expected {EV_KW}")


async def report_only(ctx: CaseContext) -> None:
    record = ctx.reference.record
    settings = replace(ctx.ven.settings, report_only=True)
    ven = Ven(settings, ctx.ven.transport, decide=ctx.hooks.decide, telemetry=ctx.hooks.telemetry)
    ctx.note("a report-only VEN (oadrReportOnly): EiRegisterParty and EiReport only")
    delivered = await ctx.run_until(lambda: bool(record.values.get("site")), 8.0, ven=ven)
    creates = ctx.trace.sent_messages(m.CreatePartyRegistration)
    expect(bool(creates) and creates[-1].report_only, "not registered with oadrReportOnly true")
    expect(delivered, "no telemetry at the VTN within 8 s")
    site = {value for _, value in record.values["site"]}
    expect(site == {SITE_KW}, f"site values at the VTN {sorted(site)}, expected {SITE_KW}")
    services = {e.service for e in ctx.trace.entries if e.direction == OUT}
    expect(services <= {"EiRegisterParty", "EiReport"}, f"a report-only VEN used {services}")


CASES = (
    Case(
        "reports",
        ("510",),
        "oadrRegisterReport offers METADATA_TELEMETRY_USAGE; the VTN's report requests are"
        " created (oadrCreatedReport) and telemetry arrives in oadrUpdateReport with the values"
        " the VEN read (reference VTN: site 3.25 kW, EV charger 7.4 kW)",
        reports,
    ),
    Case(
        "report_only",
        ("report only",),
        "a report-only VEN registers with oadrReportOnly true, delivers its telemetry (site"
        " 3.25 kW) and sends nothing but EiRegisterParty and EiReport (no event request, no poll)",
        report_only,
        REPORT_ONLY_SELF,
    ),
)
