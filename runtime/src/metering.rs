//! Instructions counted as the IC counts them (its current metering,
//! `MeteringType::New` in dfinity/ic): a cost per wasm operator
//! (`rs/embedders/src/wasm_utils/instrumentation.rs`, `instruction_to_cost`),
//! a fixed overhead per System API call plus a cost per byte it moves
//! (`rs/embedders/src/wasmtime_embedder/system_api_complexity.rs` and
//! `linker.rs`), and a cost per 4 KiB page an execution dirties
//! (`DEFAULT_DIRTY_PAGE_OVERHEAD` in `rs/config/src/subnet_config.rs`,
//! the same on system and application subnets).
//!
//! The operator costs go to wasmtime as its fuel table, so that fuel is the
//! IC's instruction counter; the System API and page costs are taken from
//! the fuel by the host.

use wasmtime::OperatorCost;

/// Instructions per 4 KiB page of heap or stable memory an execution
/// writes for the first time.
pub const DIRTY_PAGE: u64 = 1_000;
/// The IC's OS page, the unit of dirty-page charges.
pub const OS_PAGE: u64 = 4096;
// The IC charges a function's first block 1 more than its operators;
// wasmtime charges 1 on entering every function with a body, the same.
/// Bytes the reply, reject and call-argument functions move cost this much
/// each (`BYTE_TRANSMISSION_COST_FACTOR`).
pub const BYTE_TRANSMISSION: u64 = 50;
/// The canister log's capacity, which bounds the logging charge.
pub const LOG_CAPACITY: u64 = 4 * 1024;

/// The fixed overhead of the System API function `name` (without the
/// bytes it moves), and what it costs per byte of its argument.
pub fn system_api_overhead(name: &str) -> u64 {
    match name {
        "call_new" => 1_500,
        "call_perform" => 5_000,
        "is_controller" => 1_000,
        "debug_print" => 100,
        "performance_counter" => 200,
        // Stable memory calls are wasm functions on the IC: only their own
        // charges, no System API overhead.
        "stable_read" | "stable64_read" | "stable_write" | "stable64_write" => 20,
        "stable_grow" | "stable64_grow" => 100,
        "stable_size" | "stable64_size" => 0,
        // Charged nothing but the call.
        "mint_cycles128" | "mint_cycles" => 0,
        _ => 500,
    }
}

/// What `debug_print` and `trap` pay for the `len` bytes they log.
pub fn logging(len: u64) -> u64 {
    let logged = len.min(LOG_CAPACITY);
    2 * logged + BYTE_TRANSMISSION * logged
}

/// The IC's cost of every wasm operator (1 unless set here), for wasm32.
/// Costs above 255 (`memory.grow`, `table.grow`, `data.drop`,
/// `elem.drop`: 300 on the IC) are 255: wasmtime's table holds a byte.
pub fn operator_cost() -> OperatorCost {
    let mut c = OperatorCost::new();
    // wasmtime charges these nothing; the IC charges 1.
    c.Nop = 1;
    c.Drop = 1;
    c.Unreachable = 1;
    c.Return = 1;
    // Free on both: Block, Loop, Else, End.
    c.If = 2;
    c.Br = 2;
    c.BrIf = 2;
    c.BrTable = 2;
    c.Call = 5;
    c.CallIndirect = 10;
    c.ReturnCall = 3;
    c.ReturnCallIndirect = 60;
    for op in [
        &mut c.I32DivS,
        &mut c.I32DivU,
        &mut c.I32RemS,
        &mut c.I32RemU,
        &mut c.I64DivS,
        &mut c.I64DivU,
        &mut c.I64RemS,
        &mut c.I64RemU,
    ] {
        *op = 10;
    }
    for op in [
        &mut c.F32Add,
        &mut c.F32Sub,
        &mut c.F32Mul,
        &mut c.F32Ceil,
        &mut c.F32Floor,
        &mut c.F32Trunc,
        &mut c.F32Nearest,
        &mut c.F64Add,
        &mut c.F64Sub,
        &mut c.F64Mul,
        &mut c.F64Ceil,
        &mut c.F64Floor,
        &mut c.F64Trunc,
        &mut c.F64Nearest,
        &mut c.F32Copysign,
    ] {
        *op = 2;
    }
    c.F64Copysign = 3;
    c.F32Div = 3;
    c.F64Div = 5;
    c.F32Sqrt = 5;
    c.F64Sqrt = 8;
    for op in [&mut c.F32Min, &mut c.F32Max, &mut c.F64Min, &mut c.F64Max] {
        *op = 18;
    }
    for op in [
        &mut c.F32Eq,
        &mut c.F32Ne,
        &mut c.F32Lt,
        &mut c.F32Gt,
        &mut c.F32Le,
        &mut c.F32Ge,
        &mut c.F64Eq,
        &mut c.F64Ne,
        &mut c.F64Lt,
        &mut c.F64Gt,
        &mut c.F64Le,
        &mut c.F64Ge,
        &mut c.F32ConvertI32S,
        &mut c.F32ConvertI64S,
        &mut c.F64ConvertI32S,
        &mut c.F64ConvertI64S,
    ] {
        *op = 3;
    }
    for op in [
        &mut c.F32ConvertI32U,
        &mut c.F32ConvertI64U,
        &mut c.F64ConvertI32U,
        &mut c.F64ConvertI64U,
    ] {
        *op = 16;
    }
    for op in [
        &mut c.I32TruncF32S,
        &mut c.I32TruncF32U,
        &mut c.I32TruncF64S,
        &mut c.I32TruncF64U,
        &mut c.I64TruncF32S,
        &mut c.I64TruncF32U,
        &mut c.I64TruncF64S,
        &mut c.I64TruncF64U,
        &mut c.I32TruncSatF32S,
        &mut c.I32TruncSatF32U,
        &mut c.I32TruncSatF64S,
        &mut c.I32TruncSatF64U,
        &mut c.I64TruncSatF32S,
        &mut c.I64TruncSatF32U,
        &mut c.I64TruncSatF64S,
        &mut c.I64TruncSatF64U,
    ] {
        *op = 20;
    }
    c.GlobalGet = 2;
    c.GlobalSet = 2;
    c.TableGet = 5;
    c.TableSet = 5;
    c.TableSize = 100;
    c.MemorySize = 20;
    c.MemoryGrow = 255;
    c.TableGrow = 255;
    c.DataDrop = 255;
    c.ElemDrop = 255;
    // Bulk operations: 100, and 1 per byte or element (wasmtime's
    // variable costs, 1 by default).
    for op in [
        &mut c.MemoryFill,
        &mut c.MemoryCopy,
        &mut c.MemoryInit,
        &mut c.TableFill,
        &mut c.TableCopy,
        &mut c.TableInit,
    ] {
        *op = 100;
    }
    c.variable.memory_grow_per_page = 0;
    c.variable.table_grow_per_element = 0;
    c.RefIsNull = 5;
    c.RefFunc = 130;
    simd(&mut c);
    c
}

