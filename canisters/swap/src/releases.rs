//! Where one holder's basket stands in its release, and the rules that
//! move it: which neurons are due, marking them in flight under one stamp,
//! and the token ledger's answers. Shared by direct participants and the
//! Neurons' Fund's neurons.

use crate::basket::BasketNeuron;
use crate::sale::Outcome;

/// One holder's basket neurons by bit (bit i: neuron i).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReleaseBits {
    /// Released: the tokens reached the holder.
    pub released: u16,
    /// Sent and not answered yet.
    pub releasing: u16,
    /// The stamp (`created_at_time`) of the releases in flight: a release
    /// is sent again only as the same transaction, which the token ledger
    /// deduplicates. 0 when none is in flight.
    pub stamp_nanos: u64,
    /// In flight and possibly made (a sending went unanswered, or a trap
    /// or an upgrade left it): only the ledger's answer settles it, not a
    /// refusal of a later sending.
    pub uncertain: u16,
    /// Sent, unanswered, and too old to be sent again as the same
    /// transaction: never sent again (that could pay twice).
    pub unresolved: u16,
}

/// What a pass may send for one holder.
pub struct Due {
    /// (neuron, its tokens).
    pub neurons: Vec<(usize, u64)>,
    /// They are releases left in flight, sent again under their stamp.
    pub resend: bool,
    /// Neurons unlocked meanwhile wait behind those in flight.
    pub held_back: bool,
}

/// The neurons to send at `now_seconds` for a basket whose delays count
/// from `ended_at_seconds`: those in flight, again, if any; else every
/// unlocked neuron not released or unresolved.
pub fn due(
    bits: &ReleaseBits,
    basket: &[BasketNeuron],
    ended_at_seconds: u64,
    now_seconds: u64,
) -> Due {
    let unlocked: Vec<(usize, u64)> = basket
        .iter()
        .enumerate()
        .filter(|(neuron, part)| {
            ended_at_seconds.saturating_add(part.dissolve_delay_seconds) <= now_seconds
                && (bits.released | bits.unresolved) & (1u16 << neuron) == 0
        })
        .map(|(neuron, part)| (neuron, part.amount_e8s))
        .collect();
    if bits.releasing == 0 {
        return Due {
            neurons: unlocked,
            resend: false,
            held_back: false,
        };
    }
    let in_flight = |neuron: &usize| bits.releasing & (1u16 << neuron) != 0;
    Due {
        held_back: unlocked.iter().any(|(n, _)| !in_flight(n)),
        neurons: unlocked.into_iter().filter(|(n, _)| in_flight(n)).collect(),
        resend: true,
    }
}

/// Marks `due` in flight (stamped `now_nanos` unless sent again) and
/// returns what to send: (neuron, tokens less `fee`). A neuron whose
/// tokens do not exceed the fee is released at once, with nothing sent.
pub fn begin(bits: &mut ReleaseBits, due: &Due, now_nanos: u64, fee: u64) -> Vec<(u16, u64)> {
    if due.resend {
        bits.uncertain |= bits.releasing;
    } else if !due.neurons.is_empty() {
        bits.stamp_nanos = now_nanos;
    }
    let mut send = Vec::new();
    for &(neuron, tokens) in &due.neurons {
        let bit = 1u16 << neuron;
        match tokens.checked_sub(fee).filter(|amount| *amount > 0) {
            None => {
                bits.releasing &= !bit;
                bits.uncertain &= !bit;
                bits.released |= bit;
            }
            Some(amount) => {
                bits.releasing |= bit;
                send.push((neuron as u16, amount));
            }
        }
    }
    if bits.releasing == 0 {
        bits.stamp_nanos = 0;
    }
    send
}

/// The token ledger's answer to a release of `neuron`; false when it
/// changes nothing (not in flight).
pub fn end(bits: &mut ReleaseBits, neuron: u16, outcome: Outcome) -> bool {
    let Some(bit) = 1u16.checked_shl(u32::from(neuron)) else {
        return false;
    };
    if bits.releasing & bit == 0 {
        return false;
    }
    match outcome {
        Outcome::Done(_) => bits.released |= bit,
        Outcome::Failed if bits.uncertain & bit != 0 => return false,
        Outcome::Failed => {}
        Outcome::Expired => bits.unresolved |= bit,
        Outcome::Unknown => {
            bits.uncertain |= bit;
            return true;
        }
    }
    bits.releasing &= !bit;
    bits.uncertain &= !bit;
    if bits.releasing == 0 {
        bits.stamp_nanos = 0;
    }
    true
}
