//! The Neurons' Fund in a sale, as the NNS runs it: when the sale's
//! proposal executes, the Fund's participation for the sale's maximum is
//! drawn from the maturity of the neurons that joined the Fund (the
//! matching function of `neurons-fund`, apportioned by maturity within
//! the sale's per-participant bounds); when the sale ends, it is settled:
//! for the direct participation reached, what the Fund gives is
//! recomputed with the same neurons and function, the rest goes back to
//! the neurons' maturity (all of it on abort), and what it gives is minted
//! to the project's treasury.

use candid::{CandidType, Deserialize, Principal};
use neurons_fund::{MatchingFunction, Thresholds, apportion_to_neurons};

/// At most this many hot keys of a Fund neuron go to the sale (the NNS's).
pub const MAX_HOTKEYS: usize = 3;
/// At most this many of the Fund's neurons take part in one sale, those
/// with the most maturity: a bound of this project, so that a settlement's
/// answer and the sale's lists stay within a message however many neurons
/// join the Fund (shares below a sale's per-participant minimum drop out
/// anyway).
pub const MAX_PARTICIPANTS: usize = 5_000;

/// A neuron that joined the Fund, as the reservation saw it.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub controller: Principal,
    pub hotkeys: Vec<Principal>,
    pub maturity_e8s: u64,
}

/// A member's part of the Fund's participation.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Portion {
    pub member: Member,
    pub amount_e8s: u64,
    pub is_capped: bool,
}

/// What a sale's proposal drew from the Fund, and how it was settled.
#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// The project's treasury, as the proposal named it: the only
    /// destination of the Fund's ICP.
    pub treasury: Principal,
    pub xdr_permyriad_per_icp: u64,
    /// Every member's maturity, drawn from or not: the function's cap.
    pub total_maturity_e8s: u64,
    pub min_participant_e8s: u64,
    pub max_participant_e8s: u64,
    pub max_direct_e8s: u64,
    pub portions: Vec<Portion>,
    pub settlement: Option<Settlement>,
}

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// The final portions (empty on abort).
    pub portions: Vec<Portion>,
    /// Where the final total is minted (the treasury the proposal named),
    /// and the mint's stamp, so that a retry is the same transaction;
    /// none on abort.
    pub treasury: Option<Principal>,
    pub mint_stamp_nanos: u64,
    pub minted: bool,
}

impl Reservation {
    /// Draws the Fund's participation for a sale of at most
    /// `max_direct_e8s`, from `members` (all neurons of the Fund).
    pub fn new(
        treasury: Principal,
        members: Vec<Member>,
        xdr_permyriad_per_icp: u64,
        min_participant_e8s: u64,
        max_participant_e8s: u64,
        max_direct_e8s: u64,
    ) -> Self {
        let total_maturity_e8s = members
            .iter()
            .map(|m| m.maturity_e8s)
            .fold(0u64, u64::saturating_add);
        let mut reservation = Self {
            treasury,
            xdr_permyriad_per_icp,
            total_maturity_e8s,
            min_participant_e8s,
            max_participant_e8s,
            max_direct_e8s,
            portions: Vec::new(),
            settlement: None,
        };
        let mut portions = reservation.portions_for(&members, max_direct_e8s);
        if portions.len() > MAX_PARTICIPANTS {
            portions.sort_by_key(|p| std::cmp::Reverse(p.member.maturity_e8s));
            portions.truncate(MAX_PARTICIPANTS);
            portions.sort_by_key(|p| p.member.id);
        }
        reservation.portions = portions;
        reservation
    }

    fn function(&self) -> MatchingFunction {
        MatchingFunction::new(
            self.total_maturity_e8s,
            self.xdr_permyriad_per_icp,
            Thresholds::default(),
        )
    }

