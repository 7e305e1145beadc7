// icp-cli end to end on the project's NNS: the network the README's test
// command started with `icp network start -d` in examples/counter (with the
// project's launcher) is pinged, the example deployed through the cycles
// ledger and called, ICP and cycles moved with `icp token` and `icp cycles`
// — each balance icp prints checked against what the ledgers answer to
// @icp-sdk/canisters' clients — and the network stopped, last.
//
// The tests build on each other (deploy, then calls; stop last): run the
// file whole. Needs ICP_BIN, ICP_TEST_HOME (icp-cli's HOME, with identities alice, the
// default, and bob), ICP_CLI_NETWORK_LAUNCHER_PATH, IC_NETWORK_URL and
// IC_NETWORK_ROOT_KEY, as scripts/test.sh exports them.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { HttpAgent, AnonymousIdentity } from "@icp-sdk/core/agent";
import { Principal } from "@icp-sdk/core/principal";
import { IcrcLedgerCanister } from "@icp-sdk/canisters/ledger/icrc";
import { CmcCanister } from "@icp-sdk/canisters/cmc";

const root = new URL("../..", import.meta.url).pathname;
const example = join(root, "examples/counter");
const { ICP_BIN, ICP_TEST_HOME, IC_NETWORK_URL, IC_NETWORK_ROOT_KEY } = process.env;
const skip = !ICP_BIN || !ICP_TEST_HOME || !IC_NETWORK_URL
  ? "ICP_BIN, ICP_TEST_HOME and IC_NETWORK_URL come from scripts/test.sh"
  : false;

/** Runs `icp args…` in `cwd` as icp-cli's own user; its standard output
 * (with its standard error after it when `withErrors`). */
function icp(args, cwd = example, withErrors = false) {
  const run = spawnSync(ICP_BIN, args, {
    cwd,
    env: { ...process.env, HOME: ICP_TEST_HOME, DO_NOT_TRACK: "1" },
    encoding: "utf8",
  });
  if (run.status !== 0) {
    throw new Error(`icp ${args.join(" ")} exited with ${run.status}: ${run.stderr}`);
  }
  return withErrors ? run.stdout + run.stderr : run.stdout;
}

const ICP_LEDGER = Principal.fromText("ryjl3-tyaaa-aaaaa-aaaba-cai");
const CYCLES_LEDGER = Principal.fromText("um5iw-rqaaa-aaaaq-qaaba-cai");
const CMC = Principal.fromText("rkp4c-7iaaa-aaaaa-aaaca-cai");
const E8S = 100_000_000n;
const ICP_FEE = 10_000n;
const CYCLES_FEE = 100_000_000n;

const agent = skip
  ? undefined
  : await HttpAgent.create({
      host: IC_NETWORK_URL,
      identity: new AnonymousIdentity(),
      rootKey: Uint8Array.from(Buffer.from(IC_NETWORK_ROOT_KEY, "hex")),
      shouldFetchRootKey: false,
      verifyQuerySignatures: true,
    });
const ledgerOf = (canisterId) => IcrcLedgerCanister.create({ agent, canisterId });
const balanceOf = (ledger, principal) =>
  ledgerOf(ledger).balance({ owner: Principal.fromText(principal), certified: true });
/** "1_006_999.5" or "999985.49980000" as a bigint of the smallest units. */
const units = (text, decimals) => {
  const [whole, fraction = ""] = text.replaceAll("_", "").split(".");
  return BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
};
const tokenBalance = (identity) =>
  units(icp(["token", "balance", "--identity", identity]).match(/Balance: ([\d_.]+) ICP/)[1], 8);
const cyclesBalance = (identity) =>
  units(icp(["cycles", "balance", "--identity", identity]).match(/Balance: ([\d_]+) cycles/)[1], 0);

const principalOf = (identity) => icp(["identity", "principal", "--identity", identity]).trim();