/// The SIMD operators whose IC cost is not 1.
fn simd(c: &mut OperatorCost) {
    for op in [
        &mut c.I8x16Shuffle,
        &mut c.I8x16Popcnt,
        &mut c.I8x16Shl,
        &mut c.I8x16ShrS,
        &mut c.I32x4ExtAddPairwiseI16x8U,
        &mut c.I64x2ShrS,
        &mut c.I32x4TruncSatF64x2UZero,
    ] {
        *op = 3;
    }
    for op in [
        &mut c.I8x16ShrU,
        &mut c.I8x16LtU,
        &mut c.I8x16GtU,
        &mut c.I16x8LtU,
        &mut c.I16x8GtU,
        &mut c.I32x4LtU,
        &mut c.I32x4GtU,
        &mut c.I16x8ExtAddPairwiseI8x16U,
        &mut c.I16x8Shl,
        &mut c.I16x8ShrS,
        &mut c.I16x8ShrU,
        &mut c.I16x8ExtMulHighI8x16S,
        &mut c.I16x8ExtMulHighI8x16U,
        &mut c.I32x4Shl,
        &mut c.I32x4ShrS,
        &mut c.I32x4ShrU,
        &mut c.I32x4Mul,
        &mut c.I32x4ExtMulLowI16x8S,
        &mut c.I32x4ExtMulHighI16x8S,
        &mut c.I32x4ExtMulLowI16x8U,
        &mut c.I32x4ExtMulHighI16x8U,
        &mut c.I64x2Shl,
        &mut c.I64x2ShrU,
        &mut c.I32x4TruncSatF32x4S,
        &mut c.I32x4TruncSatF64x2SZero,
    ] {
        *op = 2;
    }
    for op in [
        &mut c.F32x4Ceil,
        &mut c.F32x4Floor,
        &mut c.F32x4Trunc,
        &mut c.F32x4Nearest,
        &mut c.F32x4Abs,
        &mut c.F32x4Neg,
        &mut c.F32x4Add,
        &mut c.F32x4Sub,
        &mut c.F32x4Mul,
        &mut c.F64x2Ceil,
        &mut c.F64x2Floor,
        &mut c.F64x2Trunc,
        &mut c.F64x2Nearest,
        &mut c.F64x2Abs,
        &mut c.F64x2Neg,
        &mut c.F64x2Add,
        &mut c.F64x2Sub,
        &mut c.F64x2Mul,
    ] {
        *op = 2;
    }
    c.I64x2Mul = 4;
    c.F32x4Sqrt = 5;
    c.F32x4Div = 10;
    c.F32x4Min = 4;
    c.F32x4Max = 4;
    c.F64x2Sqrt = 14;
    c.F64x2Div = 12;
    c.F64x2Min = 4;
    c.F64x2Max = 5;
    c.I32x4TruncSatF32x4U = 4;
    c.F32x4ConvertI32x4U = 4;
}
