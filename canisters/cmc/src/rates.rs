//! The ICP/XDR rate: set by governance, averaged over 30 days, certified.

use candid::{CandidType, Deserialize};
use canister_common::candid_reader::{self, Cursor, ReadCandid, Type, required};
use canister_common::hash_tree;
use nns_api::cmc::{
    IcpXdrConversionRate, LABEL_AVERAGE_ICP_XDR_CONVERSION_RATE, LABEL_ICP_XDR_CONVERSION_RATE,
};
use std::collections::BTreeMap;

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;
/// How far a new rate's timestamp may run ahead of the clock: a rate
/// stamped far in the future would make every later rate "older" and
/// freeze the rate.
pub const MAX_RATE_LEAD_SECONDS: u64 = SECONDS_PER_DAY;
/// The average covers this many days, as the real CMC's.
pub const AVERAGE_DAYS: u64 = 30;
/// Daily rates kept, as the real CMC's cache of 60: the maturity
/// modulation compares averages that reach 57 days back.
const KEPT_DAYS: u64 = 60;
/// The maturity modulation's bounds, in basis points (±5 %).
const MAX_MATURITY_MODULATION_PERMYRIAD: i32 = 500;

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Rates {
    pub current: IcpXdrConversionRate,
    /// The first rate governance set on each day (by day number), for the
    /// last [`KEPT_DAYS`] days, as the real CMC's `recent_icp_xdr_rates`;
    /// the rate set at install is not among them.
    daily: BTreeMap<u64, u64>,
    /// The real CMC's `average_icp_xdr_conversion_rate`: the mean of the
    /// daily rates of the 30 days up to the clock's day when the last of
    /// them was recorded, stamped with the start of that day; the installed
    /// rate until governance sets one.
    average: IcpXdrConversionRate,
    /// The clock's day when a daily rate was last recorded: the maturity
    /// modulation is the one computed then (0 before any).
    modulation_day: u64,
    /// Rates written by a module that kept only 30 days: the modulation,
    /// which looks 57 days back, stays 0 until this day (set when the first
    /// rate after the upgrade is recorded; [`INCOMPLETE`] until then).
    complete_from_day: u64,
}

/// `complete_from_day` of rates read from a module that kept 30 days,
/// before any rate is recorded.
const INCOMPLETE: u64 = u64::MAX;

