// The official JavaScript clients against the project's NNS on the local
// network: @icp-sdk/core's agent (certificates and query signatures
// verified) and @icp-sdk/canisters' ledger, NNS governance and CMC clients,
// which decode every reply with the official Candid interfaces.
//
// Run by the README's test command with IC_NETWORK_URL and
// IC_NETWORK_ROOT_KEY (hex) naming a network that
// `icp-economy-network` started: node --test tests/js/local-network.test.mjs

import { test } from "node:test";
import assert from "node:assert/strict";
import { HttpAgent, AnonymousIdentity } from "@icp-sdk/core/agent";
import { Ed25519KeyIdentity } from "@icp-sdk/core/identity";
import { Secp256k1KeyIdentity } from "@icp-sdk/core/identity/secp256k1";
import { Principal } from "@icp-sdk/core/principal";
import { IcpLedgerCanister, AccountIdentifier } from "@icp-sdk/canisters/ledger/icp";
import {
  NnsGovernanceCanister,
  NeuronState,
  NeuronVisibility,
  Topic,
  Vote,
} from "@icp-sdk/canisters/nns";
import { CmcCanister } from "@icp-sdk/canisters/cmc";

const url = process.env.IC_NETWORK_URL;
const rootKeyHex = process.env.IC_NETWORK_ROOT_KEY;
if (!url || !rootKeyHex) {
  throw new Error("IC_NETWORK_URL and IC_NETWORK_ROOT_KEY name the network to test");
}
const rootKey = Uint8Array.from(Buffer.from(rootKeyHex, "hex"));
const LEDGER = Principal.fromText("ryjl3-tyaaa-aaaaa-aaaba-cai");
const GOVERNANCE = Principal.fromText("rrkah-fqaaa-aaaaa-aaaaq-cai");
const CMC = Principal.fromText("rkp4c-7iaaa-aaaaa-aaaca-cai");
const ICP = 100_000_000n;
const FEE = 10_000n;
const SIX_MONTHS = 15_778_800;

async function agentOf(identity) {
  return HttpAgent.create({
    host: url,
    identity,
    rootKey,
    shouldFetchRootKey: false,
    verifyQuerySignatures: true,
  });
}

const seed = (n) => new Uint8Array(32).fill(n);
const anonymous = await agentOf(new AnonymousIdentity());
const anonymousLedger = IcpLedgerCanister.create({ agent: anonymous, canisterId: LEDGER });

async function fund(principal, e8s) {
  await anonymousLedger.transfer({
    to: AccountIdentifier.fromPrincipal({ principal }),
    amount: e8s,
  });
}

for (const [scheme, identity] of [
  ["Ed25519", Ed25519KeyIdentity.generate(seed(41))],
  ["secp256k1", Secp256k1KeyIdentity.generate(seed(42))],
]) {
  test(`ledger-icp: transfer, icrc1Transfer and accountBalance as ${scheme}`, async () => {
    const principal = identity.getPrincipal();
    const account = AccountIdentifier.fromPrincipal({ principal });
    const ledger = IcpLedgerCanister.create({ agent: await agentOf(identity), canisterId: LEDGER });
    await fund(principal, 5n * ICP);
    const before = await ledger.accountBalance({ accountIdentifier: account, certified: true });
    assert.ok(before >= 5n * ICP);
    const payee = Ed25519KeyIdentity.generate(seed(43)).getPrincipal();
    const payeeAccount = AccountIdentifier.fromPrincipal({ principal: payee });
    const payeeBefore = await ledger.accountBalance({ accountIdentifier: payeeAccount, certified: false });
    const block = await ledger.transfer({ to: payeeAccount, amount: ICP, memo: 7n });
    const icrcBlock = await ledger.icrc1Transfer({
      to: { owner: payee, subaccount: [] },
      amount: 2n * ICP,
    });
    assert.equal(icrcBlock, block + 1n);
    assert.equal(
      await ledger.accountBalance({ accountIdentifier: account, certified: true }),
      before - 3n * ICP - 2n * FEE,
    );
    assert.equal(
      await ledger.accountBalance({ accountIdentifier: payeeAccount, certified: false }),
      payeeBefore + 3n * ICP,
    );
  });
}

