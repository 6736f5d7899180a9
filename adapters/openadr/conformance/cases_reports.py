"""Report registration and telemetry (rule 510)."""

from __future__ import annotations

from adapters.openadr import messages as m
from adapters.openadr.conformance.case import Case
from adapters.openadr.conformance.context import EV_KW, SITE_KW, CaseContext, expect
from adapters.openadr.vocab import ReportName


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


CASES = (
    Case(
        "reports",
        ("510",),
        "oadrRegisterReport offers METADATA_TELEMETRY_USAGE; the VTN's report requests are"
        " created (oadrCreatedReport) and telemetry arrives in oadrUpdateReport with the values"
        " the VEN read (reference VTN: site 3.25 kW, EV charger 7.4 kW)",
        reports,
    ),
)
