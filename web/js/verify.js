// Verifying a report bundle in the browser (docs/PROTOCOL.md, "Report bundle"): the same eight
// checks as `blokauto verify` (src/report/verify.c), in the same order, stopping at the first
// that fails and naming it, and the same summary (src/report/summary.c) computed again and
// compared. The open recalls are walked again from the bundle's proven parts state exactly as
// src/modules/parts_recalls.c walks them on a node. It trusts nothing but the genesis document it is given. SHA-256 and Ed25519 are
// WebCrypto's, Ed25519 behind the pinned encoding rules of ed25519.js.
"use strict";

import {
  BlokError, BRANDS, PARTS, Reader, bytesEqual, chainIdValid, concat, decodeBatchRecord,
  decodeHeader, decodeInstalled, decodeProof, decodeQc, decodeRecallList, decodeRecallRecord,
  decodeRecord, decodeTx, decodeVehiclePayload, encText, fromHex, fromHexLower, splitSerial, toHex,
  u32le, u64le, utf8Decode, utf8Encode, vinParse, voteBytes, LIMITS,
} from "./codec.js";
import { checkPk, sha256, verifyDomain } from "./ed25519.js";
import { JInt, equal, parse } from "./json.js";

export const CHECKS = ["format", "header", "certificate", "record", "events", "chain", "recalls",
  "summary"];
export const REPORT_FORMAT = "blokauto-report/v2";
const REPORT_STATE_MAX = 4096;
const STATE_KEY_MAX = 256;
const STATE_VALUE_MAX = 65536;
const REPORT_BYTES_MAX = 64 * 1024 * 1024;
const REPORT_EVENTS_MAX = 100000;
const QC_ENCODED_MAX = 8 * 3 + 32 + 2 + 256 / 8 + 4 + 256 * 64;
const PROOF_ENCODED_MAX = 1 + 64 + 4 + 32 * 256;
const RECORD_ENCODED_MAX = 1024;
const ROLES = ["manufacturer", "supplier", "dealer", "service", "insurer", "registry", "lender",
  "fleet", "energy", "recycler", "auditor"];

class CheckFailed extends Error {
  constructor(check, code, why) {
    super(why);
    this.check = check;
    this.code = code;
  }
}

const failAt = (check) => (code, why) => new CheckFailed(check, code, why);

// --- the genesis document -------------------------------------------------------------------

// The parts of a genesis document the verifier needs: chain id, validator keys, member keys
// with names and first roles. Throws BlokError on a document that is not a genesis.
export function loadGenesis(doc) {
  if (typeof doc === "string") {
    try {
      doc = JSON.parse(doc);
    } catch (e) {
      throw new BlokError("BLOK_EFORMAT", `genesis: not json: ${e.message}`);
    }
  }
  const bad = (why) => new BlokError("BLOK_EFORMAT", `genesis: ${why}`);
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad("an object is required");
  if (!chainIdValid(doc.chain_id)) throw bad("chain_id is missing or outside [a-z0-9._-]");
  if (!Array.isArray(doc.validators) || doc.validators.length < 1 || doc.validators.length > 256)
    throw bad("validators: 1 to 256 are required");
  const hexKey = (s, where) => {
    if (typeof s !== "string" || !/^[0-9a-fA-F]{64}$/.test(s)) throw bad(`${where}: 64 hex digits are required`);
    const k = fromHex(s);
    if (!checkPk(k)) throw bad(`${where}: not a valid ed25519 public key`);
    return k;
  };
  const validators = doc.validators.map((v, i) => hexKey(v && v.public_key, `validators[${i}].public_key`));
  const members = new Map();
  const list = doc.consortium && Array.isArray(doc.consortium.members) ? doc.consortium.members : [];
  list.forEach((m, i) => {
    if (!m || typeof m.name !== "string") throw bad(`consortium.members[${i}].name is required`);
    let best = ROLES.length;
    for (const r of Array.isArray(m.roles) ? m.roles : []) {
      const k = ROLES.indexOf(r);
      if (k >= 0 && k < best) best = k;
    }
    const role = best < ROLES.length ? ROLES[best] : "member";
    (Array.isArray(m.keys) ? m.keys : []).forEach((k, j) => {
      const key = hexKey(k, `consortium.members[${i}].keys[${j}]`);
      members.set(toHex(key), { name: m.name, role });
    });
  });
  return { chain_id: doc.chain_id, validators, members, doc };
}

// --- 1. format ------------------------------------------------------------------------------

const F = failAt("format");

