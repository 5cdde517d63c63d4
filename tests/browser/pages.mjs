// The web pages in a real browser: playwright-core driving Debian's chromium, headless, against
// the devnet that run.sh starts. It checks that a demo vehicle with an odometer rollback is
// verified in the browser and its chart marks the rollback; that a vehicle with open recalls shows
// them from its verified report, each with its path of parts; that the verify page refuses a
// tampered bundle and names the failed check (and accepts the untampered one); that a search
// leads from a VIN to a block to a transaction; that the explorer follows the chain live over
// Server-Sent Events; and that no page logs a console error. Screenshots go to tests/artifacts/.
//
// Environment (set by run.sh): BLOK_URL, BLOK_VIN (a vehicle with a rollback), BLOK_GENESIS,
// BLOK_VIN_RETIRED (a retired one), BLOK_TMP (a scratch folder), BLOK_ARTIFACTS.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { chromium } from "playwright-core";

const { BLOK_URL, BLOK_VIN, BLOK_GENESIS, BLOK_TMP, BLOK_ARTIFACTS } = process.env;
const { BLOK_RECALL, BLOK_CLONE, BLOK_VIN_RECALLS } = process.env;
for (const [k, v] of Object.entries({ BLOK_URL, BLOK_VIN, BLOK_GENESIS, BLOK_TMP, BLOK_ARTIFACTS }))
  if (!v) throw new Error(`${k} is not set (run tests/browser/run.sh)`);
mkdirSync(BLOK_ARTIFACTS, { recursive: true });

const problems = [];
const userDataDir = mkdtempSync(join(BLOK_TMP, "chromium-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: "/usr/bin/chromium",
  headless: true,
  viewport: { width: 1280, height: 900 },
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

let closing = false; // set before the context closes: what that aborts is the test's doing

function watch(page) {
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
  page.on("requestfailed", (r) => {
    // Leaving a page aborts its event stream, and closing the context at the end aborts the
    // requests still under way (the explorer fetches new blocks as they come); no fault either.
    if (closing || r.url().endsWith("/v1/events")) return;
    problems.push(`request failed: ${r.url()}: ${r.failure()?.errorText}`);
  });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: join(BLOK_ARTIFACTS, `${name}.png`), fullPage: true });
}

const step = async (name, fn) => {
  const t0 = Date.now();
  await fn();
  console.log(`ok - ${name} (${Date.now() - t0} ms)`);
};

