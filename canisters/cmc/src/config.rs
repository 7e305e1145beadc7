//! The CMC's configuration: validated from the install argument and kept in
//! stable memory.

use candid::{CandidType, Deserialize, Principal};
use canister_common::candid_reader::{self, Cursor, ReadCandid, Type, field, required};
use nns_api::AccountIdentifier;
use nns_api::cmc::{
    CyclesCanisterInitPayload, DEFAULT_CYCLES_LIMIT_PER_HOUR, IcpXdrConversionRate,
};
use nns_api::ids::{CYCLES_LEDGER_CANISTER_ID, GOVERNANCE_CANISTER_ID, LEDGER_CANISTER_ID};

#[derive(CandidType, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub ledger_canister_id: Principal,
    pub governance_canister_id: Principal,
    /// The ledger's minting account: ICP sent there is burned.
    pub minting_account_id: AccountIdentifier,
    pub cycles_limit_per_hour: u128,
    /// Blocks at or below this index are too old to be notified.
    pub last_purged_notification: u64,
    pub initial_rate: Option<IcpXdrConversionRate>,
    /// Where `notify_mint_cycles` deposits the cycles it mints.
    pub cycles_ledger_canister_id: Principal,
}

impl ReadCandid for Config {
    fn read(c: &mut Cursor, ty: Type) -> candid_reader::Result<Self> {
        const LEDGER: u32 = field("ledger_canister_id");
        const GOVERNANCE: u32 = field("governance_canister_id");
        const MINTING_ACCOUNT: u32 = field("minting_account_id");
        const LIMIT: u32 = field("cycles_limit_per_hour");
        const LAST_PURGED: u32 = field("last_purged_notification");
        const INITIAL_RATE: u32 = field("initial_rate");
        const CYCLES_LEDGER: u32 = field("cycles_ledger_canister_id");
        let (mut ledger, mut governance, mut minting, mut limit, mut purged) =
            (None, None, None, None, None);
        let (mut initial_rate, mut cycles_ledger) = (None, None);
        c.record(ty, |c, hash, ty| {
            match hash {
                LEDGER => ledger = Some(c.principal(ty)?),
                GOVERNANCE => governance = Some(c.principal(ty)?),
                MINTING_ACCOUNT => {
                    let bytes = c.blob(ty)?;
                    minting = Some(AccountIdentifier::from_slice(bytes).or_else(|e| {
                        candid_reader::unexpected(&format!("minting_account_id: {e}"))
                    })?);
                }
                LIMIT => limit = Some(c.nat(ty)?),
                LAST_PURGED => purged = Some(c.nat64(ty)?),
                INITIAL_RATE => initial_rate = c.opt(ty, crate::rates::read_rate)?,
                CYCLES_LEDGER => cycles_ledger = Some(c.principal(ty)?),
                _ => c.skip(ty)?,
            }
            Ok(())
        })?;
        Ok(Self {
            ledger_canister_id: required(ledger, "ledger_canister_id")?,
            governance_canister_id: required(governance, "governance_canister_id")?,
            minting_account_id: required(minting, "minting_account_id")?,
            cycles_limit_per_hour: required(limit, "cycles_limit_per_hour")?,
            last_purged_notification: required(purged, "last_purged_notification")?,
            initial_rate,
            // Stored by builds before the cycles ledger: the well-known id.
            cycles_ledger_canister_id: cycles_ledger.unwrap_or(CYCLES_LEDGER_CANISTER_ID),
        })
    }
}

impl Config {
    /// Missing fields take the NNS's values: the well-known ids, the
    /// governance canister's default account as minting account, 150e15
    /// cycles per hour.
    pub fn from_init(payload: Option<CyclesCanisterInitPayload>) -> Result<Self, String> {
        let payload = payload.unwrap_or_default();
        let governance_canister_id = payload
            .governance_canister_id
            .unwrap_or(GOVERNANCE_CANISTER_ID);
        let minting_account_id = match payload.minting_account_id {
            Some(text) => AccountIdentifier::from_hex(&text)
                .map_err(|e| format!("minting_account_id: {e}"))?,
            None => AccountIdentifier::new(&governance_canister_id, None),
        };
        let cycles_limit_per_hour = match payload.cycles_limit_per_hour {
            Some(limit) => read_limit(limit)?,
            None => DEFAULT_CYCLES_LIMIT_PER_HOUR,
        };
        if let Some(rate) = payload.exchange_rate
            && rate.xdr_permyriad_per_icp == 0
        {
            return Err("exchange_rate: xdr_permyriad_per_icp must be positive".into());
        }
        Ok(Self {
            ledger_canister_id: payload.ledger_canister_id.unwrap_or(LEDGER_CANISTER_ID),
            governance_canister_id,
            minting_account_id,
            cycles_limit_per_hour,
            last_purged_notification: payload.last_purged_notification.unwrap_or(0),
            initial_rate: payload.exchange_rate,
            cycles_ledger_canister_id: payload
                .cycles_ledger_canister_id
                .unwrap_or(CYCLES_LEDGER_CANISTER_ID),
        })
    }

