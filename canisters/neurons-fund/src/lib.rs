//! How much the Neurons' Fund adds to a sale: the NNS's polynomial matching
//! function of the direct participation.
//!
//! Below the contribution threshold the Fund adds nothing; from there three
//! polynomial pieces rise so that the Fund brings a third of the total at
//! the one-third milestone (f(t2) = t2 / 2) and half of it at the full
//! milestone (f(t3) = t3), then level off at the cap, reached at
//! t4 = 2 × cap. The cap is the smaller of 750 000 XDR and a tenth of the
//! Fund's maturity. Thresholds are in XDR, turned into ICP at the CMC's
//! rate clamped to 1–100 XDR per ICP.
//!
//! Computed exactly, in rationals, and rounded to e8s half to even. The NNS
//! evaluates the same polynomials in 28-digit decimals: at the usual
//! thresholds the results are the same e8s (the vectors below), but where a
//! small Fund's cap makes the quartic's leading coefficient tiny, its
//! decimals keep fewer digits and may differ by some tens of e8s.

use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{ToPrimitive, Zero};

/// The thresholds, in XDR (the NNS's `NeuronsFundEconomics` defaults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub contribution_threshold_xdr: u64,
    pub one_third_participation_milestone_xdr: u64,
    pub full_participation_milestone_xdr: u64,
    pub max_theoretical_participation_xdr: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            contribution_threshold_xdr: 75_000,
            one_third_participation_milestone_xdr: 225_000,
            full_participation_milestone_xdr: 375_000,
            max_theoretical_participation_xdr: 750_000,
        }
    }
}

/// The ICP/XDR rate the thresholds are converted at, in XDR per ICP × 10 000,
/// is kept within 1 and 100 XDR per ICP.
pub const MIN_XDR_PERMYRIAD_PER_ICP: u64 = 10_000;
pub const MAX_XDR_PERMYRIAD_PER_ICP: u64 = 1_000_000;

/// The Fund gives at most this share of its maturity to one sale (10 %).
pub const MAX_SHARE_OF_MATURITY_BASIS_POINTS: u64 = 1_000;

const E8S_PER_ICP: u64 = 100_000_000;

fn ratio(numerator: u64, denominator: u64) -> BigRational {
    BigRational::new(BigInt::from(numerator), BigInt::from(denominator))
}

fn min(a: BigRational, b: BigRational) -> BigRational {
    if a < b { a } else { b }
}

/// The matching function of one sale, in ICP.
#[derive(Clone, Debug, PartialEq)]
pub struct MatchingFunction {
    t1: BigRational,
    t2: BigRational,
    t3: BigRational,
    t4: BigRational,
    cap: BigRational,
}

impl MatchingFunction {
    /// The function for a Fund holding `total_maturity_e8s`, at the CMC's
    /// rate `xdr_permyriad_per_icp`.
    pub fn new(
        total_maturity_e8s: u64,
        xdr_permyriad_per_icp: u64,
        thresholds: Thresholds,
    ) -> Self {
        let rate =
            xdr_permyriad_per_icp.clamp(MIN_XDR_PERMYRIAD_PER_ICP, MAX_XDR_PERMYRIAD_PER_ICP);
        // ICP = XDR / (rate / 10 000).
        let icp = |xdr: u64| ratio(xdr, 1) * ratio(10_000, rate);
        let share_of_maturity = ratio(total_maturity_e8s, E8S_PER_ICP)
            * ratio(MAX_SHARE_OF_MATURITY_BASIS_POINTS, 10_000);
        let cap = min(
            icp(thresholds.max_theoretical_participation_xdr),
            share_of_maturity,
        );
        Self {
            t1: icp(thresholds.contribution_threshold_xdr),
            t2: icp(thresholds.one_third_participation_milestone_xdr),
            t3: icp(thresholds.full_participation_milestone_xdr),
            t4: &cap * BigInt::from(2),
            cap,
        }
    }

    /// The most the Fund can add to this sale, in e8s.
    pub fn cap_e8s(&self) -> u64 {
        to_e8s(&self.cap)
    }

    /// The Fund's participation, in e8s, for a direct participation of
    /// `direct_e8s`.
    pub fn apply_e8s(&self, direct_e8s: u64) -> u64 {
        to_e8s(&self.apply(&ratio(direct_e8s, E8S_PER_ICP)))
    }

