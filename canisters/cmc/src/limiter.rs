//! The hourly minting limit: cycles minted per sliding hour, counted in
//! one-minute buckets.

use candid::{CandidType, Deserialize};
use canister_common::candid_reader::{self, Cursor, ReadCandid, Type};
use std::collections::VecDeque;

const BUCKET_SECONDS: u64 = 60;
const WINDOW_BUCKETS: u64 = 60;

#[derive(CandidType, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct Limiter {
    /// (minute number, cycles minted in it), oldest first.
    buckets: VecDeque<(u64, u128)>,
}

impl ReadCandid for Limiter {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        let mut buckets = VecDeque::new();
        c.field(ty, "buckets", |c, ty| {
            c.vec(ty, |c, _, ty| {
                buckets.push_back(c.pair(ty, Cursor::nat64, Cursor::nat)?);
                Ok(())
            })
        })?;
        Ok(Self { buckets })
    }
}

impl Limiter {
    fn forget_old(&mut self, now_seconds: u64) {
        let minute = now_seconds / BUCKET_SECONDS;
        while let Some(&(m, _)) = self.buckets.front() {
            if m + WINDOW_BUCKETS > minute {
                break;
            }
            self.buckets.pop_front();
        }
    }

    /// Cycles minted in the hour up to `now`.
    pub fn used(&mut self, now_seconds: u64) -> u128 {
        self.forget_old(now_seconds);
        self.buckets.iter().map(|(_, c)| c).sum()
    }

    /// Counts `cycles` if they fit under `limit` and answers the bucket
    /// (minute) they count in; otherwise answers what the hour has used so
    /// far.
    pub fn reserve(&mut self, now_seconds: u64, cycles: u128, limit: u128) -> Result<u64, u128> {
        let used = self.used(now_seconds);
        if used.saturating_add(cycles) > limit {
            return Err(used);
        }
        let minute = now_seconds / BUCKET_SECONDS;
        match self.buckets.back_mut() {
            Some((m, c)) if *m == minute => *c += cycles,
            _ => self.buckets.push_back((minute, cycles)),
        }
        Ok(minute)
    }

    /// Gives back cycles reserved in `minute` but not minted after all;
    /// nothing if that minute has left the window (it no longer counts).
    pub fn release(&mut self, minute: u64, cycles: u128) {
        if let Some((_, c)) = self.buckets.iter_mut().find(|(m, _)| *m == minute) {
            *c = c.saturating_sub(cycles);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_as_candid_wrote_it() {
        let mut limiter = Limiter::default();
        for minute in [0u64, 1, 5] {
            limiter
                .reserve(minute * 60, u128::from(minute) << 70, u128::MAX)
                .unwrap();
        }
        for value in [Limiter::default(), limiter] {
            let bytes = candid::encode_one(&value).unwrap();
            let read = canister_common::candid_reader::decode_first(&bytes, Limiter::read);
            assert_eq!(read, Ok(value));
        }
    }

    #[test]
    fn the_limit_applies_to_a_sliding_hour() {
        let mut limiter = Limiter::default();
        limiter.reserve(0, 60, 100).unwrap();
        limiter.reserve(1_800, 40, 100).unwrap();
        assert_eq!(limiter.reserve(1_900, 1, 100), Err(100));
        // An hour after the first mint, its cycles no longer count.
        let minute = limiter.reserve(3_600, 60, 100).unwrap();
        assert_eq!(limiter.used(3_600), 100);
        limiter.release(minute, 30);
        assert_eq!(limiter.used(3_600), 70);
        assert_eq!(limiter.used(10_000), 0);
    }

    #[test]
    fn a_release_gives_back_to_the_minute_reserved() {
        let mut limiter = Limiter::default();
        let early = limiter.reserve(0, 50, 100).unwrap();
        limiter.reserve(1_800, 40, 100).unwrap();
        // The early reservation is released: the later minute keeps its 40,
        // which still count when the early minute leaves the window.
        limiter.release(early, 50);
        assert_eq!(limiter.used(1_800), 40);
        assert_eq!(limiter.used(3_600), 40);
        // A minute already out of the window releases nothing.
        limiter.release(early, 50);
        assert_eq!(limiter.used(3_600), 40);
    }
}
