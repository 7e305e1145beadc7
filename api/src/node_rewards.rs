//! The node-rewards canister's interface: what each node provider earns a
//! month, in XDR, as the NNS's node-rewards canister answers governance
//! (`get_node_providers_monthly_xdr_rewards`). On mainnet the figures come
//! from the registry's nodes and reward table; here from the table the
//! canister is installed (or upgraded) with.

use candid::{CandidType, Deserialize, Principal};

/// `get_node_providers_monthly_xdr_rewards`'s argument, as on the NNS.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetNodeProvidersMonthlyXdrRewardsRequest {
    pub registry_version: Option<u64>,
}

/// Each provider's reward for a month, in 10^-4 XDR, and the version of
/// the table it was computed from.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeProvidersMonthlyXdrRewards {
    pub rewards: Vec<(Principal, u64)>,
    pub registry_version: Option<u64>,
}

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct GetNodeProvidersMonthlyXdrRewardsResponse {
    pub rewards: Option<NodeProvidersMonthlyXdrRewards>,
    pub error: Option<String>,
}

/// One provider's rewardable nodes and what each earns a month.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct NodeProviderNodes {
    pub node_provider: Principal,
    pub rewardable_nodes: u32,
    /// A node's monthly reward, in 10^-4 XDR (mainnet's reward table:
    /// 873–1 212 XDR a month for a first-generation node at genesis).
    pub xdr_permyriad_per_node_per_month: u64,
}

/// The install and upgrade argument: the whole table (an upgrade without
/// one keeps the table it had).
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeRewardsArg {
    pub node_providers: Vec<NodeProviderNodes>,
}

/// The table as the canister holds it.
#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeRewardsTable {
    pub node_providers: Vec<NodeProviderNodes>,
    /// 1 at install, one more at each upgrade that changes the table.
    pub registry_version: u64,
}

/// At most this many providers in a table (mainnet has about 150).
pub const MAX_NODE_PROVIDERS: usize = 1_000;
