// The canonical binary encoding of docs/PROTOCOL.md ("Canonical encoding") and the formats a
// report bundle carries: block header, quorum certificate, vehicle record, state-tree proof,
// signed transaction and the vehicle payloads. Every reader is as strict as the C one
// (src/core/codec.c and the format decoders): a length or count is checked against its maximum
// before anything after it is read, truncation and trailing bytes are refused, and every
// failure is a BlokError with the code the C code would give. u64 values are BigInt.
"use strict";

export class BlokError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export const LIMITS = Object.freeze({
  CHAIN_ID_MAX: 64,
  TX_NAME_MAX: 32,
  TX_PAYLOAD_MAX: 65536,
  TX_ENCODED_MAX: 1 + 4 + 64 + 2 * (4 + 32) + 32 + 8 + 8 + 4 + 65536 + 64,
  HEADER_ENCODED_MAX: 297,
  BLOCK_TXS_MAX: 10000,
  VALIDATORS_MAX: 256,
  SMT_DEPTH_MAX: 256,
  NAME_MAX: 64,
  VIN_LEN: 17,
  KM_MAX: 10000000n,
  YEAR_MIN: 1980,
  YEAR_MAX: 2100,
  MAKE_MAX: 32,
  MODEL_MAX: 64,
  SUMMARY_MAX: 200,
});

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8enc = new TextEncoder();

// Strict UTF-8 (RFC 3629): the WHATWG decoder in fatal mode refuses overlong forms,
// surrogates and anything above U+10FFFF, as blok_utf8_valid does.
export function utf8Decode(bytes) {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new BlokError("BLOK_EUTF8", "text: not valid utf-8");
  }
}

export function utf8Encode(s) {
  return utf8enc.encode(s);
}

// --- hex ------------------------------------------------------------------------------------

const HEX = "0123456789abcdef";

export function toHex(bytes) {
  let s = "";
  for (const b of bytes) s += HEX[b >> 4] + HEX[b & 15];
  return s;
}

// Lowercase hex only (the bundle's rule); any other text is BLOK_EHEX.
export function fromHexLower(s) {
  if (typeof s !== "string" || s.length % 2 !== 0)
    throw new BlokError("BLOK_EHEX", "an even number of hex digits is required");
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let v;
    if (c >= 48 && c <= 57) v = c - 48;
    else if (c >= 97 && c <= 102) v = c - 87;
    else throw new BlokError("BLOK_EHEX", `only lowercase hex digits are allowed (position ${i})`);
    if (i % 2 === 0) out[i >> 1] = v << 4;
    else out[i >> 1] |= v;
  }
  return out;
}

// Upper or lower case (docs/PROTOCOL.md, "Hex"), as in a genesis document.
export function fromHex(s) {
  return fromHexLower(typeof s === "string" ? s.toLowerCase() : s);
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}

export function concat(...parts) {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// --- the reader -----------------------------------------------------------------------------

export class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.pos = 0;
  }
  need(n) {
    if (n > this.b.length - this.pos) throw new BlokError("BLOK_ETRUNC", "input ends inside a value");
  }
  u8() {
    this.need(1);
    return this.b[this.pos++];
  }
  u16() {
    this.need(2);
    const v = this.b[this.pos] | (this.b[this.pos + 1] << 8);
    this.pos += 2;
    return v;
  }
  u32() {
    this.need(4);
    const p = this.pos;
    const v = (this.b[p] | (this.b[p + 1] << 8) | (this.b[p + 2] << 16)) + this.b[p + 3] * 0x1000000;
    this.pos += 4;
    return v;
  }
  u64() {
    this.need(8);
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(this.b[this.pos + i]);
    this.pos += 8;
    return v;
  }
  bool() {
    this.need(1);
    const v = this.b[this.pos];
    if (v > 1) throw new BlokError("BLOK_EFORMAT", "a bool is 00 or 01");
    this.pos++;
    return v === 1;
  }
  fixed(n) {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  // A u32 length or count checked against max; the position is unchanged on failure.
  count(max) {
    const start = this.pos;
    const n = this.u32();
    if (n > max) {
      this.pos = start;
      throw new BlokError("BLOK_ETOOLONG", `a length of ${n} is over the limit of ${max}`);
    }
    return n;
  }
  bytes(max) {
    const start = this.pos;
    const n = this.count(max);
    try {
      return this.fixed(n);
    } catch (e) {
      this.pos = start;
      throw e;
    }
  }
  // text<max>: returns {bytes, s}; refuses invalid UTF-8.
  text(max) {
    const start = this.pos;
    const bytes = this.bytes(max);
    try {
      return { bytes, s: utf8Decode(bytes) };
    } catch (e) {
      this.pos = start;
      throw e;
    }
  }
  end() {
    if (this.pos !== this.b.length)
      throw new BlokError("BLOK_ETRAILING", `${this.b.length - this.pos} bytes after the last field`);
  }
}