impl ReadCandid for Rates {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const CURRENT: u32 = candid_reader::field("current");
        const DAILY: u32 = candid_reader::field("daily");
        const AVERAGE: u32 = candid_reader::field("average");
        const MODULATION_DAY: u32 = candid_reader::field("modulation_day");
        const COMPLETE_FROM_DAY: u32 = candid_reader::field("complete_from_day");
        let (mut current, mut daily, mut average) = (None, BTreeMap::new(), None);
        let (mut modulation_day, mut complete_from_day) = (None, 0);
        c.record(ty, |c, hash, ty| {
            match hash {
                CURRENT => current = Some(read_rate(c, ty)?),
                // A map is a vector of (key, value) records.
                DAILY => c.vec(ty, |c, _, ty| {
                    let (day, rate) = c.pair(ty, Cursor::nat64, Cursor::nat64)?;
                    daily.insert(day, rate);
                    Ok(())
                })?,
                AVERAGE => average = Some(read_rate(c, ty)?),
                MODULATION_DAY => modulation_day = Some(c.nat64(ty)?),
                COMPLETE_FROM_DAY => complete_from_day = c.nat64(ty)?,
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        let current = required(current, "current")?;
        // Written before the average was kept: it was the mean of the days
        // kept, stamped with the start of the current rate's day.
        let average = average.unwrap_or_else(|| {
            let day_start = current.timestamp_seconds / SECONDS_PER_DAY * SECONDS_PER_DAY;
            mean(daily.values(), day_start).unwrap_or(current)
        });
        Ok(Self {
            current,
            daily,
            average,
            // Written by a module that kept 30 days of rates.
            complete_from_day: if modulation_day.is_none() {
                INCOMPLETE
            } else {
                complete_from_day
            },
            modulation_day: modulation_day.unwrap_or(0),
        })
    }
}

/// The mean of `rates` stamped `timestamp_seconds`; `None` for no rates.
fn mean<'a>(
    rates: impl Iterator<Item = &'a u64>,
    timestamp_seconds: u64,
) -> Option<IcpXdrConversionRate> {
    let (sum, count) = rates.fold((0u128, 0u128), |(sum, count), rate| {
        (sum + u128::from(*rate), count + 1)
    });
    (count > 0).then(|| IcpXdrConversionRate {
        timestamp_seconds,
        xdr_permyriad_per_icp: u64::try_from(sum / count).expect("a mean of u64 values"),
    })
}

fn check(rate: IcpXdrConversionRate, reference_seconds: u64) -> Result<(), String> {
    if rate.xdr_permyriad_per_icp == 0 {
        return Err("the rate must be positive".into());
    }
    let latest = reference_seconds.saturating_add(MAX_RATE_LEAD_SECONDS);
    if rate.timestamp_seconds > latest {
        return Err("the rate's timestamp is more than a day ahead".into());
    }
    Ok(())
}

pub fn read_rate(c: &mut Cursor, ty: Type) -> candid_reader::Result<IcpXdrConversionRate> {
    const TIMESTAMP: u32 = candid_reader::field("timestamp_seconds");
    const PERMYRIAD: u32 = candid_reader::field("xdr_permyriad_per_icp");
    let (mut timestamp, mut permyriad) = (None, None);
    c.record(ty, |c, hash, ty| {
        match hash {
            TIMESTAMP => timestamp = Some(c.nat64(ty)?),
            PERMYRIAD => permyriad = Some(c.nat64(ty)?),
            _ => c.skip(ty)?,
        }
        Ok(())
    })?;
    Ok(IcpXdrConversionRate {
        timestamp_seconds: required(timestamp, "timestamp_seconds")?,
        xdr_permyriad_per_icp: required(permyriad, "xdr_permyriad_per_icp")?,
    })
}

impl Rates {
    /// Rates that start at `initial`, current and average alike, as the
    /// real CMC starts at its default rate.
    pub fn new(initial: IcpXdrConversionRate) -> Self {
        Self {
            current: initial,
            daily: BTreeMap::new(),
            average: initial,
            modulation_day: 0,
            complete_from_day: 0,
        }
    }

    /// Accepts a positive rate observed after the current one, and no more
    /// than a day ahead of the clock (not of the current rate: a series of
    /// rates, each a day ahead of the last, would otherwise push the
    /// timestamp arbitrarily far and freeze the rate).
    pub fn set(&mut self, rate: IcpXdrConversionRate, now_seconds: u64) -> Result<(), String> {
        check(rate, now_seconds)?;
        if rate.timestamp_seconds <= self.current.timestamp_seconds {
            return Err(format!(
                "the rate's timestamp {} is not newer than the current rate's {}",
                rate.timestamp_seconds, self.current.timestamp_seconds
            ));
        }
        self.current = rate;
        self.record(rate, now_seconds);
        Ok(())
    }

    /// As the real CMC's `update_recent_icp_xdr_rates`: only a day's first
    /// rate is recorded, and recording one recomputes the average over the
    /// 30 days up to the clock's (a rate of a later day waits for a later
    /// recomputation; an average of no days leaves the last one).
    fn record(&mut self, rate: IcpXdrConversionRate, now_seconds: u64) {
        let day = rate.timestamp_seconds / SECONDS_PER_DAY;
        if self.daily.contains_key(&day) {
            return;
        }
        self.daily.insert(day, rate.xdr_permyriad_per_icp);
        let today = now_seconds / SECONDS_PER_DAY;
        // Days before the cache never count again: the clock only moves on.
        self.daily = self.daily.split_off(&today.saturating_sub(KEPT_DAYS - 1));
        if let Some(average) = self.average_at(today) {
            self.average = average;
        }
        self.modulation_day = today;
        if self.complete_from_day == INCOMPLETE {
            self.complete_from_day = today + 2 * 28 + 1;
        }
    }

