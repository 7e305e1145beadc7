//! The journal by memory protection, for kernels without asynchronous
//! write tracking (see `tracked`).
//!
//! Between executions the heap is read-only. The first write of an execution
//! to a page faults; the store's signal handler saves the page, makes it
//! writable and lets the write go on (host functions that write to the heap
//! take the same path). Committing keeps the written pages, rolling back
//! copies the saved ones over them; either way they become read-only again.
//! This is how the IC's own replica tracks dirty pages.
//!
//! The pages the last execution changed are "hot": they stay writable until
//! the next execution, which saves them by a copy when it begins instead of
//! through a fault — most executions of a canister change the same few
//! pages (the stack's top, the allocator's head). Each
//! protection change that takes write access away interrupts every other
//! core running this process (a TLB shootdown); on a two-core machine
//! serving queries over HTTP that was a quarter of the network's CPU time.

use super::Scratch;
use std::cell::UnsafeCell;
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::unix::StoreExt;

/// The journal of one store's heap (memory 0).
pub struct Journal {
    state: Arc<Shared>,
}

/// Touched only by the thread that runs the store: by its owner between
/// executions, by its signal handler during them, never both at once.
struct Shared(UnsafeCell<State>);

// SAFETY: see `Shared`; the store, and so its executions, run on one thread at a time.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

#[derive(Default)]
struct State {
    /// Start of the heap being tracked; 0 before the first execution.
    base: usize,
    /// Bytes from `base` that are read-only unless listed in `written`.
    protected: usize,
    /// Offsets of the pages the running execution wrote, in order.
    written: Vec<usize>,
    /// Their contents before the execution, one page after another.
    saved: Vec<u8>,
    /// OS pages left writable because the last execution changed them,
    /// sorted; at most `MAX_HOT_PAGES`, none while a scratch span is open.
    hot: Vec<usize>,
    /// Their contents when the running execution began, in `hot`'s order.
    hot_saved: Vec<u8>,
    /// Whether an execution has begun and not yet been committed or rolled back.
    open: bool,
    /// The runs of adjacent pages in `hot`, counted in `HOT_RUNS`.
    hot_runs: usize,
    /// The running execution's changed pages, when already compared (for
    /// metering), with the page size they were compared at.
    last_changed: Option<(usize, Vec<usize>)>,
}