test("icp network status and ping: the project's network, with Candid UI and the proxy installed", { skip }, () => {
  const status = JSON.parse(icp(["network", "status", "--json"]));
  assert.equal(status.managed, true);
  assert.equal(status.root_key, IC_NETWORK_ROOT_KEY);
  assert.match(status.candid_ui_principal, /-cai$/);
  assert.match(status.proxy_canister_principal, /-cai$/);
  const ping = icp(["network", "ping"]);
  assert.match(ping, /"replica_health_status": "healthy"/);
  assert.match(ping, /icp-economy-network/);
});

test("icp-cli's start-up funded each identity with 1 M ICP and 1 000 T cycles", { skip }, async () => {
  const bob = principalOf("bob");
  assert.equal(await balanceOf(ICP_LEDGER, bob), 1_000_000n * E8S);
  assert.equal(await balanceOf(CYCLES_LEDGER, bob), 1_000n * 10n ** 12n);
  assert.equal(tokenBalance("bob"), 1_000_000n * E8S);
  assert.equal(cyclesBalance("bob"), 1_000n * 10n ** 12n);
});

test("icp deploy of the example through the cycles ledger, on the application subnet; calls and status", { skip }, async () => {
  const alice = principalOf("alice");
  const cyclesBefore = await balanceOf(CYCLES_LEDGER, alice);
  const deployed = icp(["deploy"]);
  const id = deployed.match(/Created canister counter with ID ([a-z0-9-]+)/)[1];
  // The default 2 T cycles for the canister, plus the cycles ledger's fee.
  assert.equal(await balanceOf(CYCLES_LEDGER, alice), cyclesBefore - 2n * 10n ** 12n - CYCLES_FEE);
  // The application subnet's range starts at the network's default
  // effective canister id; canister ids are numbered within it.
  const descriptor = JSON.parse(readFileSync(join(example, ".icp/cache/networks/local/descriptor.json"), "utf8"));
  const launcherStatus = JSON.parse(readFileSync(join(descriptor["status-dir"], "status.json"), "utf8"));
  const index = (text) => Buffer.from(Principal.fromText(text).toUint8Array().slice(0, 8)).readBigUInt64BE();
  const offset = index(id) - index(launcherStatus.default_effective_canister_id);
  assert.ok(offset >= 0n && offset < 1n << 20n, `${id} lies in the application subnet's range`);

  assert.equal(icp(["canister", "call", "counter", "increment", "()"]).trim(), "(1 : nat64)");
  assert.equal(icp(["canister", "call", "counter", "increment", "()"]).trim(), "(2 : nat64)");
  assert.equal(icp(["canister", "call", "counter", "get", "()", "--query"]).trim(), "(2 : nat64)");
  assert.equal(icp(["canister", "call", "counter", "greet", '("Ada")']).trim(), '("Hello, Ada!")');
  assert.equal(icp(["canister", "call", "counter", "whoami", "()"]).trim(), `(principal "${alice}")`);

  const status = icp(["canister", "status", "counter"]);
  assert.match(status, /Status: Running/);
  assert.match(status, new RegExp(`controller: ${alice}`));
  const module = readFileSync(join(root, "target/canisters/counter.wasm.gz"));
  assert.match(status, new RegExp(`Module hash: 0x${createHash("sha256").update(module).digest("hex")}`));
  assert.match(status, /Cycles: 2_000_000_000_000(?![\d_])/);

  // A second deploy upgrades in place and keeps the count (stable memory).
  const again = icp(["deploy"]);
  assert.doesNotMatch(again, /Created canister/);
  assert.equal(icp(["canister", "call", "counter", "get", "()", "--query"]).trim(), "(2 : nat64)");
});