// --- names ----------------------------------------------------------------------------------

function domainTextValid(s, max, slash) {
  if (s.length === 0 || s.length > max) return false;
  for (const ch of s) {
    const ok = (ch >= "a" && ch <= "z") || (ch >= "0" && ch <= "9") || ch === "." || ch === "_" ||
      ch === "-" || (slash && ch === "/");
    if (!ok) return false;
  }
  return true;
}

export function chainIdValid(s) {
  return typeof s === "string" && domainTextValid(s, LIMITS.CHAIN_ID_MAX, false);
}

function txNameValid(s) {
  return s.length > 0 && s.length <= LIMITS.TX_NAME_MAX && /^[a-z0-9_]+$/.test(s);
}

function noNul(t) {
  if (t.bytes.includes(0)) throw new BlokError("BLOK_EFORMAT", "text holds a NUL byte");
  return t.s;
}

// --- block header and certificate -----------------------------------------------------------

export function decodeHeader(r) {
  const h = {};
  h.version = r.u8();
  if (h.version !== 1) throw new BlokError("BLOK_EFORMAT", `header version ${h.version}`);
  const cid = r.text(LIMITS.CHAIN_ID_MAX);
  if (cid.bytes.includes(0) || !chainIdValid(cid.s))
    throw new BlokError("BLOK_EBADTAG", "header chain id outside its alphabet");
  h.chain_id = cid.s;
  h.height = r.u64();
  h.epoch = r.u64();
  h.round = r.u64();
  h.parent = r.fixed(32);
  h.timestamp_ms = r.u64();
  h.proposer = r.fixed(32);
  h.tx_count = r.u32();
  if (h.tx_count > LIMITS.BLOCK_TXS_MAX) throw new BlokError("BLOK_ETOOLONG", "tx_count over 10,000");
  h.tx_root = r.fixed(32);
  h.results_root = r.fixed(32);
  h.state_root = r.fixed(32);
  h.validators_hash = r.fixed(32);
  return h;
}

export function decodeQc(r) {
  const qc = { vote: {} };
  qc.vote.epoch = r.u64();
  qc.vote.round = r.u64();
  qc.vote.height = r.u64();
  qc.vote.block_hash = r.fixed(32);
  qc.validator_count = r.u16();
  if (qc.validator_count === 0 || qc.validator_count > LIMITS.VALIDATORS_MAX)
    throw new BlokError("BLOK_EFORMAT", "validator_count must be 1..256");
  qc.signers = r.fixed((qc.validator_count + 7) >> 3);
  const n = r.count(qc.validator_count);
  qc.sigs = [];
  for (let i = 0; i < n; i++) qc.sigs.push(r.fixed(64));
  return qc;
}

// The 56 bytes a validator signs for a vote.
export function voteBytes(v) {
  const out = new Uint8Array(56);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, v.epoch, true);
  dv.setBigUint64(8, v.round, true);
  dv.setBigUint64(16, v.height, true);
  out.set(v.block_hash, 24);
  return out;
}

