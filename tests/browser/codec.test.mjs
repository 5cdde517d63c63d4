// The browser's codec and verifier (web/js/), run under node's test runner against the
// protocol's worked examples and real bundles from the devnet that run.sh starts: a bundle
// verifies; a change aimed at each of the eight checks fails that check; the open recalls of the
// demo's recalled vehicle come out as `blokauto verify` computes them, and changes to its
// proven parts state fail the recalls check; and for a sample of one-byte changes (anywhere, and
// inside the parts state) the browser names the same check as `blokauto verify` (the C
// verifier).
//
// Environment (set by run.sh): BLOK_URL, BLOK_VIN, BLOK_VIN_RECALLS, BLOK_GENESIS (the devnet's
// genesis file), BLOK_BIN (the blokauto program), BLOK_TMP (a scratch folder).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { test } from "node:test";

import {
  BlokError, Reader, decodeHeader, decodeTx, fromHexLower, toHex, vinParse,
} from "../../web/js/codec.js";
import { addEncoded, checkPk, precheck, sha256, verifyDomain } from "../../web/js/ed25519.js";
import { parse } from "../../web/js/json.js";
import { loadGenesis, reportTime, verifyReport } from "../../web/js/verify.js";

const { BLOK_URL, BLOK_VIN, BLOK_VIN_RECALLS, BLOK_GENESIS, BLOK_BIN, BLOK_TMP } = process.env;
const hex = (s) => fromHexLower(s.replace(/\s+/g, ""));

test("header test vector (docs/PROTOCOL.md, Blocks)", async () => {
  const h = hex(`01 0f000000 626c6f6b6175746f2d6465766e6574 0100000000000000 0000000000000000 0100000000000000
    ${"11".repeat(32)} e86be5cf8b010000 ${"22".repeat(32)} 02000000
    ${"33".repeat(32)} ${"44".repeat(32)} ${"55".repeat(32)} ${"66".repeat(32)}`);
  const r = new Reader(h);
  const d = decodeHeader(r);
  r.end();
  assert.equal(d.height, 1n);
  assert.equal(d.timestamp_ms, 1700000001000n);
  assert.equal(d.tx_count, 2);
  assert.equal(toHex(await sha256(h)), "a99a1ea5f92c33dc06a8091b9cbf4a53eae5fec122b186c9df0eb498aef7392b");
  for (let n = 0; n < h.length; n++)
    assert.throws(() => decodeHeader(new Reader(h.subarray(0, n))), (e) => e instanceof BlokError && e.code === "BLOK_ETRUNC");
});

test("transaction test vector (docs/PROTOCOL.md, Transactions)", async () => {
  const raw = hex(`01 0f000000 626c6f6b6175746f2d6465766e6574 06000000 616e63686f72 06000000 7265636f7264
    efcf0696fe3fa8ca3b0cbc37bb5bd14634849775191531779c843036325c271a 0100000000000000 e803000000000000
    2e000000 43cc23fa52b87b4cc1d02b5b114154151d6adddb17c9fddc06b027fa99e24008 0a000000 696e766f696365203432
    efd0fa1504f7946fc7d056bd6c1546f938e35592a076582a681f04ae431a9256
    616b7b33b9e4563069a67b6ff976a8f3951067e43fba417b4edc6cced1757904`);
  const tx = decodeTx(raw);
  assert.equal(toHex(await sha256(tx.body)), "ecf3746298f594f79b1375210b7ce2f00c66ec443ada4a9c48ccc95a510b3b56");
  await verifyDomain(tx.sig, tx.sender, "blokauto/tx/v1", tx.chain_id, tx.body);
  const bad = Uint8Array.from(raw);
  bad[bad.length - 1] ^= 1;
  const t2 = decodeTx(bad);
  await assert.rejects(verifyDomain(t2.sig, t2.sender, "blokauto/tx/v1", t2.chain_id, t2.body), { code: "BLOK_EBADSIG" });
  assert.throws(() => decodeTx(new Uint8Array([...raw, 0])), { code: "BLOK_ETRAILING" });
});

