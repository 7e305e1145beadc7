//! `ic0.mint_cycles128`: only the CMC on the NNS subnet may call it. The
//! `ic0` crate does not wrap it, so it is imported here.

#[cfg(target_family = "wasm")]
#[link(wasm_import_module = "ic0")]
unsafe extern "C" {
    #[link_name = "mint_cycles128"]
    fn ic0_mint_cycles128(amount_high: u64, amount_low: u64, dst: usize);
}

/// Adds `cycles` to the canister's balance; returns how many were minted.
#[cfg(target_family = "wasm")]
pub fn mint_cycles(cycles: u128) -> u128 {
    let mut minted = [0u8; 16];
    // SAFETY: `minted` is 16 writable bytes, as the system call requires.
    unsafe {
        ic0_mint_cycles128(
            (cycles >> 64) as u64,
            cycles as u64,
            minted.as_mut_ptr() as usize,
        )
    };
    u128::from_le_bytes(minted)
}

#[cfg(not(target_family = "wasm"))]
pub fn mint_cycles(_cycles: u128) -> u128 {
    unreachable!("cycles are minted only inside a canister")
}
