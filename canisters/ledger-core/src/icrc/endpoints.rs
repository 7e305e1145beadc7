//! The ICRC-1, ICRC-2, ICRC-3, ICRC-103 and ICRC-106 endpoints, written
//! once for every ICRC ledger canister of the project (the cycles ledger, a
//! project's token). A canister invokes [`icrc_endpoints!`] with its
//! ledger's type, configuration type and state accessors; its own
//! endpoints (deposits, archives, HTTP) stay in its crate.
//!
//! The expansion names `ic_cdk`, `candid` and `icrc_ledger_types`, which
//! the canister depends on anyway; transfers and approvals decode and
//! encode through the core's fast wire codec.

/// Defines, in the invoking crate: the ICRC endpoints, `certify_tip()`
/// (sets the certified data to the ICRC-3 tip) and `record(f)` (runs a
/// state change and re-certifies when it made a block).
#[macro_export]
macro_rules! icrc_endpoints {
    (ledger: $ledger:ty, config: $config:ty, read: $read:path, mutate: $mutate:path $(,)?) => {
        type IcrcAmount = <$config as $crate::icrc::IcrcConfig>::Amount;

        /// The certified data: the ICRC-3 tip tree's root hash, once there is
        /// a block (as DFINITY's ledgers, which certify nothing before).
        fn certify_tip() {
            if let Some(tip) = $read(|l: &$ledger| l.last_block()) {
                ::ic_cdk::api::certified_data_set($crate::icrc::certification::tip_root_hash(
                    Some(tip),
                ));
            }
        }

        /// Runs a state change and re-certifies the tip if it made a block.
        fn record<T>(
            f: impl FnOnce(&mut $ledger, u64) -> Result<T, $crate::TxError<IcrcAmount>>,
        ) -> Result<T, $crate::TxError<IcrcAmount>> {
            let result = $mutate(|l: &mut $ledger| f(l, ::ic_cdk::api::time()));
            if result.is_ok() {
                certify_tip();
            }
            result
        }

        /// As DFINITY's ledgers: a memo beyond the limit traps.
        fn trap_on_memo(e: $crate::TxError<IcrcAmount>) -> $crate::TxError<IcrcAmount> {
            if let $crate::TxError::Generic { error_code, .. } = &e
                && *error_code == $crate::generic_error::MEMO_TOO_LONG
            {
                ::ic_cdk::trap(format!(
                    "memo length exceeds the maximum of {} bytes",
                    $crate::MAX_MEMO_BYTES
                ));
            }
            e
        }

        /// As DFINITY's ledgers: every ICRC-2 method traps while the
        /// feature is off.
        fn require_icrc2() {
            use $crate::icrc::IcrcConfig;
            if !$read(|l: &$ledger| l.config().icrc2_enabled()) {
                ::ic_cdk::trap("ICRC-2 features are not enabled on the ledger.");
            }
        }

        fn refused_owner(
            accounts: &[&::icrc_ledger_types::icrc1::account::Account],
            what: &str,
        ) -> Option<(::candid::Nat, String)> {
            $read(|l: &$ledger| $crate::icrc::service::refused_owner(l.config(), accounts, what))
        }

        #[::ic_cdk::query]
        fn icrc1_name() -> String {
            use $crate::icrc::service::IcrcToken;
            $read(|l: &$ledger| l.config().token_name())
        }

        #[::ic_cdk::query]
        fn icrc1_symbol() -> String {
            use $crate::icrc::service::IcrcToken;
            $read(|l: &$ledger| l.config().token_symbol())
        }

        #[::ic_cdk::query]
        fn icrc1_decimals() -> u8 {
            use $crate::icrc::service::IcrcToken;
            $read(|l: &$ledger| l.config().decimals())
        }

        #[::ic_cdk::query]
        fn icrc1_fee() -> ::candid::Nat {
            use $crate::icrc::IcrcConfig;
            $crate::icrc::errors::nat($read(|l: &$ledger| l.config().fee()))
        }

        #[::ic_cdk::query]
        fn icrc1_metadata() -> Vec<(
            String,
            ::icrc_ledger_types::icrc::generic_metadata_value::MetadataValue,
        )> {
            use $crate::icrc::service::IcrcToken;
            $read(|l: &$ledger| l.config().metadata())
        }

        #[::ic_cdk::query]
        fn icrc1_minting_account() -> Option<::icrc_ledger_types::icrc1::account::Account> {
            use $crate::icrc::IcrcConfig;
            $read(|l: &$ledger| l.config().minting_account())
        }

        #[::ic_cdk::query]
        fn icrc1_total_supply() -> ::candid::Nat {
            $crate::icrc::errors::nat($read(|l: &$ledger| l.tip().total_supply()))
        }

        #[::ic_cdk::query]
        fn icrc1_balance_of(
            account: ::icrc_ledger_types::icrc1::account::Account,
        ) -> ::candid::Nat {
            $crate::icrc::errors::nat($read(|l: &$ledger| l.balance(&account)))
        }

        #[::ic_cdk::query]
        fn icrc1_supported_standards() -> Vec<::ledger_core::icrc::service::SupportedStandard> {
            $read(|l: &$ledger| $crate::icrc::service::supported_standards(l.config()))
        }

        #[::ic_cdk::update(
            hidden = true,
            decode_with = "::ledger_core::icrc::wire::decode_transfer_arg",
            encode_with = "::ledger_core::icrc::wire::encode_transfer_result"
        )]
        fn icrc1_transfer(
            arg: ::icrc_ledger_types::icrc1::transfer::TransferArg,
        ) -> Result<::candid::Nat, ::icrc_ledger_types::icrc1::transfer::TransferError> {
            let caller = ::ic_cdk::api::msg_caller();
            let from = $crate::icrc::requests::caller_account(caller, arg.from_subaccount);
            if let Some((error_code, message)) = refused_owner(&[&from, &arg.to], "transactions") {
                return Err(
                    ::icrc_ledger_types::icrc1::transfer::TransferError::GenericError {
                        error_code,
                        message,
                    },
                );
            }
            record(|l, now| {
                let request =
                    $crate::icrc::requests::transfer_request(caller, arg, |a| l.balance(a))?;
                l.transfer(request, now)
            })
            .map(::candid::Nat::from)
            .map_err(|e| $crate::icrc::errors::transfer_error(trap_on_memo(e)))
        }

        #[::ic_cdk::update(
            hidden = true,
            decode_with = "::ledger_core::icrc::wire::decode_approve_args",
            encode_with = "::ledger_core::icrc::wire::encode_approve_result"
        )]
        fn icrc2_approve(
            arg: ::icrc_ledger_types::icrc2::approve::ApproveArgs,
        ) -> Result<::candid::Nat, ::icrc_ledger_types::icrc2::approve::ApproveError> {
            require_icrc2();
            let caller = ::ic_cdk::api::msg_caller();
            if caller == arg.spender.owner {
                ::ic_cdk::trap("self approval is not allowed");
            }
            let from = $crate::icrc::requests::caller_account(caller, arg.from_subaccount);
            if let Some((error_code, message)) = refused_owner(&[&from, &arg.spender], "approvals")
            {
                return Err(
                    ::icrc_ledger_types::icrc2::approve::ApproveError::GenericError {
                        error_code,
                        message,
                    },
                );
            }
            record(|l, now| l.approve($crate::icrc::requests::approve_request(caller, arg), now))
                .map(::candid::Nat::from)
                .map_err(|e| $crate::icrc::errors::approve_error(trap_on_memo(e)))
        }

        #[::ic_cdk::update(
            hidden = true,
            decode_with = "::ledger_core::icrc::wire::decode_transfer_from_args",
            encode_with = "::ledger_core::icrc::wire::encode_transfer_from_result"
        )]
        fn icrc2_transfer_from(
            arg: ::icrc_ledger_types::icrc2::transfer_from::TransferFromArgs,
        ) -> Result<::candid::Nat, ::icrc_ledger_types::icrc2::transfer_from::TransferFromError> {
            require_icrc2();
            let caller = ::ic_cdk::api::msg_caller();
            let spender = $crate::icrc::requests::caller_account(caller, arg.spender_subaccount);
            if let Some((error_code, message)) =
                refused_owner(&[&arg.from, &arg.to, &spender], "transactions")
            {
                return Err(
                    ::icrc_ledger_types::icrc2::transfer_from::TransferFromError::GenericError {
                        error_code,
                        message,
                    },
                );
            }
            record(|l, now| {
                let request =
                    $crate::icrc::requests::transfer_from_request(caller, arg, |a| l.balance(a))?;
                l.transfer(request, now)
            })
            .map(::candid::Nat::from)
            .map_err(|e| $crate::icrc::errors::transfer_from_error(trap_on_memo(e)))
        }

        #[::ic_cdk::query]
        fn icrc2_allowance(
            args: ::icrc_ledger_types::icrc2::allowance::AllowanceArgs,
        ) -> ::icrc_ledger_types::icrc2::allowance::Allowance {
            require_icrc2();
            let allowance = $read(|l: &$ledger| {
                l.allowance(&args.account, &args.spender, ::ic_cdk::api::time())
            });
            ::icrc_ledger_types::icrc2::allowance::Allowance {
                allowance: $crate::icrc::errors::nat(allowance.amount),
                expires_at: allowance.expires_at,
            }
        }

        #[::ic_cdk::query]
        fn icrc3_get_tip_certificate()
        -> Option<::icrc_ledger_types::icrc3::blocks::ICRC3DataCertificate> {
            let certificate = ::ic_cdk::api::data_certificate()?;
            Some(::icrc_ledger_types::icrc3::blocks::ICRC3DataCertificate {
                certificate: certificate.into(),
                hash_tree: $crate::icrc::certification::tip_tree_cbor($read(|l: &$ledger| {
                    l.last_block()
                }))
                .into(),
            })
        }

        #[::ic_cdk::query]
        fn icrc3_supported_block_types()
        -> Vec<::icrc_ledger_types::icrc3::blocks::SupportedBlockType> {
            use $crate::icrc::service::{ICRC1_URL, ICRC2_URL};
            [
                ("1burn", ICRC1_URL),
                ("1mint", ICRC1_URL),
                ("2xfer", ICRC2_URL),
                ("2approve", ICRC2_URL),
            ]
            .into_iter()
            .map(
                |(block_type, url)| ::icrc_ledger_types::icrc3::blocks::SupportedBlockType {
                    block_type: block_type.into(),
                    url: url.into(),
                },
            )
            .collect()
        }

        #[::ic_cdk::query]
        fn icrc103_get_allowances(
            args: ::icrc_ledger_types::icrc103::get_allowances::GetAllowancesArgs,
        ) -> Result<
            ::icrc_ledger_types::icrc103::get_allowances::Allowances,
            ::icrc_ledger_types::icrc103::get_allowances::GetAllowancesError,
        > {
            let caller =
                ::icrc_ledger_types::icrc1::account::Account::from(::ic_cdk::api::msg_caller());
            Ok($read(|l: &$ledger| {
                $crate::icrc::service::allowances(l, caller, args, ::ic_cdk::api::time())
            }))
        }

        #[::ic_cdk::query]
        fn icrc106_get_index_principal()
        -> Result<::candid::Principal, ::icrc_ledger_types::icrc106::errors::Icrc106Error> {
            use $crate::icrc::service::IcrcToken;
            $read(|l: &$ledger| l.config().index_principal())
                .ok_or(::icrc_ledger_types::icrc106::errors::Icrc106Error::IndexPrincipalNotSet)
        }

        /// The Candid signatures of the endpoints decoded by hand.
        #[allow(dead_code)]
        mod icrc_signatures {
            #[::candid::candid_method(update)]
            fn icrc1_transfer(
                _: ::icrc_ledger_types::icrc1::transfer::TransferArg,
            ) -> Result<::candid::Nat, ::icrc_ledger_types::icrc1::transfer::TransferError> {
                unreachable!("declares a signature only")
            }

            #[::candid::candid_method(update)]
            fn icrc2_approve(
                _: ::icrc_ledger_types::icrc2::approve::ApproveArgs,
            ) -> Result<::candid::Nat, ::icrc_ledger_types::icrc2::approve::ApproveError> {
                unreachable!("declares a signature only")
            }

            #[::candid::candid_method(update)]
            fn icrc2_transfer_from(
                _: ::icrc_ledger_types::icrc2::transfer_from::TransferFromArgs,
            ) -> Result<::candid::Nat, ::icrc_ledger_types::icrc2::transfer_from::TransferFromError>
            {
                unreachable!("declares a signature only")
            }
        }
    };
}