export function u64le(v) {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, v, true);
  return out;
}

export function u32le(v) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, v, true);
  return out;
}

// text(x): u32 length then the bytes.
export function encText(s) {
  const b = utf8Encode(s);
  return concat(u32le(b.length), b);
}

// --- state-tree proof -----------------------------------------------------------------------

export function decodeProof(r) {
  const p = {};
  p.end = r.u8();
  if (p.end === 2) {
    p.leaf_key = r.fixed(32);
    p.leaf_value_hash = r.fixed(32);
  } else if (p.end !== 0) {
    throw new BlokError("BLOK_EFORMAT", `proof end ${p.end} is neither 00 nor 02`);
  }
  const depth = r.count(LIMITS.SMT_DEPTH_MAX);
  p.siblings = [];
  for (let i = 0; i < depth; i++) p.siblings.push(r.fixed(32));
  return p;
}

// --- transactions ---------------------------------------------------------------------------

export function decodeTx(bytes) {
  if (bytes.length > LIMITS.TX_ENCODED_MAX)
    throw new BlokError("BLOK_ETOOLONG", "a transaction is at most 65,891 bytes");
  const r = new Reader(bytes);
  const tx = {};
  tx.version = r.u8();
  if (tx.version !== 1) throw new BlokError("BLOK_EFORMAT", `transaction version ${tx.version}`);
  tx.chain_id = noNul(r.text(LIMITS.CHAIN_ID_MAX));
  if (!chainIdValid(tx.chain_id)) throw new BlokError("BLOK_EBADTAG", "chain id outside its alphabet");
  tx.module = noNul(r.text(LIMITS.TX_NAME_MAX));
  tx.type = noNul(r.text(LIMITS.TX_NAME_MAX));
  if (!txNameValid(tx.module) || !txNameValid(tx.type))
    throw new BlokError("BLOK_EFORMAT", "module or type outside [a-z0-9_]");
  tx.sender = r.fixed(32);
  tx.nonce = r.u64();
  tx.expiry_height = r.u64();
  tx.payload = r.bytes(LIMITS.TX_PAYLOAD_MAX);
  tx.body = bytes.subarray(0, r.pos);
  tx.sig = r.fixed(64);
  r.end();
  tx.raw = bytes;
  return tx;
}

// --- VINs (src/vin/vin.c, 49 CFR 565.15) ----------------------------------------------------

const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];
const LETTERS = [1, 2, 3, 4, 5, 6, 7, 8, 0, 1, 2, 3, 4, 5, 0, 7, 0, 9, 2, 3, 4, 5, 6, 7, 8, 9];

function vinValue(c) {
  if (c >= "0" && c <= "9") return c.charCodeAt(0) - 48;
  if (c >= "A" && c <= "Z") return LETTERS[c.charCodeAt(0) - 65];
  return 0;
}

// The normalised VIN (upper case), or throws BLOK_EVIN naming the problem, as blok_vin_parse.
export function vinParse(s) {
  if (typeof s !== "string" || s.length !== 17)
    throw new BlokError("BLOK_EVIN", `a vin has 17 characters, not ${typeof s === "string" ? s.length : 0}`);
  let v = "";
  for (let i = 0; i < 17; i++) {
    let c = s[i];
    if (c >= "a" && c <= "z") c = c.toUpperCase();
    const ok = (c >= "0" && c <= "9") || (c >= "A" && c <= "Z" && vinValue(c) !== 0);
    if (!ok) throw new BlokError("BLOK_EVIN", `invalid character at position ${i + 1}`);
    v += c;
  }
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += vinValue(v[i]) * WEIGHTS[i];
  const expected = sum % 11 === 10 ? "X" : String(sum % 11);
  const northAmerica = v[0] >= "1" && v[0] <= "5";
  if (v[8] !== expected && northAmerica)
    throw new BlokError("BLOK_EVIN",
      `wrong check digit at position 9: expected '${expected}', found '${v[8]}'`);
  return v;
}

