//! Stable memory: sparse (untouched pages cost nothing, whatever the size)
//! and transactional (an execution's first write to a 4 KiB chunk saves
//! the chunk as it was, so a rollback costs only the chunks it wrote).
//!
//! The memory is one private anonymous mapping of the address space it
//! needs (reserved without backing: the kernel gives a page its memory on
//! its first write, and a page never written reads as zero). A read is
//! one copy from the mapping. Measured on the economy at 100 000 neurons
//! and a million accounts (`perf`): with the chunks in a hash map, each
//! read looked up the execution's chunks, then the committed ones, before
//! copying, and those lookups and the copies' cache misses were 15 % of a
//! simulated day's time and a third of the index's catch-up.

// Chunk indexes are small integers looked up on every stable-memory write:
// SipHash took a tenth of a governance run's wall time, FxHash a fraction.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// The unit of dirty-page charges and of rollback.
const CHUNK: u64 = 4096;
/// The IC's stable-memory page, the unit of `stable64_size`/`stable64_grow`.
pub const WASM_PAGE: u64 = 65536;
/// The IC's limit: 500 GiB.
pub const MAX_PAGES: u64 = 500 * 1024 * 1024 * 1024 / WASM_PAGE;
/// Address space reserved at least, so that a growing memory moves its
/// mapping rarely (in tests, little: the model test moves it often).
#[cfg(not(test))]
const MIN_RESERVATION: usize = 64 << 20;
#[cfg(test)]
const MIN_RESERVATION: usize = 2 * WASM_PAGE as usize;

/// Whether the kernel's pages are the chunks' size, so that a chunk can be
/// given back alone (`madvise` acts on whole pages).
fn pages_are_chunks() -> bool {
    static FOUR_KIB: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    // SAFETY: a plain query of a system constant.
    *FOUR_KIB.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } == CHUNK as libc::c_long)
}

type Chunk = Box<[u8; CHUNK as usize]>;

/// Address space of a memory: `len` bytes at `base`, read and written only
/// through `&`/`&mut` of its [`StableMemory`].
struct Mapping {
    base: std::ptr::NonNull<u8>,
    len: usize,
}

// SAFETY: the mapping is owned by one `StableMemory`, which reads it only
// through `&self` and writes it only through `&mut self`.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared references only read.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// `len` bytes of zeros, reserved without backing.
    fn new(len: usize) -> Option<Self> {
        // SAFETY: a fresh anonymous mapping, owned by the value returned.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return None;
        }
        let mapping = Self {
            base: std::ptr::NonNull::new(base as *mut u8)?,
            len,
        };
        mapping.no_huge_pages();
        Some(mapping)
    }

    /// Keeps the kernel from backing the mapping with huge pages: one
    /// write would then hold 2 MiB, and a canister writing a byte every
    /// 2 MiB of a large memory would hold it all.
    fn no_huge_pages(&self) {
        // SAFETY: advice on our own mapping; it changes no contents.
        unsafe {
            libc::madvise(
                self.base.as_ptr() as *mut libc::c_void,
                self.len,
                libc::MADV_NOHUGEPAGE,
            )
        };
    }

    /// Grows to `len` bytes, keeping the contents (the mapping may move).
    fn grow(&mut self, len: usize) -> bool {
        // SAFETY: the mapping is ours; nothing points into it across this
        // call (reads and writes copy in and out within one call).
        let base = unsafe {
            libc::mremap(
                self.base.as_ptr() as *mut libc::c_void,
                self.len,
                len,
                libc::MREMAP_MAYMOVE,
            )
        };
        match std::ptr::NonNull::new(base as *mut u8) {
            Some(base) if base.as_ptr() as *mut libc::c_void != libc::MAP_FAILED => {
                self.base = base;
                self.len = len;
                self.no_huge_pages();
                true
            }
            _ => false,
        }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the whole mapping is readable for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as `bytes`, and `&mut self` is the only access.
        unsafe { std::slice::from_raw_parts_mut(self.base.as_ptr(), self.len) }
    }

    fn chunk(&self, index: u64) -> &[u8] {
        let start = (index * CHUNK) as usize;
        &self.bytes()[start..start + CHUNK as usize]
    }

    fn chunk_mut(&mut self, index: u64) -> &mut [u8] {
        let start = (index * CHUNK) as usize;
        &mut self.bytes_mut()[start..start + CHUNK as usize]
    }

    /// Gives chunks back to the kernel: they read as zero again and hold
    /// no memory. One call per run of neighbouring chunks.
    fn zero(&mut self, mut indexes: Vec<u64>) {
        indexes.sort_unstable();
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for index in indexes {
            match runs.last_mut() {
                Some((_, end)) if *end == index => *end += 1,
                _ => runs.push((index, index + 1)),
            }
        }
        for (start, end) in runs {
            let range = (start * CHUNK) as usize..(end * CHUNK) as usize;
            let bytes = &mut self.bytes_mut()[range];
            // SAFETY: whole pages of the mapping (chunks are pages here);
            // no reference into them outlives this call.
            let given_back = pages_are_chunks()
                && unsafe {
                    libc::madvise(
                        bytes.as_mut_ptr() as *mut libc::c_void,
                        bytes.len(),
                        libc::MADV_DONTNEED,
                    )
                } == 0;
            if !given_back {
                bytes.fill(0);
            }
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: the mapping is ours and nothing refers to it any more.
        unsafe { libc::munmap(self.base.as_ptr() as *mut libc::c_void, self.len) };
    }
}