    /// The configuration after an upgrade with `payload`. As on the real
    /// CMC, whose `post_upgrade` reads none of them, the ids, the minting
    /// account, the purge horizon and the rate are install-time settings
    /// and stay; a set `cycles_limit_per_hour` or `cycles_ledger_canister_id`
    /// replaces its value and one left `None` keeps it (the real CMC
    /// clears the cycles ledger's id when an upgrade argument omits it).
    pub fn upgraded(&self, payload: Option<CyclesCanisterInitPayload>) -> Result<Self, String> {
        let mut config = self.clone();
        let payload = payload.unwrap_or_default();
        if let Some(limit) = payload.cycles_limit_per_hour {
            config.cycles_limit_per_hour = read_limit(limit)?;
        }
        if let Some(id) = payload.cycles_ledger_canister_id {
            config.cycles_ledger_canister_id = id;
        }
        Ok(config)
    }
}

fn read_limit(limit: candid::Nat) -> Result<u128, String> {
    u128::try_from(limit.0).map_err(|_| "cycles_limit_per_hour is too large".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_as_candid_wrote_it() {
        let mut config = Config::from_init(None).unwrap();
        for initial_rate in [
            None,
            Some(IcpXdrConversionRate {
                timestamp_seconds: 5,
                xdr_permyriad_per_icp: 35_000,
            }),
        ] {
            config.initial_rate = initial_rate;
            config.cycles_limit_per_hour = u128::MAX;
            let bytes = candid::encode_one(Some(&config)).unwrap();
            let read = candid_reader::decode_first(&bytes, Option::<Config>::read);
            assert_eq!(read, Ok(Some(config.clone())));
        }
    }

    #[test]
    fn no_payload_means_the_nns_wiring() {
        let config = Config::from_init(None).unwrap();
        assert_eq!(config.ledger_canister_id, LEDGER_CANISTER_ID);
        assert_eq!(config.governance_canister_id, GOVERNANCE_CANISTER_ID);
        assert_eq!(
            config.minting_account_id,
            AccountIdentifier::new(&GOVERNANCE_CANISTER_ID, None)
        );
        assert_eq!(config.cycles_limit_per_hour, 150_000_000_000_000_000);
    }

    #[test]
    fn an_upgrade_changes_only_the_limit_and_only_when_set() {
        let installed = Config::from_init(Some(CyclesCanisterInitPayload {
            cycles_limit_per_hour: Some(candid::Nat::from(7u8)),
            last_purged_notification: Some(3),
            exchange_rate: Some(IcpXdrConversionRate {
                timestamp_seconds: 5,
                xdr_permyriad_per_icp: 35_000,
            }),
            ..Default::default()
        }))
        .unwrap();
        assert_eq!(installed.upgraded(None), Ok(installed.clone()));
        let all_null = CyclesCanisterInitPayload::default();
        assert_eq!(installed.upgraded(Some(all_null)), Ok(installed.clone()));
        // The install-time settings are ignored, as the real CMC ignores them.
        let other = Principal::from_slice(&[9]);
        let rewired = CyclesCanisterInitPayload {
            ledger_canister_id: Some(other),
            governance_canister_id: Some(other),
            minting_account_id: Some(AccountIdentifier::new(&other, None).to_hex()),
            last_purged_notification: Some(1_000),
            exchange_rate: Some(IcpXdrConversionRate {
                timestamp_seconds: 9,
                xdr_permyriad_per_icp: 1,
            }),
            cycles_limit_per_hour: None,
            cycles_ledger_canister_id: None,
        };
        assert_eq!(installed.upgraded(Some(rewired)), Ok(installed.clone()));
        let cycles_ledger = CyclesCanisterInitPayload {
            cycles_ledger_canister_id: Some(other),
            ..Default::default()
        };
        assert_eq!(
            installed
                .upgraded(Some(cycles_ledger))
                .unwrap()
                .cycles_ledger_canister_id,
            other
        );
        let new_limit = CyclesCanisterInitPayload {
            cycles_limit_per_hour: Some(candid::Nat::from(11u8)),
            ..Default::default()
        };
        let upgraded = installed.upgraded(Some(new_limit)).unwrap();
        assert_eq!(
            upgraded,
            Config {
                cycles_limit_per_hour: 11,
                ..installed.clone()
            }
        );
        let huge_limit = CyclesCanisterInitPayload {
            cycles_limit_per_hour: Some(candid::Nat::from(u128::MAX) + 1u8),
            ..Default::default()
        };
        assert!(installed.upgraded(Some(huge_limit)).is_err());
    }

    #[test]
    fn invalid_fields_are_refused() {
        let bad_account = CyclesCanisterInitPayload {
            minting_account_id: Some("00".repeat(32)),
            ..Default::default()
        };
        assert!(
            Config::from_init(Some(bad_account))
                .unwrap_err()
                .contains("minting_account_id")
        );
        let zero_rate = CyclesCanisterInitPayload {
            exchange_rate: Some(IcpXdrConversionRate {
                timestamp_seconds: 1,
                xdr_permyriad_per_icp: 0,
            }),
            ..Default::default()
        };
        assert!(Config::from_init(Some(zero_rate)).is_err());
        let huge_limit = CyclesCanisterInitPayload {
            cycles_limit_per_hour: Some(candid::Nat::from(u128::MAX) + 1u8),
            ..Default::default()
        };
        assert!(Config::from_init(Some(huge_limit)).is_err());
    }
}