let failed = false;
try {
  const page = watch(await context.newPage());
  page.setDefaultTimeout(20000);

  await step("vehicle page: verified in the browser, rollback marked", async () => {
    await page.goto(`${BLOK_URL}/vehicle.html?vin=${BLOK_VIN}`);
    const badge = page.locator("#verified");
    await badge.locator("xpath=self::*[contains(@class,'verified') or contains(@class,'not-verified')]").waitFor();
    const text = (await badge.textContent()).trim();
    assert.match(text, /^Verified, complete as of block \d+$/, text);
    assert.ok(await page.locator("#verified.verified").isVisible());
    assert.ok((await page.locator("svg .rollback-marker").count()) >= 1, "no rollback marker in the chart");
    assert.match(await page.locator("#badges").textContent(), /Odometer rollback\s*\d+ readings? below the highest/);
    assert.ok((await page.locator(".timeline .event.rollback").count()) >= 1, "no rollback in the timeline");
    assert.equal(await page.locator("#download").getAttribute("download"), `${BLOK_VIN}.report.json`);
    await shot(page, "vehicle");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "vehicle-phone");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow} px wider than a phone`);
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await step("vehicle page: a retired vehicle; an unknown vin", async () => {
    await page.goto(`${BLOK_URL}/vehicle.html?vin=${process.env.BLOK_VIN_RETIRED}`);
    await page.locator("#verified.verified").waitFor();
    assert.match(await page.locator("#badges").textContent(), /End of life\s*retired at block \d+/);
    await shot(page, "vehicle-retired");
    await page.goto(`${BLOK_URL}/vehicle.html?vin=1M8GDM9AXKP042788`);
    await page.locator("#vehicle .error").waitFor();
    assert.match(await page.locator("#vehicle .error").textContent(), /No vehicle 1M8GDM9AXKP042788 is registered/);
  });

  await step("verify page: a tampered bundle is not verified, naming the check", async () => {
    const text = await (await fetch(`${BLOK_URL}/v1/vehicles/${BLOK_VIN}/report`)).text();
    const b = JSON.parse(text);
    assert.ok(b.summary.rollbacks > 0);
    b.summary.rollbacks = 0; // hide the rollback
    await page.goto(`${BLOK_URL}/verify.html`);
    await page.setInputFiles("#genesis", BLOK_GENESIS);
    await page.setInputFiles("#report", { name: "tampered.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(b)) });
    const result = page.locator("#result.not-verified");
    await result.waitFor();
    assert.match(await result.textContent(), /^NOT VERIFIED: summary: summary\.rollbacks is not what the record and events give/);
    await shot(page, "verify-tampered");
    await page.setInputFiles("#report", { name: "report.json", mimeType: "application/json", buffer: Buffer.from(text) });
    await page.locator("#result.verified").waitFor();
    assert.match(await page.locator("#result").textContent(), new RegExp(`^VERIFIED: ${BLOK_VIN} complete as of block \\d+`));
    // The genesis of another chain: the header check fails.
    const other = { ...JSON.parse(readFileSync(BLOK_GENESIS, "utf8")), chain_id: "another-chain" };
    await page.setInputFiles("#genesis", { name: "other.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(other)) });
    await page.locator("#result.not-verified").waitFor();
    assert.match(await page.locator("#result").textContent(), /^NOT VERIFIED: header: /);
  });

  await step("search: VIN to vehicle, to block, to transaction", async () => {
    await page.goto(`${BLOK_URL}/`);
    await page.fill("#q", BLOK_VIN.toLowerCase());
    await page.press("#q", "Enter");
    await page.waitForURL(/vehicle\.html\?vin=/);
    await page.locator("#verified.verified").waitFor();
    const blockLink = page.locator(".timeline .event .when a").first();
    const height = (await blockLink.textContent()).replace("block ", "");
    await blockLink.click();
    await page.waitForURL(new RegExp(`block\\.html\\?height=${height}$`));
    await page.locator("#block-txs a").first().waitFor();
    assert.match(await page.locator("#block h1").textContent(), new RegExp(`^Block ${height}$`));
    await shot(page, "block");
    const txLink = page.locator("#block-txs a").first();
    const id = await txLink.textContent();
    await txLink.click();
    await page.waitForURL(/tx\.html\?id=/);
    await page.locator("#tx-id").waitFor();
    assert.equal(await page.locator("#tx-id").textContent(), id);
    assert.equal(await page.locator("#tx-block").textContent(), height);
    await shot(page, "tx");
    // The search box takes a height and a transaction id too.
    await page.fill("#q", height);
    await page.press("#q", "Enter");
    await page.waitForURL(new RegExp(`block\\.html\\?height=${height}$`));
    await page.fill("#q", id);
    await page.press("#q", "Enter");
    await page.waitForURL(new RegExp(`tx\\.html\\?id=${id}$`));
    await page.locator("#tx-id").waitFor();
  });

  await step("parts: a recall's reach, a cloned serial found by search, a vehicle's open recalls", async () => {
    await page.goto(`${BLOK_URL}/recall.html?id=${encodeURIComponent(BLOK_RECALL)}`);
    await page.locator("#reach tbody tr").first().waitFor();
    assert.match(await page.locator("#counts").textContent(), /\d+ reached/);
    const reach = await page.locator("#reach").textContent();
    assert.match(reach, /remedied \(block \d+\)/);
    assert.match(reach, /open/);
    await shot(page, "recall");
    await page.fill("#q", BLOK_CLONE);
    await page.press("#q", "Enter");
    await page.waitForURL(/part\.html\?serial=/);
    await page.locator("#flags").waitFor();
    assert.match(await page.locator("#flags").textContent(), /Clone/);
    await page.locator("#part-vehicle").waitFor();
    await shot(page, "part");
    await page.goto(`${BLOK_URL}/vehicle.html?vin=${BLOK_VIN_RECALLS}`);
    await page.locator("#recalls a").first().waitFor();
    assert.match(await page.locator("#recalls").textContent(), /2 open/);
    // From the verified report, each with the parts that put it there: a chip inside an ECU.
    await page.locator("#verified.verified").waitFor();
    const list = await page.locator("#recall-list").textContent();
    assert.match(list, /Recalled part: ECU-\d+ › MCU-\d+\./);
    assert.match(list, /Remedy: /);
    assert.doesNotMatch(await page.locator("#vehicle").textContent(), /node-reported/);
    await shot(page, "vehicle-recalls");
  });

  await step("explorer: status and blocks, live over server-sent events", async () => {
    await page.goto(`${BLOK_URL}/`);
    await page.locator("#live", { hasText: "live" }).waitFor();
    const first = Number(await page.locator("#height").textContent());
    // The devnet commits a block every two seconds even when idle.
    await page.waitForFunction((h) => Number(document.getElementById("height")?.textContent) > h, first, { timeout: 15000 });
    assert.ok((await page.locator("#blocks tr").count()) >= 2);
    await shot(page, "explorer");
    await page.setViewportSize({ width: 390, height: 844 });
    await shot(page, "explorer-phone");
  });
} catch (e) {
  failed = true;
  console.log(`not ok - ${e.stack || e}`);
  try {
    const pages = context.pages();
    if (pages.length) await shot(pages[0], "failure");
  } catch {
    // no screenshot
  }
} finally {
  closing = true;
  await context.close();
}

for (const p of problems) console.log(`not ok - ${p}`);
if (failed || problems.length) {
  console.log(`0 passed, 1 failed`);
  process.exit(1);
}
console.log("browser.pages: 1 passed, 0 failed");
