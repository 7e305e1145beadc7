//! Compiled modules kept on disk, so that a process does not compile again
//! what an earlier one compiled: Cranelift takes seconds for a real
//! canister, loading its machine code takes milliseconds.
//!
//! A file is named by the SHA-256 of the module as compiled and by
//! wasmtime's compatibility hash of the engine (version and settings, the
//! operator costs included), and
//! is written under a temporary name then renamed, so that readers never see
//! half a file. The directory is `$IC_RUNTIME_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/ic-runtime`, else `$HOME/.cache/ic-runtime`;
//! `IC_RUNTIME_CACHE_DIR=off` turns the cache off.

use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use wasmtime::{Engine, Module};

/// `wasm` compiled for `engine`, from the cache when it is there.
pub fn load_or_compile(engine: &Engine, wasm: &[u8]) -> wasmtime::Result<Module> {
    let Some(path) = entry(engine, wasm) else {
        return Module::new(engine, wasm);
    };
    // SAFETY: the file was written by `Module::serialize` of this engine
    // configuration, in a directory of the user's own; wasmtime checks its
    // header and refuses files of another version or configuration.
    if let Ok(module) = unsafe { Module::deserialize_file(engine, &path) } {
        return Ok(module);
    }
    let module = Module::new(engine, wasm)?;
    // A cache that cannot be written is only slower.
    let _ = store(&path, &module);
    Ok(module)
}

fn store(path: &PathBuf, module: &Module) -> std::io::Result<()> {
    let bytes = module.serialize().map_err(std::io::Error::other)?;
    std::fs::create_dir_all(
        path.parent()
            .expect("entries are inside the cache directory"),
    )?;
    let temporary = path.with_extension(format!("{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)?;
    std::fs::rename(&temporary, path)
}

/// Where `wasm` compiled for `engine` is kept; `None` when the cache is off.
fn entry(engine: &Engine, wasm: &[u8]) -> Option<PathBuf> {
    let directory = directory()?;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let module: [u8; 32] = Sha256::digest(wasm).into();
    let name: String = module.iter().map(|b| format!("{b:02x}")).collect();
    Some(directory.join(format!("{name}-{:016x}.cwasm", hasher.finish())))
}

fn directory() -> Option<PathBuf> {
    match std::env::var_os("IC_RUNTIME_CACHE_DIR") {
        Some(dir) if dir == "off" => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
            .map(|cache| cache.join("ic-runtime")),
    }
}
