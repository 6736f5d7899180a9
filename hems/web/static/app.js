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

  /* -- the plan chart ----------------------------------------------------------------------
     One chart of two panels on a shared time axis: above, the import price with carbon
     intensity as a band behind it and each device's power stacked; below, a small panel of
     charge levels and indoor temperature. DSR events and overrides are shaded across both. */
  const colours = {
    price: "#1f4e9c", carbon: "rgba(46,125,50,0.35)", carbonLine: "#2e7d32",
    power: ["#c2185b", "#ef6c00", "#00838f", "#5e35b1", "#f9a825", "#6d4c41"],
    soc: ["#c2185b", "#00838f"], indoor: "#ef6c00", band: "rgba(46,125,50,0.15)",
    shade: { event: "rgba(176,0,32,0.16)", override: "rgba(94,53,177,0.16)" }
  };

  function line(name, x, y, axis, colour, hover, extra) {
    return Object.assign({ type: "scatter", mode: "lines", name: name, x: x, y: y, yaxis: axis,
      line: { color: colour, width: 2, shape: "hv" }, hovertemplate: hover + "<extra></extra>" },
      extra || {});
  }

  function traces(d) {
    const t = [];
    t.push(line("Carbon (g/kWh)", d.x, d.carbon_g, "y3", colours.carbonLine,
      "carbon %{y:.0f} g/kWh", { fill: "tozeroy", fillcolor: colours.carbon,
        line: { color: colours.carbonLine, width: 0.5, shape: "hv" } }));
    Object.keys(d.power).forEach(function (name, i) {
      t.push({ type: "bar", name: name + " (kW)", x: d.x, y: d.power[name], yaxis: "y",
        marker: { color: colours.power[i % colours.power.length] },
        hovertemplate: name + " %{y:.1f} kW<extra></extra>" });
    });
    t.push(line("Import price (p/kWh)", d.x, d.import_price_p, "y2", colours.price,
      "import price %{y:.1f}p per kWh", { line: { color: colours.price, width: 2.5, shape: "hv" } }));
    Object.keys(d.soc).forEach(function (name, i) {
      t.push(line(name + " level (%)", d.x, d.soc[name], "y4", colours.soc[i % 2],
        name + " %{y:.0f} % full", { line: { color: colours.soc[i % 2], width: 2 } }));
    });
    if (d.comfort_min.length) {
      t.push(line("Comfort band (°C)", d.x, d.comfort_min, "y5", colours.carbonLine,
        "at least %{y:.1f} °C", { showlegend: false, line: { color: colours.carbonLine, width: 0.5, shape: "hv" } }));
      t.push(line("Comfort band (°C)", d.x, d.comfort_max, "y5", colours.carbonLine,
        "at most %{y:.1f} °C", { fill: "tonexty", fillcolor: colours.band,
          line: { color: colours.carbonLine, width: 0.5 } }));
    }
    Object.keys(d.indoor).forEach(function (name) {
      t.push(line("Indoor (°C)", d.x, d.indoor[name], "y5", colours.indoor,
        "indoors %{y:.1f} °C", { line: { color: colours.indoor, width: 2 } }));
    });
    return t;
  }

  function layout(d) {
    const shapes = (d.shading || []).map(function (s) {
      return { type: "rect", xref: "x", yref: "paper", x0: s.x0, x1: s.x1, y0: 0, y1: 1,
        fillcolor: colours.shade[s.kind] || colours.shade.override, line: { width: 0 },
        layer: "below", name: s.label };
    });
    shapes.push({ type: "line", xref: "x", yref: "paper", x0: d.now, x1: d.now, y0: 0, y1: 1,
      line: { color: "#000", width: 1, dash: "dash" } });
    const narrow = window.innerWidth < 600;
    return {
      height: narrow ? 620 : 600, margin: narrow ? { l: 36, r: 36, t: 8, b: 8 } : { l: 44, r: 44, t: 10, b: 10 },
      font: { size: narrow ? 12 : 13, color: "#1a1a1a" }, barmode: "relative", bargap: 0.05,
      hovermode: "x unified", showlegend: true,
      /* two legend columns on a phone, so the panels keep most of the height */
      legend: Object.assign({ orientation: "h", y: -0.08, yanchor: "top" },
        narrow ? { entrywidth: 0.5, entrywidthmode: "fraction", font: { size: 10 } } : {}),
      xaxis: { type: "date", anchor: "y4", tickformat: narrow ? "%H:%M" : "%a %H:%M",
        nticks: narrow ? 5 : 10, showgrid: true },
      /* the powers with the price over them; carbon as a thin band above; charge levels and
         indoor temperature below. tickmode "auto": an overlaying axis otherwise syncs its
         ticks to the base axis's (odd numbers such as 18.87p) */
      yaxis: { domain: [0.36, 0.85], title: { text: "kW" }, zeroline: true },
      yaxis2: { overlaying: "y", side: "right", title: { text: "p/kWh" }, showgrid: false,
        rangemode: "tozero", tickmode: "auto" },
      yaxis3: { domain: [0.89, 1], title: { text: "gCO2" }, rangemode: "tozero", nticks: 2 },
      yaxis4: { domain: [0, 0.26], title: { text: "%" }, range: [0, 100] },
      yaxis5: { overlaying: "y4", side: "right", title: { text: "°C" }, showgrid: false,
        tickmode: "auto", nticks: 4 },
      shapes: shapes
    };
  }

  function fillShading(items) {
    const ul = document.getElementById("chart-shading");
    if (!ul) return;
    ul.replaceChildren();
    ul.hidden = false;
    items.forEach(function (s) {
      const li = document.createElement("li");
      li.className = "shade " + s.kind;
      li.textContent = s.label;
      ul.appendChild(li);
    });
    if (!items.length) {
      const li = document.createElement("li");
      li.className = "none";
      li.textContent = "no DSR event or override in these 48 hours.";
      ul.appendChild(li);
    }
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
        fillShading(d.shading || []);
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
