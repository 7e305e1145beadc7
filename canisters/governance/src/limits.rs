//! The bounds that keep governance's work per message finite, as the NNS
//! sets them: a maximum number of neurons, a rate limit on creating them,
//! and a budget of work per message for the votes that follow a vote.

use nns_api::governance::{ErrorType, GovernanceError};

/// At most this many neurons exist; a command that would create one more
/// is refused. Every per-proposal cost (the ballot snapshot) and every
/// per-vote cost (the cascade through following) is bounded by it.
pub const MAX_NUMBER_OF_NEURONS: u64 = 500_000;

/// Neurons that can be created an hour, sustained.
pub const MAX_SUSTAINED_NEURONS_PER_HOUR: u64 = 15;

/// One more neuron may be created every this many seconds…
pub const MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE: u64 = 3_600 / MAX_SUSTAINED_NEURONS_PER_HOUR;

/// …and the allowance builds up to this many at once.
pub const MAX_NEURON_CREATION_SPIKE: u64 = MAX_SUSTAINED_NEURONS_PER_HOUR * 20;

/// The allowance for creating neurons by claim and split (spawning is
/// exempt, as on the NNS: its maturity is not a cheap resource). It lives
/// on the heap like the NNS's and starts full after an upgrade; upgrades
/// are made by proposal, so no one can use them to refill it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NeuronCreationLimiter {
    /// Creations counted against the allowance (reserved or done).
    used: u64,
    /// The last time `used` dropped by the passing of time.
    last_increase_seconds: u64,
}

impl NeuronCreationLimiter {
    fn catch_up(&mut self, now: u64) {
        if self.used == 0 {
            // Nothing to give back: the next step is a full one from now.
            self.last_increase_seconds = now;
            return;
        }
        let steps = now.saturating_sub(self.last_increase_seconds)
            / MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE;
        if steps > 0 {
            self.used = self.used.saturating_sub(steps);
            self.last_increase_seconds = self
                .last_increase_seconds
                .saturating_add(steps * MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE);
        }
    }

    /// Refuses as [`take`](Self::take) would, counting nothing.
    pub fn check(&self, now: u64) -> Result<(), GovernanceError> {
        self.clone().take(now)
    }

    /// Counts one creation, or refuses it when the allowance is used up.
    pub fn take(&mut self, now: u64) -> Result<(), GovernanceError> {
        self.catch_up(now);
        if self.used >= MAX_NEURON_CREATION_SPIKE {
            return Err(GovernanceError::new(
                ErrorType::Unavailable,
                format!(
                    "too many neurons were created recently (at most {MAX_NEURON_CREATION_SPIKE} \
                     at once, then {MAX_SUSTAINED_NEURONS_PER_HOUR} an hour); try again later"
                ),
            ));
        }
        self.used += 1;
        Ok(())
    }

    /// A creation counted by [`take`](Self::take) did not happen after all.
    pub fn give_back(&mut self) {
        self.used = self.used.saturating_sub(1);
    }
}

/// The refusal of a neuron beyond [`MAX_NUMBER_OF_NEURONS`].
pub fn too_many_neurons(max: u64) -> GovernanceError {
    GovernanceError::new(
        ErrorType::PreconditionFailed,
        format!("cannot add a neuron: the maximum number of neurons ({max}) is reached"),
    )
}

/// Instructions a message may spend on following's votes before the rest
/// is left for the next message (the NNS's soft limit).
pub const CASCADE_SOFT_INSTRUCTION_LIMIT: u64 = 1_000_000_000;

/// Followers a message checks at least, whatever it spent before, so that
/// every message moves a cascade on.
pub const CASCADE_MIN_STEPS_PER_MESSAGE: u64 = 64;

#[cfg(not(target_arch = "wasm32"))]
thread_local! {
    static STEPS_PER_MESSAGE: std::cell::Cell<u64> = const { std::cell::Cell::new(u64::MAX) };
}

/// Whether a message that has checked `steps` followers may check one more.
/// In a canister this reads the message's instruction counter; natively
/// (unit tests) a number of steps stands for it.
pub fn cascade_may_continue(steps: u64) -> bool {
    if steps < CASCADE_MIN_STEPS_PER_MESSAGE {
        return true;
    }
    #[cfg(target_arch = "wasm32")]
    {
        ic_cdk::api::performance_counter(0) < CASCADE_SOFT_INSTRUCTION_LIMIT
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        steps < STEPS_PER_MESSAGE.with(|s| s.get())
    }
}

/// Natively, makes a "message" check at most `steps` followers (at least
/// [`CASCADE_MIN_STEPS_PER_MESSAGE`]); `u64::MAX` lifts the bound.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_cascade_steps_per_message(steps: u64) {
    STEPS_PER_MESSAGE.with(|s| s.set(steps));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_allowance_is_a_spike_then_one_every_four_minutes() {
        let t0 = 1_700_000_000;
        let mut limiter = NeuronCreationLimiter::default();
        for _ in 0..MAX_NEURON_CREATION_SPIKE {
            limiter.take(t0).unwrap();
        }
        let refused = limiter.take(t0).unwrap_err();
        assert_eq!(refused.error_type, ErrorType::Unavailable as i32);
        let step = MINIMUM_SECONDS_BETWEEN_ALLOWANCE_INCREASE;
        assert!(limiter.take(t0 + step - 1).is_err());
        limiter.take(t0 + step).unwrap();
        assert!(limiter.take(t0 + step).is_err());
        // A creation that did not happen gives its place back.
        limiter.give_back();
        limiter.take(t0 + step).unwrap();
        // An hour later, fifteen more; a long pause refills only the spike.
        for _ in 0..MAX_SUSTAINED_NEURONS_PER_HOUR {
            limiter.take(t0 + step + 3_600).unwrap();
        }
        assert!(limiter.take(t0 + step + 3_600).is_err());
        let much_later = t0 + 365 * 86_400;
        for _ in 0..MAX_NEURON_CREATION_SPIKE {
            limiter.take(much_later).unwrap();
        }
        assert!(limiter.take(much_later).is_err());
    }
}
