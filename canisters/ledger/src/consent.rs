//! ICRC-21 consent messages: what a signer shows its user before it signs a
//! call to this ledger, for `transfer`, `icrc1_transfer`, `icrc2_approve`
//! and `icrc2_transfer_from`, as Markdown text or as typed fields.
//!
//! Written here rather than with `icrc-ledger-types`' builder (whose types
//! it uses): that builder, with the date library it formats with, adds
//! 62 KB to the gzipped module (508 644 against 446 240 bytes, measured with
//! `scripts/build-canisters.sh ledger`), more than the ledger's size budget
//! allows. Amounts are shown exactly, in decimal.

use crate::icrc::{account_id, caller_account};
use candid::{Nat, Principal, utils::ArgumentDecoder};
use icrc_ledger_types::icrc1::account::Account;
use icrc_ledger_types::icrc21::errors::{ErrorInfo, Icrc21Error};
use icrc_ledger_types::icrc21::requests::{
    ConsentMessageMetadata, ConsentMessageRequest, DisplayMessageType,
};
use icrc_ledger_types::icrc21::responses::{ConsentInfo, ConsentMessage, FieldsDisplay, Value};
use ledger_core::icrc::wire;
use nns_api::AccountIdentifier;
use nns_api::ledger::TransferArgs;

/// The largest argument a consent message is made for, as on the real
/// ledgers.
pub const MAX_ARG_BYTES: usize = 500;

/// What the messages say about the ledger.
pub struct LedgerInfo {
    pub fee_e8s: u64,
    /// Mints (from it) and burns (to it) carry no fee.
    pub minting_account: AccountIdentifier,
    pub token_symbol: String,
    pub token_name: String,
    pub decimals: u8,
}

fn unsupported(description: String) -> Icrc21Error {
    Icrc21Error::UnsupportedCanisterCall(ErrorInfo { description })
}

fn decode<T: for<'a> ArgumentDecoder<'a>>(arg: &[u8], what: &str) -> Result<T, Icrc21Error> {
    candid::decode_args(arg).map_err(|e| unsupported(format!("Failed to decode {what}: {e}")))
}

/// An ICRC argument, decoded by the ledger core (which compiles that
/// decoder once for both its fast path and this).
fn icrc_arg<T>(decoded: Result<T, String>, what: &str) -> Result<T, Icrc21Error> {
    decoded.map_err(|e| unsupported(format!("Failed to decode {what}: {e}")))
}

/// The fee a transaction between `from` and `to` pays: none for a mint or
/// a burn.
fn fee_between(from: &AccountIdentifier, to: &AccountIdentifier, ledger: &LedgerInfo) -> u64 {
    if *from == ledger.minting_account || *to == ledger.minting_account {
        0
    } else {
        ledger.fee_e8s
    }
}

/// A fee the call names must be the one the ledger takes, or the call
/// would fail.
fn check_fee(fee: Option<&Nat>, expected: u64) -> Result<u64, Icrc21Error> {
    match fee {
        Some(fee) if u64::try_from(&fee.0).ok() != Some(expected) => Err(unsupported(format!(
            "The fee in the arguments ({fee}) is not the fee the ledger takes ({expected})"
        ))),
        _ => Ok(expected),
    }
}

fn amount_e8s(n: &Nat) -> Result<u64, Icrc21Error> {
    u64::try_from(&n.0).map_err(|_| unsupported(format!("The amount {n} exceeds 64 bits")))
}

