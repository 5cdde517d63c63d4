// The verify page: a report bundle and a genesis file, opened or dropped, verified offline in
// the browser with the checks of `blokauto verify` (js/verify.js). Which file is which is told
// by its content when dropped together: a bundle has "format", a genesis "validators".
"use strict";

import { toPlain } from "./json.js";
import { el, getJSON, mountHeader, utc } from "./ui.js";
import { loadGenesis, verifyReport } from "./verify.js";

mountHeader();

const resultEl = document.getElementById("result");
const detailsEl = document.getElementById("details");
const genesisNameEl = document.getElementById("genesis-name");
const state = { report: null, reportName: "", genesis: null };

function setResult(cls, text) {
  resultEl.className = `badge ${cls}`;
  resultEl.textContent = text;
}

async function run() {
  detailsEl.replaceChildren();
  if (state.report === null || state.genesis === null) {
    setResult("pending", state.report === null ? "Waiting for a report bundle." : "Waiting for a genesis file.");
    return;
  }
  setResult("pending", "Verifying…");
  const res = await verifyReport(state.report, state.genesis);
  if (!res.ok) {
    setResult("bad not-verified", `NOT VERIFIED: ${res.check}: ${res.why}`);
    detailsEl.append(el("p", { class: "note" }, `The first check that failed is "${res.check}" (${res.code}). Nothing in this bundle can be trusted.`));
    return;
  }
  setResult("good verified", `VERIFIED: ${res.vin} complete as of block ${res.height}, time ${utc(res.time_ms)}`);
  const s = toPlain(res.summary);
  detailsEl.append(
    el("h3", {}, `${s.model_year} ${s.make} ${s.model}`),
    el("ul", { class: "badges" },
      [["Owners", s.owners], ["Accidents", s.accidents], ["Odometer rollbacks", s.rollbacks],
        ["Title brands", s.brands.length ? s.brands.join(", ") : "none"],
        ["Lien", s.lien.open ? `open, ${s.lien.holder}` : "none open"], ["Status", s.status],
        ["Open recalls", s.open_recalls.length ? s.open_recalls.map((o) => o.recall).join(", ") : "none"],
        ["Events", s.event_count]].map(([k, v]) => el("li", { class: "badge neutral" }, el("span", { class: "label" }, k), " ", el("strong", {}, String(v))))),
    s.open_recalls.length ? el("ul", { class: "recalls", id: "recall-list" }, s.open_recalls.map((o) => el("li", {},
      el("strong", {}, o.recall), `: ${o.reason}. Remedy: ${o.remedy}. `,
      o.path.length ? `Recalled part: ${o.path.join(" › ")}.` : "Named by its VIN range."))) : "",
    el("ol", { class: "timeline" }, s.events.map((l) => el("li", { class: /rollback, below/.test(l.text) ? "event rollback" : "event" },
      el("div", { class: "when" }, `${l.time} · block ${l.height}`),
      el("div", { class: "what" }, el("span", { class: "kind" }, l.kind.replace(/_/g, " ")), " ", l.text),
      el("div", { class: "who" }, `signed by ${l.signer} (${l.role})`)))));
}

function setGenesis(doc, name) {
  try {
    state.genesis = loadGenesis(doc);
    genesisNameEl.textContent = `Genesis: ${name} (chain ${state.genesis.chain_id}, ${state.genesis.validators.length} validator${state.genesis.validators.length === 1 ? "" : "s"}).`;
  } catch (e) {
    state.genesis = null;
    genesisNameEl.textContent = `${name}: ${e.message}`;
  }
}

// The limits of `blokauto verify` (a bundle) and of a node (a genesis document).
const REPORT_BYTES_MAX = 64 * 1024 * 1024;
const GENESIS_BYTES_MAX = 1024 * 1024;

async function takeFile(file, kind) {
  const max = kind === "genesis" ? GENESIS_BYTES_MAX : REPORT_BYTES_MAX;
  if (file.size > max) {
    setResult("bad", `${file.name}: ${file.size} bytes, more than the ${max} a ${kind === "genesis" ? "genesis file" : "report"} may have.`);
    return false;
  }
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (kind === undefined) {
    // Dropped: tell by content.
    let doc = null;
    try {
      doc = JSON.parse(new TextDecoder().decode(bytes));
    } catch {
      doc = null;
    }
    kind = doc && typeof doc === "object" && "validators" in doc && !("format" in doc) ? "genesis" : "report";
  }
  if (kind === "genesis" && bytes.length > GENESIS_BYTES_MAX) {
    setResult("bad", `${file.name}: a genesis file has at most ${GENESIS_BYTES_MAX} bytes.`);
    return false;
  }
  if (kind === "genesis") setGenesis(new TextDecoder().decode(bytes), file.name);
  else {
    state.report = bytes;
    state.reportName = file.name;
  }
  return true;
}

document.getElementById("report").addEventListener("change", async (ev) => {
  if (ev.target.files.length && (await takeFile(ev.target.files[0], "report"))) await run();
});
document.getElementById("genesis").addEventListener("change", async (ev) => {
  if (ev.target.files.length && (await takeFile(ev.target.files[0], "genesis"))) await run();
});
document.getElementById("use-node-genesis").addEventListener("click", async () => {
  try {
    setGenesis(await getJSON("/v1/genesis"), "this node's /v1/genesis");
  } catch (e) {
    genesisNameEl.textContent = `Cannot read this node's genesis: ${e.message}`;
  }
  await run();
});

const drop = document.getElementById("drop");
for (const t of ["dragenter", "dragover"])
  document.addEventListener(t, (ev) => {
    ev.preventDefault();
    drop.classList.add("over");
  });
document.addEventListener("dragleave", () => drop.classList.remove("over"));
document.addEventListener("drop", async (ev) => {
  ev.preventDefault();
  drop.classList.remove("over");
  let ok = true;
  for (const f of ev.dataTransfer.files) ok = (await takeFile(f)) && ok;
  if (ok) await run();
});
