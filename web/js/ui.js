// What every page shares: reading the node's API, building elements without innerHTML (text
// from the chain is never parsed as HTML), the header with its search box, and formatting.
"use strict";

export class HttpError extends Error {
  constructor(path, status, body) {
    const msg = body && body.error ? body.error.message : `HTTP ${status}`;
    super(`${path}: ${msg}`);
    this.status = status;
    this.code = body && body.error ? body.error.code : null;
  }
}

// GET a JSON document from the node; throws HttpError on a status other than 200.
export async function getJSON(path) {
  const r = await fetch(path, { headers: { Accept: "application/json" } });
  let body = null;
  try {
    body = await r.json();
  } catch {
    body = null;
  }
  if (!r.ok) throw new HttpError(path, r.status, body);
  return body;
}

// GET a document as text (a report bundle is verified from its exact text).
export async function getText(path) {
  const r = await fetch(path);
  const text = await r.text();
  if (!r.ok) {
    let body = null;
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
    throw new HttpError(path, r.status, body);
  }
  return text;
}

// el("a", {href: "x", class: "y"}, "text", child...): attributes set as attributes, children
// appended (strings as text nodes).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElementNS(
    tag === "svg" || attrs.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "svg" || v === undefined || v === null || v === false) continue;
    e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

export function svg(tag, attrs = {}, ...children) {
  return el(tag, { ...attrs, svg: true }, ...children);
}

export function short(hex, n = 12) {
  return typeof hex === "string" && hex.length > n ? hex.slice(0, n) + "…" : String(hex);
}

// UTC time to the second from milliseconds (a Number or BigInt).
export function utc(ms) {
  const n = Number(ms);
  if (!Number.isFinite(n) || Math.abs(n) > 8.64e15) return String(ms);
  return new Date(n).toISOString().replace("T", " ").slice(0, 19) + " UTC";
}

// Where a search goes: a block height, a transaction id, a VIN, or else a part serial.
export function searchTarget(q) {
  const s = q.trim();
  if (/^[0-9]{1,20}$/.test(s)) return `block.html?height=${s}`;
  if (/^[0-9a-fA-F]{64}$/.test(s)) return `tx.html?id=${s.toLowerCase()}`;
  if (/^[0-9A-HJ-NPR-Za-hj-npr-z]{17}$/.test(s)) return `vehicle.html?vin=${s.toUpperCase()}`;
  if (/^[A-Za-z0-9._:/-]{1,64}$/.test(s)) return `part.html?serial=${encodeURIComponent(s)}`;
  return null;
}

// The page header: the name, the navigation and the search box.
export function mountHeader() {
  const form = el("form", { class: "search", role: "search" },
    el("label", { for: "q", class: "visually-hidden" }, "Search"),
    el("input", { id: "q", name: "q", type: "search", autocomplete: "off", spellcheck: "false",
      placeholder: "VIN, transaction id, block height or part serial" }),
    el("button", { type: "submit" }, "Search"));
  const msg = el("p", { class: "search-msg", role: "status" });
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const target = searchTarget(form.q.value);
    if (target === null) {
      msg.textContent = "Enter a 17-character VIN, a 64-digit transaction id, a block height or a part serial.";
      return;
    }
    location.href = target;
  });
  const header = el("header", { class: "top" },
    el("a", { href: "./", class: "brand" }, "Blokauto"),
    el("nav", {}, el("a", { href: "./" }, "Explorer"), el("a", { href: "verify.html" }, "Verify a report")),
    form, msg);
  document.body.prepend(header);
}

// A definition list from [term, value] pairs; a value may be a Node.
export function definitions(pairs) {
  return el("dl", {}, pairs.map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

export function showError(where, e) {
  where.replaceChildren(el("p", { class: "error", role: "alert" }, e instanceof Error ? e.message : String(e)));
}

export function param(name) {
  return new URLSearchParams(location.search).get(name);
}
