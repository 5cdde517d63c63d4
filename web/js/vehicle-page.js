// The vehicle page (vehicle.html?vin=VIN): a vehicle's history report, fetched from the node
// (GET /v1/vehicles/{vin}/report) and verified here, in the browser, against the genesis
// document this node loaded (GET /v1/genesis) with the checks of `blokauto verify`. What the
// page shows comes from the verified bundle, the open recalls too (the bundle proves the parts
// state they are computed from, so none is left out); the bundle can be downloaded and verified
// again on verify.html against a genesis file the reader trusts.
"use strict";

import { toHex, vinParse } from "./codec.js";
import { toPlain } from "./json.js";
import { el, getJSON, getText, mountHeader, param, showError, svg, utc } from "./ui.js";
import { loadGenesis, verifyReport } from "./verify.js";

mountHeader();

const vehicleEl = document.getElementById("vehicle");
const verifiedEl = document.getElementById("verified");
const odoEl = document.getElementById("odometer");
const timelineEl = document.getElementById("timeline");

function badge(label, value, tone) {
  return el("li", { class: `badge ${tone}` }, el("span", { class: "label" }, label), " ", el("strong", {}, value));
}

function badges(s, rec) {
  const brands = s.brands.length ? s.brands.join(", ") : "none";
  return el("ul", { class: "badges", id: "badges" },
    badge("Owners", String(s.owners), "neutral"),
    badge("Accidents", String(s.accidents), s.accidents > 0 ? "warn" : "good"),
    badge("Odometer rollback", s.rollbacks > 0 ? `${s.rollbacks} reading${s.rollbacks > 1 ? "s" : ""} below the highest` : "none",
      s.rollbacks > 0 ? "bad" : "good"),
    badge("Title brands", brands, s.brands.length ? "bad" : "good"),
    badge("Liens", s.lien.open ? `open, held by ${s.lien.holder}` : "none open", s.lien.open ? "warn" : "good"),
    Object.assign(recallsBadge(openOf(s)), { id: "recalls" }),
    badge("End of life", s.status === "retired" ? `retired at block ${rec ? rec.retired_height : "?"}` : "no, active",
      s.status === "retired" ? "bad" : "good"));
}

function renderVehicle(vin, s, rec, text) {
  const download = el("a", { class: "button", download: `${vin}.report.json`, id: "download" }, "Download the report bundle");
  download.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  const odo = s.odometer_km === null ? "no reading" : `${Number(s.odometer_km).toLocaleString("en")} km`;
  vehicleEl.replaceChildren(
    el("h1", {}, `${s.model_year} ${s.make} ${s.model}`),
    el("p", { class: "vin" }, "VIN ", el("code", {}, vin), ` · latest odometer ${odo} · ${s.event_count} events`),
    badges(s, rec),
    recallList(openOf(s)),
    el("p", {}, download, " ", el("a", { href: "verify.html" }, "verify a downloaded bundle yourself")));
}

// The open recalls of a summary; for a summary that failed verification, only the well-formed
// entries of what the node claims.
function openOf(s) {
  const list = Array.isArray(s.open_recalls) ? s.open_recalls : [];
  return list.filter((o) => o && typeof o.recall === "string" && typeof o.reason === "string" &&
    typeof o.remedy === "string" && Array.isArray(o.path) && o.path.every((p) => typeof p === "string"));
}

const recallLink = (id) => el("a", { href: `recall.html?id=${encodeURIComponent(id)}` }, id);

// The summary's open recalls: computed from the parts state the bundle proves.
function recallsBadge(open) {
  const links = [];
  open.forEach((o, i) => links.push(i ? ", " : "", recallLink(o.recall)));
  const li = badge("Open recalls", "", open.length ? "warn" : "good");
  li.querySelector("strong").replaceChildren(...(open.length ? [`${open.length} open: `, ...links] : ["none open"]));
  return li;
}