    /// The members' portions for a direct participation of `direct_e8s`.
    fn portions_for(&self, members: &[Member], direct_e8s: u64) -> Vec<Portion> {
        let intended = self.function().apply_e8s(direct_e8s);
        let maturities: Vec<(u64, u64)> = members.iter().map(|m| (m.id, m.maturity_e8s)).collect();
        let by_id: std::collections::BTreeMap<u64, &Member> =
            members.iter().map(|m| (m.id, m)).collect();
        // Shares are computed over the whole Fund (the total maturity),
        // as the NNS does: members are only those given here.
        let total: u64 = self.total_maturity_e8s;
        let all: u64 = maturities
            .iter()
            .map(|(_, m)| *m)
            .fold(0, u64::saturating_add);
        let intended = if all == total || all == 0 {
            intended
        } else {
            ((u128::from(intended) * u128::from(all)) / u128::from(total)) as u64
        };
        apportion_to_neurons(
            &maturities,
            intended,
            self.min_participant_e8s,
            self.max_participant_e8s,
        )
        .into_iter()
        .filter(|share| share.amount_e8s > 0)
        .map(|share| Portion {
            member: by_id[&share.neuron_id].clone(),
            amount_e8s: share.amount_e8s,
            is_capped: share.is_capped,
        })
        .collect()
    }

    pub fn total_e8s(portions: &[Portion]) -> u64 {
        portions
            .iter()
            .map(|p| p.amount_e8s)
            .fold(0, u64::saturating_add)
    }

    /// The final portions for a sale that committed with `direct_e8s`:
    /// the same members, the function at the direct participation reached,
    /// never more than reserved.
    pub fn final_portions(&self, direct_e8s: u64) -> Vec<Portion> {
        let members: Vec<Member> = self.portions.iter().map(|p| p.member.clone()).collect();
        let reserved: std::collections::BTreeMap<u64, u64> = self
            .portions
            .iter()
            .map(|p| (p.member.id, p.amount_e8s))
            .collect();
        let mut finals = self.portions_for(&members, direct_e8s.min(self.max_direct_e8s));
        for portion in &mut finals {
            let reserved = reserved.get(&portion.member.id).copied().unwrap_or(0);
            portion.amount_e8s = portion.amount_e8s.min(reserved);
        }
        finals
    }

    /// What goes back to each member's maturity once `finals` are given.
    pub fn refunds(&self, finals: &[Portion]) -> Vec<(u64, u64)> {
        let given: std::collections::BTreeMap<u64, u64> =
            finals.iter().map(|f| (f.member.id, f.amount_e8s)).collect();
        self.portions
            .iter()
            .map(|reserved| {
                let given = given.get(&reserved.member.id).copied().unwrap_or(0);
                (
                    reserved.member.id,
                    reserved.amount_e8s.saturating_sub(given),
                )
            })
            .filter(|(_, refund)| *refund > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICP: u64 = 100_000_000;

    fn member(id: u64, maturity_icp: u64) -> Member {
        Member {
            id,
            controller: Principal::from_slice(&[id as u8, 0xf0]),
            hotkeys: vec![],
            maturity_e8s: maturity_icp * ICP,
        }
    }

    /// The NNS's worked case (`docs/sns-swap.md` §5 C): 37 500 ICP
    /// intended over neurons of 1 000 000, 999 990 and 10 ICP.
    #[test]
    fn portions_follow_the_matching_function_and_the_bounds() {
        // 10 XDR/ICP, a Fund of 2 000 000 ICP: f(37 500 ICP) = 37 500 ICP.
        let members = vec![member(1, 1_000_000), member(2, 999_990), member(3, 10)];
        let reservation = Reservation::new(
            Principal::anonymous(),
            members,
            100_000,
            ICP,
            25_000 * ICP,
            37_500 * ICP,
        );
        let amounts: Vec<(u64, u64)> = reservation
            .portions
            .iter()
            .map(|p| (p.member.id, p.amount_e8s))
            .collect();
        assert_eq!(
            amounts,
            vec![(1, 1_875_000_000_000), (2, 1_874_981_250_000)],
            "the 10 ICP neuron's 0.1875 ICP is below the minimum"
        );
        // Committed with 22 500 ICP: f = 11 250 ICP; the rest comes back.
        let finals = reservation.final_portions(22_500 * ICP);
        let total = Reservation::total_e8s(&finals);
        assert!(
            total.abs_diff(11_250 * ICP * 1_999_990 / 2_000_000) <= 2,
            "{total}"
        );
        let refunds = reservation.refunds(&finals);
        let refunded: u64 = refunds.iter().map(|(_, r)| r).sum();
        assert_eq!(
            refunded + total,
            Reservation::total_e8s(&reservation.portions)
        );
        // Below the threshold the Fund gives nothing.
        assert!(reservation.final_portions(5_000 * ICP).is_empty());
    }
}
