// Candid UI in a real browser, against the project's canisters: the Candid
// UI canister that icp-cli installed when it started the network is opened
// in headless Chromium (Debian's, driven by playwright-core) through the
// network's gateway, for the ICP ledger and for governance; methods are
// called by filling Candid UI's forms and the answers read off the page.
// Screenshots go to target/candid-ui/.
//
// Needs ICP_BIN, ICP_TEST_HOME and IC_NETWORK_URL/IC_NETWORK_ROOT_KEY as
// scripts/test.sh exports them, and Chromium (CHROMIUM_BIN, else
// /usr/bin/chromium; scripts/ensure-chromium.sh installs it); skipped
// without them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { HttpAgent, AnonymousIdentity } from "@icp-sdk/core/agent";
import { Ed25519KeyIdentity } from "@icp-sdk/core/identity";
import { Principal } from "@icp-sdk/core/principal";
import { IcrcLedgerCanister } from "@icp-sdk/canisters/ledger/icrc";

const root = new URL("../..", import.meta.url).pathname;
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const { ICP_BIN, ICP_TEST_HOME, IC_NETWORK_URL, IC_NETWORK_ROOT_KEY } = process.env;
const skip = !existsSync(CHROMIUM)
  ? `no ${CHROMIUM} (scripts/ensure-chromium.sh installs it)`
  : !ICP_BIN || !ICP_TEST_HOME || !IC_NETWORK_URL
    ? "ICP_BIN, ICP_TEST_HOME and IC_NETWORK_URL come from scripts/test.sh"
    : false;
const LEDGER = "ryjl3-tyaaa-aaaaa-aaaba-cai";
const GOVERNANCE = "rrkah-fqaaa-aaaaa-aaaaq-cai";
const screenshots = join(root, "target/candid-ui");

/** Candid UI's page for `canister`, with the browser kept off the internet
 * (Candid UI links fonts and styles from CDNs; the page works without). */
async function candidUi(browser, canister) {
  const status = JSON.parse(
    execFileSync(ICP_BIN, ["network", "status", "--json"], {
      cwd: join(root, "examples/counter"),
      env: { ...process.env, HOME: ICP_TEST_HOME, DO_NOT_TRACK: "1" },
      encoding: "utf8",
    }),
  );
  const port = new URL(status.gateway_url).port;
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.route("**/*", (route) => {
    const host = new URL(route.request().url()).hostname;
    return host === "localhost" || host.endsWith(".localhost") ? route.continue() : route.abort();
  });
  await page.goto(`http://${status.candid_ui_principal}.localhost:${port}/?id=${canister}`);
  return page;
}

/** Clicks the method's button and waits for a new answer in its result pane. */
async function run(page, method) {
  const item = page.locator(`li#${method}`);
  const result = item.locator(".result .left");
  const before = (await result.textContent()) ?? "";
  await item.locator(".button-container button").first().click();
  await page.waitForFunction(
    ([selector, previous]) => {
      const text = document.querySelector(selector)?.textContent ?? "";
      return text !== previous && text.includes("(");
    },
    [`li#${method} .result .left`, before],
    { timeout: 30_000 },
  );
  return (await result.textContent()).replaceAll("_", "");
}

test("Candid UI in Chromium: the ledger's icrc1_balance_of and icrc1_transfer, governance's list_proposals and economics", { skip }, async () => {
  mkdirSync(screenshots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
  try {
    const payee = Ed25519KeyIdentity.generate().getPrincipal().toText();
    const ledgerPage = await candidUi(browser, LEDGER);
    await ledgerPage.locator("li#icrc1_balance_of").waitFor({ timeout: 60_000 });

    const balanceForm = ledgerPage.locator("li#icrc1_balance_of");
    await balanceForm.locator("input.argument").first().fill(payee);
    assert.match(await run(ledgerPage, "icrc1_balance_of"), /^\(0\)/);

    // The page calls as the anonymous principal, which the network funded.
    const transferForm = ledgerPage.locator("li#icrc1_transfer");
    const [owner, amount] = [transferForm.locator("input.argument").first(), transferForm.locator("input.argument").last()];
    await owner.fill(payee);
    await amount.fill("123456789");
    const sent = await run(ledgerPage, "icrc1_transfer");
    assert.match(sent, /Ok/, sent);
    assert.match(await run(ledgerPage, "icrc1_balance_of"), /^\(123456789\)/);
    await ledgerPage.locator("li#icrc1_transfer").scrollIntoViewIfNeeded();
    await ledgerPage.screenshot({ path: join(screenshots, "ledger.png") });

    // What the page showed is what the ledger says.
    const agent = await HttpAgent.create({
      host: IC_NETWORK_URL,
      identity: new AnonymousIdentity(),
      rootKey: Uint8Array.from(Buffer.from(IC_NETWORK_ROOT_KEY, "hex")),
      shouldFetchRootKey: false,
    });
    const ledger = IcrcLedgerCanister.create({ agent, canisterId: Principal.fromText(LEDGER) });
    assert.equal(await ledger.balance({ owner: Principal.fromText(payee), certified: true }), 123_456_789n);

    const governancePage = await candidUi(browser, GOVERNANCE);
    const listForm = governancePage.locator("li#list_proposals");
    await listForm.waitFor({ timeout: 60_000 });
    for (const length of await listForm.locator('input[placeholder="len"]').all()) {
      await length.fill("0");
    }
    await listForm.locator("input.argument").first().fill("10");
    // On a new network there is no proposal yet: the answer decodes to an
    // empty list; the economics show governance's real values.
    const proposals = await run(governancePage, "list_proposals");
    assert.match(proposals, /^\(record \{proposalinfo=vec \{/, proposals);
    const economics = await run(governancePage, "get_network_economics_parameters");
    assert.match(economics, /rejectcoste8s=2500000000[;}]/, economics);
    await listForm.scrollIntoViewIfNeeded();
    await governancePage.screenshot({ path: join(screenshots, "governance.png") });
  } finally {
    await browser.close();
  }
});
