use super::*;
use candid::Encode;
use icrc_ledger_types::icrc1::transfer::TransferArg;
use icrc_ledger_types::icrc2::approve::ApproveArgs;
use icrc_ledger_types::icrc2::transfer_from::TransferFromArgs;
use icrc_ledger_types::icrc21::requests::ConsentMessageSpec;
use nns_api::ledger::{Memo, Tokens};

fn minter() -> Principal {
    Principal::from_slice(&[5, 5])
}

fn info() -> LedgerInfo {
    LedgerInfo {
        fee_e8s: 10_000,
        minting_account: AccountIdentifier::new(&minter(), None),
        token_symbol: "ICP".into(),
        token_name: "Internet Computer".into(),
        decimals: 8,
    }
}

fn request(method: &str, arg: Vec<u8>, display: DisplayMessageType) -> ConsentMessageRequest {
    ConsentMessageRequest {
        method: method.into(),
        arg,
        user_preferences: ConsentMessageSpec {
            metadata: ConsentMessageMetadata {
                language: "en".into(),
                utc_offset_minutes: Some(60),
            },
            device_spec: Some(display),
        },
    }
}

fn caller() -> Principal {
    Principal::from_slice(&[7, 1])
}

fn generic_text(info: ConsentInfo) -> String {
    match info.consent_message {
        ConsentMessage::GenericDisplayMessage(text) => text,
        other => panic!("not a generic display: {other:?}"),
    }
}

fn legacy_args(fee: u64) -> TransferArgs {
    TransferArgs {
        memo: Memo(12345),
        amount: Tokens::from_e8s(150_000_000),
        fee: Tokens::from_e8s(fee),
        from_subaccount: None,
        to: AccountIdentifier::new(&Principal::from_slice(&[9]), None),
        created_at_time: None,
    }
}

#[test]
fn amounts_are_exact_decimals() {
    assert_eq!(decimal(150_000_000, 8), "1.5");
    assert_eq!(decimal(10_000, 8), "0.0001");
    assert_eq!(decimal(0, 8), "0");
    assert_eq!(decimal(u64::MAX, 8), "184467440737.09551615");
    assert_eq!(decimal(7, 0), "7");
}

#[test]
fn dates_are_rfc_2822_at_the_users_offset() {
    assert_eq!(date(0, 0), "Thu, 01 Jan 1970 00:00:00 +0000");
    let nanos = 1_700_000_000 * 1_000_000_000;
    assert_eq!(date(nanos, 0), "Tue, 14 Nov 2023 22:13:20 +0000");
    assert_eq!(date(nanos, 60), "Tue, 14 Nov 2023 23:13:20 +0100");
    assert_eq!(date(nanos, -150), "Tue, 14 Nov 2023 19:43:20 -0230");
    assert_eq!(
        date(951_782_400 * 1_000_000_000, 0),
        "Tue, 29 Feb 2000 00:00:00 +0000"
    );
}

#[test]
fn a_legacy_transfer_shows_account_identifiers_amount_fee_and_memo() {
    let arg = Encode!(&legacy_args(10_000)).unwrap();
    let text = generic_text(
        consent_message(
            request("transfer", arg, DisplayMessageType::GenericDisplay),
            caller(),
            info(),
        )
        .unwrap(),
    );
    let from = AccountIdentifier::new(&caller(), None).to_hex();
    let to = AccountIdentifier::new(&Principal::from_slice(&[9]), None).to_hex();
    assert!(text.starts_with("# Send Internet Computer"), "{text}");
    for expected in [&from, &to, "`1.5 ICP`", "`0.0001 ICP`", "`12345`"] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    // The anonymous sender has no account to show.
    let arg = Encode!(&legacy_args(10_000)).unwrap();
    let text = generic_text(
        consent_message(
            request("transfer", arg, DisplayMessageType::GenericDisplay),
            Principal::anonymous(),
            info(),
        )
        .unwrap(),
    );
    assert!(!text.contains("**From:**"), "{text}");
}

#[test]
fn an_approval_shows_every_term_as_text_or_as_fields() {
    let approve = ApproveArgs {
        from_subaccount: None,
        spender: Account::from(Principal::from_slice(&[9])),
        amount: Nat::from(5u8),
        expected_allowance: Some(Nat::from(2u8)),
        expires_at: Some(1_700_000_000 * 1_000_000_000),
        fee: None,
        memo: Some(vec![0xff, 0x00].into()),
        created_at_time: None,
    };
    let arg = Encode!(&approve).unwrap();
    let text = generic_text(
        consent_message(
            request(
                "icrc2_approve",
                arg.clone(),
                DisplayMessageType::GenericDisplay,
            ),
            caller(),
            info(),
        )
        .unwrap(),
    );
    for expected in [
        "# Approve spending",
        "**Allowance:** `0.00000005 ICP`",
        "**Current allowance:** `0.00000002 ICP`",
        "**Expires:** Tue, 14 Nov 2023 23:13:20 +0100",
        "**Fee paid by:**",
        "`ff00`",
        &Account::from(Principal::from_slice(&[9])).to_string(),
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    let info = consent_message(
        request("icrc2_approve", arg, DisplayMessageType::FieldsDisplay),
        caller(),
        info(),
    )
    .unwrap();
    assert_eq!(info.metadata.utc_offset_minutes, Some(60));
    let ConsentMessage::FieldsDisplayMessage(fields) = info.consent_message else {
        panic!("not a fields display")
    };
    assert_eq!(fields.intent, "Approve spending");
    let names: Vec<&str> = fields.fields.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "From",
            "Spender",
            "Allowance",
            "Current allowance",
            "Expires",
            "Fee",
            "Fee paid by",
            "Memo"
        ]
    );
    assert_eq!(
        fields.fields[2].1,
        Value::TokenAmount {
            decimals: 8,
            amount: 5,
            symbol: "ICP".into()
        }
    );
    assert_eq!(
        fields.fields[4].1,
        Value::TimestampSeconds {
            amount: 1_700_000_000
        }
    );
}

