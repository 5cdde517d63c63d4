// A block (block.html?height=H, or height=latest): its header, certificate and transactions.
"use strict";

import { el, getJSON, mountHeader, param, showError, utc } from "./ui.js";

mountHeader();

const blockEl = document.getElementById("block");
const txsEl = document.getElementById("block-txs");

async function main() {
  const h = param("height") || "latest";
  if (!/^([0-9]{1,20}|latest)$/.test(h)) throw new Error("height: a block height is required (block.html?height=H)");
  // A height above the head is told from the status, without a 404 the browser would log.
  const head = await getJSON("/v1/status");
  if (h !== "latest" && BigInt(h) > BigInt(head.height)) throw new Error(`No block at height ${h} yet (the head is ${head.height}).`);
  let b;
  try {
    b = await getJSON(`/v1/blocks/${h}`);
  } catch (e) {
    if (e.status === 404) throw new Error(`No block at height ${h} yet.`);
    throw e;
  }
  const x = b.header, height = BigInt(b.height);
  document.title = `Block ${b.height} — Blokauto`;
  const nav = el("p", {},
    height > 0n ? el("a", { href: `block.html?height=${height - 1n}`, rel: "prev" }, "← previous") : null, " ",
    el("a", { href: `block.html?height=${height + 1n}`, rel: "next" }, "next →"));
  const qc = b.qc === null ? "none (genesis)"
    : `${b.qc.signers.length} of ${b.qc.validator_count} validators signed (round ${b.qc.round})`;
  blockEl.replaceChildren(el("h1", {}, `Block ${b.height}`), nav, el("dl", {},
    [["hash", b.hash], ["time", `${utc(x.timestamp_ms)} (${x.timestamp_ms} ms)`], ["transactions", String(x.tx_count)],
      ["parent", height > 0n ? el("a", { href: `block.html?height=${height - 1n}` }, x.parent) : x.parent],
      ["proposer", x.proposer], ["epoch / round", `${x.epoch} / ${x.round}`], ["tx root", x.tx_root],
      ["results root", x.results_root], ["state root", x.state_root], ["validators hash", x.validators_hash],
      ["certificate", qc], ["chain", x.chain_id]]
      .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])));
  txsEl.replaceChildren(...b.txs.map((id) => el("li", {}, el("a", { href: `tx.html?id=${id}` }, id))));
  if (b.txs.length === 0) txsEl.replaceChildren(el("li", { class: "note" }, "No transactions."));
}

main().catch((e) => showError(blockEl, e));
