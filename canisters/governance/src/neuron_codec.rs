//! A neuron's stable-memory encoding: compact binary, written and read
//! field by field. Candid would cost hundreds of thousands of instructions
//! per neuron read; this costs a few thousand.
//!
//! Layout (integers little-endian; a principal is a length byte and its
//! bytes; `n` is a count byte):
//!
//! ```text
//! version=1 · id u64 · controller · subaccount [32] · n × hot key
//! · cached stake u64 · fees u64 · created u64 · aging since u64
//! · dissolve state (0 delay | 1 when dissolved) u64 · maturity u64
//! · staked maturity u64 · auto stake u8 · spawn at (0 | 1 u64)
//! · voting power refreshed u64
//! · n × (topic i32 · n × followee u64)
//! · n × (amount u64 · destination · disbursed at u64 · finalize at u64)
//! · eight-year-gang bonus base u64
//! · visibility i32 · joined the Neurons' Fund at (0 | 1 u64)
//! ```
//!
//! A destination is `0 · owner · (0 | 1 subaccount [32])` or `1 · [32]`.
//! Fields added later go at the end, and a neuron written before they
//! existed reads them as their defaults.

use crate::neuron::{Destination, DissolveState, MaturityDisbursement, Neuron};
use candid::Principal;
use ic_stable_structures::Storable;
use ic_stable_structures::storable::Bound;
use std::borrow::Cow;
use std::collections::BTreeMap;

const VERSION: u8 = 1;

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn count(&mut self, n: usize) {
        self.u8(u8::try_from(n).expect("lists in a neuron are short"));
    }

    fn principal(&mut self, p: &Principal) {
        self.count(p.as_slice().len());
        self.0.extend_from_slice(p.as_slice());
    }

    fn bytes32(&mut self, b: &[u8; 32]) {
        self.0.extend_from_slice(b);
    }
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> &[u8] {
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        head
    }

    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }

    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().expect("8 bytes"))
    }

    fn principal(&mut self) -> Principal {
        let len = usize::from(self.u8());
        Principal::from_slice(self.take(len))
    }

    fn bytes32(&mut self) -> [u8; 32] {
        self.take(32).try_into().expect("32 bytes")
    }
}

pub fn encode(n: &Neuron) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(200));
    w.u8(VERSION);
    w.u64(n.id);
    w.principal(&n.controller);
    w.bytes32(&n.subaccount);
    w.count(n.hot_keys.len());
    n.hot_keys.iter().for_each(|k| w.principal(k));
    w.u64(n.cached_neuron_stake_e8s);
    w.u64(n.neuron_fees_e8s);
    w.u64(n.created_timestamp_seconds);
    w.u64(n.aging_since_timestamp_seconds);
    match n.dissolve_state {
        DissolveState::DissolveDelaySeconds(d) => {
            w.u8(0);
            w.u64(d);
        }
        DissolveState::WhenDissolvedTimestampSeconds(t) => {
            w.u8(1);
            w.u64(t);
        }
    }
    w.u64(n.maturity_e8s_equivalent);
    w.u64(n.staked_maturity_e8s_equivalent);
    w.u8(u8::from(n.auto_stake_maturity));
    match n.spawn_at_timestamp_seconds {
        None => w.u8(0),
        Some(t) => {
            w.u8(1);
            w.u64(t);
        }
    }
    w.u64(n.voting_power_refreshed_timestamp_seconds);
    w.count(n.followees.len());
    for (topic, ids) in &n.followees {
        w.0.extend_from_slice(&topic.to_le_bytes());
        w.count(ids.len());
        ids.iter().for_each(|id| w.u64(*id));
    }
    w.count(n.maturity_disbursements.len());
    for d in &n.maturity_disbursements {
        w.u64(d.amount_e8s);
        match &d.destination {
            Destination::Account { owner, subaccount } => {
                w.u8(0);
                w.principal(owner);
                match subaccount {
                    None => w.u8(0),
                    Some(s) => {
                        w.u8(1);
                        w.bytes32(s);
                    }
                }
            }
            Destination::AccountIdentifier(bytes) => {
                w.u8(1);
                w.bytes32(bytes);
            }
        }
        w.u64(d.disbursed_at_seconds);
        w.u64(d.finalize_at_seconds);
    }
    w.u64(n.eight_year_gang_bonus_base_e8s);
    w.0.extend_from_slice(&n.visibility.to_le_bytes());
    match n.joined_community_fund_timestamp_seconds {
        None => w.u8(0),
        Some(t) => {
            w.u8(1);
            w.u64(t);
        }
    }
    w.0
}