// --- vehicle record (docs/PROTOCOL.md, "Record") --------------------------------------------

function readable(t) {
  for (const b of t.bytes) if (b < 0x20 || b === 0x7f) return false;
  return true;
}

export function decodeRecord(bytes) {
  const r = new Reader(bytes);
  const v = {};
  const fmt = (why) => new BlokError("BLOK_EFORMAT", `record: ${why}`);
  v.version = r.u8();
  if (v.version !== 1) throw fmt(`version ${v.version}`);
  const vin = r.text(17);
  v.vin = noNul(vin);
  v.status = r.u8();
  v.model_year = r.u16();
  const make = r.text(LIMITS.MAKE_MAX);
  v.make = noNul(make);
  const model = r.text(LIMITS.MODEL_MAX);
  v.model = noNul(model);
  v.owner = r.fixed(32);
  v.vehicle_key = r.bool() ? r.fixed(32) : null;
  v.lien_open = r.bool();
  v.lien_holder = v.lien_open ? noNul(r.text(LIMITS.NAME_MAX)) : null;
  v.brands = r.u8();
  v.odometer_high_km = r.u64();
  v.odometer_last_km = r.u64();
  v.rollbacks = r.u32();
  v.owners = r.u32();
  v.accidents = r.u32();
  if (r.bool()) {
    v.offer_to = r.fixed(32);
    v.offer_expiry_height = r.u64();
  } else {
    v.offer_to = null;
    v.offer_expiry_height = null;
  }
  v.registered_height = r.u64();
  v.retired_height = r.u64();
  v.event_count = r.u64();
  v.chain_head = r.fixed(32);
  r.end();
  // record_check of src/modules/vehicle_codec.c
  let canonical;
  try {
    canonical = vinParse(v.vin);
  } catch {
    throw new BlokError("BLOK_EVIN", "record: not a valid vin");
  }
  if (canonical !== v.vin) throw new BlokError("BLOK_EVIN", "record: vin not in upper case");
  if (v.status !== 1 && v.status !== 2) throw fmt(`status ${v.status}`);
  if (v.model_year < LIMITS.YEAR_MIN || v.model_year > LIMITS.YEAR_MAX) throw fmt("model year");
  if (make.bytes.length < 1 || !readable(make) || model.bytes.length < 1 || !readable(model))
    throw fmt("make or model");
  if (v.lien_open && v.lien_holder.length < 1) throw fmt("lien holder");
  if ((v.brands & ~0x1f) !== 0 || v.odometer_high_km > LIMITS.KM_MAX ||
      v.odometer_last_km > LIMITS.KM_MAX || v.owners === 0 || v.event_count === 0n)
    throw fmt("a value out of its range");
  const retired = v.status === 2;
  if (retired ? v.retired_height < v.registered_height || v.retired_height === 0n
    : v.retired_height !== 0n)
    throw fmt("retired_height does not fit the status");
  return v;
}

// --- vehicle payloads (docs/PROTOCOL.md, "Vehicles", "Transactions" and "Limits") ----------

export const BRANDS = ["salvage", "flood", "rebuilt", "lemon", "junk"];
const ACTIONS = ["place", "release"];
const SEVERITIES = ["minor", "moderate", "severe", "total_loss"];