test("pinned ed25519 rules: S + L, small-order and non-canonical encodings", async () => {
  const pk = hex("03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
  const sig = hex(`5d8b1a340bc99aa820efb4ed48ad65917c3cbd021a07a1dac8f64a030e9ab83e
    6cdc13a68a0972de014a8f70bdb59f383a00004213232447a9638d93f8d9e00e`);
  const msg = new TextEncoder().encode("hello blokauto");
  await verifyDomain(sig, pk, "blokauto/tx/v1", "blokauto-devnet", msg);
  await assert.rejects(verifyDomain(sig, pk, "blokauto/tx/v2", "blokauto-devnet", msg), { code: "BLOK_EBADSIG" });
  // S + L: the same scalar, refused by rule 3 before WebCrypto sees it.
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]);
  s += L;
  const mall = Uint8Array.from(sig);
  for (let i = 32; i < 64; i++, s >>= 8n) mall[i] = Number(s & 255n);
  assert.equal(precheck(mall, pk), "BLOK_EBADSIG");
  const identity = hex("01" + "00".repeat(31));
  assert.equal(precheck(sig, identity), "BLOK_EBADKEY");
  const yIsP = hex("ed" + "ff".repeat(30) + "7f");
  assert.equal(precheck(sig, yIsP), "BLOK_EBADKEY");
  const rSmall = Uint8Array.from(sig);
  rSmall.set(identity, 0);
  assert.equal(precheck(rSmall, pk), "BLOK_EBADSIG");
  assert.equal(checkPk(pk), true);
  assert.equal(checkPk(identity), false);
  assert.equal(checkPk(hex("02" + "00".repeat(31))), false); // not a curve point
  // A prime-order point plus one of order 8 ("mixed"): a curve point, but not in the subgroup.
  const order8 = hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
  assert.equal(checkPk(order8), false);
  const mixed = addEncoded(pk, order8);
  assert.ok(mixed !== null && precheck(sig, mixed) === null, "mixed key passes rules 1 and 2");
  assert.equal(checkPk(mixed), false);
  assert.equal(checkPk(addEncoded(pk, identity)), true);
});

test("strict json and vins", () => {
  assert.throws(() => parse('{"a":1,"a":2}'), { code: "BLOK_EFORMAT" });
  assert.throws(() => parse('{"a":"\\u0000"}'), { code: "BLOK_EFORMAT" });
  assert.throws(() => parse("[9223372036854775808]"), { code: "BLOK_EFORMAT" });
  assert.equal(vinParse("1m8gdm9axkp042788"), "1M8GDM9AXKP042788");
  assert.throws(() => vinParse("1M8GDM9A1KP042788"), { code: "BLOK_EVIN" });
  assert.equal(reportTime(0n), "1970-01-01T00:00:00Z");
  assert.equal(reportTime(1700000001000n), "2023-11-14T22:13:21Z");
});

const live = BLOK_URL && BLOK_VIN && BLOK_GENESIS;

async function bundle(vin = BLOK_VIN) {
  const r = await fetch(`${BLOK_URL}/v1/vehicles/${vin}/report`);
  assert.equal(r.status, 200);
  return r.text();
}

test("a real bundle verifies; each check fails on a change aimed at it", { skip: !live }, async () => {
  const g = loadGenesis(readFileSync(BLOK_GENESIS, "utf8"));
  const text = await bundle();
  const ok = await verifyReport(text, g);
  assert.equal(ok.ok, true, ok.why);
  assert.equal(ok.vin, BLOK_VIN);
  assert.ok(ok.summary.get("rollbacks").int > 0n);
  const b = JSON.parse(text);
  const flip = (h, at) => h.slice(0, at) + (h[at] === "0" ? "1" : "0") + h.slice(at + 1);
  const cases = [
    ["format", (x) => (x.extra = 1)],
    ["header", (x) => (x.block.time_ms += 1)],
    ["certificate", (x) => (x.block.qc = flip(x.block.qc, x.block.qc.length - 3))],
    ["record", (x) => (x.record = flip(x.record, x.record.length - 3))],
    ["events", (x) => (x.events[0].tx = flip(x.events[0].tx, x.events[0].tx.length - 3))],
    ["chain", (x) => ([x.events[1], x.events[2]] = [x.events[2], x.events[1]])],
    ["recalls", (x) => x.recalls.splice(0, 1)],
    ["summary", (x) => (x.summary.rollbacks = 0)],
  ];
  for (const [check, change] of cases) {
    const x = structuredClone(b);
    change(x);
    const res = await verifyReport(JSON.stringify(x), g);
    assert.equal(res.ok, false, check);
    assert.equal(res.check, check, `${check}: ${res.why}`);
  }
  const other = { ...JSON.parse(readFileSync(BLOK_GENESIS, "utf8")), chain_id: "another-chain" };
  assert.equal((await verifyReport(text, loadGenesis(other))).check, "header");
});

// The module key of a state value, as the bundle's hex.
const keyHex = (k) => Buffer.from(k).toString("hex");

function cVerify(file) {
  try {
    return execFileSync(BLOK_BIN, ["verify", file, "--genesis", BLOK_GENESIS], { stdio: ["ignore", "pipe", "pipe"] }).toString();
  } catch (e) {
    return e.stdout.toString();
  }
}

