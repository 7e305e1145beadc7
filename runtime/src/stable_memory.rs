//! Stable memory: sparse (untouched pages cost nothing, whatever the size)
//! and transactional (an execution's writes sit in a journal until it
//! commits, so a rollback costs only the pages it wrote).

// Chunk indexes are small integers looked up on every stable-memory access:
// SipHash took a tenth of a governance run's wall time, FxHash a fraction.
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

/// The unit of allocation and of rollback.
const CHUNK: u64 = 4096;
/// The IC's stable-memory page, the unit of `stable64_size`/`stable64_grow`.
pub const WASM_PAGE: u64 = 65536;
/// The IC's limit: 500 GiB.
pub const MAX_PAGES: u64 = 500 * 1024 * 1024 * 1024 / WASM_PAGE;

type Chunk = Box<[u8; CHUNK as usize]>;

#[derive(Default, Clone)]
pub struct StableMemory {
    committed: HashMap<u64, Chunk>,
    committed_pages: u64,
    /// Chunks written by the running execution (whole copies).
    journal: HashMap<u64, Chunk>,
    pages: u64,
    /// While a scratch span is open: how to undo what it committed.
    scratch: Option<Scratch>,
    /// Chunks the running execution has written (the journal may hold
    /// chunks of an earlier one: `pre_upgrade`'s, until `post_upgrade`
    /// commits them), for the dirty-page charge.
    dirtied: HashSet<u64>,
}

/// The state before a scratch span, of the chunks it has committed so far.
#[derive(Default, Clone)]
struct Scratch {
    /// Each chunk as it was (`None`: it did not exist).
    chunks: HashMap<u64, Option<Chunk>>,
    pages: u64,
}

impl StableMemory {
    /// Size in 64 KiB pages, as the running execution sees it.
    pub fn size_pages(&self) -> u64 {
        self.pages
    }

    /// Grows by `delta` pages; returns the old size, or `None` past the limit.
    pub fn grow(&mut self, delta: u64) -> Option<u64> {
        let old = self.pages;
        let new = old.checked_add(delta).filter(|&n| n <= MAX_PAGES)?;
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
        self.for_each_chunk(offset, dst.len(), |index, within, range| {
            match self
                .journal
                .get(&index)
                .or_else(|| self.committed.get(&index))
            {
                Some(chunk) => {
                    dst[range.clone()].copy_from_slice(&chunk[within..within + range.len()])
                }
                None => dst[range].fill(0),
            }
        });
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
        let mut touched = Vec::new();
        self.for_each_chunk(offset, src.len(), |index, within, range| {
            touched.push((index, within, range));
        });
        let mut dirtied = 0;
        for (index, within, range) in touched {
            if self.dirtied.insert(index) {
                dirtied += 1;
            }
            let committed = &self.committed;
            let chunk = self.journal.entry(index).or_insert_with(|| {
                committed
                    .get(&index)
                    .cloned()
                    .unwrap_or_else(|| Box::new([0; CHUNK as usize]))
            });
            chunk[within..within + range.len()].copy_from_slice(&src[range]);
        }
        Some(dirtied)
    }

    /// Calls `f(chunk index, offset within the chunk, range of the buffer)`
    /// for each chunk that `[offset, offset + len)` touches.
    fn for_each_chunk(
        &self,
        offset: u64,
        len: usize,
        mut f: impl FnMut(u64, usize, std::ops::Range<usize>),
    ) {
        let mut done = 0usize;
        while done < len {
            let position = offset + done as u64;
            let within = (position % CHUNK) as usize;
            let take = (CHUNK as usize - within).min(len - done);
            f(position / CHUNK, within, done..done + take);
            done += take;
        }
    }

    /// Makes the running execution's writes and growth permanent.
    pub fn commit(&mut self) {
        if let Some(scratch) = &mut self.scratch {
            for index in self.journal.keys() {
                let committed = &self.committed;
                scratch
                    .chunks
                    .entry(*index)
                    .or_insert_with(|| committed.get(index).cloned());
            }
        }
        // Taken rather than drained: draining or clearing a map visits all of
        // its buckets, and a journal that once held many chunks keeps them.
        self.committed.extend(std::mem::take(&mut self.journal));
        self.committed_pages = self.pages;
    }

    /// Discards the running execution's writes and growth.
    pub fn rollback(&mut self) {
        self.journal = HashMap::default();
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

    /// Undoes everything committed since `begin_scratch`.
    pub fn end_scratch(&mut self) {
        let Some(scratch) = self.scratch.take() else {
            return;
        };
        self.journal = HashMap::default();
        for (index, chunk) in scratch.chunks {
            match chunk {
                Some(chunk) => self.committed.insert(index, chunk),
                None => self.committed.remove(&index),
            };
        }
        self.committed_pages = scratch.pages;
        self.pages = scratch.pages;
    }

    /// Chunks held in memory (for figures: memory is proportional to pages touched).
    pub fn resident_chunks(&self) -> usize {
        self.committed.len() + self.journal.len()
    }

    /// The whole committed memory, as pocket-ic's `get_stable_memory` returns it.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut bytes = vec![0; (self.committed_pages * WASM_PAGE) as usize];
        for (index, chunk) in &self.committed {
            let start = (index * CHUNK) as usize;
            if start < bytes.len() {
                bytes[start..start + CHUNK as usize].copy_from_slice(&chunk[..]);
            }
        }
        bytes
    }

    /// The committed memory as its size in pages and the 4 KiB chunks
    /// ever written, by index: what a saved state keeps.
    pub fn committed_chunks(&self) -> (u64, Vec<(u64, Vec<u8>)>) {
        let mut chunks: Vec<(u64, Vec<u8>)> = self
            .committed
            .iter()
            .map(|(index, chunk)| (*index, chunk.to_vec()))
            .collect();
        chunks.sort_unstable_by_key(|(index, _)| *index);
        (self.committed_pages, chunks)
    }

    /// The memory of [`Self::committed_chunks`].
    pub fn from_chunks(pages: u64, chunks: Vec<(u64, Vec<u8>)>) -> Result<Self, String> {
        let mut memory = Self::default();
        if memory.grow(pages).is_none() {
            return Err(format!("{pages} pages of stable memory are too many"));
        }
        for (index, chunk) in chunks {
            if chunk.len() as u64 != CHUNK || (index + 1) * CHUNK > pages * WASM_PAGE {
                return Err(format!("a stable-memory chunk out of place: {index}"));
            }
            memory.write(index * CHUNK, &chunk);
        }
        memory.commit();
        Ok(memory)
    }

    /// Replaces the memory with `bytes` (rounded up to whole pages).
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut memory = Self::default();
        memory.grow((bytes.len() as u64).div_ceil(WASM_PAGE));
        memory.write(0, bytes);
        memory.commit();
        memory
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
        memory.grow(16 * 1024 * 1024); // 1 TiB of address space is refused…
        memory.rollback();
        memory.grow(MAX_PAGES); // …but 500 GiB is fine and costs nothing.
        memory.write(MAX_PAGES * WASM_PAGE - 8, &[7; 8]);
        memory.commit();
        assert_eq!(memory.resident_chunks(), 1);
    }
}