// [name, type, opt] per field after the VIN; the order is the encoding's.
const F = (name, type, opt = false, extra = undefined) => ({ name, type, opt, extra });
const DOCUMENT = F("document", "hash", true);
export const PAYLOADS = {
  register: [F("model_year", "year"), F("make", "text", false, LIMITS.MAKE_MAX),
    F("model", "text", false, LIMITS.MODEL_MAX), F("owner", "key"), F("vehicle_key", "key", true)],
  rotate_key: [F("vehicle_key", "key", true)],
  transfer_offer: [F("new_owner", "key"), F("expiry_height", "u64"), F("consent", "sig", true)],
  transfer_accept: [],
  lien: [F("action", "enum", false, ACTIONS)],
  brand: [F("brand", "enum", false, BRANDS)],
  odometer: [F("km", "km")],
  cluster_replace: [F("old_km", "km"), F("new_km", "km"), DOCUMENT],
  service: [F("summary", "text", false, LIMITS.SUMMARY_MAX), DOCUMENT],
  repair: [F("summary", "text", false, LIMITS.SUMMARY_MAX), DOCUMENT],
  accident: [F("severity", "enum", false, SEVERITIES), F("airbag_deployed", "bool"),
    F("structural_damage", "bool"), DOCUMENT],
  inspection: [F("passed", "bool"), F("km", "km"), DOCUMENT],
  end_of_life: [F("certificate", "hash")],
};

function readField(r, f) {
  switch (f.type) {
    case "enum": return r.u8();
    case "bool": return r.bool();
    case "year": return r.u16();
    case "u64":
    case "km": return r.u64();
    case "text": return r.text(f.extra);
    case "sig": return r.fixed(64);
    default: return r.fixed(32);
  }
}

// The limits of one present field (field_check); checkPk is the key entry check.
function checkField(f, v, checkPk) {
  const range = (why) => new BlokError("BLOK_ERANGE", `payload.${f.name}: ${why}`);
  switch (f.type) {
    case "enum":
      if (v < 1 || v > f.extra.length) throw range(`${v} is not one of 1..${f.extra.length}`);
      return f.extra[v - 1];
    case "year":
      if (v < LIMITS.YEAR_MIN || v > LIMITS.YEAR_MAX) throw range(`${v} is not a model year in 1980..2100`);
      return v;
    case "km":
      if (v > LIMITS.KM_MAX) throw range(`${v} km is above the limit of 10000000 km`);
      return v;
    case "text":
      if (v.bytes.length === 0 || v.bytes.length > f.extra)
        throw new BlokError("BLOK_ETOOLONG", `payload.${f.name}: 1 to ${f.extra} bytes are required`);
      if (!readable(v))
        throw new BlokError("BLOK_EUTF8", `payload.${f.name}: utf-8 text without control characters is required`);
      return v.s;
    case "key":
      if (!checkPk(v)) throw new BlokError("BLOK_EBADKEY", `payload.${f.name}: not a valid ed25519 public key`);
      return v;
    default:
      return v;
  }
}

// Decodes and checks a vehicle payload of the given type (the kind's stateless check):
// {vin, ...fields} with enums by name, opt fields null when absent.
export function decodeVehiclePayload(type, bytes, checkPk) {
  const fields = PAYLOADS[type];
  if (fields === undefined) throw new BlokError("BLOK_EUNKNOWNKIND", `no vehicle kind ${type}`);
  const r = new Reader(bytes);
  const wrap = (name, e) => {
    if (e instanceof BlokError) return new BlokError(e.code, `payload.${name}: ${e.message}`);
    return e;
  };
  let vinText;
  try {
    vinText = r.text(17);
  } catch (e) {
    throw wrap("vin", e);
  }
  let vin;
  try {
    vin = vinParse(vinText.s);
  } catch (e) {
    throw wrap("vin", e);
  }
  if (vin !== vinText.s) throw new BlokError("BLOK_EVIN", `payload.vin: ${vin} must be written in upper case`);
  const p = { vin };
  for (const f of fields) {
    let has = true;
    let v;
    try {
      if (f.opt) has = r.bool();
      if (has) v = readField(r, f);
    } catch (e) {
      throw wrap(f.name, e);
    }
    p[f.name] = has ? checkField(f, v, checkPk) : null;
  }
  if (r.pos !== bytes.length)
    throw new BlokError("BLOK_ETRAILING", `payload: ${bytes.length - r.pos} bytes after the last field of ${type}`);
  return p;
}

