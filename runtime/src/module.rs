//! Canister modules: decoding (raw or gzip), checking the imports against the
//! System API, rewriting the module so the runtime can reach its table and
//! globals, and compiling once per process.

use crate::disk_cache;
use crate::error::{ErrorCode, RejectResponse};
use crate::system_api::IC0_IMPORTS;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::sync::{Arc, Mutex, OnceLock};
use wasm_encoder::{ExportKind, ExportSection, RawSection};
use wasmparser::{Parser, Payload};

/// The name under which the rewritten module exports its function table,
/// through which the runtime calls reply, reject and cleanup callbacks.
pub const TABLE_EXPORT: &str = "__ic_runtime_table";
/// Prefix of the names under which mutable globals are exported, so that an
/// execution's changes to them can be rolled back.
pub const GLOBAL_EXPORT_PREFIX: &str = "__ic_runtime_global_";

/// A module ready to instantiate.
pub struct CompiledModule {
    pub module: wasmtime::Module,
    /// The module as installed (raw or gzipped), for a saved state.
    pub bytes: Vec<u8>,
    /// SHA-256 of the module as installed (gzipped or not), as
    /// `canister_status` reports it.
    pub hash: [u8; 32],
    /// Names of the exported mutable globals, in index order.
    pub mutable_globals: Vec<String>,
    pub has_table: bool,
    pub exports: BTreeSet<String>,
    /// The module's `icp:public <name>` and `icp:private <name>` custom
    /// sections, which the state tree publishes as
    /// `/canister/<id>/metadata/<name>`.
    pub metadata: BTreeMap<String, Metadata>,
}

/// One custom section a canister publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metadata {
    /// Public sections are readable by anyone; private ones by controllers.
    pub public: bool,
    pub content: Vec<u8>,
}

impl CompiledModule {
    pub fn exports_method(&self, entry_point: &str) -> bool {
        self.exports.contains(entry_point)
    }
}

/// The one engine of the process: every canister's code shares it.
pub fn engine() -> &'static wasmtime::Engine {
    static ENGINE: OnceLock<wasmtime::Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = wasmtime::Config::new();
        // Fuel is the instruction counter behind the IC's limits.
        config.consume_fuel(true);
        // Fuel counts instructions as the IC does.
        config.operator_cost(crate::metering::operator_cost());
        config.wasm_bulk_memory(true);
        config.wasm_multi_value(true);
        config.wasm_simd(true);
        // The heap journal saves pages by their address: a heap must stay
        // where it is (canister heaps fit the default 4 GiB reservation).
        config.memory_may_move(false);
        // `perf` names the canisters' functions (from their name sections)
        // when asked; modules from the disk cache are not announced, so a
        // profiling run sets IC_RUNTIME_CACHE_DIR=off too.
        if std::env::var_os("IC_RUNTIME_PERFMAP").is_some_and(|v| v == "1") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        wasmtime::Engine::new(&config).expect("the engine configuration is valid")
    })
}

fn invalid(message: impl std::fmt::Display) -> RejectResponse {
    RejectResponse::new(
        ErrorCode::CanisterInvalidWasm,
        format!("Error from Canister: invalid wasm module: {message}"),
    )
}

/// Compiles `bytes` (raw `\0asm` or gzip) once per process: later calls with
/// the same bytes share the first result.
pub fn compile(bytes: &[u8]) -> Result<Arc<CompiledModule>, RejectResponse> {
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], Arc<CompiledModule>>>> = OnceLock::new();
    let hash: [u8; 32] = Sha256::digest(bytes).into();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(compiled) = cache.lock().unwrap().get(&hash) {
        return Ok(compiled.clone());
    }
    let compiled = Arc::new(prepare(bytes, true)?);
    cache.lock().unwrap().insert(hash, compiled.clone());
    Ok(compiled)
}

/// Decodes, checks, rewrites and compiles `bytes`, without the in-process
/// cache; with the disk cache (see `disk_cache`) when `use_disk_cache`.
pub fn prepare(bytes: &[u8], use_disk_cache: bool) -> Result<CompiledModule, RejectResponse> {
    let wasm = decode(bytes)?;
    let rewritten = rewrite(&wasm)?;
    let module = if use_disk_cache {
        disk_cache::load_or_compile(engine(), &rewritten.wasm)
    } else {
        wasmtime::Module::new(engine(), &rewritten.wasm)
    }
    .map_err(|e| invalid(format!("{e:#}")))?;
    Ok(CompiledModule {
        module,
        bytes: bytes.to_vec(),
        hash: Sha256::digest(bytes).into(),
        mutable_globals: rewritten.mutable_globals,
        has_table: rewritten.has_table,
        exports: rewritten.exports,
        metadata: rewritten.metadata,
    })
}