    /// The mean of the daily rates of the 30 days up to `day`, stamped with
    /// the start of `day`.
    fn average_at(&self, day: u64) -> Option<IcpXdrConversionRate> {
        let first = day.saturating_sub(AVERAGE_DAYS - 1);
        mean(
            self.daily.range(first..=day).map(|(_, r)| r),
            day * SECONDS_PER_DAY,
        )
    }

    /// The real CMC's `neuron_maturity_modulation`, in basis points: the
    /// mean of four weekly changes of the 30-day average rate (each capped
    /// at ±5 %), over the four weeks up to the day a rate was last
    /// recorded. A week counts only if both of its ends have a daily rate.
    pub fn maturity_modulation_permyriad(&self) -> i32 {
        let day = self.modulation_day;
        if day < self.complete_from_day {
            return 0;
        }
        let change = |start: Option<u64>, end: Option<u64>| -> i32 {
            let (Some(start), Some(end)) = (start, end) else {
                return 0;
            };
            if !self.daily.contains_key(&start) || !self.daily.contains_key(&end) {
                return 0;
            }
            let average = |d| self.average_at(d).map(|r| r.xdr_permyriad_per_icp as i32);
            let (Some(from), Some(to)) = (average(start), average(end)) else {
                return 0;
            };
            to.saturating_sub(from)
                .saturating_mul(10_000)
                .checked_div(from)
                .unwrap_or(0)
                .clamp(
                    -MAX_MATURITY_MODULATION_PERMYRIAD,
                    MAX_MATURITY_MODULATION_PERMYRIAD,
                )
        };
        let weeks_back = |n: u64| day.checked_sub(7 * n);
        (0..4)
            .map(|n| change(weeks_back(n + 1), weeks_back(n)))
            .sum::<i32>()
            / 4
    }

    pub fn average(&self) -> IcpXdrConversionRate {
        self.average
    }

    fn with_tree<R>(&self, f: impl FnOnce(&[(&[u8], &[u8])]) -> R) -> R {
        let average = candid::encode_one(self.average()).expect("a rate encodes");
        let current = candid::encode_one(self.current).expect("a rate encodes");
        // Sorted: "AVERAGE_…" < "ICP_…".
        f(&[
            (LABEL_AVERAGE_ICP_XDR_CONVERSION_RATE, &average),
            (LABEL_ICP_XDR_CONVERSION_RATE, &current),
        ])
    }

    /// The value for `ic0.certified_data_set`.
    pub fn root_hash(&self) -> [u8; 32] {
        self.with_tree(hash_tree::root_hash)
    }

