//! Embedding the Candid interface into the canister module.

/// Places the `.did` file and the init-argument type into the wasm custom
/// sections `icp:public candid:service` and `icp:public candid:args`, which
/// dfx, icp-cli and Candid UI read from `/canister/<id>/metadata/…`.
///
/// `$did` is a path relative to the invoking file; `$args` is a byte-string
/// literal with the service's init arguments, e.g. `b"(LedgerArg)"`. The
/// macro also defines `CANDID_INIT_ARGS` so that a unit test can check the
/// embedded text against the `.did`.
#[macro_export]
macro_rules! embed_candid_metadata {
    ($did:literal, $args:literal) => {
        /// The init arguments as embedded in `icp:public candid:args`.
        pub const CANDID_INIT_ARGS: &[u8] = $args;

        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "icp:public candid:service")]
        static CANDID_SERVICE_METADATA: [u8; include_bytes!($did).len()] = *include_bytes!($did);

        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "icp:public candid:args")]
        static CANDID_ARGS_METADATA: [u8; $args.len()] = *$args;
    };
}