test("icp token balance and transfer: ICP between two identities, as the ledger reports", { skip }, async () => {
  const [alice, bob] = [principalOf("alice"), principalOf("bob")];
  const [aliceBefore, bobBefore] = [tokenBalance("alice"), tokenBalance("bob")];
  assert.equal(aliceBefore, await balanceOf(ICP_LEDGER, alice));
  const sent = icp(["token", "transfer", "12.5", bob]);
  assert.match(sent, new RegExp(`Transferred 12\\.50000000 ICP to ${bob} in block \\d+`));
  assert.equal(tokenBalance("alice"), aliceBefore - 1_250_000_000n - ICP_FEE);
  assert.equal(tokenBalance("bob"), bobBefore + 1_250_000_000n);
  assert.equal(await balanceOf(ICP_LEDGER, alice), aliceBefore - 1_250_000_000n - ICP_FEE);
  assert.equal(await balanceOf(ICP_LEDGER, bob), bobBefore + 1_250_000_000n);
  // More than the balance: refused with the ledger's numbers, nothing moved.
  assert.throws(() => icp(["token", "transfer", "100000000", bob]), /insufficient funds/i);
  assert.equal(await balanceOf(ICP_LEDGER, bob), bobBefore + 1_250_000_000n);
});

test("icp cycles mint (ICP → cycles through the CMC's notify_mint_cycles), balance and transfer", { skip }, async () => {
  const [alice, bob] = [principalOf("alice"), principalOf("bob")];
  const icpBefore = await balanceOf(ICP_LEDGER, alice);
  const cyclesBefore = cyclesBalance("alice");
  assert.equal(cyclesBefore, await balanceOf(CYCLES_LEDGER, alice));
  const cyclesPerE8 = await CmcCanister.create({ agent, canisterId: CMC }).getIcpToCyclesConversionRate({
    certified: true,
  });
  const minted = icp(["cycles", "mint", "--icp", "2"]);
  // 2 ICP at the CMC's certified rate, less the cycles ledger's fee.
  const expected = 2n * E8S * cyclesPerE8 - CYCLES_FEE;
  const [, got, balance] = minted.match(/Minted ([\d_]+) cycles to your account, new balance: ([\d_]+) cycles/);
  assert.equal(units(got, 0), expected);
  assert.equal(units(balance, 0), cyclesBefore + expected);
  assert.equal(await balanceOf(CYCLES_LEDGER, alice), cyclesBefore + expected);
  assert.equal(await balanceOf(ICP_LEDGER, alice), icpBefore - 2n * E8S - ICP_FEE);

  const bobBefore = await balanceOf(CYCLES_LEDGER, bob);
  assert.match(icp(["cycles", "transfer", "1t", bob]), /Transferred 1_000_000_000_000 cycles/);
  assert.equal(await balanceOf(CYCLES_LEDGER, bob), bobBefore + 10n ** 12n);
  assert.equal(cyclesBalance("alice"), cyclesBefore + expected - 10n ** 12n - CYCLES_FEE);
});

test("icp deploy of this repository: the app canister on a network of its own", { skip }, () => {
  // The repository's icp.yaml deploys the app only: on this network the NNS
  // canisters are the network's own.
  icp(["network", "start", "-d"], root);
  try {
    const deployed = icp(["deploy"], root);
    assert.match(deployed, /Created canister app with ID/);
    assert.doesNotMatch(deployed, /canister (ledger|governance|cmc)/);
    assert.match(icp(["canister", "call", "app", "http_request", '(record { url = "/"; method = "GET"; body = blob ""; headers = vec {} })', "--query"], root), /status_code = 200/);
  } finally {
    icp(["network", "stop"], root);
  }
});

test("icp network stop: the launcher exits, its status file goes, no process is left", { skip }, () => {
  const descriptor = JSON.parse(readFileSync(join(example, ".icp/cache/networks/local/descriptor.json"), "utf8"));
  const pid = descriptor["child-locator"].pid;
  const statusFile = join(descriptor["status-dir"], "status.json");
  assert.ok(existsSync(statusFile));
  assert.match(icp(["network", "stop"], example, true), /Network stopped successfully/);
  // Gone, or a zombie waiting for a parent that does not reap it.
  const exited = () => {
    try {
      process.kill(pid, 0);
    } catch {
      return true;
    }
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
  };
  assert.ok(exited(), "the launcher has exited");
  assert.equal(existsSync(statusFile), false);
  assert.throws(() => icp(["network", "status"]), /not running/);
});