    /// The Fund's participation, in ICP, for a direct participation of `x` ICP.
    pub fn apply(&self, x: &BigRational) -> BigRational {
        let Self {
            t1,
            t2,
            t3,
            t4,
            cap,
        } = self;
        let zero = BigRational::zero();
        if x < t1 {
            zero
        } else if x < t2 {
            let half = x / BigInt::from(2);
            let p1 = self.p1(x);
            min(min(cap.clone(), half), if p1 < zero { zero } else { p1 })
        } else if x < t3 {
            min(min(cap.clone(), x.clone()), self.p2(x))
        } else if x < t4 {
            if t4.is_zero() {
                zero
            } else {
                min(min(cap.clone(), x.clone()), self.p3(x))
            }
        } else {
            cap.clone()
        }
    }

    /// The cubic from (t1, 0) to (t2, t2 / 2), flat at both ends.
    fn p1(&self, x: &BigRational) -> BigRational {
        let (t1, t2) = (&self.t1, &self.t2);
        let d = cube(&(t1 - t2));
        let two = BigRational::from_integer(2.into());
        let a = (t1 * BigInt::from(2) - t2) / &d;
        let b = (-(t1 * t1) * BigInt::from(8) + t1 * t2 + t2 * t2) / (&two * &d);
        let c = (cube(t1) * BigInt::from(2) + t1 * t1 * t2 * BigInt::from(2) - t1 * t2 * t2) / &d;
        let e = (-(cube(t1) * t2) * BigInt::from(3) + t1 * t1 * t2 * t2) / (&two * &d);
        polynomial(x, &[e, c, b, a])
    }

    /// The cubic from (t2, t2 / 2) to (t3, t3).
    fn p2(&self, x: &BigRational) -> BigRational {
        let (t2, t3) = (&self.t2, &self.t3);
        let d = cube(&(t2 - t3));
        let two = BigRational::from_integer(2.into());
        let a = (t2 * BigInt::from(2) - t3) / &d;
        let b = (-(t2 * t2) * BigInt::from(5) - t2 * t3 * BigInt::from(5)
            + t3 * t3 * BigInt::from(4))
            / (&two * &d);
        let c = (cube(t2) + t2 * t2 * t3 * BigInt::from(2) + t2 * t3 * t3 * BigInt::from(2)
            - cube(t3) * BigInt::from(2))
            / &d;
        let e = (-(t2 * t2 * t3 * t3) * BigInt::from(5) + t2 * cube(t3) * BigInt::from(3))
            / (&two * &d);
        polynomial(x, &[e, c, b, a])
    }

    /// The quartic from (t3, t3) to (t4, cap).
    fn p3(&self, x: &BigRational) -> BigRational {
        let (t3, t4) = (&self.t3, &self.t4);
        let q = cube(&(t3 - t4)) * (t3 - t4);
        let two = BigRational::from_integer(2.into());
        let a = (t4 - t3 * BigInt::from(4)) / (&two * &q);
        let b = (t3 * t3 * BigInt::from(3) + t3 * t4 * BigInt::from(4) - t4 * t4) / &q;
        let c = -(t3 * t3 * t4 * BigInt::from(9)) / &q;
        let d = (t3 * t3 * t4 * t4 * BigInt::from(9) - t3 * cube(t4) * BigInt::from(4)
            + cube(t4) * t4)
            / &q;
        let e = (cube(t3) * t3 * t4 - cube(t3) * t4 * t4 * BigInt::from(4)) / (&two * &q);
        polynomial(x, &[e, d, c, b, a])
    }
}

fn cube(x: &BigRational) -> BigRational {
    x * x * x
}

/// Σ coefficients[i] × x^i, by Horner's rule.
fn polynomial(x: &BigRational, coefficients: &[BigRational]) -> BigRational {
    coefficients
        .iter()
        .rev()
        .fold(BigRational::zero(), |sum, coefficient| {
            sum * x + coefficient
        })
}