function exactFields(o, where, names) {
  if (!(o instanceof Map)) throw F("BLOK_EFORMAT", `${where}: an object is required`);
  for (const k of o.keys())
    if (!names.includes(k)) throw F("BLOK_EFORMAT", `${where}: unknown field ${k.slice(0, 64)}`);
  for (const n of names) if (!o.has(n)) throw F("BLOK_EFORMAT", `${where}: field ${n} is missing`);
}

// A u64: a JSON integer at least 0, or (above 2^63 - 1 only) a string of its decimal digits.
function getU64(o, field, where) {
  const j = o.get(field);
  if (j instanceof JInt && j.int >= 0n) return j.int;
  if (typeof j === "string" && /^[1-9][0-9]{0,19}$/.test(j)) {
    const x = BigInt(j);
    if (x > (1n << 63n) - 1n && x < 1n << 64n) return x;
  }
  throw F("BLOK_EFORMAT", `${where}.${field}: a whole number from 0 to 2^64 - 1 is required`);
}

function getHex(o, field, where, max) {
  const s = o.get(field);
  if (typeof s !== "string") throw F("BLOK_EFORMAT", `${where}.${field}: a string is required`);
  if (s.length % 2 !== 0 || s.length / 2 > max)
    throw F(s.length % 2 ? "BLOK_EHEX" : "BLOK_ETOOLONG",
      `${where}.${field}: an even number of hex digits, at most ${max} bytes, is required`);
  try {
    return fromHexLower(s);
  } catch (e) {
    throw F(e.code, `${where}.${field}: ${e.message}`);
  }
}

function checkFormat(v) {
  const b = v.b;
  exactFields(b, "bundle", ["format", "chain_id", "vin", "block", "record", "proof", "events", "recalls",
    "summary"]);
  if (b.get("format") !== REPORT_FORMAT)
    throw F("BLOK_EFORMAT", `format: not a ${REPORT_FORMAT} bundle (or an unsupported version)`);
  if (typeof b.get("chain_id") !== "string") throw F("BLOK_EFORMAT", "chain_id: a string is required");
  if (!(b.get("summary") instanceof Map)) throw F("BLOK_EFORMAT", "summary: an object is required");
  const vin = b.get("vin");
  let ok = false;
  try {
    ok = typeof vin === "string" && vinParse(vin) === vin;
  } catch {
    ok = false;
  }
  if (!ok) throw F("BLOK_EVIN", "vin: a valid vin of 17 upper-case characters is required");
  v.vin = vin;
  const blk = b.get("block");
  exactFields(blk, "block", ["height", "time_ms", "hash", "header", "qc"]);
  v.height = getU64(blk, "height", "block");
  v.time_ms = getU64(blk, "time_ms", "block");
  v.hash = getHex(blk, "hash", "block", 32);
  if (v.hash.length !== 32) throw F("BLOK_EHEX", "block.hash: 64 hex digits are required");
  v.header = getHex(blk, "header", "block", LIMITS.HEADER_ENCODED_MAX);
  v.qc = getHex(blk, "qc", "block", QC_ENCODED_MAX);
  v.record = getHex(b, "record", "bundle", RECORD_ENCODED_MAX);
  v.proof = getHex(b, "proof", "bundle", PROOF_ENCODED_MAX);
  const list = b.get("events");
  if (!Array.isArray(list)) throw F("BLOK_EFORMAT", "events: an array is required");
  if (list.length > REPORT_EVENTS_MAX)
    throw F("BLOK_ETOOLONG", `events: ${list.length} events; a report holds at most ${REPORT_EVENTS_MAX}`);
  v.ev = list.map((e, i) => {
    const where = `events[${i}]`;
    exactFields(e, where, ["height", "time_ms", "tx"]);
    return {
      height: getU64(e, "height", where),
      time_ms: getU64(e, "time_ms", where),
      txBytes: getHex(e, "tx", where, LIMITS.TX_ENCODED_MAX),
    };
  });
  const st = b.get("recalls");
  if (!Array.isArray(st)) throw F("BLOK_EFORMAT", "recalls: an array is required");
  if (st.length > REPORT_STATE_MAX)
    throw F("BLOK_ETOOLONG", `recalls: ${st.length} state values; a report holds at most ${REPORT_STATE_MAX}`);
  v.st = st.map((e, i) => {
    const where = `recalls[${i}]`;
    exactFields(e, where, ["key", "value", "proof"]);
    const key = getHex(e, "key", where, STATE_KEY_MAX);
    if (key.length === 0) throw F("BLOK_EFORMAT", `${where}.key: a key of 1 to ${STATE_KEY_MAX} bytes is required`);
    const value = e.get("value") === null ? null : getHex(e, "value", where, STATE_VALUE_MAX);
    return { key, value, proof: getHex(e, "proof", where, PROOF_ENCODED_MAX) };
  });
}

