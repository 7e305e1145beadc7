//! A sale's lifecycle, as the SNS swap's: Adopted when the NNS proposal
//! that made it executed, Open at its start time, then Committed (the
//! maximum reached, or the deadline with the minimums met) or Aborted (the
//! deadline, or the maximum, without them). Only the timer moves it, one
//! step a tick.

/// The swap's `Lifecycle` enum, with its Candid numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum Lifecycle {
    Unspecified = 0,
    Pending = 1,
    Open = 2,
    Committed = 3,
    Aborted = 4,
    Adopted = 5,
}

impl Lifecycle {
    pub fn from_i32(value: i32) -> Option<Self> {
        Some(match value {
            0 => Self::Unspecified,
            1 => Self::Pending,
            2 => Self::Open,
            3 => Self::Committed,
            4 => Self::Aborted,
            5 => Self::Adopted,
            _ => return None,
        })
    }

    /// Committed or Aborted: the sale is over and may be finalized.
    pub fn is_over(self) -> bool {
        matches!(self, Self::Committed | Self::Aborted)
    }

    /// Not open yet.
    pub fn is_before_open(self) -> bool {
        matches!(self, Self::Pending | Self::Adopted)
    }
}

/// What decides a sale's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    pub open_at_seconds: u64,
    pub due_at_seconds: u64,
    pub min_participants: u32,
    pub min_direct_e8s: u64,
    pub max_direct_e8s: u64,
}

/// Where the sale stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Standing {
    pub participants: u64,
    pub direct_e8s: u64,
}

impl Terms {
    /// Enough participants and enough ICP (the Neurons' Fund counts toward
    /// neither).
    pub fn is_met(&self, standing: Standing) -> bool {
        standing.participants >= u64::from(self.min_participants)
            && standing.direct_e8s >= self.min_direct_e8s
    }

    /// The lifecycle after one tick at `now_seconds`, if it changes.
    pub fn next(
        &self,
        lifecycle: Lifecycle,
        now_seconds: u64,
        standing: Standing,
    ) -> Option<Lifecycle> {
        match lifecycle {
            Lifecycle::Adopted if now_seconds >= self.open_at_seconds => Some(Lifecycle::Open),
            Lifecycle::Open => {
                let ends = now_seconds >= self.due_at_seconds
                    || standing.direct_e8s >= self.max_direct_e8s;
                match (ends, self.is_met(standing)) {
                    (true, true) => Some(Lifecycle::Committed),
                    (true, false) => Some(Lifecycle::Aborted),
                    (false, _) => None,
                }
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICP: u64 = 100_000_000;
    const TERMS: Terms = Terms {
        open_at_seconds: 1_000,
        due_at_seconds: 2_000,
        min_participants: 3,
        min_direct_e8s: 100 * ICP,
        max_direct_e8s: 1_000 * ICP,
    };
    const fn standing(participants: u64, direct_icp: u64) -> Standing {
        Standing {
            participants,
            direct_e8s: direct_icp * ICP,
        }
    }

    #[test]
    fn opens_at_its_start_time() {
        assert_eq!(TERMS.next(Lifecycle::Adopted, 999, standing(0, 0)), None);
        assert_eq!(
            TERMS.next(Lifecycle::Adopted, 1_000, standing(0, 0)),
            Some(Lifecycle::Open)
        );
    }

    #[test]
    fn commits_at_the_maximum_or_at_the_deadline_with_the_minimums() {
        assert_eq!(TERMS.next(Lifecycle::Open, 1_500, standing(5, 500)), None);
        assert_eq!(
            TERMS.next(Lifecycle::Open, 1_500, standing(5, 1_000)),
            Some(Lifecycle::Committed)
        );
        assert_eq!(
            TERMS.next(Lifecycle::Open, 2_000, standing(3, 100)),
            Some(Lifecycle::Committed)
        );
    }

    #[test]
    fn aborts_at_the_deadline_without_the_minimums_or_full_with_too_few() {
        assert_eq!(
            TERMS.next(Lifecycle::Open, 2_000, standing(2, 900)),
            Some(Lifecycle::Aborted)
        );
        assert_eq!(
            TERMS.next(Lifecycle::Open, 2_000, standing(9, 99)),
            Some(Lifecycle::Aborted)
        );
        assert_eq!(
            TERMS.next(Lifecycle::Open, 1_500, standing(2, 1_000)),
            Some(Lifecycle::Aborted)
        );
    }

    #[test]
    fn an_ended_sale_stays_ended() {
        for lifecycle in [Lifecycle::Committed, Lifecycle::Aborted] {
            assert_eq!(TERMS.next(lifecycle, u64::MAX, standing(9, 9_999)), None);
            assert!(lifecycle.is_over());
        }
        for value in 0..6 {
            assert_eq!(Lifecycle::from_i32(value).map(|l| l as i32), Some(value));
        }
        assert_eq!(Lifecycle::from_i32(6), None);
    }
}