// --- parts state (docs/PROTOCOL.md, "Parts", "State") -------------------------------------

export const PARTS = Object.freeze({
  ID_MAX: 32,
  SERIAL_MAX: 48,
  NAME_MAX: 64,
  TEXT_MAX: 200,
  INPUTS_MAX: 16,
  SCOPES_MAX: 16,
  WIDTH_MAX: 18,
  DEPTH_MAX: 8,
  INSTALLED_MAX: 64,
  VEHICLE_PARTS_MAX: 512,
  RECALL_LIST_MAX: 256,
  RECALLS_MAX: 256,
});

const PARTS_ID_RE = /^[A-Za-z0-9._:/-]+$/;

// An id of the parts alphabet (A-Z a-z 0-9 . _ : / -), 1..max characters.
export function partsIdOk(s, max) {
  return typeof s === "string" && s.length >= 1 && s.length <= max && PARTS_ID_RE.test(s);
}

// A serial split into prefix and number (blok__parts_split): the number is its trailing run of
// digits, at most 18; null for a serial that is not an id or has a longer run.
export function splitSerial(s) {
  if (!partsIdOk(s, PARTS.SERIAL_MAX)) return null;
  let d = 0;
  const digit = (c) => c >= "0" && c <= "9";
  while (d < s.length && d < PARTS.WIDTH_MAX && digit(s[s.length - 1 - d])) d++;
  if (d < s.length && digit(s[s.length - 1 - d])) return null;
  const digits = s.slice(s.length - d);
  return { prefix: s.slice(0, s.length - d), width: d, number: d ? BigInt(digits) : 0n };
}

const bad = (why) => new BlokError("BLOK_EFORMAT", why);

// text<max> with no NUL (dec_cstr).
function cstr(r, max) {
  const t = r.text(max);
  if (t.bytes.includes(0)) throw bad("a text holds a NUL");
  return t.s;
}

// "V/" vin, "C/" serial: {total, entries: [{serial, batch}]} (blok__installed_decode).
export function decodeInstalled(bytes) {
  const r = new Reader(bytes);
  const total = r.u32();
  const n = r.count(PARTS.INSTALLED_MAX);
  const entries = [];
  for (let i = 0; i < n; i++) {
    const serial = cstr(r, PARTS.SERIAL_MAX);
    const batch = cstr(r, PARTS.ID_MAX);
    if (!partsIdOk(serial, PARTS.SERIAL_MAX) || !partsIdOk(batch, PARTS.ID_MAX) ||
        (i > 0 && entries[i - 1].serial >= serial))
      throw bad("installed parts: an entry is not an id or out of order");
    entries.push({ serial, batch });
  }
  if (total < n) throw bad("installed parts: the total is below the entries");
  r.end();
  return { total, entries };
}

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// The order of a recall list's entries (blok__rentry_cmp).
function rentryCmp(kind, a, b) {
  let c = 0;
  if (kind === "serials") c = a.first !== b.first ? cmp(a.first, b.first) : cmp(a.last, b.last);
  else if (kind === "vins") c = cmp(a.from, b.from) || cmp(a.to, b.to);
  return c || cmp(a.recall, b.recall);
}

// "rb/", "rp/" (kind "ids"), "rs/" ("serials"), "rv/" ("vins"): the entries
// (blok__rlist_decode).
export function decodeRecallList(bytes, kind) {
  const r = new Reader(bytes);
  const n = r.count(PARTS.RECALL_LIST_MAX);
  const out = [];
  for (let i = 0; i < n; i++) {
    const e = {};
    if (kind === "serials") {
      e.first = r.u64();
      e.last = r.u64();
      if (e.first > e.last) throw bad("a recall range ends before it starts");
    } else if (kind === "vins") {
      e.from = cstr(r, LIMITS.VIN_LEN);
      e.to = cstr(r, LIMITS.VIN_LEN);
      if (e.from.length !== 17 || e.to.length !== 17 || e.from > e.to || e.from.slice(0, 3) !== e.to.slice(0, 3))
        throw bad("a recall vin range is not one of a wmi");
    }
    e.recall = cstr(r, PARTS.ID_MAX);
    if (!partsIdOk(e.recall, PARTS.ID_MAX) || (i > 0 && rentryCmp(kind, out[i - 1], e) >= 0))
      throw bad("a recall list entry is not an id or out of order");
    out.push(e);
  }
  r.end();
  return out;
}