// --- 2. header, 3. certificate, 4. record ---------------------------------------------------

async function checkHeader(v) {
  const H = failAt("header");
  try {
    const r = new Reader(v.header);
    v.h = decodeHeader(r);
    r.end();
  } catch (e) {
    if (!(e instanceof BlokError)) throw e;
    throw H(e.code, `block.header: does not decode: ${e.message}`);
  }
  const g = v.g;
  if (v.h.chain_id !== g.chain_id)
    throw H("BLOK_EBADTAG", `the block is of chain ${v.h.chain_id}, the genesis of chain ${g.chain_id}`);
  if (v.b.get("chain_id") !== g.chain_id)
    throw H("BLOK_EBADTAG", `chain_id: the bundle names another chain than the genesis, ${g.chain_id}`);
  if (!bytesEqual(await sha256(v.header), v.hash))
    throw H("BLOK_EBADPROOF", "block.hash is not the hash of block.header");
  if (v.h.height !== v.height || v.h.timestamp_ms !== v.time_ms)
    throw H("BLOK_EBADPROOF",
      `block.height and block.time_ms must be the header's, ${v.h.height} and ${v.h.timestamp_ms}`);
}

function quorum(n) {
  return Math.floor((n * 2) / 3) + 1;
}

async function checkCertificate(v) {
  const C = failAt("certificate");
  let qc;
  try {
    const r = new Reader(v.qc);
    qc = decodeQc(r);
    r.end();
  } catch (e) {
    if (!(e instanceof BlokError)) throw e;
    throw C(e.code, `block.qc: does not decode: ${e.message}`);
  }
  if (!bytesEqual(qc.vote.block_hash, v.hash) || qc.vote.height !== v.h.height ||
      qc.vote.epoch !== v.h.epoch || qc.vote.round !== v.h.round)
    throw C("BLOK_EBADPROOF", "the certificate is for another block than block.header");
  const vals = v.g.validators;
  const vh = await sha256(concat(new Uint8Array([vals.length & 255, vals.length >> 8, 0, 0]), ...vals));
  if (!bytesEqual(vh, v.h.validators_hash))
    throw C("BLOK_EBADPROOF", "the block was made by another validator set than the genesis names");
  const notVerify = (code) => C(code,
    `the certificate does not verify against the genesis validators: ${code === "BLOK_EBADPROOF" ? "bad proof" : "bad signature"}`);
  const n = vals.length;
  if (qc.validator_count !== n) throw notVerify("BLOK_EBADPROOF");
  const signed = [];
  for (let i = 0; i < qc.signers.length * 8; i++)
    if (qc.signers[i >> 3] & (1 << (i & 7))) {
      if (i >= n) throw notVerify("BLOK_EBADPROOF");
      signed.push(i);
    }
  if (signed.length !== qc.sigs.length || signed.length < quorum(n)) throw notVerify("BLOK_EBADPROOF");
  const m = voteBytes(qc.vote);
  for (let k = 0; k < signed.length; k++) {
    try {
      await verifyDomain(qc.sigs[k], vals[signed[k]], "blokauto/vote/v1", v.g.chain_id, m);
    } catch (e) {
      if (!(e instanceof BlokError)) throw e;
      throw notVerify(e.code);
    }
  }
}

// SMT hashes (docs/PROTOCOL.md, "State tree").
async function leafHash(key, valueHash) {
  return sha256(concat(new Uint8Array([2]), key, valueHash));
}

async function nodeHash(l, r) {
  return sha256(concat(new Uint8Array([3]), l, r));
}

function keyBit(key, i) {
  return (key[i >> 3] >> (7 - (i & 7))) & 1;
}

// blok_smt_verify for an inclusion proof.
async function smtVerifyIncluded(root, key, valueHash, p) {
  if (p.end !== 2 || !bytesEqual(p.leaf_key, key) || !bytesEqual(p.leaf_value_hash, valueHash)) return false;
  let h = await leafHash(p.leaf_key, p.leaf_value_hash);
  for (let i = p.siblings.length - 1; i >= 0; i--)
    h = keyBit(key, i) ? await nodeHash(p.siblings[i], h) : await nodeHash(h, p.siblings[i]);
  return bytesEqual(h, root);
}

