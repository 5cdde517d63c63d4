// Chain status and the latest blocks, read from the node's API every two seconds.
const statusEl = document.getElementById("status");
const blocksEl = document.getElementById("blocks");

async function getJSON(path) {
  const r = await fetch(path);
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

function row(cells) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement("td");
    td.textContent = c;
    tr.appendChild(td);
  }
  return tr;
}

function definitions(pairs) {
  const frag = document.createDocumentFragment();
  for (const [k, v] of pairs) {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = v;
    frag.append(dt, dd);
  }
  return frag;
}

async function refresh() {
  try {
    const s = await getJSON("/v1/status");
    statusEl.replaceChildren(definitions([
      ["chain", s.chain_id],
      ["height", s.height],
      ["head", s.head_hash.slice(0, 16) + "…"],
      ["state root", s.state_root.slice(0, 16) + "…"],
      ["validators", s.validators.map((v) => v.name).join(", ")],
      ["mempool", `${s.mempool.count} transactions`],
    ]));
    const rows = [];
    for (let h = s.height; h >= 0 && h > s.height - 10; h--) {
      const b = await getJSON(`/v1/blocks/${h}`);
      const t = new Date(Number(b.header.timestamp_ms)).toISOString().replace("T", " ").slice(0, 19);
      rows.push(row([b.height, t, b.txs.length, b.hash.slice(0, 16) + "…"]));
    }
    blocksEl.replaceChildren(...rows);
  } catch (e) {
    statusEl.replaceChildren(definitions([["error", e.message]]));
  }
}

refresh();
setInterval(refresh, 2000);
