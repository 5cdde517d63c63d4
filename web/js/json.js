// A strict JSON reader that keeps what JSON.parse throws away and the C verifier looks at
// (jansson with JSON_REJECT_DUPLICATES): a key given twice is an error, integers and reals
// stay apart (1 and 1.0 are not equal), integers are exact (BigInt; one outside int64 is an
// error, as in jansson), "\u0000" and lone surrogates are errors. Objects become Maps in text
// order, integers {int: BigInt}, reals {real: number}; strings, booleans, null and arrays are
// plain. toPlain() gives ordinary JS values for display.
"use strict";

import { BlokError } from "./codec.js";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const DEPTH_MAX = 2048;

export class JInt {
  constructor(v) {
    this.int = v;
  }
}
export class JReal {
  constructor(v) {
    this.real = v;
  }
}

function fail(msg, pos) {
  throw new BlokError("BLOK_EFORMAT", `not valid json at offset ${pos}: ${msg}`);
}

export function parse(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const str = () => {
    i++; // the quote
    let out = "";
    for (;;) {
      if (i >= text.length) fail("unterminated string", i);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail("control character in a string", i);
      if (c >= 0xd800 && c <= 0xdfff) {
        // A surrogate in the text itself is valid only as a pair (well-formed UTF-16 from
        // valid UTF-8); TextDecoder never produces a lone one.
        out += text[i++];
        continue;
      }
      if (c !== 0x5c) {
        out += text[i++];
        continue;
      }
      const e = text[i + 1];
      i += 2;
      const simple = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
      if (e in simple) {
        out += simple[e];
        continue;
      }
      if (e !== "u") fail("invalid escape", i - 2);
      const hex4 = () => {
        const h = text.slice(i, i + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("invalid \\u escape", i);
        i += 4;
        return parseInt(h, 16);
      };
      let u = hex4();
      if (u >= 0xd800 && u <= 0xdbff) {
        if (text[i] !== "\\" || text[i + 1] !== "u") fail("invalid unicode (lone surrogate)", i);
        i += 2;
        const lo = hex4();
        if (lo < 0xdc00 || lo > 0xdfff) fail("invalid unicode (lone surrogate)", i);
        out += String.fromCharCode(u, lo);
        continue;
      }
      if (u >= 0xdc00 && u <= 0xdfff) fail("invalid unicode (lone surrogate)", i);
      if (u === 0) fail("\\u0000 is not allowed", i);
      out += String.fromCharCode(u);
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (m === null || m[0] === "-") fail("invalid number", i);
    i += m[0].length;
    if (m[2] === undefined && m[3] === undefined) {
      const v = BigInt(m[0]);
      if (v < INT64_MIN || v > INT64_MAX) fail("too big integer", i);
      return new JInt(v);
    }
    const r = Number(m[0]);
    if (!Number.isFinite(r)) fail("real number overflow", i);
    return new JReal(r);
  };
  const value = (depth) => {
    if (depth > DEPTH_MAX) fail("maximum parsing depth reached", i);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const o = new Map();
      ws();
      if (text[i] === "}") {
        i++;
        return o;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("string or '}' expected", i);
        const k = str();
        if (o.has(k)) fail(`duplicate object key ${k.slice(0, 64)}`, i);
        ws();
        if (text[i] !== ":") fail("':' expected", i);
        i++;
        o.set(k, value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return o;
        }
        fail("',' or '}' expected", i);
      }
    }
    if (c === "[") {
      i++;
      const a = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return a;
        }
        fail("',' or ']' expected", i);
      }
    }
    if (c === '"') return str();
    if (text.startsWith("true", i)) return (i += 4), true;
    if (text.startsWith("false", i)) return (i += 5), false;
    if (text.startsWith("null", i)) return (i += 4), null;
    return num();
  };
  const v = value(0);
  ws();
  if (i !== text.length) fail("end of file expected", i);
  return v;
}

// jansson's json_equal: objects by key set, arrays in order, integers and reals apart.
export function equal(a, b) {
  if (a instanceof JInt) return b instanceof JInt && a.int === b.int;
  if (a instanceof JReal) return b instanceof JReal && a.real === b.real;
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) if (!b.has(k) || !equal(v, b.get(k))) return false;
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, k) => equal(x, b[k]));
  }
  return a === b;
}

// Ordinary JS values: integers as Number when safe, else BigInt; objects as plain objects.
export function toPlain(v) {
  if (v instanceof JInt) return v.int >= BigInt(Number.MIN_SAFE_INTEGER) && v.int <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.int) : v.int;
  if (v instanceof JReal) return v.real;
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[k] = toPlain(x);
    return o;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  return v;
}
