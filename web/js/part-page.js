// A part (part.html?serial=SERIAL): its batch, where it is (the chain of parts up to a vehicle),
// its flags (clone, not genuine, a reading out of limits), its holder, and its history: the
// part's own events, then its batch's (GET /v1/parts/{serial}[/history]).
"use strict";

import { el, getJSON, mountHeader, param, short, showError, utc } from "./ui.js";

mountHeader();

const partEl = document.getElementById("part");
const listTitle = document.getElementById("list-title");
const listEl = document.getElementById("list");
const SERIAL = /^[A-Za-z0-9._:/-]{1,64}$/;

function flagBadges(flags) {
  const names = { clone: "Clone: reported in two vehicles", not_genuine: "Not genuine", out_of_limits: "Reading out of limits" };
  const on = Object.keys(names).filter((k) => flags && flags[k]);
  if (on.length === 0) return el("ul", { class: "badges" }, el("li", { class: "badge good" }, "No flags"));
  return el("ul", { class: "badges", id: "flags" }, on.map((k) => el("li", { class: "badge bad" }, names[k])));
}

function whereIs(w) {
  if (!w || !Array.isArray(w.path) || w.path.length === 0) return "not installed";
  const chain = [];
  w.path.forEach((s, i) => {
    if (i > 0) chain.push(" in ");
    chain.push(i === 0 ? el("strong", {}, s) : el("a", { href: `part.html?serial=${encodeURIComponent(s)}` }, s));
  });
  if (w.vin) chain.push(" in vehicle ", el("a", { href: `vehicle.html?vin=${w.vin}`, id: "part-vehicle" }, w.vin));
  return el("span", {}, chain);
}

function history(events) {
  if (events.length === 0) return el("p", { class: "note" }, "No events.");
  return el("table", {},
    el("thead", {}, el("tr", {}, ["time", "block", "event", "detail", "transaction"].map((h) => el("th", {}, h)))),
    el("tbody", {}, events.map((e) => el("tr", {},
      el("td", {}, utc(e.time_ms)),
      el("td", {}, el("a", { href: `block.html?height=${e.height}` }, String(e.height))),
      el("td", {}, e.kind),
      el("td", {}, e.detail || ""),
      el("td", {}, el("a", { href: `tx.html?id=${e.tx_id}` }, short(e.tx_id)))))));
}

async function main() {
  const serial = param("serial") || "";
  if (!SERIAL.test(serial)) throw new Error("serial: 1..64 characters of A-Z a-z 0-9 . _ : / - (part.html?serial=SERIAL)");
  let p;
  try {
    p = await getJSON(`/v1/parts/${serial}`);
  } catch (e) {
    if (e.status === 404) throw new Error(`No part ${serial} is registered on this chain.`);
    throw e;
  }
  document.title = `Part ${serial} — Blokauto`;
  partEl.replaceChildren(el("h1", {}, `Part ${serial}`), flagBadges(p.flags), el("dl", {},
    [["batch", p.batch], ["where", whereIs(p.where)], ["holder", p.holder ? short(p.holder, 16) : "travels with its batch"]]
      .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  const h = await getJSON(`/v1/parts/${serial}/history?limit=100`);
  listTitle.textContent = "History";
  listEl.replaceChildren(history(h.events || []),
    h.next_cursor ? el("p", { class: "note" }, "Showing the first 100 events.") : "");
}

main().catch((e) => showError(partEl, e));
