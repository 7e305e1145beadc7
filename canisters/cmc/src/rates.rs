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

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Rates {
    pub current: IcpXdrConversionRate,
    /// The last rate of each day (by day number), for the last 30 days.
    daily: BTreeMap<u64, u64>,
}

impl ReadCandid for Rates {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const CURRENT: u32 = candid_reader::field("current");
        const DAILY: u32 = candid_reader::field("daily");
        let (mut current, mut daily) = (None, BTreeMap::new());
        c.record(ty, |c, hash, ty| {
            match hash {
                CURRENT => current = Some(read_rate(c, ty)?),
                // A map is a vector of (key, value) records.
                DAILY => c.vec(ty, |c, _, ty| {
                    let (day, rate) = c.pair(ty, Cursor::nat64, Cursor::nat64)?;
                    daily.insert(day, rate);
                    Ok(())
                })?,
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        Ok(Self {
            current: required(current, "current")?,
            daily,
        })
    }
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
    pub fn new(initial: IcpXdrConversionRate) -> Self {
        let mut rates = Self {
            current: initial,
            daily: BTreeMap::new(),
        };
        rates.record(initial);
        rates
    }

    /// The first rate set by governance (none was installed): positive
    /// and not far ahead of the clock.
    pub fn first(rate: IcpXdrConversionRate, now_seconds: u64) -> Result<Self, String> {
        check(rate, now_seconds)?;
        Ok(Self::new(rate))
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
        self.record(rate);
        Ok(())
    }

    fn record(&mut self, rate: IcpXdrConversionRate) {
        let day = rate.timestamp_seconds / SECONDS_PER_DAY;
        self.daily.insert(day, rate.xdr_permyriad_per_icp);
        let first_kept = day.saturating_sub(AVERAGE_DAYS - 1);
        self.daily = self.daily.split_off(&first_kept);
    }

    /// The mean of the daily rates of the last 30 days, stamped with the
    /// start of the current rate's day.
    pub fn average(&self) -> IcpXdrConversionRate {
        let sum: u128 = self.daily.values().map(|r| u128::from(*r)).sum();
        let count = self.daily.len().max(1) as u128;
        IcpXdrConversionRate {
            timestamp_seconds: self.current.timestamp_seconds / SECONDS_PER_DAY * SECONDS_PER_DAY,
            xdr_permyriad_per_icp: u64::try_from(sum / count).expect("a mean of u64 values"),
        }
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

    #[test]
    fn reads_back_as_candid_wrote_it() {
        let mut rates = Rates::new(rate(0, 35_000));
        for day in 1..40 {
            rates.set(rate(day, 30_000 + day), NOW).unwrap();
        }
        for value in [None, Some(Rates::new(rate(3, 1))), Some(rates)] {
            let bytes = candid::encode_one(&value).unwrap();
            let read = canister_common::candid_reader::decode_first(&bytes, Option::<Rates>::read);
            assert_eq!(read, Ok(value));
        }
    }

    /// Later than every rate below: the clock bounds none of them.
    const NOW: u64 = 1_000 * SECONDS_PER_DAY;

    #[test]
    fn only_newer_positive_rates_are_accepted() {
        let mut rates = Rates::new(rate(10, 40_000));
        assert!(rates.set(rate(11, 0), NOW).is_err());
        assert!(rates.set(rate(9, 30_000), NOW).is_err());
        assert!(rates.set(rate(10, 30_000), NOW).is_err(), "same timestamp");
        rates.set(rate(11, 30_000), NOW).unwrap();
        assert_eq!(rates.current, rate(11, 30_000));
        assert!(Rates::first(rate(1, 0), NOW).is_err(), "a zero first rate");
        assert_eq!(Rates::first(rate(1, 5), NOW).unwrap().current, rate(1, 5));
    }

    #[test]
    fn a_rate_far_ahead_of_the_clock_is_refused() {
        let now = 100 * SECONDS_PER_DAY + 100;
        let mut rates = Rates::new(rate(99, 40_000));
        for far in [rate(102, 30_000), rate(u64::MAX / SECONDS_PER_DAY, 30_000)] {
            assert!(rates.set(far, now).is_err(), "{far:?}");
            assert!(Rates::first(far, now).is_err(), "{far:?}");
        }
        // Up to a day ahead of the clock is accepted; a rate a day ahead of
        // that one is not until the clock moves on.
        rates.set(rate(101, 30_000), now).unwrap();
        assert!(rates.set(rate(102, 31_000), now).is_err());
        rates.set(rate(102, 31_000), now + SECONDS_PER_DAY).unwrap();
    }

    #[test]
    fn the_average_covers_the_last_thirty_days() {
        let mut rates = Rates::new(rate(100, 10_000));
        rates.set(rate(101, 20_000), NOW).unwrap();
        assert_eq!(rates.average().xdr_permyriad_per_icp, 15_000);
        // A later rate on the same day replaces that day's.
        let mut later = rate(101, 40_000);
        later.timestamp_seconds += 1;
        rates.set(later, NOW).unwrap();
        assert_eq!(rates.average().xdr_permyriad_per_icp, 25_000);
        rates.set(rate(130, 70_000), NOW).unwrap();
        // Day 100 fell out of the window (days 101..=130 remain).
        assert_eq!(rates.average().xdr_permyriad_per_icp, 55_000);
        assert_eq!(rates.average().timestamp_seconds, 130 * SECONDS_PER_DAY);
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