/// The most OS pages kept hot: each costs a copy of one page per execution.
const MAX_HOT_PAGES: usize = 64;
/// The most runs of adjacent hot pages in one heap. Each run splits the
/// heap's mapping into up to three (a kernel VMA each).
const MAX_HOT_RUNS_PER_HEAP: usize = 8;
/// The most runs of hot pages in the process: with two VMAs a run, well
/// below Linux's default limit of 65 530 mappings a process, at which
/// `mprotect` would fail and the journal abort.
const MAX_HOT_RUNS: usize = 4_096;
/// Runs of hot pages held by all journals.
static HOT_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Journal {
    /// A journal whose fault handler is installed in `store`.
    pub fn new<T>(store: &mut Store<T>) -> Self {
        let state = Arc::new(Shared(UnsafeCell::new(State::default())));
        let handler_state = state.clone();
        let handler = move |signal: libc::c_int, info: *const libc::siginfo_t, _: *const _| {
            if signal != libc::SIGSEGV && signal != libc::SIGBUS {
                return false;
            }
            // SAFETY: the kernel passes a valid siginfo for SIGSEGV and SIGBUS.
            let address = unsafe { (*info).si_addr() } as usize;
            // SAFETY: the fault interrupts this store's execution, during
            // which nothing else touches the state (see `Shared`).
            unsafe { (*handler_state.0.get()).save_page_at(address) }
        };
        // SAFETY: the handler only copies memory and calls mprotect; the
        // vectors it appends to have their capacity reserved beforehand.
        unsafe { store.set_signal_handler(handler) };
        Self { state }
    }

    fn state(&mut self) -> &mut State {
        // SAFETY: no execution runs while the owner holds `&mut self`.
        unsafe { &mut *self.state.0.get() }
    }

    /// Starts recording the writes to the heap `[base, base + len)`:
    /// protects what is not protected yet (a new heap, or pages grown since
    /// the last execution).
    pub fn begin(&mut self, base: *mut u8, len: usize) {
        let state = self.state();
        debug_assert!(state.written.is_empty(), "the previous execution ended");
        let base = base as usize;
        if state.base != base {
            state.base = base;
            state.protected = 0;
            state.hot.clear();
        }
        if len > state.protected {
            protect(
                base + state.protected,
                len - state.protected,
                libc::PROT_READ,
            );
            state.protected = len;
        }
        // The handler may not allocate: room for every page, once.
        let pages = len / page_size();
        state.written.reserve(pages);
        state.saved.reserve(len);
        if !state.open {
            state.open = true;
            state.last_changed = None;
            state.save_hot();
        }
    }

    /// The `os_page`-sized pages of `heap` that the running execution
    /// changed, among those it wrote (the journal saves larger units: this
    /// compares each with its saved copy).
    pub fn changed_pages(&mut self, heap: &[u8], os_page: usize) -> u64 {
        let state = self.state();
        let changed = state.changed(heap, os_page);
        let count = changed.len() as u64;
        // The commit or rollback that follows keeps these pages hot: the
        // comparison is not made twice.
        state.last_changed = Some((os_page, changed));
        count
    }

    /// Keeps what the execution wrote; with a scratch span open, records
    /// in it each unit's first saved copy.
    pub fn commit(&mut self, scratch: Option<&mut Scratch>) {
        let keep_hot = scratch.is_none();
        let state = self.state();
        if let Some(scratch) = scratch {
            let page_size = page_size();
            for (index, &offset) in state.written.iter().enumerate() {
                scratch.entry(offset).or_insert_with(|| {
                    state.saved[index * page_size..(index + 1) * page_size].into()
                });
            }
        }
        state.finish(false, keep_hot);
    }

    /// Starts a scratch span. Hot pages are protected again first, so that
    /// every write of the span goes through the fault that records it.
    pub fn begin_scratch(&mut self) {
        let state = self.state();
        debug_assert!(!state.open, "no execution is running");
        let hot = std::mem::take(&mut state.hot);
        protect_pages(state.base, &hot, os_page_size());
        release_hot_runs(std::mem::take(&mut state.hot_runs));
    }

    /// Puts back the pages of `scratch` into the heap `[base, base + len)`;
    /// pages past `len` are left alone.
    pub fn end_scratch(&mut self, base: *mut u8, len: usize, scratch: &Scratch) {
        let state = self.state();
        debug_assert!(state.written.is_empty(), "no execution is running");
        let tracked = state.base == base as usize;
        for (offset, page) in scratch.iter().filter(|(o, p)| **o + p.len() <= len) {
            let address = base as usize + offset;
            let protected = tracked && *offset < state.protected;
            if protected {
                protect(address, page.len(), libc::PROT_READ | libc::PROT_WRITE);
            }
            // SAFETY: the page lies inside the heap and is writable now; no
            // reference to the heap is alive.
            unsafe { std::ptr::copy_nonoverlapping(page.as_ptr(), address as *mut u8, page.len()) };
            if protected {
                protect(address, page.len(), libc::PROT_READ);
            }
        }
    }

    /// Puts back the pages the execution wrote, as they were when it began.
    pub fn rollback(&mut self, scratch_open: bool) {
        self.state().finish(true, !scratch_open);
    }
}