// Each open recall with its reason, its remedy and the parts that put it on the vehicle.
function recallList(open) {
  if (!open.length) return null;
  return el("ul", { class: "recalls", id: "recall-list" }, open.map((o) => el("li", {},
    recallLink(o.recall), `: ${o.reason}. Remedy: ${o.remedy}. `,
    o.path.length
      ? ["Recalled part: ", ...o.path.flatMap((serial, i) => [i ? " › " : "",
        el("a", { href: `part.html?serial=${encodeURIComponent(serial)}` }, serial)]), "."]
      : "Named by its VIN range.")));
}

// The readings of the events, replayed by the rules of "Odometer": each {t, km, rollback}.
function readings(events) {
  const out = [];
  let high = 0n;
  for (const e of events) {
    const p = e.payload, t = Number(e.time_ms);
    if (e.tx.type === "odometer" || e.tx.type === "inspection") {
      const rollback = p.km < high;
      if (!rollback) high = p.km;
      out.push({ t, km: Number(p.km), rollback, high: Number(high) });
    } else if (e.tx.type === "cluster_replace") {
      high = p.new_km;
      out.push({ t, km: Number(p.new_km), rollback: false, cluster: true, high: Number(high) });
    }
  }
  return out;
}

// An inline SVG chart of the readings over time, rollbacks marked in red.
function chart(points) {
  if (points.length === 0) return el("p", { class: "note" }, "No odometer readings recorded.");
  const W = 720, H = 260, L = 64, R = 16, T = 16, B = 36;
  // Block times spread over the readings: x is time. Readings recorded in a burst (a
  // devnet's demo loads years of history in a second) are spaced evenly, in order, instead.
  const distinct = new Set(points.map((p) => p.t)).size;
  const byTime = distinct * 2 > points.length;
  points.forEach((p, i) => (p.x = byTime ? p.t : i));
  const t0 = points[0].x, t1 = Math.max(points[points.length - 1].x, t0 + 1);
  const kmMax = Math.max(1, ...points.map((p) => p.km)) * 1.05;
  const x = (t) => L + ((t - t0) / (t1 - t0)) * (W - L - R);
  const y = (km) => T + (1 - km / kmMax) * (H - T - B);
  const grid = [0, 0.5, 1].map((f) => {
    const km = Math.round(kmMax * f / 1.05);
    return [svg("line", { x1: L, x2: W - R, y1: y(km), y2: y(km), class: "grid" }),
      svg("text", { x: L - 6, y: y(km) + 4, "text-anchor": "end", class: "axis" }, `${km.toLocaleString("en")} km`)];
  });
  const first = points[0], last = points[points.length - 1];
  const xLabels = [first, last].map((p, i) => svg("text", { x: x(p.x), y: H - 12, "text-anchor": i ? "end" : "start", class: "axis" },
    new Date(p.t).toISOString().slice(0, 10) + (byTime ? "" : i ? " (last reading)" : " (first reading, evenly spaced in order)")));
  const line = svg("polyline", { class: "reading-line", points: points.map((p) => `${x(p.x).toFixed(1)},${y(p.km).toFixed(1)}`).join(" ") });
  const dots = points.map((p) => svg("circle", {
    cx: x(p.x).toFixed(1), cy: y(p.km).toFixed(1), r: p.rollback ? 6 : 3.5,
    class: p.rollback ? "reading rollback-marker" : "reading", "data-km": p.km,
  }, svg("title", {}, `${new Date(p.t).toISOString().slice(0, 10)}: ${p.km.toLocaleString("en")} km` +
    (p.rollback ? ` — rollback, below the highest reading ${p.high.toLocaleString("en")} km` : ""))));
  const n = points.filter((p) => p.rollback).length;
  return el("figure", { class: "chart" },
    svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `Odometer readings over time; ${n} rollback${n === 1 ? "" : "s"} marked` },
      grid, xLabels, line, dots),
    el("figcaption", { class: "note" }, `${points.length} readings. `,
      n ? el("span", { class: "legend-rollback" }, `● ${n} rollback${n === 1 ? "" : "s"}: a reading below the highest so far`) : "No rollback."));
}