test("nns: a neuron staked and proposing, seen by listNeurons, getNeuron and listProposals", async () => {
  const identity = Ed25519KeyIdentity.generate(seed(44));
  const principal = identity.getPrincipal();
  const agent = await agentOf(identity);
  await fund(principal, 40n * ICP);
  const ledgerCanister = IcpLedgerCanister.create({ agent, canisterId: LEDGER });
  const governance = NnsGovernanceCanister.create({ agent, canisterId: GOVERNANCE });
  // Proposing puts the reject cost (25 ICP) at stake.
  const neuronId = await governance.stakeNeuron({ stake: 30n * ICP, principal, ledgerCanister });
  await governance.increaseDissolveDelay({ neuronId, additionalDissolveDelaySeconds: SIX_MONTHS });

  const neurons = await governance.listNeurons({ certified: true });
  const listed = neurons.find((n) => n.neuronId === neuronId);
  assert.ok(listed, "listNeurons lists the caller's neuron");
  assert.equal(listed.fullNeuron?.cachedNeuronStake, 30n * ICP);
  // A new neuron starts with 7 days of delay, as on the NNS.
  assert.equal(listed.dissolveDelaySeconds, BigInt(SIX_MONTHS + 7 * 24 * 3600));

  const neuron = await governance.getNeuron({ certified: false, neuronId });
  assert.equal(neuron?.neuronId, neuronId);

  const proposalId = await governance.makeProposal({
    neuronId,
    title: "A motion from the JavaScript client",
    url: "",
    summary: "Proposed through @icp-sdk/canisters",
    action: { Motion: { motionText: "The local network speaks the IC's HTTP interface." } },
  });
  assert.ok(proposalId !== undefined);
  const { proposals } = await governance.listProposals({
    request: {
      limit: 10,
      beforeProposal: undefined,
      includeRewardStatus: [],
      excludeTopic: [],
      includeAllManageNeuronProposals: false,
      includeStatus: [],
    },
    certified: true,
  });
  const proposal = proposals.find((p) => p.id === proposalId);
  assert.ok(proposal, "listProposals lists the new proposal");
  assert.equal(proposal.proposer, neuronId);
});

