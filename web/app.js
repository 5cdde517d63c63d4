// The explorer: chain status, the latest blocks and transactions. It loads the last blocks
// through the API, then follows the chain live on GET /v1/events (Server-Sent Events: one
// `block` event per committed block). When the stream drops, EventSource reconnects by itself
// and the page fills any gap from the API.
"use strict";

import { el, getJSON, mountHeader, short, showError, utc } from "./js/ui.js";

mountHeader();

const BLOCKS_SHOWN = 10;
const TXS_SHOWN = 15;
const statusEl = document.getElementById("status");
const blocksEl = document.getElementById("blocks");
const txsEl = document.getElementById("txs");
const liveEl = document.getElementById("live");

const chain = { status: null, blocks: [] }; // blocks: {height, hash, time_ms, txs}, newest first

function renderStatus() {
  const s = chain.status;
  if (s === null) return;
  const b = chain.blocks;
  let tps = "—";
  if (b.length >= 2) {
    const span = (Number(b[0].time_ms) - Number(b[b.length - 1].time_ms)) / 1000;
    const n = b.slice(0, -1).reduce((k, x) => k + x.txs.length, 0);
    if (span > 0) tps = (n / span).toFixed(2);
  }
  const head = b.length ? b[0] : null;
  statusEl.replaceChildren(el("dl", {},
    el("dt", {}, "chain"), el("dd", {}, s.chain_id),
    el("dt", {}, "height"), el("dd", { id: "height" }, head ? String(head.height) : String(s.height)),
    el("dt", {}, "last block"), el("dd", {}, utc(head ? head.time_ms : s.time_ms)),
    el("dt", {}, "transactions per second"), el("dd", { title: `over the last ${b.length} blocks` }, tps),
    el("dt", {}, "validators"), el("dd", {}, s.validators.map((v) => `${v.name} (${short(v.public_key, 8)})`).join(", ")),
    el("dt", {}, "mempool"), el("dd", {}, `${s.mempool.count} transactions`)));
}

function renderBlocks() {
  blocksEl.replaceChildren(...chain.blocks.map((b) => el("tr", {},
    el("td", {}, el("a", { href: `block.html?height=${b.height}` }, String(b.height))),
    el("td", { class: "hide-narrow" }, utc(b.time_ms)),
    el("td", {}, String(b.txs.length)),
    el("td", { class: "mono" }, short(b.hash, 16)))));
  const txs = [];
  for (const b of chain.blocks) for (const id of b.txs) if (txs.length < TXS_SHOWN) txs.push([id, b.height]);
  txsEl.replaceChildren(...txs.map(([id, h]) => el("tr", {},
    el("td", { class: "mono" }, el("a", { href: `tx.html?id=${id}` }, short(id, 24))),
    el("td", {}, el("a", { href: `block.html?height=${h}` }, String(h))))));
  if (txs.length === 0) txsEl.replaceChildren(el("tr", {}, el("td", { colspan: 2, class: "note" }, "No transactions in the latest blocks.")));
}

function addBlock(b) {
  if (chain.blocks.some((x) => x.height === b.height)) return;
  chain.blocks.push(b);
  chain.blocks.sort((x, y) => y.height - x.height);
  chain.blocks.length = Math.min(chain.blocks.length, BLOCKS_SHOWN);
}

async function loadBlock(h) {
  const b = await getJSON(`/v1/blocks/${h}`);
  return { height: Number(b.height), hash: b.hash, time_ms: b.header.timestamp_ms, txs: b.txs };
}

async function load() {
  chain.status = await getJSON("/v1/status");
  const top = Number(chain.status.height);
  const heights = [];
  for (let h = top; h >= 0 && h > top - BLOCKS_SHOWN; h--) heights.push(h);
  for (const b of await Promise.all(heights.map(loadBlock))) addBlock(b);
  renderStatus();
  renderBlocks();
}

function follow() {
  if (typeof EventSource === "undefined") {
    setInterval(() => load().catch(() => {}), 2000);
    return;
  }
  const es = new EventSource("/v1/events");
  es.addEventListener("open", () => {
    liveEl.textContent = "● live";
    liveEl.className = "live";
  });
  es.addEventListener("error", () => {
    liveEl.textContent = "reconnecting…";
    liveEl.className = "live off";
  });
  es.addEventListener("block", async (ev) => {
    let d;
    try {
      d = JSON.parse(ev.data);
    } catch {
      return;
    }
    const h = Number(d.height);
    const newest = chain.blocks.length ? chain.blocks[0].height : -1;
    // A gap (the stream was down): fill it from the API.
    for (let k = Math.max(newest + 1, h - BLOCKS_SHOWN + 1); k < h; k++) addBlock(await loadBlock(k));
    addBlock({ height: h, hash: d.hash, time_ms: d.time_ms, txs: d.txs });
    chain.status.height = h;
    renderStatus();
    renderBlocks();
  });
  // The mempool count is not in the events: refresh the status now and then.
  setInterval(async () => {
    try {
      chain.status = await getJSON("/v1/status");
      renderStatus();
    } catch {
      // the stream's state shows the node is unreachable
    }
  }, 10000);
}

load().then(follow).catch((e) => showError(statusEl, e));