// "b/" batch (blok__batch_decode).
export function decodeBatchRecord(bytes) {
  const r = new Reader(bytes);
  if (r.u8() !== 1) throw bad("batch record version");
  const b = {
    id: cstr(r, PARTS.ID_MAX), part_number: cstr(r, PARTS.ID_MAX), part_type: cstr(r, PARTS.ID_MAX),
    site: cstr(r, PARTS.NAME_MAX), maker: cstr(r, LIMITS.NAME_MAX),
  };
  b.maker_key = r.fixed(32);
  b.production_date = r.u32();
  b.quantity = r.u32();
  b.serials = r.u64();
  b.height = r.u64();
  b.holder = r.fixed(32);
  b.location = cstr(r, PARTS.ID_MAX);
  if (r.bool()) b.offer_to = r.fixed(32);
  const n = r.count(PARTS.INPUTS_MAX);
  b.inputs = [];
  for (let i = 0; i < n; i++) b.inputs.push(cstr(r, PARTS.ID_MAX));
  r.end();
  return b;
}

function readableText(t, min, max, name) {
  if (t.bytes.length < min || t.bytes.length > max || !readable(t))
    throw bad(`recall ${name}: ${min} to ${max} bytes of text are required`);
  return t.s;
}

function decodeScope(r) {
  const type = r.u8();
  const s = { type };
  if (type === 1 || type === 2) {
    s.id = r.text(PARTS.ID_MAX).s;
    if (!partsIdOk(s.id, PARTS.ID_MAX)) throw bad("recall scope: not an id");
  } else if (type === 3) {
    s.prefix = r.text(PARTS.ID_MAX).s;
    s.width = r.u8();
    s.first = r.u64();
    s.count = BigInt(r.u32());
  } else if (type === 4) {
    s.from = cstr(r, LIMITS.VIN_LEN);
    s.to = cstr(r, LIMITS.VIN_LEN);
  } else {
    throw new BlokError("BLOK_ERANGE", `recall scope type ${type}`);
  }
  return s;
}

// "r/" recall: u64 height || text<64> maker || fixed[32] maker key || the recall payload
// (text<32> recall, text<200> reason, text<200> remedy, list<scope, 16>, text<64> model,
// u16 year_from, u16 year_to).
export function decodeRecallRecord(bytes) {
  const r = new Reader(bytes);
  const out = { height: r.u64(), maker: r.text(LIMITS.NAME_MAX).s, maker_key: r.fixed(32) };
  out.recall = r.text(PARTS.ID_MAX).s;
  if (!partsIdOk(out.recall, PARTS.ID_MAX)) throw bad("recall: not an id");
  out.reason = readableText(r.text(PARTS.TEXT_MAX), 1, PARTS.TEXT_MAX, "reason");
  out.remedy = readableText(r.text(PARTS.TEXT_MAX), 1, PARTS.TEXT_MAX, "remedy");
  const n = r.count(PARTS.SCOPES_MAX);
  if (n === 0) throw new BlokError("BLOK_EINVAL", "recall: at least one scope is required");
  out.scopes = [];
  for (let i = 0; i < n; i++) out.scopes.push(decodeScope(r));
  out.model = readableText(r.text(PARTS.NAME_MAX), 0, PARTS.NAME_MAX, "model");
  out.year_from = r.u16();
  out.year_to = r.u16();
  r.end();
  return out;
}