// What the NNS dapp does with a neuron, call by call, through the official
// client: every reply decoded with the official interface.
test("nns: the NNS dapp's neuron management calls", async () => {
  const identity = Ed25519KeyIdentity.generate(seed(45));
  const principal = identity.getPrincipal();
  const agent = await agentOf(identity);
  await fund(principal, 100n * ICP);
  const ledgerCanister = IcpLedgerCanister.create({ agent, canisterId: LEDGER });
  const governance = NnsGovernanceCanister.create({ agent, canisterId: GOVERNANCE });
  const stake = (e8s) => governance.stakeNeuron({ stake: e8s, principal, ledgerCanister });
  const leader = await stake(40n * ICP);
  const follower = await stake(5n * ICP);
  // As the NNS dapp calls it, the "delay" is the dissolve timestamp.
  const inSixMonths = Math.floor(Date.now() / 1000) + SIX_MONTHS + 86_400;
  await governance.setDissolveDelay({ neuronId: leader, dissolveDelaySeconds: inSixMonths });
  await governance.increaseDissolveDelay({ neuronId: follower, additionalDissolveDelaySeconds: 30 * 86_400 });

  const hotkey = Ed25519KeyIdentity.generate(seed(46)).getPrincipal();
  await governance.addHotkey({ neuronId: follower, principal: hotkey });
  let info = await governance.getNeuron({ certified: true, neuronId: follower });
  assert.deepEqual(info.fullNeuron.hotKeys.map(String), [hotkey.toText()]);
  await governance.removeHotkey({ neuronId: follower, principal: hotkey });

  await governance.setVisibility(leader, NeuronVisibility.Public);
  await governance.setFollowees({ neuronId: follower, topic: Topic.ExchangeRate, followees: [leader] });
  await governance.setFollowing({
    neuronId: follower,
    topicFollowing: [
      { topic: Topic.Governance, followees: [leader] },
      { topic: Topic.SnsAndCommunityFund, followees: [leader] },
    ],
  });
  info = await governance.getNeuron({ certified: true, neuronId: follower });
  const followed = info.fullNeuron.followees.map((f) => f.topic).sort((a, b) => a - b);
  assert.deepEqual(followed, [Topic.ExchangeRate, Topic.Governance, Topic.SnsAndCommunityFund]);
  await governance.refreshVotingPower({ neuronId: follower });
  await governance.autoStakeMaturity({ neuronId: follower, autoStake: true });
  await governance.joinCommunityFund(follower);
  await governance.leaveCommunityFund(follower);

  // A motion: the leader votes yes by proposing, its follower follows.
  const proposalId = await governance.makeProposal({
    neuronId: leader,
    title: "Follow me",
    url: "",
    summary: "A motion the follower's vote follows",
    action: { Motion: { motionText: "Followers follow." } },
  });
  const proposal = await governance.getProposal({ proposalId, certified: true });
  const ballot = (id) => proposal.ballots.find((b) => b.neuronId === id);
  assert.equal(ballot(leader)?.vote, Vote.Yes);
  assert.equal(ballot(follower)?.vote, Vote.Yes, "the follower followed on Governance");
  // Voting again is refused with a typed governance error.
  await assert.rejects(
    governance.registerVote({ neuronId: follower, vote: Vote.No, proposalId }),
  );

  // Split, merge (simulated, then real), dissolve and stop.
  const child = await governance.splitNeuron({ neuronId: leader, amount: 3n * ICP });
  const simulated = await governance.simulateMergeNeurons({ sourceNeuronId: child, targetNeuronId: follower });
  assert.equal(simulated.neuronId, follower);
  await governance.mergeNeurons({ sourceNeuronId: child, targetNeuronId: follower });
  await governance.startDissolving(follower);
  info = await governance.getNeuron({ certified: false, neuronId: follower });
  assert.equal(info.state, NeuronState.Dissolving);
  await governance.stopDissolving(follower);

  const known = await governance.listKnownNeurons(true);
  assert.ok(Array.isArray(known));
  const economics = await governance.getNetworkEconomicsParameters({ certified: true });
  assert.equal(economics.rejectCost, 25n * ICP);
  const reward = await governance.getLatestRewardEvent(false);
  assert.ok(reward.day_after_genesis !== undefined);
  // Metrics exist after the first daily count; before it, a typed error.
  try {
    const metrics = await governance.getMetrics({ certified: false });
    assert.ok(metrics.totalSupplyIcp >= 0n);
  } catch (error) {
    // A GovernanceError, as the NNS answers before its first count.
    const detail = error?.detail?.error_message ?? error?.message ?? "";
    assert.ok(error?.detail, `a typed governance error: ${error}`);
    assert.match(detail, /metric|not yet|available|computed/i);
  }

  // Dissolved a week later (time moved ahead by the network's admin
  // endpoint, when the network allows it), then disbursed.
  const seven = await governance.stakeNeuron({ stake: 2n * ICP, principal, ledgerCanister });
  await governance.startDissolving(seven);
  const advanced = await fetch(`${url}/_/time/advance?seconds=${7 * 86_400 + 1}`, { method: "POST" });
  if (advanced.status === 403 && process.env.ICP_ECONOMY_ALLOW_TIME_CONTROL !== "1") {
    return; // a network started without time control
  }
  assert.equal(advanced.status, 200);
  info = await governance.getNeuron({ certified: false, neuronId: seven });
  assert.equal(info.state, NeuronState.Dissolved);
  const account = AccountIdentifier.fromPrincipal({ principal });
  const before = await ledgerCanister.accountBalance({ accountIdentifier: account, certified: true });
  await governance.disburse({ neuronId: seven });
  const after = await ledgerCanister.accountBalance({ accountIdentifier: account, certified: true });
  assert.equal(after, before + 2n * ICP - FEE);
});

test("cmc: the ICP/cycles rate, certified", async () => {
  const cmc = CmcCanister.create({ agent: anonymous, canisterId: CMC });
  const certified = await cmc.getIcpToCyclesConversionRate({ certified: true });
  const query = await cmc.getIcpToCyclesConversionRate({ certified: false });
  // 3.5 XDR per ICP, 10^12 cycles per XDR: cycles per e8s.
  assert.equal(certified, query);
  assert.ok(certified > 0n);
});