// blok_smt_verify: valueHash null for a proof that the key is absent.
async function smtVerify(root, key, valueHash, p) {
  let h;
  if (p.end === 0) {
    if (valueHash !== null) return false;
    h = new Uint8Array(32);
  } else {
    const same = bytesEqual(p.leaf_key, key);
    if (valueHash !== null && (!same || !bytesEqual(p.leaf_value_hash, valueHash))) return false;
    if (valueHash === null) {
      if (same) return false;
      for (let i = 0; i < p.siblings.length; i++) if (keyBit(p.leaf_key, i) !== keyBit(key, i)) return false;
    }
    h = await leafHash(p.leaf_key, p.leaf_value_hash);
  }
  for (let i = p.siblings.length - 1; i >= 0; i--)
    h = keyBit(key, i) ? await nodeHash(p.siblings[i], h) : await nodeHash(h, p.siblings[i]);
  return bytesEqual(h, root);
}

// The tree key of a module's key: SHA-256(text<32>(module) || bytes<256>(key)).
async function treeKey(module, key) {
  return sha256(concat(encText(module), u32le(key.length), key));
}

async function checkRecord(v) {
  const R = failAt("record");
  let p;
  try {
    const r = new Reader(v.proof);
    p = decodeProof(r);
    r.end();
  } catch (e) {
    if (!(e instanceof BlokError)) throw e;
    throw R(e.code, `proof: does not decode: ${e.message}`);
  }
  try {
    v.rec = decodeRecord(v.record);
  } catch (e) {
    if (!(e instanceof BlokError)) throw e;
    throw R(e.code, `record: does not decode: ${e.message}`);
  }
  if (v.rec.vin !== v.vin) throw R("BLOK_EBADPROOF", `record: it is the record of vin ${v.rec.vin}`);
  // tree key = SHA-256(text<32>("vehicle") || bytes<256>("v/" || vin))
  const key = utf8Encode("v/" + v.vin);
  const tk = await sha256(concat(encText("vehicle"), new Uint8Array([key.length, 0, 0, 0]), key));
  if (!(await smtVerifyIncluded(v.h.state_root, tk, await sha256(v.record), p)))
    throw R("BLOK_EBADPROOF", `the proof does not show this record in the state of block ${v.h.height}`);
}

// --- 5. events, 6. chain --------------------------------------------------------------------

async function checkEvents(v) {
  const E = failAt("events");
  v.events = [];
  for (let i = 0; i < v.ev.length; i++) {
    let tx;
    try {
      tx = decodeTx(v.ev[i].txBytes);
    } catch (e) {
      if (!(e instanceof BlokError)) throw e;
      throw E(e.code, `events[${i}]: the transaction does not decode: ${e.message}`);
    }
    if (tx.chain_id !== v.g.chain_id || tx.module !== "vehicle" ||
        !Object.prototype.hasOwnProperty.call(PAYLOAD_KINDS, tx.type))
      throw E("BLOK_EFORMAT", `events[${i}]: not a vehicle transaction of this chain`);
    let payload;
    try {
      payload = decodeVehiclePayload(tx.type, tx.payload, checkPk);
    } catch (e) {
      if (!(e instanceof BlokError)) throw e;
      throw E(e.code, `events[${i}]: payload: ${e.message}`);
    }
    if (payload.vin !== v.vin) throw E("BLOK_EFORMAT", `events[${i}]: the transaction is about another vin`);
    try {
      await verifyDomain(tx.sig, tx.sender, "blokauto/tx/v1", tx.chain_id, tx.body);
    } catch (e) {
      if (!(e instanceof BlokError)) throw e;
      throw E(e.code, `events[${i}]: the signature does not verify: ${e.message}`);
    }
    tx.id = await sha256(tx.body);
    v.events.push({ tx, payload, height: v.ev[i].height, time_ms: v.ev[i].time_ms });
  }
}

const PAYLOAD_KINDS = Object.fromEntries(["register", "rotate_key", "transfer_offer",
  "transfer_accept", "lien", "brand", "odometer", "cluster_replace", "service", "repair",
  "accident", "inspection", "end_of_life"].map((k) => [k, true]));

async function checkChain(v) {
  const X = failAt("chain");
  if (BigInt(v.ev.length) !== v.rec.event_count)
    throw X("BLOK_EBADPROOF", `the bundle holds ${v.ev.length} events; the record counts ${v.rec.event_count}`);
  let head = new Uint8Array(32);
  for (let i = 0; i < v.events.length; i++) {
    const e = v.events[i];
    if (e.height > v.h.height)
      throw X("BLOK_EBADPROOF", `events[${i}]: at height ${e.height}, above the block's ${v.h.height}`);
    head = await sha256(concat(head, e.tx.id, u64le(e.height), u64le(e.time_ms)));
  }
  if (!bytesEqual(head, v.rec.chain_head))
    throw X("BLOK_EBADPROOF",
      "the events do not give the record's chain head: one is missing, added, changed or out of order");
}

