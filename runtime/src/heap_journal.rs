//! Rolling back the wasm heap in time proportional to the pages an execution
//! wrote, whatever the heap's size: by the kernel's write tracking where it
//! has it (`tracked`, Linux 6.7 and later), else by protecting the heap and
//! saving each page on its first write (`protect`). Both tell which 4 KiB
//! pages an execution changed, for metering, and give the same results.

mod protect;
mod tracked;

use wasmtime::Store;

pub fn tracked_by_kernel() -> bool {
    tracked::available()
}

/// While a scratch span is open: each page it has committed, as it was
/// before the span, by offset.
pub type Scratch = std::collections::BTreeMap<usize, Box<[u8]>>;

/// The journal of one store's heap (memory 0).
pub struct HeapJournal {
    by: By,
    scratch: Option<Scratch>,
}

enum By {
    Tracking(tracked::Journal),
    Protecting(protect::Journal),
}

impl HeapJournal {
    /// A journal of `store`'s heap (its fault handler is installed in
    /// `store` when pages are protected).
    pub fn new<T>(store: &mut Store<T>) -> Self {
        let by = if tracked::available() {
            By::Tracking(tracked::Journal::default())
        } else {
            By::Protecting(protect::Journal::new(store))
        };
        Self { by, scratch: None }
    }

    /// Starts recording the writes to the heap `[base, base + len)`.
    pub fn begin(&mut self, base: *mut u8, len: usize) {
        match &mut self.by {
            By::Tracking(j) => j.begin(base, len),
            By::Protecting(j) => j.begin(base, len),
        }
    }

    /// The `os_page`-sized pages of `heap` that the running execution
    /// changed.
    pub fn changed_pages(&mut self, heap: &[u8], os_page: usize) -> u64 {
        match &mut self.by {
            By::Tracking(j) => j.changed_pages(os_page),
            By::Protecting(j) => j.changed_pages(heap, os_page),
        }
    }

    /// Keeps what the execution wrote.
    pub fn commit(&mut self) {
        match &mut self.by {
            By::Tracking(j) => j.commit(self.scratch.as_mut()),
            By::Protecting(j) => j.commit(self.scratch.as_mut()),
        }
    }

    /// Puts back the pages the execution wrote, as they were when it began.
    pub fn rollback(&mut self) {
        match &mut self.by {
            By::Tracking(j) => j.rollback(),
            By::Protecting(j) => j.rollback(self.scratch.is_some()),
        }
    }

    /// Starts a scratch span: the executions committed from now on can be
    /// undone together by `end_scratch`, at the cost of the pages they write.
    pub fn begin_scratch(&mut self) {
        if let By::Protecting(j) = &mut self.by {
            j.begin_scratch();
        }
        self.scratch = Some(Scratch::new());
    }

    /// The open scratch span, to carry over to a new journal of the same heap.
    pub fn take_scratch(&mut self) -> Option<Scratch> {
        self.scratch.take()
    }

    pub fn set_scratch(&mut self, scratch: Option<Scratch>) {
        self.scratch = scratch;
    }

    /// Puts back every page committed since `begin_scratch` into the heap
    /// `[base, base + len)`, as it was then; pages past `len` are left alone.
    pub fn end_scratch(&mut self, base: *mut u8, len: usize) {
        let Some(scratch) = self.scratch.take() else {
            return;
        };
        match &mut self.by {
            By::Tracking(j) => j.end_scratch(base, len, &scratch),
            By::Protecting(j) => j.end_scratch(base, len, &scratch),
        }
    }
}