    pub fn tree_cbor(&self) -> Vec<u8> {
        self.with_tree(hash_tree::cbor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rate(day: u64, xdr_permyriad_per_icp: u64) -> IcpXdrConversionRate {
        IcpXdrConversionRate {
            timestamp_seconds: day * SECONDS_PER_DAY + 100,
            xdr_permyriad_per_icp,
        }
    }

    /// Noon of `day`.
    fn noon(day: u64) -> u64 {
        day * SECONDS_PER_DAY + SECONDS_PER_DAY / 2
    }

    #[test]
    fn reads_back_as_candid_wrote_it() {
        let mut rates = Rates::new(rate(0, 35_000));
        for day in 1..40 {
            rates.set(rate(day, 30_000 + day), noon(day)).unwrap();
        }
        for value in [None, Some(Rates::new(rate(3, 1))), Some(rates)] {
            let bytes = candid::encode_one(&value).unwrap();
            let read = canister_common::candid_reader::decode_first(&bytes, Option::<Rates>::read);
            assert_eq!(read, Ok(value));
        }
    }

    #[test]
    fn rates_written_without_an_average_read_with_the_one_they_answered() {
        #[derive(CandidType)]
        struct Before {
            current: IcpXdrConversionRate,
            daily: BTreeMap<u64, u64>,
        }
        let read = |before: &Before| {
            let bytes = candid::encode_one(before).unwrap();
            canister_common::candid_reader::decode_first(&bytes, Rates::read).unwrap()
        };
        let kept = Before {
            current: rate(12, 30_000),
            daily: BTreeMap::from([(11, 10_000), (12, 30_000)]),
        };
        let rates = read(&kept);
        assert_eq!(rates.current, kept.current);
        assert_eq!(
            rates.average(),
            IcpXdrConversionRate {
                timestamp_seconds: 12 * SECONDS_PER_DAY,
                xdr_permyriad_per_icp: 20_000,
            }
        );
        let none = Before {
            current: rate(12, 30_000),
            daily: BTreeMap::new(),
        };
        assert_eq!(read(&none).average(), rate(12, 30_000));
    }

    #[test]
    fn only_newer_positive_rates_are_accepted() {
        let mut rates = Rates::new(rate(10, 40_000));
        let now = noon(20);
        assert!(rates.set(rate(11, 0), now).is_err());
        assert!(rates.set(rate(9, 30_000), now).is_err());
        assert!(rates.set(rate(10, 30_000), now).is_err(), "same timestamp");
        rates.set(rate(11, 30_000), now).unwrap();
        assert_eq!(rates.current, rate(11, 30_000));
    }

    #[test]
    fn the_default_rate_refuses_rates_observed_before_it() {
        use nns_api::cmc::DEFAULT_ICP_XDR_CONVERSION_RATE;
        let mut rates = Rates::new(DEFAULT_ICP_XDR_CONVERSION_RATE);
        assert_eq!(rates.average(), DEFAULT_ICP_XDR_CONVERSION_RATE);
        let default_day = DEFAULT_ICP_XDR_CONVERSION_RATE.timestamp_seconds / SECONDS_PER_DAY;
        // Four days before it (PocketIC's genesis): older, and a rate newer
        // than it is more than a day ahead of the clock.
        let genesis = 1_620_328_630;
        let at_genesis = IcpXdrConversionRate {
            timestamp_seconds: genesis,
            xdr_permyriad_per_icp: 35_000,
        };
        assert!(rates.set(at_genesis, genesis).is_err());
        assert!(rates.set(rate(default_day + 1, 35_000), genesis).is_err());
        rates
            .set(rate(default_day + 1, 35_000), noon(default_day + 1))
            .unwrap();
        assert_eq!(rates.current.xdr_permyriad_per_icp, 35_000);
        assert_eq!(rates.average().xdr_permyriad_per_icp, 35_000);
    }

    #[test]
    fn a_rate_far_ahead_of_the_clock_is_refused() {
        let now = 100 * SECONDS_PER_DAY + 100;
        let mut rates = Rates::new(rate(99, 40_000));
        for far in [rate(102, 30_000), rate(u64::MAX / SECONDS_PER_DAY, 30_000)] {
            assert!(rates.set(far, now).is_err(), "{far:?}");
        }
        // Up to a day ahead of the clock is accepted; a rate a day ahead of
        // that one is not until the clock moves on.
        rates.set(rate(101, 30_000), now).unwrap();
        assert!(rates.set(rate(102, 31_000), now).is_err());
        rates.set(rate(102, 31_000), now + SECONDS_PER_DAY).unwrap();
    }

    #[test]
    fn the_average_takes_each_days_first_rate_over_thirty_days() {
        // The installed rate is the average until governance sets one, and
        // is not one of the days averaged.
        let mut rates = Rates::new(rate(100, 10_000));
        assert_eq!(rates.average(), rate(100, 10_000));
        rates.set(rate(101, 20_000), noon(101)).unwrap();
        assert_eq!(rates.average().xdr_permyriad_per_icp, 20_000);
        rates.set(rate(102, 40_000), noon(102)).unwrap();
        assert_eq!(rates.average().xdr_permyriad_per_icp, 30_000);
        // A later rate on the same day is current, but the day keeps its
        // first rate.
        let mut later = rate(102, 90_000);
        later.timestamp_seconds += 1;
        rates.set(later, noon(102)).unwrap();
        assert_eq!(rates.current, later);
        assert_eq!(rates.average().xdr_permyriad_per_icp, 30_000);
        // Day 131 counts days 102..=131: day 101 fell out of the window.
        rates.set(rate(131, 80_000), noon(131)).unwrap();
        assert_eq!(
            rates.average(),
            IcpXdrConversionRate {
                timestamp_seconds: 131 * SECONDS_PER_DAY,
                xdr_permyriad_per_icp: 60_000,
            }
        );
    }

    #[test]
    fn the_maturity_modulation_follows_the_averages_weekly_changes() {
        let mut rates = Rates::new(rate(99, 10_000));
        assert_eq!(rates.maturity_modulation_permyriad(), 0, "no history");
        // Flat for three weeks, then doubled: the last week's change of the
        // 30-day average is capped at +5 %, the others are 0; the mean of
        // the four weeks is 500 / 4.
        for day in 100..=128 {
            let xdr = if day > 121 { 20_000 } else { 10_000 };
            rates.set(rate(day, xdr), noon(day)).unwrap();
        }
        assert_eq!(rates.maturity_modulation_permyriad(), 125);
        // Falling back: a negative change, capped at −5 % a week.
        for day in 129..=160 {
            rates.set(rate(day, 1_000), noon(day)).unwrap();
        }
        assert_eq!(rates.maturity_modulation_permyriad(), -500);
        // A missing week's end leaves that week out (as 0).
        let mut sparse = Rates::new(rate(99, 10_000));
        for day in [100, 114, 128] {
            sparse.set(rate(day, 10_000 + day), noon(day)).unwrap();
        }
        assert_eq!(sparse.maturity_modulation_permyriad(), 0);
    }

    #[test]
    fn rates_kept_for_30_days_give_no_modulation_until_57_days_are_kept() {
        #[derive(CandidType)]
        struct Legacy {
            current: IcpXdrConversionRate,
            daily: BTreeMap<u64, u64>,
            average: IcpXdrConversionRate,
        }
        let daily = (100..=129).map(|d| (d, 10_000 + 500 * (d - 100))).collect();
        let legacy = Legacy {
            current: rate(129, 24_500),
            daily,
            average: rate(129, 17_000),
        };
        let bytes = candid::encode_one(legacy).unwrap();
        let mut rates = candid_reader::decode_first(&bytes, Rates::read).unwrap();
        assert_eq!(rates.maturity_modulation_permyriad(), 0);
        for day in 130..=186 {
            rates.set(rate(day, 30_000), noon(day)).unwrap();
            assert_eq!(rates.maturity_modulation_permyriad(), 0, "day {day}");
        }
        rates.set(rate(187, 1_000), noon(187)).unwrap();
        assert_ne!(
            rates.maturity_modulation_permyriad(),
            0,
            "57 days after the upgrade"
        );
    }

    #[test]
    fn the_average_follows_the_clock_not_the_rates_timestamps() {
        let mut rates = Rates::new(rate(100, 10_000));
        rates.set(rate(101, 20_000), noon(101)).unwrap();
        // Set on day 140, day 103's rate is not within the 30 days up to
        // the clock's day, nor is day 101's: the average stays.
        rates.set(rate(103, 30_000), noon(140)).unwrap();
        assert_eq!(rates.average().xdr_permyriad_per_icp, 20_000);
        // Set on day 120, day 119's rate and day 101's both are; the
        // average is stamped with the clock's day.
        let mut rates = Rates::new(rate(100, 10_000));
        rates.set(rate(101, 20_000), noon(101)).unwrap();
        rates.set(rate(119, 40_000), noon(120)).unwrap();
        assert_eq!(
            rates.average(),
            IcpXdrConversionRate {
                timestamp_seconds: 120 * SECONDS_PER_DAY,
                xdr_permyriad_per_icp: 30_000,
            }
        );
        // A rate stamped a day ahead of the clock waits for a later day.
        rates.set(rate(121, 90_000), noon(120)).unwrap();
        assert_eq!(rates.average().xdr_permyriad_per_icp, 30_000);
    }

    #[test]
    fn the_tree_certifies_both_rates() {
        let rates = Rates::new(rate(5, 12_345));
        let tree: ic_certification::HashTree = serde_cbor::from_slice(&rates.tree_cbor()).unwrap();
        assert_eq!(tree.digest(), rates.root_hash());
        let ic_certification::LookupResult::Found(bytes) =
            tree.lookup_path([LABEL_ICP_XDR_CONVERSION_RATE])
        else {
            panic!("the current rate is in the tree")
        };
        let decoded: IcpXdrConversionRate = candid::decode_one(bytes).unwrap();
        assert_eq!(decoded, rate(5, 12_345));
    }
}
