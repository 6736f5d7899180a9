// The operator's page (hems/web/operator.py): reads /admin/cohort and /admin/cohort/homes
// with the admin token typed in, kept in this closure only. Text is set with textContent,
// never parsed as HTML.
(function () {
  "use strict";
  let token = "";

  function cell(row, text) {
    const td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
  }

  function fixed(x, digits) {
    return x === null || x === undefined ? "-" : Number(x).toFixed(digits);
  }

  function figure(list, term, value) {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    list.append(dt, dd);
  }

  function summary(view) {
    const list = document.getElementById("cohort-figures");
    list.replaceChildren();
    figure(list, "Homes", String(view.homes));
    figure(list, "VENs registered", String(view.vens_registered));
    figure(list, "Plans failed / late / stale", view.plans_failed + " / " + view.plans_late + " / " + view.plans_stale);
    figure(list, "Homes with a device offline", String(view.homes_with_devices_offline));
    const p = view.planned;
    const b = view.baseline;
    figure(list, "Planned peak", p ? fixed(p.peak_import_kw, 1) + " kW" : "no plans");
    figure(list, "Planned herding index", p ? fixed(p.herding_index, 2) : "-");
    figure(list, "Baseline peak / herding", b ? fixed(b.peak_import_kw, 1) + " kW / " + fixed(b.herding_index, 2) : "-");
    const body = document.querySelector("#cohort-events tbody");
    body.replaceChildren();
    for (const e of view.events) {
      const row = document.createElement("tr");
      cell(row, e.event_id);
      cell(row, e.kind);
      cell(row, e.start);
      cell(row, String(e.homes));
      cell(row, String(e.opted_in));
      cell(row, fixed(e.asked_kw, 2));
      cell(row, fixed(e.measured_kw, 2));
      cell(row, e.homes_delivered + " of " + e.opted_in);
      body.appendChild(row);
    }
  }

  function homes(list) {
    const body = document.querySelector("#cohort-homes tbody");
    body.replaceChildren();
    for (const h of list) {
      const row = document.createElement("tr");
      cell(row, h.name + " (" + h.cem_serial + ")");
      const link = !h.ven.running ? "no VEN running" : h.ven.registered ? "registered" : "not registered";
      cell(row, h.ven.enrolment + ", " + h.ven.mode + ", " + link);
      cell(row, h.ven.last_contact_utc || "none");
      let plan = h.plan.plan_id === null ? "none" : h.plan.status;
      if (h.plan.late) plan += ", late for its slot";
      if (h.plan.flagged_failed) plan += ", last pass failed";
      if (h.plan.stale) plan += ", stale";
      cell(row, plan);
      cell(row, h.devices_offline.length ? h.devices_offline.join(", ") : "none");
      const delivered = h.events.map(function (e) {
        const verdict = e.delivered === null ? "not judged" : e.delivered ? "delivered" : "short " + fixed(e.shortfall_kw, 2) + " kW";
        return e.event_id + ": " + e.response + ", " + verdict;
      });
      cell(row, delivered.length ? delivered.join("; ") : "none");
      body.appendChild(row);
    }
  }

  async function read(path) {
    const answer = await fetch(path, { headers: { Authorization: "Bearer " + token } });
    if (answer.status === 401 || answer.status === 403) {
      throw new Error("That token is not an admin token.");
    }
    if (!answer.ok) {
      throw new Error("The service answered " + answer.status + ".");
    }
    return answer.json();
  }

  async function show() {
    const error = document.getElementById("operator-error");
    try {
      const [view, list] = await Promise.all([read("/admin/cohort"), read("/admin/cohort/homes")]);
      summary(view);
      homes(list);
      error.hidden = true;
      document.getElementById("operator-cohort").hidden = false;
    } catch (e) {
      error.textContent = e.message;
      error.hidden = false;
      document.getElementById("operator-cohort").hidden = true;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("operator-token");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      token = document.getElementById("admin-token").value.trim();
      show();
    });
    document.getElementById("operator-refresh").addEventListener("click", show);
  });
})();
