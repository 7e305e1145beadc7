//! Rolling back the wasm heap in time proportional to the pages an execution
//! wrote, whatever the heap's size.
//!
//! Between executions the heap is read-only. The first write of an execution
//! to a page faults; the store's signal handler saves the page, makes it
//! writable and lets the write go on (host functions that write to the heap
//! take the same path). Committing keeps the written pages, rolling back
//! copies the saved ones over them; either way they become read-only again.
//! This is how the IC's own replica tracks dirty pages.

use std::cell::UnsafeCell;
use std::sync::Arc;
use wasmtime::Store;
use wasmtime::unix::StoreExt;

/// The journal of one store's heap (memory 0).
pub struct HeapJournal {
    state: Arc<Shared>,
    /// While a scratch span is open: each page it has committed, as it was
    /// before the span, by offset.
    scratch: Option<std::collections::BTreeMap<usize, Box<[u8]>>>,
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
}

impl HeapJournal {
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
        Self {
            state,
            scratch: None,
        }
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
    }

    /// The `os_page`-sized pages of `heap` that the running execution
    /// changed, among those it wrote (the journal saves larger units: this
    /// compares each with its saved copy).
    pub fn changed_pages(&self, heap: &[u8], os_page: usize) -> u64 {
        // SAFETY: no execution runs while the owner holds `&self`.
        let state = unsafe { &*self.state.0.get() };
        let unit = page_size();
        state
            .written
            .iter()
            .enumerate()
            .map(|(index, &offset)| {
                let before = &state.saved[index * unit..(index + 1) * unit];
                let now = &heap[offset..(offset + unit).min(heap.len())];
                before
                    .chunks(os_page)
                    .zip(now.chunks(os_page))
                    .filter(|(before, now)| before != now)
                    .count() as u64
            })
            .sum()
    }

    /// Keeps what the execution wrote.
    pub fn commit(&mut self) {
        if let Some(scratch) = self.scratch.as_mut() {
            // SAFETY: no execution runs while the owner holds `&mut self`.
            let state = unsafe { &mut *self.state.0.get() };
            let page_size = page_size();
            for (index, &offset) in state.written.iter().enumerate() {
                scratch.entry(offset).or_insert_with(|| {
                    state.saved[index * page_size..(index + 1) * page_size].into()
                });
            }
        }
        self.state().reprotect_written();
    }

    /// Starts a scratch span: the executions committed from now on can be
    /// undone together by `end_scratch`, at the cost of the pages they write.
    pub fn begin_scratch(&mut self) {
        self.scratch = Some(Default::default());
    }

    /// The open scratch span, to carry over to a new journal of the same heap.
    pub fn take_scratch(&mut self) -> Option<std::collections::BTreeMap<usize, Box<[u8]>>> {
        self.scratch.take()
    }

    pub fn set_scratch(&mut self, scratch: Option<std::collections::BTreeMap<usize, Box<[u8]>>>) {
        self.scratch = scratch;
    }

    /// Puts back every page committed since `begin_scratch` into the heap
    /// `[base, base + len)`, as it was then; pages past `len` are left alone.
    pub fn end_scratch(&mut self, base: *mut u8, len: usize) {
        let Some(scratch) = self.scratch.take() else {
            return;
        };
        let page_size = page_size();
        let state = self.state();
        debug_assert!(state.written.is_empty(), "no execution is running");
        let tracked = state.base == base as usize;
        for (offset, page) in scratch.iter().filter(|(o, _)| **o + page_size <= len) {
            let address = base as usize + offset;
            let protected = tracked && *offset < state.protected;
            if protected {
                protect(address, page_size, libc::PROT_READ | libc::PROT_WRITE);
            }
            // SAFETY: the page lies inside the heap and is writable now; no
            // reference to the heap is alive.
            unsafe { std::ptr::copy_nonoverlapping(page.as_ptr(), address as *mut u8, page_size) };
            if protected {
                protect(address, page_size, libc::PROT_READ);
            }
        }
    }

    /// Puts back the pages the execution wrote, as they were when it began.
    pub fn rollback(&mut self) {
        let state = self.state();
        let page_size = page_size();
        // Latest first, so that the oldest copy of a page is the one that stays.
        for (index, &offset) in state.written.iter().enumerate().rev() {
            let saved = &state.saved[index * page_size..(index + 1) * page_size];
            // SAFETY: the page lies inside the tracked heap and is writable
            // since its first write; no reference to the heap is alive.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    saved.as_ptr(),
                    (state.base + offset) as *mut u8,
                    page_size,
                )
            };
        }
        state.reprotect_written();
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

    /// Makes the written pages read-only again, one call per run of
    /// adjacent pages, and forgets them.
    fn reprotect_written(&mut self) {
        let page_size = page_size();
        self.written.sort_unstable();
        let mut next = 0;
        while next < self.written.len() {
            let start = self.written[next];
            let mut end = start + page_size;
            next += 1;
            while next < self.written.len() && self.written[next] <= end {
                end = end.max(self.written[next] + page_size);
                next += 1;
            }
            protect(self.base + start, end - start, libc::PROT_READ);
        }
        self.written.clear();
        self.saved.clear();
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