test("open recalls: computed from the proven parts state, as blokauto verify does", { skip: !(live && BLOK_VIN_RECALLS && BLOK_BIN && BLOK_TMP) }, async () => {
  const g = loadGenesis(readFileSync(BLOK_GENESIS, "utf8"));
  const text = await bundle(BLOK_VIN_RECALLS);
  const res = await verifyReport(text, g);
  assert.equal(res.ok, true, res.why);
  const b = JSON.parse(text);
  const open = b.summary.open_recalls;
  assert.equal(open.length, 2);
  assert.deepEqual(res.open_recalls.map((o) => [o.recall, o.path]), open.map((o) => [o.recall, o.path]));
  assert.ok(open.some((o) => o.path.length === 2 && o.path[0].startsWith("ECU-") && o.path[1].startsWith("MCU-")),
    JSON.stringify(open));
  writeFileSync(`${BLOK_TMP}/recalls.json`, text);
  const out = cVerify(`${BLOK_TMP}/recalls.json`);
  assert.match(out, /^VERIFIED: /);
  for (const o of open) assert.ok(out.includes(`    ${o.recall}: `), out);
  const at = (x, key) => x.recalls.findIndex((e) => e.key === keyHex(key));
  const cases = [
    ["a recall's record left out", (x) => x.recalls.splice(at(x, `r/${open[1].recall}`), 1), "recalls"],
    ["a part's parts left out", (x) => x.recalls.splice(at(x, `C/${open[1].path[0]}`), 1), "recalls"],
    ["a remedy claimed", (x) => (x.recalls[at(x, `m/${open[0].recall}/${BLOK_VIN_RECALLS}`)].value = "0100000000000000"), "recalls"],
    ["the vehicle's parts said absent", (x) => (x.recalls[0].value = null), "recalls"],
    ["two values swapped", (x) => ([x.recalls[1], x.recalls[2]] = [x.recalls[2], x.recalls[1]]), "recalls"],
    ["a value added", (x) => x.recalls.push(x.recalls[0]), "recalls"],
    ["an open recall dropped", (x) => x.summary.open_recalls.pop(), "summary"],
    ["a path shortened", (x) => x.summary.open_recalls[1].path.pop(), "summary"],
  ];
  for (const [name, change, check] of cases) {
    const x = structuredClone(b);
    change(x);
    const t = JSON.stringify(x);
    const r = await verifyReport(t, g);
    assert.equal(r.ok, false, name);
    assert.equal(r.check, check, `${name}: ${r.why}`);
    writeFileSync(`${BLOK_TMP}/tampered.json`, t);
    assert.match(cVerify(`${BLOK_TMP}/tampered.json`), new RegExp(`^NOT VERIFIED: ${check}: `), name);
  }
});

// Changes one byte at a time (from a fixed list) at positions rnd picks in [lo, hi), and
// requires the browser and blokauto verify to name the same check.
async function sameVerdicts(orig, lo, hi, n, seen) {
  const g = loadGenesis(readFileSync(BLOK_GENESIS, "utf8"));
  let seed = 7;
  const rnd = (m) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % m);
  const subst = Buffer.from('01af"}, :A9\n');
  const file = `${BLOK_TMP}/mutated.json`;
  for (let i = 0; i < n; i++) {
    const b = Buffer.from(orig);
    const at = lo + rnd(hi - lo);
    b[at] = subst[rnd(subst.length)];
    writeFileSync(file, b);
    const m = /NOT VERIFIED: (\w+)/.exec(cVerify(file));
    const res = await verifyReport(b, g);
    const js = res.ok ? "VERIFIED" : res.check;
    assert.equal(js, m ? m[1] : "VERIFIED", `byte ${at} -> ${String.fromCharCode(b[at])}: ${res.why}`);
    seen.add(js);
  }
}

test("one-byte changes in the parts state: the browser names the check blokauto verify names", { skip: !(live && BLOK_VIN_RECALLS && BLOK_BIN && BLOK_TMP) }, async () => {
  const orig = Buffer.from(await bundle(BLOK_VIN_RECALLS));
  const lo = orig.indexOf('"recalls":['), hi = orig.indexOf('],"summary":');
  assert.ok(lo > 0 && hi > lo);
  const seen = new Set();
  await sameVerdicts(orig, lo, hi, 40, seen);
  assert.ok(seen.has("recalls"), `checks seen: ${[...seen].join(", ")}`);
});

test("one-byte changes: the browser names the check blokauto verify names", { skip: !(live && BLOK_BIN && BLOK_TMP) }, async () => {
  const g = loadGenesis(readFileSync(BLOK_GENESIS, "utf8"));
  const orig = Buffer.from(await bundle());
  let seed = 7;
  const rnd = (m) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % m);
  const subst = Buffer.from('01af"}, :A9\n');
  const file = `${BLOK_TMP}/mutated.json`;
  const seen = new Set();
  for (let i = 0; i < 60; i++) {
    const b = Buffer.from(orig);
    const at = rnd(b.length);
    b[at] = subst[rnd(subst.length)];
    writeFileSync(file, b);
    let out;
    try {
      out = execFileSync(BLOK_BIN, ["verify", file, "--genesis", BLOK_GENESIS], { stdio: ["ignore", "pipe", "pipe"] }).toString();
    } catch (e) {
      out = e.stdout.toString();
    }
    const m = /NOT VERIFIED: (\w+)/.exec(out);
    const res = await verifyReport(b, g);
    const js = res.ok ? "VERIFIED" : res.check;
    assert.equal(js, m ? m[1] : "VERIFIED", `byte ${at} -> ${String.fromCharCode(b[at])}: ${res.why}`);
    seen.add(js);
  }
  assert.ok(seen.size >= 3, `checks seen: ${[...seen].join(", ")}`);
});