/// One line of the message.
enum Field {
    Account(&'static str, String),
    Tokens(&'static str, u64),
    Time(&'static str, Option<u64>),
    Text(&'static str, String),
}

pub fn consent_message(
    request: ConsentMessageRequest,
    caller: Principal,
    ledger: LedgerInfo,
) -> Result<ConsentInfo, Icrc21Error> {
    if request.arg.len() > MAX_ARG_BYTES {
        return Err(unsupported(format!(
            "The argument is {} bytes long; at most {MAX_ARG_BYTES} are supported",
            request.arg.len()
        )));
    }
    let anonymous = caller == Principal::anonymous();
    let own = |subaccount| Account {
        owner: caller,
        subaccount,
    };
    let mut fields = Vec::new();
    let intent = match request.method.as_str() {
        "transfer" => {
            let (args,): (TransferArgs,) = decode(&request.arg, "TransferArgs")?;
            let from = caller_account(caller, args.from_subaccount);
            let expected = fee_between(&from, &args.to, &ledger);
            let fee = check_fee(Some(&Nat::from(args.fee.e8s)), expected)?;
            if !anonymous {
                fields.push(Field::Account("From", from.to_hex()));
            }
            fields.push(Field::Tokens("Amount", args.amount.e8s));
            fields.push(Field::Account("To", args.to.to_hex()));
            fields.push(Field::Tokens("Fee", fee));
            fields.push(Field::Text("Memo", args.memo.0.to_string()));
            format!("Send {}", ledger.token_name)
        }
        "icrc1_transfer" => {
            let args = icrc_arg(wire::try_decode_transfer_arg(&request.arg), "TransferArg")?;
            let from = own(args.from_subaccount);
            let expected = fee_between(&account_id(&from), &account_id(&args.to), &ledger);
            let fee = check_fee(args.fee.as_ref(), expected)?;
            if !anonymous {
                fields.push(Field::Account("From", from.to_string()));
            }
            fields.push(Field::Tokens("Amount", amount_e8s(&args.amount)?));
            fields.push(Field::Account("To", args.to.to_string()));
            fields.push(Field::Tokens("Fee", fee));
            push_memo(&mut fields, args.memo.map(|m| m.0.into_vec()))?;
            format!("Send {}", ledger.token_name)
        }
        "icrc2_transfer_from" => {
            let args = icrc_arg(
                wire::try_decode_transfer_from_args(&request.arg),
                "TransferFromArgs",
            )?;
            let expected = fee_between(&account_id(&args.from), &account_id(&args.to), &ledger);
            let fee = check_fee(args.fee.as_ref(), expected)?;
            fields.push(Field::Account("From", args.from.to_string()));
            fields.push(Field::Tokens("Amount", amount_e8s(&args.amount)?));
            if !anonymous {
                let spender = own(args.spender_subaccount).to_string();
                fields.push(Field::Account("Spender", spender));
            }
            fields.push(Field::Account("To", args.to.to_string()));
            fields.push(Field::Tokens("Fee", fee));
            push_memo(&mut fields, args.memo.map(|m| m.0.into_vec()))?;
            format!("Spend {}", ledger.token_name)
        }
        "icrc2_approve" => {
            let args = icrc_arg(wire::try_decode_approve_args(&request.arg), "ApproveArgs")?;
            let fee = check_fee(args.fee.as_ref(), ledger.fee_e8s)?;
            let approver = own(args.from_subaccount).to_string();
            if !anonymous {
                fields.push(Field::Account("From", approver.clone()));
            }
            fields.push(Field::Account("Spender", args.spender.to_string()));
            // Allowances beyond 64 bits allow everything, as the ledger caps them.
            let saturate = |n: &Nat| u64::try_from(&n.0).unwrap_or(u64::MAX);
            fields.push(Field::Tokens("Allowance", saturate(&args.amount)));
            if let Some(expected) = &args.expected_allowance {
                fields.push(Field::Tokens("Current allowance", saturate(expected)));
            }
            fields.push(Field::Time("Expires", args.expires_at));
            fields.push(Field::Tokens("Fee", fee));
            if !anonymous {
                fields.push(Field::Account("Fee paid by", approver));
            }
            push_memo(&mut fields, args.memo.map(|m| m.0.into_vec()))?;
            "Approve spending".to_string()
        }
        other => {
            return Err(unsupported(format!(
                "No consent message for the method {other:?}: only transfer, \
                 icrc1_transfer, icrc2_approve and icrc2_transfer_from have one"
            )));
        }
    };
    let metadata = ConsentMessageMetadata {
        language: "en".into(),
        utc_offset_minutes: request.user_preferences.metadata.utc_offset_minutes,
    };
    let consent_message = match request.user_preferences.device_spec {
        Some(DisplayMessageType::FieldsDisplay) => {
            ConsentMessage::FieldsDisplayMessage(fields_display(intent, fields, &ledger))
        }
        Some(DisplayMessageType::GenericDisplay) | None => ConsentMessage::GenericDisplayMessage(
            markdown(&intent, &fields, &ledger, metadata.utc_offset_minutes),
        ),
    };
    Ok(ConsentInfo {
        consent_message,
        metadata,
    })
}

/// An ICRC-1 memo as text if it is printable UTF-8 that cannot change how
/// the message reads (no control characters, no backticks), else as hex. A
/// memo the ledger would refuse gets no message.
fn push_memo(fields: &mut Vec<Field>, memo: Option<Vec<u8>>) -> Result<(), Icrc21Error> {
    let Some(memo) = memo else {
        return Ok(());
    };
    if memo.len() > crate::ledger::MAX_MEMO_BYTES {
        return Err(unsupported(format!(
            "The memo is {} bytes long; the ledger takes at most {}",
            memo.len(),
            crate::ledger::MAX_MEMO_BYTES
        )));
    }
    let text = match std::str::from_utf8(&memo) {
        Ok(text) if !text.chars().any(|c| c.is_control() || c == '`') => text.to_string(),
        _ => hex(&memo),
    };
    fields.push(Field::Text("Memo", text));
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fields_display(intent: String, fields: Vec<Field>, ledger: &LedgerInfo) -> FieldsDisplay {
    let fields = fields
        .into_iter()
        .map(|field| match field {
            Field::Account(name, content) | Field::Text(name, content) => {
                (name.to_string(), Value::Text { content })
            }
            Field::Tokens(name, amount) => (
                name.to_string(),
                Value::TokenAmount {
                    decimals: ledger.decimals,
                    amount,
                    symbol: ledger.token_symbol.clone(),
                },
            ),
            Field::Time(name, Some(nanos)) => (
                name.to_string(),
                Value::TimestampSeconds {
                    amount: nanos / 1_000_000_000,
                },
            ),
            Field::Time(name, None) => (
                name.to_string(),
                Value::Text {
                    content: "Never".into(),
                },
            ),
        })
        .collect();
    FieldsDisplay { intent, fields }
}

fn markdown(
    intent: &str,
    fields: &[Field],
    ledger: &LedgerInfo,
    utc_offset_minutes: Option<i16>,
) -> String {
    let mut text = format!("# {intent}");
    for field in fields {
        let line = match field {
            Field::Account(name, account) => format!("**{name}:**\n`{account}`"),
            Field::Tokens(name, e8s) => format!(
                "**{name}:** `{} {}`",
                decimal(*e8s, ledger.decimals),
                ledger.token_symbol
            ),
            Field::Time(name, Some(nanos)) => {
                format!(
                    "**{name}:** {}",
                    date(*nanos, utc_offset_minutes.unwrap_or(0))
                )
            }
            Field::Time(name, None) => format!("**{name}:** never"),
            Field::Text(name, content) => format!("**{name}:**\n`{content}`"),
        };
        text.push_str("\n\n");
        text.push_str(&line);
    }
    text
}

/// `amount` units of a token with `decimals` decimals, exactly, without
/// trailing zeros: 150_000_000 with 8 decimals is "1.5".
pub fn decimal(amount: u64, decimals: u8) -> String {
    let scale = 10u128.pow(u32::from(decimals));
    let (whole, fraction) = (u128::from(amount) / scale, u128::from(amount) % scale);
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = usize::from(decimals));
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// A time as RFC 2822 text ("Tue, 01 Dec 2026 13:05:00 +0100") at the
/// user's UTC offset.
pub fn date(nanos: u64, utc_offset_minutes: i16) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = (nanos / 1_000_000_000) as i64 + i64::from(utc_offset_minutes) * 60;
    let (days, time) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = canister_common::civil_date::from_days(days);
    let offset = i32::from(utc_offset_minutes);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} {}{:02}{:02}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        time / 3_600,
        time % 3_600 / 60,
        time % 60,
        if offset < 0 { '-' } else { '+' },
        offset.abs() / 60,
        offset.abs() % 60,
    )
}

#[cfg(test)]
mod tests;
