/* The consumer web app's only script: draws the plan chart (plotly.js), fills the plan table,
   asks before destructive actions, and polls live.json so pages follow plan and event changes.
   No inline scripts anywhere (the Content-Security-Policy allows only this origin's files). */
"use strict";

(function () {
  const body = document.body;
  const home = body.dataset.home;
  const pollMs = parseInt(body.dataset.pollMs || "5000", 10);
  const note = document.getElementById("live-note");

  function announce(text, linkText, href) {
    if (!note) return;
    note.textContent = text + " ";
    if (linkText) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = linkText;
      note.appendChild(a);
    }
    note.hidden = false;
  }

  /* -- confirmations ------------------------------------------------------------------------ */
  document.querySelectorAll("form.confirm").forEach(function (form) {
    form.addEventListener("submit", function (e) {
      if (!window.confirm(form.dataset.confirm || "Are you sure?")) e.preventDefault();
    });
  });

  /* -- the plan chart --------------------------------------------------------------------- */
  const colours = {
    price: "#1f4e9c", exportPrice: "#6b8fd6", carbon: "#2e7d32",
    power: ["#c2185b", "#ef6c00", "#00838f", "#5e35b1", "#f9a825", "#6d4c41"],
    gridIn: "#212121", gridOut: "#757575", soc: ["#c2185b", "#00838f"], indoor: "#ef6c00",
    band: "rgba(46,125,50,0.15)"
  };

  function line(name, x, y, axis, colour, extra) {
    return Object.assign({ type: "scatter", mode: "lines", name: name, x: x, y: y, yaxis: axis,
      line: { color: colour, width: 2, shape: "hv" }, hovertemplate: "%{y}" }, extra || {});
  }

  function traces(d) {
    const t = [];
    t.push(line("Import price (p/kWh)", d.x, d.import_price_p, "y", colours.price));
    t.push(line("Export price (p/kWh)", d.x, d.export_price_p, "y", colours.exportPrice,
      { line: { color: colours.exportPrice, width: 1.5, dash: "dot", shape: "hv" } }));
    t.push(line("Carbon (g/kWh)", d.x, d.carbon_g, "y2", colours.carbon));
    Object.keys(d.power).forEach(function (name, i) {
      t.push({ type: "bar", name: name + " (kW)", x: d.x, y: d.power[name], yaxis: "y3",
        marker: { color: colours.power[i % colours.power.length] }, hovertemplate: "%{y} kW" });
    });
    t.push(line("Grid import (kW)", d.x, d.grid_import, "y3", colours.gridIn));
    t.push(line("Grid export (kW)", d.x, d.grid_export, "y3", colours.gridOut,
      { line: { color: colours.gridOut, width: 1.5, dash: "dash", shape: "hv" } }));
    Object.keys(d.soc).forEach(function (name, i) {
      t.push(line(name + " charge (%)", d.x, d.soc[name], "y4", colours.soc[i % 2],
        { line: { color: colours.soc[i % 2], width: 2 } }));
    });
    if (d.comfort_min.length) {
      t.push(line("Comfort minimum (°C)", d.x, d.comfort_min, "y5", colours.carbon,
        { line: { color: colours.carbon, width: 1, shape: "hv" } }));
      t.push(line("Comfort maximum (°C)", d.x, d.comfort_max, "y5", colours.carbon,
        { fill: "tonexty", fillcolor: colours.band, line: { color: colours.carbon, width: 1 } }));
    }
    Object.keys(d.indoor).forEach(function (name) {
      t.push(line("Indoor (°C)", d.x, d.indoor[name], "y5", colours.indoor,
        { line: { color: colours.indoor, width: 2 } }));
    });
    return t;
  }

  function layout(d) {
    const shapes = [{ type: "line", xref: "x", yref: "paper", x0: d.now, x1: d.now, y0: 0, y1: 1,
      line: { color: "#000", width: 1, dash: "dash" } }];
    const narrow = window.innerWidth < 600;
    return {
      height: narrow ? 900 : 820, margin: { l: 50, r: 50, t: 10, b: 10 },
      font: { size: 13, color: "#1a1a1a" }, barmode: "relative", bargap: 0.1,
      hovermode: "x unified", showlegend: true,
      legend: { orientation: "h", y: -0.06, yanchor: "top" },
      xaxis: { type: "date", anchor: "y5", tickformat: "%a %H:%M", showgrid: true },
      yaxis: { domain: [0.80, 1], title: { text: "p/kWh" } },
      yaxis2: { overlaying: "y", side: "right", title: { text: "g/kWh" }, showgrid: false },
      yaxis3: { domain: [0.46, 0.76], title: { text: "kW" }, zeroline: true },
      yaxis4: { domain: [0.24, 0.42], title: { text: "%" }, range: [0, 100] },
      yaxis5: { domain: [0, 0.20], title: { text: "°C" } },
      shapes: shapes
    };
  }

  function fillList(id, items, emptyText) {
    const ul = document.getElementById(id);
    if (!ul) return;
    ul.replaceChildren();
    ul.hidden = false;
    (items.length ? items : [emptyText]).forEach(function (text) {
      const li = document.createElement("li");
      li.textContent = text;
      ul.appendChild(li);
    });
  }

  function fillTable(d) {
    const table = document.getElementById("plan-table");
    if (!table) return;
    const caption = table.querySelector("caption");
    table.replaceChildren();
    if (caption) table.appendChild(caption);
    table.hidden = false;
    const cols = [["Time", d.x], ["Import p/kWh", d.import_price_p], ["Carbon g/kWh", d.carbon_g]];
    Object.keys(d.power).forEach(function (n) { cols.push([n + " kW", d.power[n]]); });
    cols.push(["Grid import kW", d.grid_import], ["Grid export kW", d.grid_export]);
    Object.keys(d.soc).forEach(function (n) { cols.push([n + " %", d.soc[n]]); });
    Object.keys(d.indoor).forEach(function (n) { cols.push(["Indoor °C", d.indoor[n]]); });
    const head = table.createTHead().insertRow();
    cols.forEach(function (c) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = c[0];
      head.appendChild(th);
    });
    const tbody = table.createTBody();
    d.x.forEach(function (_, i) {
      const row = tbody.insertRow();
      cols.forEach(function (c, j) {
        const cell = j === 0 ? document.createElement("th") : document.createElement("td");
        if (j === 0) cell.scope = "row";
        const v = c[1][i];
        cell.textContent = v === null || v === undefined ? "–"
          : (typeof v === "number" ? (Math.round(v * 10) / 10).toString() : v);
        row.appendChild(cell);
      });
    });
  }

  let planId = null;
  function drawPlan(announceIt) {
    const chart = document.getElementById("plan-chart");
    if (!chart) return Promise.resolve();
    return fetch(chart.dataset.src, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (d) {
        if (!d || d.plan_id === null) return;
        planId = d.plan_id;
        document.getElementById("plan").dataset.planId = String(d.plan_id);
        const made = document.getElementById("plan-made");
        if (made) made.textContent = d.made;
        fillList("plan-violations", d.violations, "None: every wish is met.");
        fillList("plan-card", d.card, "");
        const headline = document.getElementById("plan-headline");
        if (headline) { headline.textContent = d.headline; headline.hidden = !d.headline; }
        fillTable(d);
        if (window.Plotly) {
          window.Plotly.react(chart, traces(d), layout(d),
            { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
          chart.dataset.drawn = String(d.plan_id);
        }
        if (announceIt) announce("The plan was updated: " + d.made + ".");
      });
  }

  /* -- live updates ----------------------------------------------------------------------- */
  let timer = null;
  let seen = { events: body.dataset.events, overrides: body.dataset.overrides };
  function poll() {
    fetch("/app/homes/" + home + "/live.json", { credentials: "same-origin" })
      .then(function (r) {
        if (r.redirected) {
          announce("Your session has ended.", "Sign in again", "/app/login");
          window.clearInterval(timer);
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (live) {
        if (!live) return;
        if (document.getElementById("plan-chart") && live.plan_id !== null && live.plan_id !== planId) {
          drawPlan(planId !== null);
        }
        if (live.events !== seen.events && document.querySelector("[data-live=events]")) {
          announce("The events have changed.", "Show the latest", window.location.pathname);
        }
        if (live.overrides !== seen.overrides && document.getElementById("overrides")) {
          announce("Your overrides have changed.", "Show the latest", window.location.pathname);
        }
        seen = live;
      })
      .catch(function () { /* the next poll tries again */ });
  }

  if (home) {
    drawPlan(false);
    timer = window.setInterval(poll, pollMs);
  }
})();
