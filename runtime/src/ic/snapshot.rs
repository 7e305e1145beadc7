//! A saved state: the IC written to one file and read back, so that a
//! local network stopped and started again keeps its canisters (code,
//! heap, globals, stable memory, settings, cycles), time and id counters.
//! Messages in flight are not kept: the network runs rounds until none is
//! left before it saves, and clients cannot poll a request across a restart.

use super::Ic;
use super::state::{Canister, CanisterImage};
use candid::Principal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Bumped when the format changes: an older file is refused, not misread.
const FORMAT: u32 = 2;

#[derive(Serialize, Deserialize)]
struct IcImage {
    format: u32,
    time: u64,
    random_draws: u64,
    charges_cycles: bool,
    storage_paid_until: u64,
    next_indexes: Vec<(Principal, u64)>,
    /// Every installed module once, by its SHA-256.
    modules: Vec<serde_bytes::ByteBuf>,
    canisters: Vec<(Principal, CanisterImage)>,
}

impl Ic {
    /// Runs rounds until no message is in flight, at most `max_rounds`;
    /// whether it got there.
    pub fn run_until_quiet(&mut self, max_rounds: usize) -> bool {
        for _ in 0..max_rounds {
            if self.messages.is_idle() && self.messages.call_contexts.is_empty() {
                return true;
            }
            self.tick();
        }
        self.messages.is_idle() && self.messages.call_contexts.is_empty()
    }

    /// Writes the state to `path` (through a temporary file, renamed: a
    /// crash leaves the previous state).
    pub fn save(&mut self, path: &Path) -> Result<(), String> {
        let mut modules = BTreeMap::new();
        let canisters = self
            .canisters
            .iter_mut()
            .map(|(id, canister)| {
                if let Some(code) = &canister.code {
                    modules
                        .entry(code.compiled.hash)
                        .or_insert_with(|| serde_bytes::ByteBuf::from(code.compiled.bytes.clone()));
                }
                (*id, canister.image())
            })
            .collect();
        let image = IcImage {
            format: FORMAT,
            time: self.time,
            random_draws: self.random_draws,
            charges_cycles: self.charges_cycles,
            storage_paid_until: self.storage_paid_until,
            next_indexes: self.topology.next_indexes(),
            modules: modules.into_values().collect(),
            canisters,
        };
        let bytes = serde_cbor::to_vec(&image).map_err(|e| format!("encoding the state: {e}"))?;
        let temporary = path.with_extension("tmp");
        std::fs::write(&temporary, bytes)
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(|e| format!("writing {}: {e}", path.display()))
    }

    /// The IC saved at `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        let image: IcImage = serde_cbor::from_slice(&bytes)
            .map_err(|e| format!("{} is not a saved state: {e}", path.display()))?;
        if image.format != FORMAT {
            return Err(format!(
                "{} is a saved state of format {}, this network reads format {FORMAT}",
                path.display(),
                image.format
            ));
        }
        let mut compiled = BTreeMap::new();
        for module in image.modules {
            let module = crate::module::compile(&module)
                .map_err(|e| format!("a saved module: {}", e.reject_message))?;
            compiled.insert(module.hash, module);
        }
        let mut ic = Ic::new();
        ic.time = image.time;
        ic.random_draws = image.random_draws;
        ic.charges_cycles = image.charges_cycles;
        ic.storage_paid_until = image.storage_paid_until;
        for (subnet, next_index) in image.next_indexes {
            ic.topology.set_next_index(&subnet, next_index);
        }
        for (id, canister) in image.canisters {
            let canister = Canister::from_image(canister, |hash| compiled.get(hash).cloned())
                .map_err(|e| format!("canister {id}: {e}"))?;
            ic.canisters.insert(id, canister);
        }
        Ok(ic)
    }
}