// --- 7. recalls (src/report/verify.c, src/modules/parts_recalls.c) --------------------------

const X7 = failAt("recalls");

// A module key for a sentence: printable ASCII as it is, other bytes as \xNN.
function keyText(k) {
  let s = "";
  for (const b of k) s += b >= 0x20 && b < 0x7f && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  return s;
}

// The walk's reader: the bundle's next state value, which must be the one asked for, with a
// proof that it is (or that nothing is) under that key in the state of the block. Resolves to
// the value's bytes, or null when it is absent.
function bundleReader(v) {
  v.stNext = 0;
  return async (key) => {
    const kt = keyText(key);
    if (v.stNext === v.st.length)
      throw X7("BLOK_EBADPROOF", `the walk reads state ${kt} after the last of the ${v.st.length} values given`);
    const i = v.stNext, e = v.st[i];
    if (!bytesEqual(e.key, key)) throw X7("BLOK_EBADPROOF", `recalls[${i}] is not the value the walk reads there, state ${kt}`);
    let p;
    try {
      const r = new Reader(e.proof);
      p = decodeProof(r);
      r.end();
    } catch (err) {
      if (!(err instanceof BlokError)) throw err;
      throw X7(err.code, `recalls[${i}].proof: does not decode: ${err.message}`);
    }
    const vh = e.value === null ? null : await sha256(e.value);
    if (!(await smtVerify(v.h.state_root, await treeKey("parts", key), vh, p)))
      throw X7("BLOK_EBADPROOF", `recalls[${i}]: the proof does not show state ${kt} ${e.value === null ? "absent" : "with this value"} in the state of block ${v.h.height}`);
    v.stNext++;
    return e.value;
  };
}

const keyOf = (...parts) => concat(...parts.map((x) => (typeof x === "string" ? utf8Encode(x) : x)));
const inconsistent = (why) => X7("BLOK_ESTORE", why);

function decodeOr(f, why) {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof BlokError)) throw e;
    throw inconsistent(why);
  }
}

// 1. the parts tree: "V/" vin, then "C/" of each part breadth first, the totals checked.
async function readTree(get, vin) {
  const installed = async (tag, id) => {
    const b = await get(keyOf(`${tag}/${id}`));
    return b === null ? { total: 0, entries: [] } : decodeOr(() => decodeInstalled(b), `the record of the parts in ${id} does not decode`);
  };
  const nodes = [];
  const add = (inst, parent) => {
    const depth = parent < 0 ? 1 : nodes[parent].depth + 1;
    if (inst.entries.length > 0 && depth > PARTS.DEPTH_MAX)
      throw inconsistent(`parts in ${nodes[parent].serial} nest deeper than ${PARTS.DEPTH_MAX}`);
    for (const e of inst.entries) {
      if (nodes.length === PARTS.VEHICLE_PARTS_MAX) throw X7("BLOK_ETOOLONG", `vin ${vin} holds more than ${PARTS.VEHICLE_PARTS_MAX} parts`);
      nodes.push({ serial: e.serial, batch: e.batch, part_number: "", parent, depth, total: 0, size: 0, split: splitSerial(e.serial) });
    }
  };
  const top = await installed("V", vin);
  if (top.total > PARTS.VEHICLE_PARTS_MAX)
    throw X7("BLOK_ETOOLONG", `vin ${vin} holds ${top.total} parts; at most ${PARTS.VEHICLE_PARTS_MAX} are walked`);
  add(top, -1);
  for (let i = 0; i < nodes.length; i++) {
    const c = await installed("C", nodes[i].serial);
    nodes[i].total = c.total;
    add(c, i);
  }
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i];
    if (n.size !== n.total) throw inconsistent(`part ${n.serial} counts ${n.total} parts in it; ${n.size} are there`);
    if (n.parent >= 0) nodes[n.parent].size += 1 + n.size;
  }
  if (top.total !== nodes.length) throw inconsistent(`vin ${vin} counts ${top.total} parts; ${nodes.length} are there`);
  return nodes;
}

function samePrefix(a, b) {
  return a.split !== null && b.split !== null && a.split.width === b.split.width && a.split.prefix === b.split.prefix;
}

const SAME = {
  batch: (a, b) => a.batch === b.batch,
  part_number: (a, b) => a.part_number === b.part_number,
  prefix: samePrefix,
};

function firstOf(nodes, i, by) {
  for (let j = 0; j < i; j++) if (SAME[by](nodes[j], nodes[i])) return false;
  return true;
}