impl State {
    /// The fault handler's work: `true` when `address` was on a protected
    /// page, which is now saved and writable.
    fn save_page_at(&mut self, address: usize) -> bool {
        let offset = address.wrapping_sub(self.base);
        if self.base == 0 || offset >= self.protected {
            return false;
        }
        let page_size = page_size();
        let start = offset - offset % page_size;
        let has_room = self.written.len() < self.written.capacity()
            && self.saved.capacity() - self.saved.len() >= page_size;
        if !has_room {
            return false;
        }
        // SAFETY: the page lies inside the heap, which is readable.
        let page =
            unsafe { std::slice::from_raw_parts((self.base + start) as *const u8, page_size) };
        self.saved.extend_from_slice(page);
        self.written.push(start);
        protect(
            self.base + start,
            page_size,
            libc::PROT_READ | libc::PROT_WRITE,
        );
        true
    }

    /// Saves the hot pages as they are when an execution begins.
    fn save_hot(&mut self) {
        let os_page = os_page_size();
        self.hot_saved.clear();
        for &offset in &self.hot {
            // SAFETY: hot pages lie inside the tracked heap, which is readable.
            let page =
                unsafe { std::slice::from_raw_parts((self.base + offset) as *const u8, os_page) };
            self.hot_saved.extend_from_slice(page);
        }
    }

    /// The OS pages (offsets, sorted) the running execution changed: hot
    /// pages compared with their copies from its beginning, other pages of
    /// the units it wrote with the units' copies from their first write.
    fn changed(&self, heap: &[u8], os_page: usize) -> Vec<usize> {
        let differs = |offset: usize, before: &[u8]| {
            heap.get(offset..offset + before.len())
                .is_none_or(|now| now != before)
        };
        let mut changed: Vec<usize> = self
            .hot
            .iter()
            .enumerate()
            .filter(|&(index, &offset)| {
                differs(
                    offset,
                    &self.hot_saved[index * os_page..(index + 1) * os_page],
                )
            })
            .map(|(_, &offset)| offset)
            .collect();
        let unit = page_size();
        for (index, &start) in self.written.iter().enumerate() {
            let saved = &self.saved[index * unit..(index + 1) * unit];
            for (chunk, before) in saved.chunks(os_page).enumerate() {
                let offset = start + chunk * os_page;
                // A hot page's copy from the unit's fault may already hold
                // this execution's writes: the copy from `begin` decides.
                if offset < heap.len()
                    && self.hot.binary_search(&offset).is_err()
                    && differs(offset, before)
                {
                    changed.push(offset);
                }
            }
        }
        changed.sort_unstable();
        changed
    }

    /// Ends the running execution: puts back what it wrote when `restore`,
    /// then makes read-only again every page it wrote or that was hot,
    /// except the pages it changed, which stay writable as the next hot
    /// set when `keep_hot` (at most `MAX_HOT_PAGES` of them).
    fn finish(&mut self, restore: bool, keep_hot: bool) {
        let os_page = os_page_size();
        let mut next_hot = Vec::new();
        let compared = self.last_changed.take();
        // Hot pages are counted as the IC counts dirty pages, 4 KiB each.
        if keep_hot && self.base != 0 && os_page as u64 == crate::metering::OS_PAGE {
            next_hot = match compared {
                Some((unit, changed)) if unit == os_page => changed,
                _ => {
                    // SAFETY: the tracked heap is readable and no execution runs.
                    let heap = unsafe {
                        std::slice::from_raw_parts(self.base as *const u8, self.protected)
                    };
                    self.changed(heap, os_page)
                }
            };
            // Pages the execution grew the heap by are not tracked yet.
            next_hot.retain(|offset| *offset < self.protected);
            next_hot.truncate(MAX_HOT_PAGES);
        }
        let runs = keep_within_runs(&mut next_hot, os_page);
        release_hot_runs(std::mem::take(&mut self.hot_runs));
        if reserve_hot_runs(runs) {
            self.hot_runs = runs;
        } else {
            next_hot.clear();
        }
        if restore {
            let unit = page_size();
            // Latest first, so that the oldest copy of a unit is the one that
            // stays; hot pages last, their copies being the oldest of all.
            let put_back = |offset: usize, saved: &[u8]| {
                // SAFETY: units written and hot pages lie inside the tracked
                // heap and are writable now; no reference to the heap is alive.
                unsafe {
                    std::ptr::copy_nonoverlapping(
                        saved.as_ptr(),
                        (self.base + offset) as *mut u8,
                        saved.len(),
                    )
                };
            };
            for (index, &offset) in self.written.iter().enumerate().rev() {
                put_back(offset, &self.saved[index * unit..(index + 1) * unit]);
            }
            for (index, &offset) in self.hot.iter().enumerate() {
                put_back(
                    offset,
                    &self.hot_saved[index * os_page..(index + 1) * os_page],
                );
            }
        }
        // Everything writable now: the units written and the old hot pages;
        // all of it but the next hot set goes back to read-only.
        let mut to_protect: Vec<usize> = self
            .written
            .iter()
            .flat_map(|&start| (start..start + page_size()).step_by(os_page))
            .filter(|&offset| offset < self.protected)
            .chain(self.hot.iter().copied())
            .filter(|offset| next_hot.binary_search(offset).is_err())
            .collect();
        to_protect.sort_unstable();
        to_protect.dedup();
        protect_pages(self.base, &to_protect, os_page);
        self.hot = next_hot;
        self.written.clear();
        self.saved.clear();
        self.hot_saved.clear();
        self.open = false;
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        release_hot_runs(std::mem::take(&mut self.state().hot_runs));
    }
}