function timeline(lines, events) {
  return lines.map((l, i) => {
    const e = events ? events[i] : null;
    const rollback = /: rollback, below/.test(l.text);
    return el("li", { class: rollback ? "event rollback" : "event" },
      el("div", { class: "when" }, l.time.replace("T", " ").replace("Z", " UTC"), " · ",
        el("a", { href: `block.html?height=${l.height}` }, `block ${l.height}`)),
      el("div", { class: "what" }, el("span", { class: `kind kind-${l.kind}` }, l.kind.replace(/_/g, " ")), " ", l.text),
      el("div", { class: "who" }, "signed by ", el("strong", {}, l.signer), ` (${l.role})`,
        e ? [" · ", el("a", { href: `tx.html?id=${toHex(e.tx.id)}` }, "transaction")] : null));
  }).reverse();
}

async function main() {
  const raw = param("vin");
  let vin;
  try {
    vin = vinParse(raw || "");
  } catch (e) {
    showError(vehicleEl, new Error(`Not a VIN: ${e.message}. Use vehicle.html?vin=<17 characters>.`));
    verifiedEl.remove();
    return;
  }
  document.title = `${vin} — Blokauto`;
  let text, genesisDoc;
  try {
    // The state query answers 200 for an absent key, so an unknown VIN is told without a 404
    // (which the browser would log as an error).
    const known = await getJSON(`/v1/state/vehicle/v/${vin}`);
    if (!known.found) throw Object.assign(new Error("not registered"), { status: 404 });
    [text, genesisDoc] = await Promise.all([getText(`/v1/vehicles/${vin}/report`), getJSON("/v1/genesis")]);
  } catch (e) {
    showError(vehicleEl, e.status === 404 ? new Error(`No vehicle ${vin} is registered on this chain.`) : e);
    verifiedEl.remove();
    return;
  }
  let res;
  try {
    res = await verifyReport(text, loadGenesis(genesisDoc));
  } catch (e) {
    res = { ok: false, check: "format", why: e.message };
  }
  const note = el("p", { class: "note" }, "Checked in this browser against the genesis document this node serves (",
    el("a", { href: "/v1/genesis" }, "/v1/genesis"),
    "): the block's certificate, the record's proof, every event's signature, the hash chain over the events and the parts state the open recalls come from. To trust no node, download the bundle and verify it with your own genesis file on the ",
    el("a", { href: "verify.html" }, "verify page"), ".");
  if (res.ok) {
    verifiedEl.className = "badge good verified";
    verifiedEl.textContent = `Verified, complete as of block ${res.height}`;
    verifiedEl.title = `block ${res.height}, ${utc(res.time_ms)}, ${res.event_count} events`;
    verifiedEl.after(el("p", {}, `Block ${res.height} of ${utc(res.time_ms)} (hash `, el("code", {}, res.hash.slice(0, 16) + "…"), ")."), note);
    const s = toPlain(res.summary);
    renderVehicle(vin, s, res.record, text);
    odoEl.replaceChildren(chart(readings(res.events)));
    timelineEl.replaceChildren(...timeline(s.events, res.events));
    return;
  }
  verifiedEl.className = "badge bad not-verified";
  verifiedEl.textContent = `Not verified: ${res.check}: ${res.why}`;
  verifiedEl.after(note);
  let s = null;
  try {
    s = JSON.parse(text).summary;
  } catch {
    s = null;
  }
  if (s && Array.isArray(s.events) && Array.isArray(s.brands) && s.lien) {
    renderVehicle(vin, s, null, text);
    vehicleEl.prepend(el("p", { class: "error" }, "Unverified: what follows is what the node claims."));
    odoEl.replaceChildren(el("p", { class: "note" }, "The chart is drawn from verified reports only."));
    timelineEl.replaceChildren(...timeline(s.events, null));
  } else {
    vehicleEl.replaceChildren(el("p", { class: "error" }, "The node's report cannot be read."));
  }
}

main().catch((e) => showError(vehicleEl, e));
