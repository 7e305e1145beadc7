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

/// Hashing one `serve` message may ask for (requests × rounds): about
/// 1 B instructions, a fortieth of an update's limit.
pub const MAX_BATCH_ROUNDS: u64 = 200_000;
/// Bytes one request may keep, and one message in all.
pub const MAX_STORED_BYTES: u32 = 4_096;
pub const MAX_BATCH_STORED_BYTES: u64 = 1 << 20;

pub fn check_batch(requests: u32, rounds: u32, stored_bytes: u32) -> Result<(), String> {
    check_rounds(rounds)?;
    if requests == 0 || u64::from(requests) * u64::from(rounds) > MAX_BATCH_ROUNDS {
        return Err(format!(
            "a batch has 1 or more requests and at most {MAX_BATCH_ROUNDS} rounds in all"
        ));
    }
    if stored_bytes > MAX_STORED_BYTES
        || u64::from(requests) * u64::from(stored_bytes) > MAX_BATCH_STORED_BYTES
    {
        return Err(format!(
            "a request keeps at most {MAX_STORED_BYTES} bytes, a batch {MAX_BATCH_STORED_BYTES}"
        ));
    }
    Ok(())
}

/// What a request keeps: `len` bytes drawn from its digest and position.
pub fn stored_item(digest: [u8; 32], request: u32, len: u32) -> Vec<u8> {
    let mut item = Vec::with_capacity(len as usize);
    let mut block: [u8; 32] = Sha256::digest([&digest[..], &request.to_be_bytes()].concat()).into();
    while item.len() < len as usize {
        let take = (len as usize - item.len()).min(32);
        item.extend_from_slice(&block[..take]);
        block = Sha256::digest(block).into();
    }
    item
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

    #[test]
    fn batches_are_bounded_and_items_have_their_length() {
        assert!(check_batch(200, 1_000, 4_096).is_ok());
        assert!(check_batch(201, 1_000, 0).is_err());
        assert!(check_batch(0, 1, 0).is_err());
        assert!(check_batch(1, 1, 4_097).is_err());
        assert!(check_batch(1_000, 1, 4_096).is_err(), "4 MB in one message");
        assert_eq!(stored_item([1; 32], 0, 100).len(), 100);
        assert_ne!(stored_item([1; 32], 0, 32), stored_item([1; 32], 1, 32));
    }
}