/// The largest module the IC installs, decompressed: 100 MiB.
pub const MAX_WASM_BYTES: usize = 100 * 1024 * 1024;

fn decode(bytes: &[u8]) -> Result<Vec<u8>, RejectResponse> {
    if bytes.starts_with(&[0x1f, 0x8b, 0x08]) {
        let mut wasm = Vec::new();
        flate2::read::GzDecoder::new(bytes)
            .take(MAX_WASM_BYTES as u64 + 1)
            .read_to_end(&mut wasm)
            .map_err(|e| invalid(format!("gzip: {e}")))?;
        if wasm.len() > MAX_WASM_BYTES {
            return Err(invalid(format!(
                "the module decompresses to more than {MAX_WASM_BYTES} bytes"
            )));
        }
        Ok(wasm)
    } else if bytes.starts_with(b"\0asm") {
        Ok(bytes.to_vec())
    } else {
        Err(invalid("neither a wasm module nor gzip"))
    }
}

struct Rewritten {
    wasm: Vec<u8>,
    mutable_globals: Vec<String>,
    has_table: bool,
    exports: BTreeSet<String>,
    metadata: BTreeMap<String, Metadata>,
}

/// Copies every section unchanged except the export section, which gains the
/// table and the mutable globals; checks that every import is a known `ic0`
/// function.
fn rewrite(wasm: &[u8]) -> Result<Rewritten, RejectResponse> {
    let mut out = wasm_encoder::Module::new();
    let mut exports = ExportSection::new();
    let mut export_names = BTreeSet::new();
    let mut mutable_globals = Vec::new();
    let mut has_table = false;
    let mut exports_written = false;
    let mut metadata = BTreeMap::new();

    let raw = |out: &mut wasm_encoder::Module, id: u8, range: std::ops::Range<u64>| {
        out.section(&RawSection {
            id,
            data: &wasm[range.start as usize..range.end as usize],
        });
    };
    let extra_exports =
        |exports: &mut ExportSection, has_table: bool, globals: &[(u32, String)]| {
            if has_table {
                exports.export(TABLE_EXPORT, ExportKind::Table, 0);
            }
            for (index, name) in globals {
                exports.export(name, ExportKind::Global, *index);
            }
        };
    let mut globals_to_export: Vec<(u32, String)> = Vec::new();

    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        // Sections after the export section's place: emit exports first if
        // the module had none.
        let after_exports = matches!(
            payload,
            Payload::StartSection { .. }
                | Payload::ElementSection(_)
                | Payload::DataCountSection { .. }
                | Payload::CodeSectionStart { .. }
                | Payload::DataSection(_)
        );
        if after_exports && !exports_written {
            extra_exports(&mut exports, has_table, &globals_to_export);
            out.section(&exports);
            exports_written = true;
        }
        match payload {
            Payload::Version { encoding, .. } => {
                if encoding != wasmparser::Encoding::Module {
                    return Err(invalid("components are not canister modules"));
                }
            }
            Payload::TypeSection(s) => raw(&mut out, 1, s.range()),
            Payload::ImportSection(s) => {
                for import in s.clone().into_imports() {
                    let import = import.map_err(invalid)?;
                    match import.ty {
                        wasmparser::TypeRef::Func(_)
                            if import.module == "ic0" && IC0_IMPORTS.contains(&import.name) => {}
                        wasmparser::TypeRef::Global(_) => {
                            return Err(invalid(format!(
                                "module imports global {}.{}, which the IC does not provide",
                                import.module, import.name
                            )));
                        }
                        _ => {
                            return Err(invalid(format!(
                                "module imports function {:?} from {:?} that is not exported by the runtime",
                                import.name, import.module
                            )));
                        }
                    }
                }
                raw(&mut out, 2, s.range())
            }
            Payload::FunctionSection(s) => raw(&mut out, 3, s.range()),
            Payload::TableSection(s) => {
                has_table = s.count() > 0;
                raw(&mut out, 4, s.range())
            }
            Payload::MemorySection(s) => raw(&mut out, 5, s.range()),
            Payload::TagSection(s) => raw(&mut out, 13, s.range()),
            Payload::GlobalSection(s) => {
                for (i, global) in s.clone().into_iter().enumerate() {
                    let global = global.map_err(invalid)?;
                    if global.ty.mutable {
                        // Globals cannot be imported (refused above), so indexes start at 0.
                        let index = i as u32;
                        let name = format!("{GLOBAL_EXPORT_PREFIX}{index}");
                        mutable_globals.push(name.clone());
                        globals_to_export.push((index, name));
                    }
                }
                raw(&mut out, 6, s.range())
            }
            Payload::ExportSection(s) => {
                for export in s {
                    let export = export.map_err(invalid)?;
                    let kind = match export.kind {
                        wasmparser::ExternalKind::Func => ExportKind::Func,
                        wasmparser::ExternalKind::Table => ExportKind::Table,
                        wasmparser::ExternalKind::Memory => ExportKind::Memory,
                        wasmparser::ExternalKind::Global => ExportKind::Global,
                        wasmparser::ExternalKind::Tag => ExportKind::Tag,
                        wasmparser::ExternalKind::FuncExact => ExportKind::Func,
                    };
                    if !export_names.insert(export.name.to_string()) {
                        return Err(invalid(format!("duplicate export {:?}", export.name)));
                    }
                    exports.export(export.name, kind, export.index);
                }
                extra_exports(&mut exports, has_table, &globals_to_export);
                out.section(&exports);
                exports_written = true;
            }
            Payload::StartSection { range, .. } => raw(&mut out, 8, range),
            Payload::ElementSection(s) => raw(&mut out, 9, s.range()),
            Payload::DataCountSection { range, .. } => raw(&mut out, 12, range),
            Payload::CodeSectionStart {
                unchecked_range, ..
            } => raw(&mut out, 10, unchecked_range),
            Payload::CodeSectionEntry(_) => {}
            Payload::DataSection(s) => raw(&mut out, 11, s.range()),
            Payload::CustomSection(s) => {
                let visibility = s
                    .name()
                    .strip_prefix("icp:public ")
                    .map(|name| (true, name))
                    .or_else(|| {
                        s.name()
                            .strip_prefix("icp:private ")
                            .map(|name| (false, name))
                    });
                if let Some((public, name)) = visibility {
                    let section = Metadata {
                        public,
                        content: s.data().to_vec(),
                    };
                    if metadata.insert(name.to_string(), section).is_some() {
                        return Err(invalid(format!("duplicate metadata section {name:?}")));
                    }
                }
                raw(&mut out, 0, s.range())
            }
            Payload::End(_) => {}
            other => {
                return Err(invalid(format!(
                    "unsupported section {:?}",
                    other.as_section()
                )));
            }
        }
    }
    if !exports_written {
        extra_exports(&mut exports, has_table, &globals_to_export);
        out.section(&exports);
    }
    let wasm = out.finish();
    Ok(Rewritten {
        wasm,
        mutable_globals,
        has_table,
        exports: export_names,
        metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_rejected_as_invalid_wasm() {
        for bytes in [
            &b"definitely not wasm"[..],
            &[0x1f, 0x8b, 0x08, 0, 0],
            b"\0asm\x01\0\0\0\x99",
        ] {
            let error = compile(bytes).err().unwrap();
            assert_eq!(
                error.error_code,
                ErrorCode::CanisterInvalidWasm,
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn an_unknown_ic0_import_is_rejected() {
        let wasm = wat::parse_str(r#"(module (import "ic0" "no_such_call" (func)))"#).unwrap();
        let error = compile(&wasm).err().unwrap();
        assert_eq!(error.error_code, ErrorCode::CanisterInvalidWasm);
        assert!(
            error.reject_message.contains("no_such_call"),
            "{}",
            error.reject_message
        );
    }

    #[test]
    fn table_and_mutable_globals_are_exported_and_modules_cached() {
        let wasm = wat::parse_str(
            r#"(module
                 (global (mut i32) (i32.const 1))
                 (global i32 (i32.const 2))
                 (global (mut i64) (i64.const 3))
                 (table 1 funcref)
                 (func (export "canister_update f")))"#,
        )
        .unwrap();
        let compiled = compile(&wasm).unwrap();
        assert!(compiled.has_table);
        assert_eq!(
            compiled.mutable_globals,
            [
                format!("{GLOBAL_EXPORT_PREFIX}0"),
                format!("{GLOBAL_EXPORT_PREFIX}2")
            ]
        );
        assert!(compiled.exports_method("canister_update f"));
        let exported: Vec<_> = compiled
            .module
            .exports()
            .map(|e| e.name().to_string())
            .collect();
        assert!(exported.contains(&TABLE_EXPORT.to_string()), "{exported:?}");
        assert!(Arc::ptr_eq(&compiled, &compile(&wasm).unwrap()));
    }

    #[test]
    fn metadata_sections_are_kept_with_their_visibility() {
        let mut module = wasm_encoder::Module::new();
        for (name, data) in [
            ("icp:public candid:service", &b"service : {}"[..]),
            ("icp:private secret", b"s"),
            ("name", b"ignored"),
        ] {
            module.section(&wasm_encoder::CustomSection {
                name: name.into(),
                data: data.into(),
            });
        }
        let compiled = prepare(&module.finish(), false).unwrap();
        assert_eq!(compiled.metadata.len(), 2);
        assert_eq!(
            compiled.metadata["candid:service"],
            Metadata {
                public: true,
                content: b"service : {}".to_vec()
            }
        );
        assert!(!compiled.metadata["secret"].public);
    }
}