/// Drops the pages (sorted) past the first `MAX_HOT_RUNS_PER_HEAP` runs of
/// adjacent ones; the runs left.
fn keep_within_runs(pages: &mut Vec<usize>, os_page: usize) -> usize {
    let mut runs = 0;
    let mut kept = 0;
    for (index, &page) in pages.iter().enumerate() {
        let starts_a_run = index == 0 || pages[index - 1] + os_page != page;
        if starts_a_run {
            if runs == MAX_HOT_RUNS_PER_HEAP {
                break;
            }
            runs += 1;
        }
        kept += 1;
    }
    pages.truncate(kept);
    runs
}

/// Takes `runs` from the process's budget of hot runs, if it has them.
fn reserve_hot_runs(runs: usize) -> bool {
    use std::sync::atomic::Ordering;
    runs == 0
        || HOT_RUNS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                (held + runs <= MAX_HOT_RUNS).then_some(held + runs)
            })
            .is_ok()
}

fn release_hot_runs(runs: usize) {
    HOT_RUNS.fetch_sub(runs, std::sync::atomic::Ordering::AcqRel);
}

/// Makes the OS pages at `offsets` (sorted) from `base` read-only, one call
/// per run of adjacent pages.
fn protect_pages(base: usize, offsets: &[usize], os_page: usize) {
    let mut next = 0;
    while next < offsets.len() {
        let start = offsets[next];
        let mut end = start + os_page;
        next += 1;
        while next < offsets.len() && offsets[next] == end {
            end += os_page;
            next += 1;
        }
        protect(base + start, end - start, libc::PROT_READ);
    }
}

fn protect(address: usize, len: usize, protection: libc::c_int) {
    // SAFETY: callers pass whole pages of the heap, a live mapping that
    // wasmtime created readable and writable.
    let result = unsafe { libc::mprotect(address as *mut libc::c_void, len, protection) };
    // Returning from the signal handler without access would fault forever.
    if result != 0 {
        std::process::abort();
    }
}

/// The unit the journal saves: a whole wasm page (64 KiB, a multiple of
/// the OS page on every platform wasmtime supports), because an execution's
/// writes cluster (stack, allocator, a B-tree node) and a fault costs far
/// more than copying a few more kilobytes. Measured on 10 000 neuron claims:
/// 12.9 s journalling 4 KiB pages, 5.9 s with 64 KiB.
fn page_size() -> usize {
    65_536
}

/// The granularity of memory protection.
fn os_page_size() -> usize {
    static SIZE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    // SAFETY: sysconf has no preconditions.
    *SIZE.get_or_init(|| unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize)
}