pub fn decode(bytes: &[u8]) -> Neuron {
    let mut r = Reader(bytes);
    let version = r.u8();
    assert_eq!(version, VERSION, "a neuron encoded by a later version");
    let id = r.u64();
    let controller = r.principal();
    let subaccount = r.bytes32();
    let hot_keys = (0..r.u8()).map(|_| r.principal()).collect();
    let cached_neuron_stake_e8s = r.u64();
    let neuron_fees_e8s = r.u64();
    let created_timestamp_seconds = r.u64();
    let aging_since_timestamp_seconds = r.u64();
    let dissolve_state = match r.u8() {
        0 => DissolveState::DissolveDelaySeconds(r.u64()),
        _ => DissolveState::WhenDissolvedTimestampSeconds(r.u64()),
    };
    let maturity_e8s_equivalent = r.u64();
    let staked_maturity_e8s_equivalent = r.u64();
    let auto_stake_maturity = r.u8() != 0;
    let spawn_at_timestamp_seconds = match r.u8() {
        0 => None,
        _ => Some(r.u64()),
    };
    let voting_power_refreshed_timestamp_seconds = r.u64();
    let mut followees = BTreeMap::new();
    for _ in 0..r.u8() {
        let topic = i32::from_le_bytes(r.take(4).try_into().expect("4 bytes"));
        let ids = (0..r.u8()).map(|_| r.u64()).collect();
        followees.insert(topic, ids);
    }
    let maturity_disbursements = (0..r.u8())
        .map(|_| {
            let amount_e8s = r.u64();
            let destination = match r.u8() {
                0 => {
                    let owner = r.principal();
                    let subaccount = match r.u8() {
                        0 => None,
                        _ => Some(r.bytes32()),
                    };
                    Destination::Account { owner, subaccount }
                }
                _ => Destination::AccountIdentifier(r.bytes32()),
            };
            MaturityDisbursement {
                amount_e8s,
                destination,
                disbursed_at_seconds: r.u64(),
                finalize_at_seconds: r.u64(),
            }
        })
        .collect();
    // Absent from neurons written before the maximum delay was cut.
    let eight_year_gang_bonus_base_e8s = if r.0.is_empty() { 0 } else { r.u64() };
    // Absent from neurons written before visibility and the Neurons' Fund.
    let (visibility, joined_community_fund_timestamp_seconds) = if r.0.is_empty() {
        (crate::neuron::VISIBILITY_PRIVATE, None)
    } else {
        let visibility = i32::from_le_bytes(r.take(4).try_into().expect("4 bytes"));
        let joined = match r.u8() {
            0 => None,
            _ => Some(r.u64()),
        };
        (visibility, joined)
    };
    Neuron {
        id,
        controller,
        subaccount,
        hot_keys,
        cached_neuron_stake_e8s,
        neuron_fees_e8s,
        created_timestamp_seconds,
        aging_since_timestamp_seconds,
        dissolve_state,
        maturity_e8s_equivalent,
        staked_maturity_e8s_equivalent,
        auto_stake_maturity,
        followees,
        spawn_at_timestamp_seconds,
        voting_power_refreshed_timestamp_seconds,
        maturity_disbursements,
        eight_year_gang_bonus_base_e8s,
        visibility,
        joined_community_fund_timestamp_seconds,
    }
}

impl Storable for Neuron {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(encode(self))
    }

    fn into_bytes(self) -> Vec<u8> {
        encode(&self)
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        decode(&bytes)
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_survives_the_round_trip() {
        let p = |n: u8| Principal::from_slice(&[n; 29]);
        let mut n = Neuron::new(42, p(1), [7; 32], 123, 1_700_000_000);
        n.hot_keys = vec![p(2), Principal::from_slice(&[3])];
        n.neuron_fees_e8s = 5;
        n.dissolve_state = DissolveState::WhenDissolvedTimestampSeconds(u64::MAX - 1);
        n.maturity_e8s_equivalent = 9;
        n.staked_maturity_e8s_equivalent = 10;
        n.auto_stake_maturity = true;
        n.spawn_at_timestamp_seconds = Some(77);
        n.voting_power_refreshed_timestamp_seconds = 88;
        n.followees.insert(-1, vec![]);
        n.followees.insert(4, vec![1, 2, u64::MAX]);
        n.maturity_disbursements = vec![
            MaturityDisbursement {
                amount_e8s: 1,
                destination: Destination::Account {
                    owner: p(4),
                    subaccount: Some([9; 32]),
                },
                disbursed_at_seconds: 2,
                finalize_at_seconds: 3,
            },
            MaturityDisbursement {
                amount_e8s: 4,
                destination: Destination::Account {
                    owner: Principal::anonymous(),
                    subaccount: None,
                },
                disbursed_at_seconds: 5,
                finalize_at_seconds: 6,
            },
            MaturityDisbursement {
                amount_e8s: 7,
                destination: Destination::AccountIdentifier([8; 32]),
                disbursed_at_seconds: 8,
                finalize_at_seconds: 9,
            },
        ];
        n.eight_year_gang_bonus_base_e8s = 11;
        n.visibility = crate::neuron::VISIBILITY_PUBLIC;
        n.joined_community_fund_timestamp_seconds = Some(12);
        assert_eq!(decode(&encode(&n)), n);
        let plain = Neuron::new(1, Principal::management_canister(), [0; 32], 0, 0);
        assert_eq!(decode(&encode(&plain)), plain);
    }

    #[test]
    fn a_neuron_written_before_later_fields_existed_reads_their_defaults() {
        let mut n = Neuron::new(7, Principal::from_slice(&[1]), [7; 32], 123, 1_700_000_000);
        n.eight_year_gang_bonus_base_e8s = 99;
        n.visibility = crate::neuron::VISIBILITY_PUBLIC;
        let mut bytes = encode(&n);
        // Written before visibility: private, not in the Fund.
        bytes.truncate(bytes.len() - 5);
        let mut expected = n.clone();
        expected.visibility = crate::neuron::VISIBILITY_PRIVATE;
        assert_eq!(decode(&bytes), expected);
        // And before the gang base.
        bytes.truncate(bytes.len() - 8);
        expected.eight_year_gang_bonus_base_e8s = 0;
        assert_eq!(decode(&bytes), expected);
    }
}