// 2-5. the recalls listed for the tree's batches, part numbers, serial prefixes and the WMI.
async function readLists(get, vin, nodes) {
  const cands = new Set();
  const add = (id) => {
    if (cands.has(id)) return;
    if (cands.size === PARTS.RECALLS_MAX) throw X7("BLOK_ETOOLONG", `more than ${PARTS.RECALLS_MAX} recalls are listed for vin ${vin}`);
    cands.add(id);
  };
  const list = async (key, kind) => {
    const b = await get(key);
    return b === null ? [] : decodeOr(() => decodeRecallList(b, kind), "a recall list of the state does not decode");
  };
  for (let i = 0; i < nodes.length; i++) {
    if (!firstOf(nodes, i, "batch")) continue;
    const id = nodes[i].batch;
    const b = await get(keyOf(`b/${id}`));
    if (b === null) throw inconsistent(`batch ${id} of part ${nodes[i].serial} has no record`);
    const rec = decodeOr(() => decodeBatchRecord(b), `the record of batch ${id} does not decode`);
    if (rec.id !== id) throw inconsistent(`the record of batch ${id} does not decode`);
    for (let j = i; j < nodes.length; j++) if (nodes[j].batch === id) nodes[j].part_number = rec.part_number;
    for (const e of await list(keyOf(`rb/${id}`), "ids")) add(e.recall);
  }
  for (let i = 0; i < nodes.length; i++)
    if (firstOf(nodes, i, "part_number"))
      for (const e of await list(keyOf(`rp/${nodes[i].part_number}`), "ids")) add(e.recall);
  for (let i = 0; i < nodes.length; i++) {
    const sp = nodes[i].split;
    if (!firstOf(nodes, i, "prefix") || sp === null) continue;
    const entries = await list(keyOf("rs/", new Uint8Array([sp.width]), sp.prefix), "serials");
    for (const e of entries)
      for (let j = i; j < nodes.length; j++)
        if (samePrefix(nodes[j], nodes[i]) && e.first <= nodes[j].split.number && nodes[j].split.number <= e.last) {
          add(e.recall);
          break;
        }
  }
  for (const e of await list(keyOf(`rv/${vin.slice(0, 3)}`), "vins"))
    if (e.from <= vin && vin <= e.to) add(e.recall);
  return [...cands].sort();
}

function scopeHitsPart(s, n) {
  if (s.type === 1) return s.id === n.batch;
  if (s.type === 2) return s.id === n.part_number;
  if (s.type !== 3 || n.split === null) return false;
  const sp = n.split;
  return sp.prefix === s.prefix && sp.width === s.width && sp.number >= s.first && sp.number - s.first < s.count;
}

// 6. each listed recall: its record, where it reaches the vehicle, its filter, its remedy.
async function readRecalls(get, vin, model, year, nodes, cands) {
  const open = [];
  for (const id of cands) {
    const b = await get(keyOf(`r/${id}`));
    if (b === null) throw inconsistent(`recall ${id} is listed but has no record`);
    const r = decodeOr(() => decodeRecallRecord(b), `the record of recall ${id} does not decode`);
    if (r.recall !== id) throw inconsistent(`the record of recall ${id} does not decode`);
    const byVin = r.scopes.some((s) => s.type === 4 && s.from <= vin && vin <= s.to);
    const hit = nodes.findIndex((n) => r.scopes.some((s) => scopeHitsPart(s, n)));
    if (hit < 0 && !byVin) throw inconsistent(`recall ${id} is listed for vin ${vin} but none of its scopes reaches it`);
    if (r.model !== "" && r.model !== model) continue;
    if ((r.year_from && year < r.year_from) || (r.year_to && year > r.year_to)) continue;
    if ((await get(keyOf(`m/${id}/${vin}`))) !== null) continue;
    const path = [];
    for (let i = hit; i >= 0; i = nodes[i].parent) path.unshift(nodes[i].serial);
    open.push({ recall: id, reason: r.reason, remedy: r.remedy, path });
  }
  return open;
}

// The open recalls of the vehicle, walked over the bundle's state values (parts_recalls.c).
async function checkRecalls(v) {
  const get = bundleReader(v);
  const nodes = await readTree(get, v.vin);
  const cands = await readLists(get, v.vin, nodes);
  v.openRecalls = await readRecalls(get, v.vin, v.rec.model, v.rec.model_year, nodes, cands);
  if (v.stNext !== v.st.length)
    throw X7("BLOK_EBADPROOF", `recalls holds ${v.st.length} state values; the walk reads ${v.stNext}`);
}

// --- 8. summary (src/report/summary.c) ------------------------------------------------------

