//! What a participant receives: the project's tokens in proportion to the
//! ICP they brought, split into a basket of neurons with increasing
//! dissolve delays (the sale's `neuron_basket_construction_parameters`).

/// A participant's share of `tokens_e8s` for `icp_e8s` of `total_icp_e8s`,
/// rounded down (what rounding leaves stays with the sale).
pub fn tokens_for(icp_e8s: u64, tokens_e8s: u64, total_icp_e8s: u64) -> u64 {
    if total_icp_e8s == 0 {
        return 0;
    }
    // icp ≤ total, so the quotient fits in u64.
    (u128::from(icp_e8s) * u128::from(tokens_e8s) / u128::from(total_icp_e8s)) as u64
}

/// `total` in `count` parts that differ by at most one, the larger ones
/// last (as the SNS swap apportions a basket).
pub fn apportion(total: u64, count: u64) -> Vec<u64> {
    if count == 0 {
        return Vec::new();
    }
    let (quotient, remainder) = (total / count, total % count);
    (0..count)
        .map(|index| quotient + u64::from(index >= count - remainder))
        .collect()
}

/// One neuron of a basket: its tokens and its dissolve delay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BasketNeuron {
    pub amount_e8s: u64,
    pub dissolve_delay_seconds: u64,
}

/// The basket of `amount_e8s`: `count` neurons, the i-th dissolving after
/// i × `interval_seconds` (the first at once).
pub fn basket(amount_e8s: u64, count: u64, interval_seconds: u64) -> Vec<BasketNeuron> {
    apportion(amount_e8s, count)
        .into_iter()
        .zip(0u64..)
        .map(|(amount_e8s, index)| BasketNeuron {
            amount_e8s,
            dissolve_delay_seconds: index.saturating_mul(interval_seconds),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportioned_as_the_sns_swap_does() {
        assert_eq!(
            apportion(1_000_000_003, 5),
            [
                200_000_000,
                200_000_000,
                200_000_001,
                200_000_001,
                200_000_001
            ]
        );
        assert_eq!(apportion(9, 5), [1, 2, 2, 2, 2]);
        assert_eq!(apportion(4, 5), [0, 1, 1, 1, 1]);
        assert!(apportion(7, 0).is_empty());
    }

    #[test]
    fn a_basket_dissolves_in_steps() {
        let neurons = basket(10, 3, 100);
        assert_eq!(
            neurons,
            [
                BasketNeuron {
                    amount_e8s: 3,
                    dissolve_delay_seconds: 0
                },
                BasketNeuron {
                    amount_e8s: 3,
                    dissolve_delay_seconds: 100
                },
                BasketNeuron {
                    amount_e8s: 4,
                    dissolve_delay_seconds: 200
                },
            ]
        );
    }

    #[test]
    fn tokens_in_proportion_rounded_down() {
        assert_eq!(tokens_for(1, 10, 3), 3);
        assert_eq!(tokens_for(u64::MAX, u64::MAX, u64::MAX), u64::MAX);
        assert_eq!(tokens_for(5, 100, 0), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
        ))]
        /// A basket holds exactly what it splits, and no participant's
        /// tokens together exceed the sale's.
        #[test]
        fn nothing_made_nothing_lost(
            shares in proptest::collection::vec(1u64..1_000_000_000_000, 1..50),
            tokens in 0u64..u64::MAX / 2,
            count in 1u64..11,
        ) {
            let total: u64 = shares.iter().sum();
            let mut given = 0u64;
            for share in &shares {
                let amount = tokens_for(*share, tokens, total);
                let neurons = basket(amount, count, 86_400);
                proptest::prop_assert_eq!(neurons.iter().map(|n| n.amount_e8s).sum::<u64>(), amount);
                given += amount;
            }
            proptest::prop_assert!(given <= tokens);
            proptest::prop_assert!(tokens - given < shares.len() as u64, "rounding loses less than one e8 each");
        }
    }
}
