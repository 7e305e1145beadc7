//! The built modules carry the Candid metadata that dfx, icp-cli and Candid
//! UI read, equal to the checked-in `.did` files.

use integration_tests::{
    ALL_CANISTERS, NODE_REWARDS, SALE_CANISTERS, custom_sections, did_text, wasm_module,
};

#[test]
fn should_embed_the_did_file_as_public_candid_service() {
    for canister in ALL_CANISTERS
        .into_iter()
        .chain(SALE_CANISTERS)
        .chain([NODE_REWARDS])
    {
        let wasm = wasm_module(canister);
        let sections = custom_sections(&wasm, "icp:public candid:service");
        assert_eq!(
            sections.len(),
            1,
            "{canister}: exactly one candid:service section"
        );
        assert_eq!(
            String::from_utf8(sections[0].clone()).unwrap(),
            did_text(canister),
            "{canister}: candid:service must equal candid/{canister}.did"
        );
    }
}

#[test]
fn should_embed_the_init_argument_types_as_public_candid_args() {
    for canister in ALL_CANISTERS
        .into_iter()
        .chain(SALE_CANISTERS)
        .chain([NODE_REWARDS])
    {
        let wasm = wasm_module(canister);
        let sections = custom_sections(&wasm, "icp:public candid:args");
        assert_eq!(
            sections.len(),
            1,
            "{canister}: exactly one candid:args section"
        );
        let args = String::from_utf8(sections[0].clone()).unwrap();
        // The text names types of the service file, e.g. `(LedgerArg)`.
        let did = did_text(canister);
        let service_line = did.lines().find(|l| l.starts_with("service : ")).unwrap();
        // Argument names (`(ledger_args : LedgerArgs)`) are not part of the type.
        let declared = service_line
            .strip_prefix("service : (")
            .and_then(|rest| rest.split_once(") -> "))
            .map(|(list, _)| {
                let types: Vec<&str> = list
                    .split(", ")
                    .map(|arg| arg.rsplit_once(" : ").map_or(arg, |(_, ty)| ty))
                    .collect();
                format!("({})", types.join(", "))
            });
        assert!(
            declared.as_deref() == Some(args.as_str()),
            "{canister}: candid:args {args} does not match `{service_line}`"
        );
    }
}

#[test]
fn should_keep_symbol_names_out_of_release_modules() {
    for canister in ALL_CANISTERS
        .into_iter()
        .chain(SALE_CANISTERS)
        .chain([NODE_REWARDS])
    {
        let wasm = wasm_module(canister);
        assert!(
            custom_sections(&wasm, "name").is_empty(),
            "{canister}: name section present"
        );
    }
}
