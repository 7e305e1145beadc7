//! The work itself, apart from the canister: a chain of SHA-256 hashes whose
//! every result is kept, so a call costs instructions in proportion to its
//! rounds and the canister's storage grows with its use.

use sha2::{Digest, Sha256};

/// Rounds one call may ask for: about 5 M instructions of hashing, far below
/// the per-message limit, so a call never fails half-done.
pub const MAX_ROUNDS: u32 = 1_000;

/// `rounds` SHA-256 steps from `seed`: each hashes the previous digest.
pub fn hash_chain(seed: [u8; 32], rounds: u32) -> [u8; 32] {
    (0..rounds).fold(seed, |digest, _| Sha256::digest(digest).into())
}

pub fn check_rounds(rounds: u32) -> Result<(), String> {
    if rounds == 0 || rounds > MAX_ROUNDS {
        return Err(format!(
            "rounds must be between 1 and {MAX_ROUNDS}, not {rounds}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chain_is_repeated_hashing() {
        let once: [u8; 32] = Sha256::digest([7u8; 32]).into();
        let twice: [u8; 32] = Sha256::digest(once).into();
        assert_eq!(hash_chain([7; 32], 1), once);
        assert_eq!(hash_chain([7; 32], 2), twice);
        assert_eq!(
            hash_chain(hash_chain([7; 32], 3), 4),
            hash_chain([7; 32], 7)
        );
    }

    #[test]
    fn rounds_are_bounded() {
        assert!(check_rounds(0).is_err());
        assert!(check_rounds(1).is_ok());
        assert!(check_rounds(MAX_ROUNDS).is_ok());
        assert!(
            check_rounds(MAX_ROUNDS + 1)
                .unwrap_err()
                .contains("between 1 and 1000")
        );
    }
}
