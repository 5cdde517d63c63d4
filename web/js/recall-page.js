// A recall (recall.html?id=ID): what it covers and the remedy, its counts, and its reach: every
// affected vehicle with the chain of parts that puts it there, its owner key and whether the
// remedy was recorded (GET /v1/recalls/{id}, a page at a time).
"use strict";

import { el, getJSON, mountHeader, param, short, showError } from "./ui.js";

mountHeader();

const recallEl = document.getElementById("recall");
const listTitle = document.getElementById("list-title");
const listEl = document.getElementById("list");
const ID = /^[A-Za-z0-9._:/-]{1,64}$/;

function reachRows(vehicles) {
  return vehicles.map((v) => el("tr", {},
    el("td", {}, el("a", { href: `vehicle.html?vin=${v.vin}` }, v.vin)),
    el("td", {}, Array.isArray(v.path) && v.path.length ? v.path.join(" in ") : "(by VIN)"),
    el("td", {}, v.owner ? short(v.owner, 16) : ""),
    el("td", { class: v.remedy === "done" ? "" : "error" }, v.remedy === "done" ? `remedied (block ${v.remedy_height})` : "open")));
}

async function main() {
  const id = param("id") || "";
  if (!ID.test(id)) throw new Error("id: 1..64 characters of A-Z a-z 0-9 . _ : / - (recall.html?id=ID)");
  let r;
  try {
    r = await getJSON(`/v1/recalls/${id}?limit=100`);
  } catch (e) {
    if (e.status === 404) throw new Error(`No recall ${id} was issued on this chain.`);
    throw e;
  }
  document.title = `Recall ${id} — Blokauto`;
  const rec = r.recall || {};
  const c = r.counts || { reached: "?", remedied: "?", open: "?" };
  recallEl.replaceChildren(el("h1", {}, `Recall ${id}`),
    el("ul", { class: "badges", id: "counts" },
      el("li", { class: "badge neutral" }, `${c.reached} reached`),
      el("li", { class: "badge good" }, `${c.remedied} remedied`),
      el("li", { class: `badge ${c.open > 0 ? "bad" : "good"}` }, `${c.open} open`)),
    el("dl", {}, [["reason", rec.reason], ["remedy", rec.remedy], ["issued by", rec.issued_by],
      ["at block", rec.height !== undefined ? el("a", { href: `block.html?height=${rec.height}` }, String(rec.height)) : ""]]
      .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v === undefined || v === null ? "" : v)])),
    el("details", {}, el("summary", {}, "Scope"), el("pre", {}, JSON.stringify(rec, null, 2))));
  listTitle.textContent = "Reach";
  const body = el("tbody", {}, reachRows(r.vehicles || []));
  const table = el("table", { id: "reach" },
    el("thead", {}, el("tr", {}, ["vehicle", "path of parts", "owner", "remedy"].map((h) => el("th", {}, h)))), body);
  const more = el("button", { type: "button" }, "More");
  // A cursor can remain when the last page was exactly full; the count tells whether more exist.
  const total = typeof c.reached === "number" ? c.reached : Infinity;
  let cursor = r.next_cursor;
  const update = () => (more.hidden = !cursor || body.rows.length >= total);
  update();
  more.addEventListener("click", async () => {
    const page = await getJSON(`/v1/recalls/${id}?limit=100&cursor=${cursor}`);
    body.append(...reachRows(page.vehicles || []));
    cursor = page.next_cursor;
    update();
  });
  listEl.replaceChildren(table, more);
}

main().catch((e) => showError(recallEl, e));