// UTC ISO 8601 to the second of a u64 of milliseconds (Hinnant's civil_from_days, exact).
export function reportTime(ms) {
  const s = BigInt(ms) / 1000n;
  let z = s / 86400n + 719468n;
  const era = (z >= 0n ? z : z - 146096n) / 146097n;
  const doe = z - era * 146097n;
  const yoe = (doe - doe / 1460n + doe / 36524n - doe / 146096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const d = doy - (153n * mp + 2n) / 5n + 1n;
  const m = mp < 10n ? mp + 3n : mp - 9n;
  const y = yoe + era * 400n + (m <= 2n ? 1n : 0n);
  const sod = Number(s % 86400n);
  const p2 = (x) => String(x).padStart(2, "0");
  const ys = y < 0n ? "-" + String(-y).padStart(3, "0") : String(y).padStart(4, "0");
  return `${ys}-${p2(m)}-${p2(d)}T${p2(Math.floor(sod / 3600))}:${p2(Math.floor(sod / 60) % 60)}:${p2(sod % 60)}Z`;
}

const pre = (bytes) => toHex(bytes).slice(0, 16);
const int = (x) => new JInt(BigInt(x));

// A u64 as the summary writes it: an integer, or a decimal string above 2^63 - 1.
function u64json(x) {
  return x <= (1n << 63n) - 1n ? new JInt(x) : String(x);
}

function signerOf(rp, key) {
  const m = rp.members.get(toHex(key));
  if (m !== undefined) return { name: m.name, role: m.role };
  if (bytesEqual(key, rp.owner)) return { name: "owner", role: "owner" };
  if (rp.vehicleKey !== null && bytesEqual(key, rp.vehicleKey)) return { name: "vehicle", role: "vehicle" };
  return { name: `key ${pre(key)}`, role: "other" };
}

function docNote(p, field) {
  const d = p[field];
  if (d === null || d === undefined) return "";
  return ` [${field === "certificate" ? "certificate" : "document"} ${pre(d)}]`;
}

function reading(rp, km) {
  rp.hasReading = true;
  if (km < rp.high) return `: rollback, below the highest reading ${rp.high} km`;
  rp.high = km;
  return "";
}

function eventText(rp, type, p, tx, signerBefore) {
  switch (type) {
    case "register":
      rp.owner = p.owner;
      rp.vehicleKey = p.vehicle_key;
      return `registered ${p.model_year} ${p.make} ${p.model}; owner key ${pre(p.owner)}` +
        (p.vehicle_key ? `; vehicle key ${pre(p.vehicle_key)}` : "");
    case "rotate_key":
      rp.vehicleKey = p.vehicle_key;
      return p.vehicle_key ? `vehicle key set to ${pre(p.vehicle_key)}` : "vehicle key cleared";
    case "transfer_offer":
      return `transfer offered to key ${pre(p.new_owner)}, open until block ${p.expiry_height}` +
        (p.consent ? ", with the owner's consent" : "");
    case "transfer_accept":
      rp.owner = tx.sender;
      return `ownership transferred to key ${pre(tx.sender)}`;
    case "lien":
      return p.action === "place" ? `lien placed by ${signerBefore}` : "lien released";
    case "brand":
      return `title branded ${p.brand}`;
    case "end_of_life":
      return `end of life: vin retired${docNote(p, "certificate")}`;
    case "odometer":
      return `odometer ${p.km} km${reading(rp, p.km)}`;
    case "cluster_replace":
      rp.hasReading = true;
      rp.high = p.new_km;
      return `instrument cluster replaced at ${p.old_km} km; the new one reads ${p.new_km} km${docNote(p, "document")}`;
    case "service":
    case "repair":
      return `${type}: ${p.summary}${docNote(p, "document")}`;
    case "accident":
      return `accident: ${p.severity}${p.airbag_deployed ? ", airbag deployed" : ""}` +
        `${p.structural_damage ? ", structural damage" : ""}${docNote(p, "document")}`;
    default: {
      const note = reading(rp, p.km);
      return `inspection ${p.passed ? "passed" : "failed"} at ${p.km} km${note}${docNote(p, "document")}`;
    }
  }
}

// The summary of a record, its events and its open recalls, in the JSON representation of
// json.js.
export function computeSummary(g, rec, events, openRecalls) {
  const rp = { members: g.members, owner: new Uint8Array(32), vehicleKey: null, high: 0n, hasReading: false };
  const lines = events.map((e, i) => {
    const before = signerOf(rp, e.tx.sender).name;
    const text = eventText(rp, e.tx.type, e.payload, e.tx, before);
    const s = signerOf(rp, e.tx.sender);
    return new Map([["n", u64json(BigInt(i + 1))], ["height", u64json(e.height)],
      ["time", reportTime(e.time_ms)], ["kind", e.tx.type], ["signer", s.name], ["role", s.role],
      ["text", text]]);
  });
  const brands = BRANDS.filter((_, i) => rec.brands & (1 << i));
  return new Map([
    ["vin", rec.vin], ["make", rec.make], ["model", rec.model], ["model_year", int(rec.model_year)],
    ["status", rec.status === 2 ? "retired" : "active"], ["owners", int(rec.owners)],
    ["accidents", int(rec.accidents)], ["rollbacks", int(rec.rollbacks)], ["brands", brands],
    ["lien", new Map([["open", rec.lien_open], ["holder", rec.lien_open ? rec.lien_holder : null]])],
    ["odometer_km", rp.hasReading ? u64json(rec.odometer_last_km) : null],
    ["event_count", u64json(rec.event_count)],
    ["open_recalls", openRecalls.map((o) => new Map([["recall", o.recall], ["reason", o.reason],
      ["remedy", o.remedy], ["path", [...o.path]]]))],
    ["events", lines],
  ]);
}

function checkSummary(v) {
  const S = failAt("summary");
  const want = computeSummary(v.g, v.rec, v.events, v.openRecalls);
  const got = v.b.get("summary");
  for (const k of got.keys())
    if (!want.has(k)) throw S("BLOK_EFORMAT", `summary: unknown field ${k.slice(0, 64)}`);
  for (const [k, w] of want) {
    const gv = got.get(k);
    if (gv !== undefined && equal(gv, w)) continue;
    if (k === "open_recalls") throw S("BLOK_EBADPROOF", "summary.open_recalls is not what the parts state gives");
    if (k !== "events" || !Array.isArray(gv))
      throw S("BLOK_EBADPROOF", `summary.${k} is not what the record and events give`);
    for (let i = 0; i < w.length; i++)
      if (i >= gv.length || !equal(gv[i], w[i]))
        throw S("BLOK_EBADPROOF", `summary.events[${i}] is not what event ${i + 1} gives`);
    throw S("BLOK_EBADPROOF", "summary.events has more lines than there are events");
  }
  v.summary = want;
}

// --- the whole ------------------------------------------------------------------------------

// Verifies a bundle's text (a string, or bytes read from a file) against a genesis (the
// result of loadGenesis). Resolves to {ok: true, vin, height, time_ms, event_count, summary,
// events, record, header, open_recalls} or {ok: false, check, code, why}; never rejects for bad
// input.
export async function verifyReport(text, genesis) {
  const v = { g: genesis };
  try {
    if (typeof text !== "string") {
      if (text.length > REPORT_BYTES_MAX)
        throw F("BLOK_ETOOLONG", `the bundle is ${text.length} bytes; at most ${REPORT_BYTES_MAX} are read`);
      try {
        text = utf8Decode(text);
      } catch {
        throw F("BLOK_EFORMAT", "not valid json: the text is not utf-8");
      }
    } else if (text.length > REPORT_BYTES_MAX) {
      throw F("BLOK_ETOOLONG", "the bundle is over 64 MiB");
    }
    if (text.endsWith("\n")) text = text.slice(0, -1);
    if (text.length < 2 || text[0] !== "{" || text[text.length - 1] !== "}")
      throw F("BLOK_EFORMAT", "a bundle is one json object, with nothing before it and at most a newline after it");
    try {
      v.b = parse(text);
    } catch (e) {
      if (!(e instanceof BlokError)) throw e;
      throw F("BLOK_EFORMAT", e.message);
    }
    const steps = [checkFormat, checkHeader, checkCertificate, checkRecord, checkEvents, checkChain,
      checkRecalls, checkSummary];
    for (let i = 0; i < steps.length; i++) {
      v.stage = CHECKS[i];
      await steps[i](v);
    }
  } catch (e) {
    if (e instanceof CheckFailed) return { ok: false, check: e.check, code: e.code, why: e.message };
    const check = v.stage || "format";
    if (e instanceof BlokError) return { ok: false, check, code: e.code, why: e.message };
    return { ok: false, check, code: "BLOK_EINVAL", why: String(e && e.message ? e.message : e) };
  }
  return {
    ok: true, vin: v.vin, height: v.h.height, time_ms: v.h.timestamp_ms, event_count: v.events.length,
    summary: v.summary, events: v.events, record: v.rec, header: v.h, hash: toHex(v.hash),
    open_recalls: v.openRecalls,
  };
}
