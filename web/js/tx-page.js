// A transaction (tx.html?id=ID): where it is (block, position), its result, its sender and its
// payload; a vehicle transaction links to its vehicle's page.
"use strict";

import { el, getJSON, mountHeader, param, showError } from "./ui.js";

mountHeader();

const txEl = document.getElementById("tx");
const payloadEl = document.getElementById("payload");

async function main() {
  const id = (param("id") || "").toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(id)) throw new Error("id: 64 hex digits are required (tx.html?id=ID)");
  let t;
  try {
    t = await getJSON(`/v1/tx/${id}`);
  } catch (e) {
    if (e.status === 404) throw new Error(`No transaction ${id} is known to this node.`);
    throw e;
  }
  document.title = `Transaction ${id.slice(0, 12)}… — Blokauto`;
  if (t.status !== "committed") {
    txEl.replaceChildren(el("h1", {}, "Transaction"), el("dl", {},
      el("dt", {}, "id"), el("dd", {}, id), el("dt", {}, "status"), el("dd", {}, t.status),
      t.result ? [el("dt", {}, "result"), el("dd", {}, `${t.result.code}: ${t.result.message}`)] : null));
    return;
  }
  const tx = t.tx;
  const vin = tx.module === "vehicle" && tx.payload && typeof tx.payload.vin === "string" ? tx.payload.vin : null;
  const ok = t.result.code === "BLOK_OK";
  txEl.replaceChildren(el("h1", {}, `${tx.module}/${tx.type}`), el("dl", {},
    [["id", el("span", { id: "tx-id" }, id)], ["status", "committed"],
      ["block", el("a", { href: `block.html?height=${t.height}`, id: "tx-block" }, String(t.height))],
      ["position", String(t.position)],
      ["result", el("span", { class: ok ? "" : "error" }, ok ? "applied" : `refused: ${t.result.code}: ${t.result.message}`)],
      ["sender", tx.sender], ["nonce", String(tx.nonce)], ["expires after block", String(tx.expiry_height)],
      vin ? ["vehicle", el("a", { href: `vehicle.html?vin=${vin}`, id: "tx-vehicle" }, vin)] : null]
      .filter(Boolean).map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  payloadEl.textContent = tx.payload !== null ? JSON.stringify(tx.payload, null, 2) : `hex: ${tx.payload_hex}`;
}

main().catch((e) => showError(txEl, e));
