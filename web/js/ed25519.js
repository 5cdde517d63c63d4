// Ed25519 with the verification rules pinned in docs/PROTOCOL.md ("Ed25519 signatures",
// "Verification rules"). Rules 1 to 4 (canonical, non-small-order A and R, S < L) are checked
// here, byte by byte, before WebCrypto sees the signature, so that the browser's own handling
// of those edge cases never decides an outcome; rule 5 (the cofactorless equation) is
// WebCrypto's Ed25519 verify. The key entry check (blok_sign_check_pk: rules 1 and 2, a curve
// point in the prime-order subgroup) needs point arithmetic, done here with BigInt; it is not
// constant-time, which does not matter for public keys.
"use strict";

import { BlokError, bytesEqual, concat, encText } from "./codec.js";

const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;
const D = (-121665n * inv(121666n)) % P;
const SQRT_M1 = pow(2n, (P - 1n) / 4n);

function mod(a) {
  const r = a % P;
  return r >= 0n ? r : r + P;
}

function pow(b, e) {
  let r = 1n;
  b = mod(b);
  while (e > 0n) {
    if (e & 1n) r = (r * b) % P;
    b = (b * b) % P;
    e >>= 1n;
  }
  return r;
}

function inv(a) {
  return pow(a, P - 2n);
}

function leInt(bytes) {
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  return v;
}

// The low 255 bits of the seven small-order encodings (the sign bit may be either).
const SMALL_ORDER = [
  "0000000000000000000000000000000000000000000000000000000000000000",
  "0100000000000000000000000000000000000000000000000000000000000000",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
].map((h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16)));

function low255(enc) {
  const c = Uint8Array.from(enc);
  c[31] &= 0x7f;
  return c;
}

export function isCanonical(enc) {
  return leInt(low255(enc)) < P;
}

export function isSmallOrder(enc) {
  const c = low255(enc);
  return SMALL_ORDER.some((s) => bytesEqual(s, c));
}

// Rules 1 to 4: null when they pass, else the error code.
export function precheck(sig, pk) {
  if (pk.length !== 32 || sig.length !== 64) return "BLOK_EBADSIG";
  if (!isCanonical(pk) || isSmallOrder(pk)) return "BLOK_EBADKEY";
  if (leInt(sig.subarray(32, 64)) >= L) return "BLOK_EBADSIG";
  const r = sig.subarray(0, 32);
  if (!isCanonical(r) || isSmallOrder(r)) return "BLOK_EBADSIG";
  return null;
}

// --- points, for the key entry check --------------------------------------------------------

// RFC 8032 5.1.3: the point of a canonical encoding, or null.
function decodePoint(enc) {
  const y = leInt(low255(enc));
  if (y >= P) return null;
  const sign = enc[31] >> 7;
  const y2 = (y * y) % P;
  const u = mod(y2 - 1n);
  const v = mod(D * y2 + 1n);
  let x = mod(u * pow(v, 3n) * pow(u * pow(v, 7n), (P - 5n) / 8n));
  const vx2 = mod(v * x * x);
  if (vx2 === mod(-u)) x = mod(x * SQRT_M1);
  else if (vx2 !== u) return null;
  if (x === 0n && sign === 1) return null;
  if (Number(x & 1n) !== sign) x = P - x;
  return { X: x, Y: y, Z: 1n, T: mod(x * y) };
}

// Extended coordinates, a = -1 (add-2008-hwcd-3).
function add(p, q) {
  const a = mod((p.Y - p.X) * (q.Y - q.X));
  const b = mod((p.Y + p.X) * (q.Y + q.X));
  const c = mod(2n * D * p.T * q.T);
  const d = mod(2n * p.Z * q.Z);
  const e = b - a, f = d - c, g = d + c, h = b + a;
  return { X: mod(e * f), Y: mod(g * h), Z: mod(f * g), T: mod(e * h) };
}

function mul(p, k) {
  let r = { X: 0n, Y: 1n, Z: 1n, T: 0n };
  let q = p;
  while (k > 0n) {
    if (k & 1n) r = add(r, q);
    q = add(q, q);
    k >>= 1n;
  }
  return r;
}

function encodePoint(p) {
  const zi = inv(p.Z);
  const x = mod(p.X * zi), y = mod(p.Y * zi);
  const out = new Uint8Array(32);
  let v = y;
  for (let i = 0; i < 32; i++, v >>= 8n) out[i] = Number(v & 255n);
  out[31] |= Number(x & 1n) << 7;
  return out;
}

// The encoding of A + B (for tests: a key with a small-order component).
export function addEncoded(a, b) {
  const pa = decodePoint(a), pb = decodePoint(b);
  return pa && pb ? encodePoint(add(pa, pb)) : null;
}

// blok_sign_check_pk: canonical, not of small order, a curve point with [L]A the identity.
export function checkPk(pk) {
  if (pk.length !== 32 || !isCanonical(pk) || isSmallOrder(pk)) return false;
  const a = decodePoint(pk);
  if (a === null) return false;
  const la = mul(a, L);
  return la.X === 0n && la.Y === la.Z;
}

// --- verification ---------------------------------------------------------------------------

const keyCache = new Map();

async function importKey(pk) {
  const hex = Array.from(pk, (b) => b.toString(16).padStart(2, "0")).join("");
  let k = keyCache.get(hex);
  if (k === undefined) {
    k = crypto.subtle.importKey("raw", pk, { name: "Ed25519" }, false, ["verify"]);
    keyCache.set(hex, k);
    if (keyCache.size > 4096) keyCache.delete(keyCache.keys().next().value);
  }
  return k;
}

// Verifies sig over msg under pk with rules 1 to 5; throws BlokError when it does not.
export async function verify(sig, pk, msg) {
  const code = precheck(sig, pk);
  if (code !== null) throw new BlokError(code, code === "BLOK_EBADKEY" ? "bad public key" : "bad signature");
  let ok = false;
  try {
    ok = await crypto.subtle.verify({ name: "Ed25519" }, await importKey(pk), sig, msg);
  } catch (e) {
    if (e instanceof DOMException && e.name === "NotSupportedError")
      throw new BlokError("BLOK_ECRYPTO", "this browser has no Ed25519 in WebCrypto");
    ok = false; // a key WebCrypto cannot import is no curve point: the equation cannot hold
  }
  if (!ok) throw new BlokError("BLOK_EBADSIG", "bad signature");
}

// blok_verify_domain: the signed bytes are text(tag) || text(chain_id) || msg.
export async function verifyDomain(sig, pk, tag, chainId, msg) {
  return verify(sig, pk, concat(encText(tag), encText(chainId), msg));
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