#[derive(Default)]
pub struct StableMemory {
    /// Holds the memory as the running execution sees it; `None` until
    /// the memory first grows.
    mapping: Option<Mapping>,
    /// Chunks that hold committed data (all others read as zero when
    /// committed).
    written: HashSet<u64>,
    committed_pages: u64,
    /// Chunks written since the last commit, as they were at it.
    undo: HashMap<u64, Chunk>,
    pages: u64,
    /// While a scratch span is open: how to undo what it committed.
    scratch: Option<Scratch>,
    /// Chunks the running execution has written (the undo log may hold
    /// chunks of an earlier one: `pre_upgrade`'s, until `post_upgrade`
    /// commits them), for the dirty-page charge.
    dirtied: HashSet<u64>,
}

/// The state before a scratch span, of the chunks it has committed so far.
#[derive(Default)]
struct Scratch {
    /// Each chunk as it was (`None`: it held no data).
    chunks: HashMap<u64, Option<Chunk>>,
    pages: u64,
}

impl StableMemory {
    /// Size in 64 KiB pages, as the running execution sees it.
    pub fn size_pages(&self) -> u64 {
        self.pages
    }

    /// Grows by `delta` pages; returns the old size, or `None` past the
    /// limit (or when the address space cannot be had).
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages;
        let new = old.checked_add(delta).filter(|&n| n <= MAX_PAGES)?;
        let needed = (new * WASM_PAGE) as usize;
        let reserved = self.mapping.as_ref().map_or(0, |m| m.len);
        if needed > reserved {
            let len = needed
                .next_power_of_two()
                .clamp(MIN_RESERVATION, (MAX_PAGES * WASM_PAGE) as usize);
            match &mut self.mapping {
                Some(mapping) => {
                    if !mapping.grow(len) {
                        return None;
                    }
                }
                None => self.mapping = Some(Mapping::new(len)?),
            }
        }
        self.pages = new;
        Some(old)
    }

    fn in_bounds(&self, offset: u64, len: u64) -> bool {
        offset
            .checked_add(len)
            .is_some_and(|end| end <= self.pages * WASM_PAGE)
    }

    /// Reads `dst.len()` bytes at `offset`; `false` when out of bounds.
    pub fn read(&self, offset: u64, dst: &mut [u8]) -> bool {
        if !self.in_bounds(offset, dst.len() as u64) {
            return false;
        }
        if let Some(mapping) = &self.mapping {
            let start = offset as usize;
            dst.copy_from_slice(&mapping.bytes()[start..start + dst.len()]);
        }
        true
    }

    /// Starts counting the chunks an execution dirties.
    pub fn start_execution(&mut self) {
        // Taken rather than cleared: see `commit`.
        if !self.dirtied.is_empty() {
            self.dirtied = HashSet::default();
        }
    }

    /// Writes `src` at `offset`; the number of 4 KiB pages it wrote for
    /// the first time in this execution, or `None` when out of bounds.
    pub fn write(&mut self, offset: u64, src: &[u8]) -> Option<u64> {
        if !self.in_bounds(offset, src.len() as u64) {
            return None;
        }
        let Some(mapping) = &mut self.mapping else {
            return Some(0); // nothing to write: an empty memory
        };
        if src.is_empty() {
            return Some(0);
        }
        let first = offset / CHUNK;
        let last = (offset + src.len() as u64 - 1) / CHUNK;
        let mut dirtied = 0;
        for index in first..=last {
            if self.dirtied.insert(index) {
                dirtied += 1;
            }
            self.undo
                .entry(index)
                .or_insert_with(|| Box::new(mapping.chunk(index).try_into().expect("a chunk")));
        }
        let start = offset as usize;
        mapping.bytes_mut()[start..start + src.len()].copy_from_slice(src);
        Some(dirtied)
    }

    /// Makes the running execution's writes and growth permanent.
    pub fn commit(&mut self) {
        // Taken rather than drained: draining or clearing a map visits all
        // of its buckets, and a log that once held many chunks keeps them.
        for (index, before) in std::mem::take(&mut self.undo) {
            let held = !self.written.insert(index);
            if let Some(scratch) = &mut self.scratch {
                scratch
                    .chunks
                    .entry(index)
                    .or_insert(held.then_some(before));
            }
        }
        self.committed_pages = self.pages;
    }

    /// Discards the running execution's writes and growth.
    pub fn rollback(&mut self) {
        let undo = std::mem::take(&mut self.undo);
        if let Some(mapping) = &mut self.mapping {
            let mut held_nothing = Vec::new();
            for (index, before) in undo {
                if self.written.contains(&index) {
                    mapping.chunk_mut(index).copy_from_slice(&before[..]);
                } else {
                    held_nothing.push(index);
                }
            }
            mapping.zero(held_nothing);
        }
        self.pages = self.committed_pages;
    }

    /// Starts a scratch span: the executions committed from now on can be
    /// undone together by `end_scratch`, at the cost of the chunks they write.
    pub fn begin_scratch(&mut self) {
        self.scratch = Some(Scratch {
            chunks: HashMap::default(),
            pages: self.committed_pages,
        });
    }

    /// Undoes everything committed since `begin_scratch` (and what the
    /// running execution wrote).
    pub fn end_scratch(&mut self) {
        let Some(scratch) = self.scratch.take() else {
            return;
        };
        self.rollback();
        if let Some(mapping) = &mut self.mapping {
            let mut held_nothing = Vec::new();
            for (index, before) in scratch.chunks {
                match before {
                    Some(chunk) => mapping.chunk_mut(index).copy_from_slice(&chunk[..]),
                    None => {
                        self.written.remove(&index);
                        held_nothing.push(index);
                    }
                }
            }
            mapping.zero(held_nothing);
        }
        self.committed_pages = scratch.pages;
        self.pages = scratch.pages;
    }

    /// Chunks holding data (for figures: memory is proportional to pages
    /// touched).
    pub fn resident_chunks(&self) -> usize {
        self.written.len()
            + self
                .undo
                .keys()
                .filter(|index| !self.written.contains(index))
                .count()
    }

    /// Chunk `index` as committed, if it holds committed data.
    fn committed_chunk(&self, index: u64) -> Option<&[u8]> {
        if !self.written.contains(&index) {
            return None;
        }
        match self.undo.get(&index) {
            Some(before) => Some(&before[..]),
            None => self.mapping.as_ref().map(|m| m.chunk(index)),
        }
    }

    /// The whole committed memory, as pocket-ic's `get_stable_memory` returns it.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = vec![0; (self.committed_pages * WASM_PAGE) as usize];
        for &index in &self.written {
            let start = (index * CHUNK) as usize;
            if let Some(chunk) = self.committed_chunk(index)
                && start < bytes.len()
            {
                bytes[start..start + CHUNK as usize].copy_from_slice(chunk);
            }
        }
        bytes
    }

    /// The committed memory as its size in pages and the 4 KiB chunks
    /// ever written, by index: what a saved state keeps.
    pub fn committed_chunks(&self) -> (u64, Vec<(u64, Vec<u8>)>) {
        let mut chunks: Vec<(u64, Vec<u8>)> = self
            .written
            .iter()
            .filter_map(|&index| Some((index, self.committed_chunk(index)?.to_vec())))
            .collect();
        chunks.sort_unstable_by_key(|(index, _)| *index);
        (self.committed_pages, chunks)
    }

    /// The memory of [`Self::committed_chunks`].
    pub fn from_chunks(pages: u64, chunks: Vec<(u64, Vec<u8>)>) -> Result<Self, String> {
        let mut memory = Self::sized(pages)?;
        for (index, chunk) in chunks {
            let end = index.checked_add(1).and_then(|n| n.checked_mul(CHUNK));
            if chunk.len() as u64 != CHUNK || end.is_none_or(|end| end > pages * WASM_PAGE) {
                return Err(format!("a stable-memory chunk out of place: {index}"));
            }
            memory.write(index * CHUNK, &chunk);
        }
        memory.commit();
        Ok(memory)
    }

    /// Replaces the memory with `bytes` (rounded up to whole pages).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        let mut memory = Self::sized((bytes.len() as u64).div_ceil(WASM_PAGE))?;
        memory.write(0, bytes);
        memory.commit();
        Ok(memory)
    }

    /// An empty memory of `pages` pages.
    fn sized(pages: u64) -> Result<Self, String> {
        let mut memory = Self::default();
        if pages > MAX_PAGES {
            return Err(format!(
                "{pages} pages of stable memory are more than the {MAX_PAGES} allowed"
            ));
        }
        if memory.grow(pages).is_none() {
            return Err(format!(
                "no address space for {pages} pages of stable memory"
            ));
        }
        Ok(memory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_pages_read_as_zero_and_writes_cross_chunks() {
        let mut memory = StableMemory::default();
        assert_eq!(memory.grow(2), Some(0));
        let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        assert_eq!(memory.write(4000, &data), Some(4), "four chunks dirtied");
        let mut back = vec![0; 10_000];
        assert!(memory.read(4000, &mut back));
        assert_eq!(back, data);
        let mut zeros = vec![1; 100];
        assert!(memory.read(50_000, &mut zeros));
        assert!(zeros.iter().all(|&b| b == 0));
    }

    #[test]
    fn out_of_bounds_access_is_refused() {
        let mut memory = StableMemory::default();
        assert!(memory.write(0, &[1]).is_none());
        memory.grow(1);
        assert!(memory.write(WASM_PAGE - 1, &[1, 2]).is_none());
        assert!(!memory.read(u64::MAX, &mut [0]));
        assert!(memory.write(WASM_PAGE - 1, &[1]).is_some());
        assert_eq!(memory.grow(MAX_PAGES), None);
    }

    #[test]
    fn rollback_restores_contents_and_size() {
        let mut memory = StableMemory::default();
        memory.grow(1);
        memory.write(10, b"kept");
        memory.commit();
        memory.grow(3);
        memory.write(10, b"lost");
        memory.write(WASM_PAGE * 3, b"lost");
        memory.rollback();
        assert_eq!(memory.size_pages(), 1);
        let mut back = [0; 4];
        memory.read(10, &mut back);
        assert_eq!(&back, b"kept");
        assert_eq!(memory.resident_chunks(), 1);
    }

    #[test]
    fn a_huge_memory_costs_only_the_chunks_written() {
        let mut memory = StableMemory::default();
        assert_eq!(memory.grow(MAX_PAGES + 1), None, "past the IC's limit");
        // 500 GiB is reserved, and costs nothing.
        assert_eq!(memory.grow(MAX_PAGES), Some(0));
        memory.write(MAX_PAGES * WASM_PAGE - 8, &[7; 8]);
        memory.commit();
        assert_eq!(memory.resident_chunks(), 1);
    }

    #[test]
    fn a_chunk_first_written_then_rolled_back_holds_nothing() {
        let mut memory = StableMemory::default();
        memory.grow(1);
        memory.write(0, &[1]);
        memory.commit();
        memory.write(CHUNK, &[2; 10]);
        assert_eq!(memory.resident_chunks(), 2);
        memory.rollback();
        assert_eq!(memory.resident_chunks(), 1);
        let mut back = [9; 10];
        memory.read(CHUNK, &mut back);
        assert_eq!(back, [0; 10]);
        assert_eq!(memory.committed_chunks().1.len(), 1);
    }

    #[test]
    fn the_committed_view_leaves_out_writes_not_yet_committed() {
        // Between pre_upgrade and post_upgrade the writes of the first are
        // not committed: a saved state or pocket-ic's read shows the memory
        // as last committed.
        let mut memory = StableMemory::default();
        memory.grow(1);
        memory.write(0, b"old");
        memory.commit();
        memory.write(0, b"new");
        memory.write(CHUNK, b"new");
        assert_eq!(&memory.to_vec()[..3], b"old");
        assert_eq!(memory.to_vec()[CHUNK as usize], 0);
        let (pages, chunks) = memory.committed_chunks();
        assert_eq!(pages, 1);
        assert_eq!(chunks.len(), 1);
        assert_eq!(&chunks[0].1[..3], b"old");
        let mut now = [0; 3];
        memory.read(0, &mut now);
        assert_eq!(&now, b"new");
    }

    #[test]
    fn a_memory_that_moves_as_it_grows_keeps_its_contents() {
        let mut memory = StableMemory::default();
        memory.grow(1);
        memory.write(100, b"kept");
        memory.commit();
        // Past the first reservation: the mapping is remapped, perhaps moved.
        let pages = 2 * MIN_RESERVATION as u64 / WASM_PAGE;
        assert_eq!(memory.grow(pages), Some(1));
        memory.write(pages * WASM_PAGE, b"far");
        memory.commit();
        let mut back = [0; 4];
        memory.read(100, &mut back);
        assert_eq!(&back, b"kept");
        let mut far = [0; 3];
        memory.read(pages * WASM_PAGE, &mut far);
        assert_eq!(&far, b"far");
    }

    #[test]
    fn a_saved_memory_out_of_shape_is_refused() {
        assert!(StableMemory::from_chunks(1, vec![(16, vec![0; 4096])]).is_err());
        assert!(StableMemory::from_chunks(1, vec![(u64::MAX / 2, vec![0; 4096])]).is_err());
        assert!(StableMemory::from_chunks(1, vec![(0, vec![0; 100])]).is_err());
        assert!(StableMemory::from_chunks(MAX_PAGES + 1, vec![]).is_err());
        let memory = StableMemory::from_bytes(b"abc").unwrap();
        assert_eq!(memory.size_pages(), 1);
        assert_eq!(&memory.to_vec()[..4], b"abc\0");
    }

    /// An operation on the memory, for the model test.
    #[derive(Clone, Debug)]
    enum Op {
        Grow(u64),
        Write(u64, Vec<u8>),
        Commit,
        Rollback,
        /// A new execution without a commit: `post_upgrade` after
        /// `pre_upgrade`, whose writes it commits.
        StartExecution,
        BeginScratch,
        EndScratch,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            (0..3u64).prop_map(Op::Grow),
            (
                0..4 * WASM_PAGE,
                proptest::collection::vec(any::<u8>(), 0..9000)
            )
                .prop_map(|(offset, bytes)| Op::Write(offset, bytes)),
            Just(Op::Commit),
            Just(Op::Rollback),
            Just(Op::StartExecution),
            Just(Op::BeginScratch),
            Just(Op::EndScratch),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(
            std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(64)
        ))]

        /// Against a model of whole byte vectors (the memory as the
        /// execution sees it, as committed, and as at the scratch span's
        /// start): every read, the sizes, the committed view and the
        /// dirty-page counts agree after every operation.
        #[test]
        fn behaves_as_plain_vectors(ops in proptest::collection::vec(op(), 1..40)) {
            let mut memory = StableMemory::default();
            let mut current: Vec<u8> = vec![];
            let mut committed: Vec<u8> = vec![];
            let mut scratch: Option<Vec<u8>> = None;
            let mut dirtied = std::collections::BTreeSet::new();
            memory.start_execution();
            for op in ops {
                match op {
                    Op::Grow(pages) => {
                        assert_eq!(memory.grow(pages), Some(current.len() as u64 / WASM_PAGE));
                        current.resize(current.len() + (pages * WASM_PAGE) as usize, 0);
                    }
                    Op::Write(offset, bytes) => {
                        let end = offset as usize + bytes.len();
                        let answer = memory.write(offset, &bytes);
                        if end > current.len() {
                            assert_eq!(answer, None);
                        } else {
                            current[offset as usize..end].copy_from_slice(&bytes);
                            let chunks = if bytes.is_empty() {
                                0..0
                            } else {
                                offset / CHUNK..(end as u64 - 1) / CHUNK + 1
                            };
                            let new = chunks.filter(|c| dirtied.insert(*c)).count() as u64;
                            assert_eq!(answer, Some(new));
                        }
                    }
                    Op::Commit => {
                        memory.commit();
                        committed = current.clone();
                        memory.start_execution();
                        dirtied.clear();
                    }
                    Op::Rollback => {
                        memory.rollback();
                        current = committed.clone();
                        memory.start_execution();
                        dirtied.clear();
                    }
                    Op::StartExecution => {
                        memory.start_execution();
                        dirtied.clear();
                    }
                    Op::BeginScratch => {
                        memory.begin_scratch();
                        scratch = Some(committed.clone());
                    }
                    Op::EndScratch => {
                        memory.end_scratch();
                        // Without a span open, nothing happens.
                        if let Some(before) = scratch.take() {
                            committed = before;
                            current = committed.clone();
                        }
                    }
                }
                assert_eq!(memory.size_pages(), current.len() as u64 / WASM_PAGE);
                let mut all = vec![0xAA; current.len()];
                assert!(memory.read(0, &mut all));
                assert_eq!(all, current);
                assert_eq!(memory.to_vec(), committed);
                let (pages, chunks) = memory.committed_chunks();
                assert_eq!(pages, committed.len() as u64 / WASM_PAGE);
                for (index, chunk) in &chunks {
                    let start = (index * CHUNK) as usize;
                    assert_eq!(&chunk[..], &committed[start..start + CHUNK as usize]);
                }
                // What a saved state keeps comes back as it was.
                let saved = StableMemory::from_chunks(pages, chunks).unwrap();
                assert_eq!(saved.to_vec(), committed);
                assert!(!memory.read(current.len() as u64, &mut [0]));
            }
        }
    }
}