#[test]
fn a_transfer_from_names_owner_spender_and_destination() {
    let arg = Encode!(&TransferFromArgs {
        spender_subaccount: None,
        from: Account::from(Principal::from_slice(&[3])),
        to: Account::from(Principal::from_slice(&[4])),
        amount: Nat::from(100_000_000u64),
        fee: Some(Nat::from(10_000u64)),
        memo: Some(b"rent".to_vec().into()),
        created_at_time: None,
    })
    .unwrap();
    let text = generic_text(
        consent_message(
            request(
                "icrc2_transfer_from",
                arg,
                DisplayMessageType::GenericDisplay,
            ),
            caller(),
            info(),
        )
        .unwrap(),
    );
    for expected in [
        "# Spend Internet Computer",
        "**Spender:**",
        "`1 ICP`",
        "`rent`",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
}

#[test]
fn unsupported_methods_bad_arguments_and_wrong_fees_are_refused() {
    let unsupported = |result: Result<ConsentInfo, Icrc21Error>| {
        matches!(result, Err(Icrc21Error::UnsupportedCanisterCall(_)))
    };
    let display = || DisplayMessageType::GenericDisplay;
    let refused = |method: &str, arg: Vec<u8>| {
        unsupported(consent_message(
            request(method, arg, display()),
            caller(),
            info(),
        ))
    };
    assert!(refused("icrc1_balance_of", vec![]));
    assert!(refused("icrc1_transfer", vec![1, 2, 3]));
    assert!(refused("transfer", Encode!(&legacy_args(1)).unwrap()));
    assert!(refused("icrc1_transfer", vec![0; MAX_ARG_BYTES + 1]));
    let huge = Encode!(&TransferArg {
        from_subaccount: None,
        to: Account::from(Principal::from_slice(&[9])),
        amount: Nat::from(u128::MAX),
        fee: None,
        memo: None,
        created_at_time: None,
    })
    .unwrap();
    assert!(refused("icrc1_transfer", huge));
}

#[test]
fn burns_and_mints_show_and_expect_no_fee() {
    let generic = |method: &str, arg: Vec<u8>, caller: Principal| {
        consent_message(
            request(method, arg, DisplayMessageType::GenericDisplay),
            caller,
            info(),
        )
        .map(generic_text)
    };
    // A legacy burn names a zero fee, which is the right one.
    let burn = TransferArgs {
        to: AccountIdentifier::new(&minter(), None),
        ..legacy_args(0)
    };
    let text = generic("transfer", Encode!(&burn).unwrap(), caller()).unwrap();
    assert!(text.contains("**Fee:** `0 ICP`"), "{text}");
    // An ICRC-1 burn naming the transfer fee would be refused (BadFee).
    let icrc1_burn = |fee: Option<u64>| TransferArg {
        from_subaccount: None,
        to: Account::from(minter()),
        amount: Nat::from(10_000u64),
        fee: fee.map(Nat::from),
        memo: None,
        created_at_time: None,
    };
    assert!(
        generic(
            "icrc1_transfer",
            Encode!(&icrc1_burn(Some(10_000))).unwrap(),
            caller()
        )
        .is_err()
    );
    let text = generic(
        "icrc1_transfer",
        Encode!(&icrc1_burn(None)).unwrap(),
        caller(),
    )
    .unwrap();
    assert!(text.contains("**Fee:** `0 ICP`"), "{text}");
    // A mint, from the minting account.
    let mint = TransferArg {
        to: Account::from(caller()),
        ..icrc1_burn(Some(0))
    };
    assert!(generic("icrc1_transfer", Encode!(&mint).unwrap(), minter()).is_ok());
}

#[test]
fn memos_cannot_rewrite_the_message_and_long_ones_are_refused() {
    let transfer = |memo: Vec<u8>| {
        Encode!(&TransferArg {
            from_subaccount: None,
            to: Account::from(Principal::from_slice(&[9])),
            amount: Nat::from(1u8),
            fee: None,
            memo: Some(memo.into()),
            created_at_time: None,
        })
        .unwrap()
    };
    let spoof = b"`\n\n**To:**\n`evil`x".to_vec();
    let text = generic_text(
        consent_message(
            request(
                "icrc1_transfer",
                transfer(spoof.clone()),
                DisplayMessageType::GenericDisplay,
            ),
            caller(),
            info(),
        )
        .unwrap(),
    );
    assert_eq!(text.matches("**To:**").count(), 1, "{text}");
    assert!(text.contains(&hex(&spoof)), "{text}");
    let refused = consent_message(
        request(
            "icrc1_transfer",
            transfer(vec![b'a'; 33]),
            DisplayMessageType::GenericDisplay,
        ),
        caller(),
        info(),
    );
    assert!(matches!(
        refused,
        Err(Icrc21Error::UnsupportedCanisterCall(_))
    ));
}
