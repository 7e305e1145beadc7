//! How much of a participant's ICP a sale accepts: a ticket's amount
//! (`new_sale_ticket`) and the participation after a refresh
//! (`refresh_buyer_tokens`), within the per-participant minimum and maximum
//! and the room left below the sale's maximum direct participation — the
//! SNS swap's rules.

/// The sale's bounds on direct participation, in e8s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bounds {
    pub min_participant_e8s: u64,
    pub max_participant_e8s: u64,
    pub max_direct_e8s: u64,
}

/// A ticket's amount refused: the range the participant could ask for
/// (both bounds included; `(0, 0)` when nothing can be accepted any more).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AllowedRange {
    pub min_e8s: u64,
    pub max_e8s: u64,
}

/// The amount a new ticket for `requested_e8s` holds, for a participant who
/// has `current_e8s` in a sale with `direct_e8s` accepted so far: the
/// request, cut to the room left.
pub fn ticket_amount(
    bounds: Bounds,
    direct_e8s: u64,
    current_e8s: u64,
    requested_e8s: u64,
) -> Result<u64, AllowedRange> {
    let nothing = AllowedRange {
        min_e8s: 0,
        max_e8s: 0,
    };
    if direct_e8s >= bounds.max_direct_e8s {
        return Err(nothing);
    }
    let room = bounds.max_direct_e8s - direct_e8s;
    if current_e8s.saturating_add(room) < bounds.min_participant_e8s {
        return Err(nothing);
    }
    let after = current_e8s.saturating_add(requested_e8s);
    if requested_e8s == 0
        || after < bounds.min_participant_e8s
        || after > bounds.max_participant_e8s
    {
        return Err(AllowedRange {
            min_e8s: bounds
                .min_participant_e8s
                .saturating_sub(current_e8s)
                .clamp(1, room),
            max_e8s: bounds
                .max_participant_e8s
                .saturating_sub(current_e8s)
                .min(room),
        });
    }
    Ok(requested_e8s.min(room))
}

/// Why a refresh accepts nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefreshRefused {
    /// The participant's account holds less than the minimum.
    BelowMinimum { balance_e8s: u64 },
    /// What could still be accepted would leave the participant below the minimum.
    NoRoom,
}

/// The participation accepted after a refresh that found `balance_e8s` in
/// the participant's account, who had `accepted_e8s` accepted in a sale
/// with `direct_e8s` accepted so far. Never less than before; what the
/// account holds beyond it stays there, refundable once the sale ends.
pub fn refreshed(
    bounds: Bounds,
    direct_e8s: u64,
    accepted_e8s: u64,
    balance_e8s: u64,
) -> Result<u64, RefreshRefused> {
    if balance_e8s < bounds.min_participant_e8s {
        return Err(RefreshRefused::BelowMinimum { balance_e8s });
    }
    if accepted_e8s >= balance_e8s {
        return Ok(accepted_e8s);
    }
    let room = bounds.max_direct_e8s.saturating_sub(direct_e8s);
    let increment = (balance_e8s - accepted_e8s).min(room);
    let after = accepted_e8s
        .saturating_add(increment)
        .min(bounds.max_participant_e8s)
        .max(accepted_e8s);
    if after < bounds.min_participant_e8s {
        return Err(RefreshRefused::NoRoom);
    }
    Ok(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICP: u64 = 100_000_000;
    const BOUNDS: Bounds = Bounds {
        min_participant_e8s: ICP,
        max_participant_e8s: 100 * ICP,
        max_direct_e8s: 1_000 * ICP,
    };

    #[test]
    fn a_ticket_within_the_bounds_holds_the_request() {
        assert_eq!(ticket_amount(BOUNDS, 0, 0, 5 * ICP), Ok(5 * ICP));
        assert_eq!(ticket_amount(BOUNDS, 0, 99 * ICP, ICP), Ok(ICP));
    }

    #[test]
    fn a_ticket_outside_the_bounds_says_what_is_allowed() {
        let range = |min_e8s, max_e8s| Err(AllowedRange { min_e8s, max_e8s });
        assert_eq!(ticket_amount(BOUNDS, 0, 0, ICP / 2), range(ICP, 100 * ICP));
        assert_eq!(ticket_amount(BOUNDS, 0, 0, 0), range(ICP, 100 * ICP));
        assert_eq!(
            ticket_amount(BOUNDS, 0, 60 * ICP, 50 * ICP),
            range(1, 40 * ICP)
        );
        // 30 ICP of room left: a request within the participant's bounds is
        // cut to the room, one beyond them is told the room.
        assert_eq!(ticket_amount(BOUNDS, 970 * ICP, 0, 50 * ICP), Ok(30 * ICP));
        assert_eq!(
            ticket_amount(BOUNDS, 970 * ICP, 0, 150 * ICP),
            range(ICP, 30 * ICP)
        );
        assert_eq!(ticket_amount(BOUNDS, 1_000 * ICP, 0, 5 * ICP), range(0, 0));
        assert_eq!(ticket_amount(BOUNDS, 1_000 * ICP - 1, 0, ICP), range(0, 0));
    }

    #[test]
    fn a_refresh_accepts_up_to_the_participant_maximum_and_the_sale_maximum() {
        assert_eq!(refreshed(BOUNDS, 0, 0, 5 * ICP), Ok(5 * ICP));
        assert_eq!(refreshed(BOUNDS, 0, 0, 500 * ICP), Ok(100 * ICP));
        assert_eq!(refreshed(BOUNDS, 990 * ICP, 0, 50 * ICP), Ok(10 * ICP));
        assert_eq!(
            refreshed(BOUNDS, 0, 7 * ICP, 7 * ICP),
            Ok(7 * ICP),
            "nothing new"
        );
        assert_eq!(
            refreshed(BOUNDS, 0, 7 * ICP, 3 * ICP),
            Ok(7 * ICP),
            "never less"
        );
    }

    #[test]
    fn a_refresh_below_the_minimum_accepts_nothing() {
        assert_eq!(
            refreshed(BOUNDS, 0, 0, ICP - 1),
            Err(RefreshRefused::BelowMinimum {
                balance_e8s: ICP - 1
            })
        );
        assert_eq!(
            refreshed(BOUNDS, 1_000 * ICP - ICP / 2, 0, 5 * ICP),
            Err(RefreshRefused::NoRoom)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256)
        ))]
        /// Refreshes in any order by any participants never take the sale
        /// past its maximum, a participant past theirs, or anyone's
        /// participation down, and never accept more than was paid.
        #[test]
        fn refreshes_keep_every_bound(
            payments in proptest::collection::vec((0usize..6, 0u64..150 * ICP), 1..60),
        ) {
            let mut paid = [0u64; 6];
            let mut accepted = [0u64; 6];
            for (who, amount) in payments {
                paid[who] += amount;
                let direct: u64 = accepted.iter().sum();
                if let Ok(after) = refreshed(BOUNDS, direct, accepted[who], paid[who]) {
                    proptest::prop_assert!(after >= accepted[who]);
                    accepted[who] = after;
                }
                let direct: u64 = accepted.iter().sum();
                proptest::prop_assert!(direct <= BOUNDS.max_direct_e8s);
                for who in 0..6 {
                    proptest::prop_assert!(accepted[who] <= paid[who]);
                    proptest::prop_assert!(accepted[who] <= BOUNDS.max_participant_e8s);
                    proptest::prop_assert!(accepted[who] == 0 || accepted[who] >= BOUNDS.min_participant_e8s);
                }
            }
        }
    }
}