/// ICP to e8s, rounded half to even (as the NNS rounds).
fn to_e8s(icp: &BigRational) -> u64 {
    let e8s = icp * BigInt::from(E8S_PER_ICP);
    let floor = e8s.floor();
    let fraction = &e8s - &floor;
    let half = ratio(1, 2);
    let floor = floor.to_integer();
    let rounded = if fraction > half || (fraction == half && &floor % 2 != BigInt::zero()) {
        floor + 1
    } else {
        floor
    };
    // The function's values lie between 0 and the cap; clamp for safety.
    if rounded < BigInt::zero() {
        0
    } else {
        rounded.to_u64().unwrap_or(u64::MAX)
    }
}

/// A Fund neuron's share of the Fund's participation in a sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NeuronShare {
    pub neuron_id: u64,
    pub amount_e8s: u64,
    /// Cut to the sale's per-participant maximum.
    pub is_capped: bool,
}

/// `intended_e8s` of Fund participation apportioned to the Fund's
/// `neurons` (id, maturity) in proportion to their maturity, as the NNS
/// does: a share below the sale's per-participant minimum (or below one
/// e8) is dropped, one above its maximum is cut to it; amounts are
/// rounded half to even. What dropping and capping leave is not
/// reassigned, so the sum may fall short of `intended_e8s`.
pub fn apportion_to_neurons(
    neurons: &[(u64, u64)],
    intended_e8s: u64,
    min_participant_e8s: u64,
    max_participant_e8s: u64,
) -> Vec<NeuronShare> {
    let total: u128 = neurons
        .iter()
        .map(|(_, maturity)| u128::from(*maturity))
        .sum();
    if total == 0 {
        return Vec::new();
    }
    let total = BigInt::from(total);
    let floor = ratio(min_participant_e8s.max(1), 1);
    let ceiling = ratio(max_participant_e8s, 1);
    neurons
        .iter()
        .filter_map(|&(neuron_id, maturity)| {
            let ideal = BigRational::new(BigInt::from(maturity), total.clone())
                * BigInt::from(intended_e8s);
            if ideal < floor {
                return None;
            }
            let is_capped = ideal > ceiling;
            let amount = if is_capped { ceiling.clone() } else { ideal };
            Some(NeuronShare {
                neuron_id,
                amount_e8s: to_e8s(&(amount / BigInt::from(E8S_PER_ICP))),
                is_capped,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICP: u64 = E8S_PER_ICP;

    /// 10 XDR per ICP and a Fund of 1 M ICP maturity: t1 = 7 500,
    /// t2 = 22 500, t3 = 37 500 ICP, cap = 75 000 ICP (750 000 XDR), t4 = 150 000.
    fn at_ten_xdr() -> MatchingFunction {
        MatchingFunction::new(1_000_000 * ICP, 100_000, Thresholds::default())
    }

    #[test]
    fn vectors_computed_from_the_nns_definition() {
        // (direct ICP, Fund e8s): each computed by hand from the NNS's
        // polynomial coefficients (p1 = x³/4.5e8 − x²/30 000 + x/8, p2 =
        // −x³/4.5e8 + x²/6 000 − 2.125x, p3 = x³/3.796875e10 − x²/84 375 +
        // 16x/9 − 125 000/9 at these thresholds).
        let f = at_ten_xdr();
        for (direct_icp, expected_e8s) in [
            (5_000, 0),
            (7_500, 0),
            (10_000, 13_888_888_889), // 138.888…
            (15_000, 187_500_000_000),
            (22_500, 1_125_000_000_000), // t2 / 2: a third of the total
            (30_000, 2_625_000_000_000),
            (37_500, 3_750_000_000_000), // t3: half of the total
            (60_000, 5_580_000_000_000),
            (100_000, 7_170_781_893_004), // 71 707.8189300411…
            (150_000, 7_500_000_000_000),
            (1_000_000, 7_500_000_000_000),
        ] {
            assert_eq!(
                f.apply_e8s(direct_icp * ICP),
                expected_e8s,
                "at {direct_icp} ICP"
            );
        }
        assert_eq!(f.cap_e8s(), 75_000 * ICP);
    }

    #[test]
    fn a_small_fund_caps_at_a_tenth_of_its_maturity() {
        // 200 000 ICP of maturity: the cap is 20 000 ICP, reached at 40 000.
        let f = MatchingFunction::new(200_000 * ICP, 100_000, Thresholds::default());
        assert_eq!(f.cap_e8s(), 20_000 * ICP);
        assert_eq!(f.apply_e8s(40_000 * ICP), 20_000 * ICP);
        assert_eq!(
            f.apply_e8s(10_000 * ICP),
            13_888_888_889,
            "below the cap, as before"
        );
        assert!(f.apply_e8s(30_000 * ICP) <= 20_000 * ICP);
    }

    #[test]
    fn the_rate_is_clamped_to_one_to_a_hundred_xdr() {
        let at = |rate| MatchingFunction::new(u64::MAX, rate, Thresholds::default());
        assert_eq!(at(1), at(MIN_XDR_PERMYRIAD_PER_ICP));
        assert_eq!(at(u64::MAX), at(MAX_XDR_PERMYRIAD_PER_ICP));
        // At 1 XDR per ICP the cap is 750 000 ICP.
        assert_eq!(at(1).cap_e8s(), 750_000 * ICP);
    }

    #[test]
    fn rounding_is_half_to_even() {
        assert_eq!(to_e8s(&ratio(1, 2 * ICP)), 0);
        assert_eq!(to_e8s(&ratio(3, 2 * ICP)), 2);
        assert_eq!(to_e8s(&ratio(5, 2 * ICP)), 2);
        assert_eq!(to_e8s(&ratio(51, 100 * ICP)), 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
        ))]
        /// Never more than the direct participation (the Fund at most
        /// matches one for one), never more than the cap, never less for
        /// more direct ICP.
        #[test]
        fn bounded_and_monotone(
            maturity_icp in 0u64..10_000_000,
            rate in 1u64..2_000_000,
            direct in 0u64..2_000_000 * ICP,
            more in 0u64..100_000 * ICP,
        ) {
            let f = MatchingFunction::new(maturity_icp * ICP, rate, Thresholds::default());
            let at = f.apply_e8s(direct);
            proptest::prop_assert!(at <= direct);
            proptest::prop_assert!(at <= f.cap_e8s());
            proptest::prop_assert!(f.apply_e8s(direct + more) >= at);
        }
    }

    #[test]
    fn shares_in_proportion_to_maturity_dropped_below_the_minimum_capped_above_the_maximum() {
        // 37 500 ICP among neurons of 1 000 000, 999 990 and 10 ICP of
        // maturity, participants between 1 and 15 000 ICP: the two large
        // ones are capped, the small one's 0.1875 ICP is dropped.
        let neurons = [(1, 1_000_000 * ICP), (2, 999_990 * ICP), (3, 10 * ICP)];
        let shares = apportion_to_neurons(&neurons, 37_500 * ICP, ICP, 15_000 * ICP);
        assert_eq!(
            shares,
            [
                NeuronShare {
                    neuron_id: 1,
                    amount_e8s: 15_000 * ICP,
                    is_capped: true
                },
                NeuronShare {
                    neuron_id: 2,
                    amount_e8s: 15_000 * ICP,
                    is_capped: true
                },
            ]
        );
        // Up to 25 000 ICP: in proportion.
        let shares = apportion_to_neurons(&neurons, 37_500 * ICP, ICP, 25_000 * ICP);
        let amounts: Vec<u64> = shares.iter().map(|s| s.amount_e8s).collect();
        assert_eq!(amounts, [1_875_000_000_000, 1_874_981_250_000]);
        assert!(shares.iter().all(|s| !s.is_capped));
        assert!(apportion_to_neurons(&[], 5 * ICP, 1, 10 * ICP).is_empty());
    }

    proptest::proptest! {
        /// The shares never add up to more than intended (beyond rounding),
        /// and each lies within the participant bounds.
        #[test]
        fn shares_stay_within_the_bounds(
            maturities in proptest::collection::vec(0u64..1_000_000 * ICP, 1..30),
            intended in 0u64..100_000 * ICP,
            min in 1u64..10 * ICP,
            spread in 1u64..50_000 * ICP,
        ) {
            let neurons: Vec<(u64, u64)> = maturities.iter().copied().enumerate().map(|(i, m)| (i as u64, m)).collect();
            let shares = apportion_to_neurons(&neurons, intended, min, min + spread);
            let sum: u64 = shares.iter().map(|s| s.amount_e8s).sum();
            proptest::prop_assert!(sum <= intended + shares.len() as u64);
            for share in shares {
                proptest::prop_assert!(share.amount_e8s >= min && share.amount_e8s <= min + spread);
            }
        }
    }
}
