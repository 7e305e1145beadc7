//! The reward table as plain Rust: its checks, and what each provider
//! earns a month from it.

use candid::Principal;
use nns_api::node_rewards::{MAX_NODE_PROVIDERS, NodeProviderNodes, NodeRewardsTable};
use std::collections::BTreeSet;

/// A provider may not earn more than this a month (10^-4 XDR): a thousand
/// nodes at 2 000 XDR, far above any mainnet provider, so that a typing
/// error in a table is refused rather than minted.
pub const MAX_XDR_PERMYRIAD_PER_PROVIDER_PER_MONTH: u64 = 1_000 * 2_000 * 10_000;

/// The table to hold after an install or upgrade with `providers`: refused
/// with the reason if a provider is named twice, is anonymous, or earns
/// more than the bound.
pub fn checked(
    providers: Vec<NodeProviderNodes>,
    registry_version: u64,
) -> Result<NodeRewardsTable, String> {
    if providers.len() > MAX_NODE_PROVIDERS {
        return Err(format!(
            "at most {MAX_NODE_PROVIDERS} node providers, not {}",
            providers.len()
        ));
    }
    let mut seen = BTreeSet::new();
    for p in &providers {
        if p.node_provider == Principal::anonymous() {
            return Err("a node provider cannot be the anonymous principal".into());
        }
        if !seen.insert(p.node_provider) {
            return Err(format!("node provider {} is named twice", p.node_provider));
        }
        if monthly_xdr_permyriad(p).is_none_or(|x| x > MAX_XDR_PERMYRIAD_PER_PROVIDER_PER_MONTH) {
            return Err(format!(
                "node provider {} would earn more than {} XDR a month",
                p.node_provider,
                MAX_XDR_PERMYRIAD_PER_PROVIDER_PER_MONTH / 10_000
            ));
        }
    }
    Ok(NodeRewardsTable {
        node_providers: providers,
        registry_version,
    })
}

fn monthly_xdr_permyriad(p: &NodeProviderNodes) -> Option<u64> {
    u64::from(p.rewardable_nodes).checked_mul(p.xdr_permyriad_per_node_per_month)
}

/// Each provider's month, in 10^-4 XDR, in the table's order.
pub fn monthly_rewards(table: &NodeRewardsTable) -> Vec<(Principal, u64)> {
    table
        .node_providers
        .iter()
        .map(|p| {
            let xdr = monthly_xdr_permyriad(p).expect("checked when the table was set");
            (p.node_provider, xdr)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(n: u8, nodes: u32, xdr: u64) -> NodeProviderNodes {
        NodeProviderNodes {
            node_provider: Principal::from_slice(&[n; 29]),
            rewardable_nodes: nodes,
            xdr_permyriad_per_node_per_month: xdr * 10_000,
        }
    }

    #[test]
    fn a_month_is_nodes_times_the_node_reward() {
        let table = checked(vec![provider(1, 28, 1_087), provider(2, 0, 873)], 1).unwrap();
        assert_eq!(
            monthly_rewards(&table),
            vec![
                (Principal::from_slice(&[1; 29]), 28 * 1_087 * 10_000),
                (Principal::from_slice(&[2; 29]), 0)
            ]
        );
        assert_eq!(table.registry_version, 1);
    }

    #[test]
    fn bad_tables_are_refused_with_the_reason() {
        let twice = checked(vec![provider(1, 1, 1), provider(1, 2, 1)], 1).unwrap_err();
        assert!(twice.contains("named twice"), "{twice}");
        let anonymous = NodeProviderNodes {
            node_provider: Principal::anonymous(),
            ..provider(1, 1, 1)
        };
        assert!(
            checked(vec![anonymous], 1)
                .unwrap_err()
                .contains("anonymous")
        );
        let huge = checked(vec![provider(1, 1_001, 2_000)], 1).unwrap_err();
        assert!(huge.contains("more than 2000000 XDR"), "{huge}");
        let overflow = NodeProviderNodes {
            xdr_permyriad_per_node_per_month: u64::MAX,
            ..provider(1, u32::MAX, 1)
        };
        let overflow = checked(vec![overflow], 1).unwrap_err();
        assert!(overflow.contains("more than"), "{overflow}");
        let many = (0..=MAX_NODE_PROVIDERS)
            .map(|i| NodeProviderNodes {
                node_provider: Principal::from_slice(&(i as u64).to_be_bytes()),
                rewardable_nodes: 1,
                xdr_permyriad_per_node_per_month: 1,
            })
            .collect();
        assert!(checked(many, 1).unwrap_err().contains("at most"));
    }
}
