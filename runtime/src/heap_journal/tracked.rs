//! The journal by the kernel's write tracking: a userfaultfd registration
//! in asynchronous write-protect mode (Linux 6.7) makes the first write to
//! a protected page unprotect it inside the kernel, with no signal and no
//! change to the mapping, and `PAGEMAP_SCAN` lists the pages written since,
//! protecting them again in the same call. Rolling back needs the pages as
//! they were: the journal keeps a copy of the heap as of the last commit
//! (the heap's size again in memory, which is small next to stable memory)
//! and, at the end of an execution, brings the copy up to date, or the
//! heap back to it, page by written page.
//!
//! Measured on the economy at 100 000 neurons (`perf`): protecting pages
//! one fault at a time took a third of the process's time (signals,
//! `mprotect` splitting and merging mappings, TLB shootdowns, 64 KiB
//! copies); here a written page costs a kernel fault and a 4 KiB copy.

use super::Scratch;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

const UFFD_API: u64 = 0xAA;
const UFFD_USER_MODE_ONLY: libc::c_int = 1;
/// `_IOWR(0xAA, 0x3F, struct uffdio_api)`.
const UFFDIO_API: u64 = 0xC018_AA3F;
/// `_IOWR(0xAA, 0x00, struct uffdio_register)`.
const UFFDIO_REGISTER: u64 = 0xC020_AA00;
/// `_IOWR(0xAA, 0x06, struct uffdio_writeprotect)`.
const UFFDIO_WRITEPROTECT: u64 = 0xC018_AA06;
const UFFDIO_REGISTER_MODE_WP: u64 = 1 << 1;
const UFFDIO_WRITEPROTECT_MODE_WP: u64 = 1 << 0;
/// Write protection of shared memory: wasmtime maps a module's initial
/// heap from a memfd, privately.
const UFFD_FEATURE_WP_HUGETLBFS_SHMEM: u64 = 1 << 12;
/// Protection reaches pages not yet mapped in, so their first write counts.
const UFFD_FEATURE_WP_UNPOPULATED: u64 = 1 << 13;
/// Write faults are resolved by the kernel, which records them.
const UFFD_FEATURE_WP_ASYNC: u64 = 1 << 15;
/// `_IOWR('f', 16, struct pm_scan_arg)`.
const PAGEMAP_SCAN: u64 = 0xC060_6610;
const PAGE_IS_WRITTEN: u64 = 1 << 1;
const PM_SCAN_WP_MATCHING: u64 = 1 << 0;
const PM_SCAN_CHECK_WPASYNC: u64 = 1 << 1;

#[repr(C)]
struct UffdioApi {
    api: u64,
    features: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioRegister {
    start: u64,
    len: u64,
    mode: u64,
    ioctls: u64,
}

#[repr(C)]
struct UffdioWriteprotect {
    start: u64,
    len: u64,
    mode: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PageRegion {
    start: u64,
    end: u64,
    categories: u64,
}

#[repr(C)]
#[derive(Default)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// The process's userfaultfd (every heap is registered with it) and its
/// `/proc/self/pagemap`.
struct Kernel {
    uffd: OwnedFd,
    pagemap: std::fs::File,
}

const PAGE: usize = 4096;

/// The kernel's write tracking, if this kernel has it and the journal is
/// not asked to protect pages instead (`IC_RUNTIME_HEAP_JOURNAL=protect`).
fn kernel() -> Option<&'static Kernel> {
    static KERNEL: OnceLock<Option<Kernel>> = OnceLock::new();
    KERNEL
        .get_or_init(|| {
            if std::env::var_os("IC_RUNTIME_HEAP_JOURNAL").is_some_and(|v| v == "protect") {
                return None;
            }
            let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
            if page != PAGE {
                return None;
            }
            let kernel = Kernel::open()?;
            kernel.works().then_some(kernel)
        })
        .as_ref()
}

/// Whether heaps are journalled by the kernel's write tracking.
pub fn available() -> bool {
    kernel().is_some()
}

impl Kernel {
    fn open() -> Option<Self> {
        // Without privileges (`vm.unprivileged_userfaultfd` = 0) only faults
        // in user mode can be asked for, which are all this journal needs:
        // nothing writes to a heap from inside a system call.
        // SAFETY: a plain system call; the descriptor is owned below.
        let open = |flags: libc::c_int| unsafe {
            libc::syscall(
                libc::SYS_userfaultfd,
                libc::O_CLOEXEC | libc::O_NONBLOCK | flags,
            )
        };
        let fd = match open(0) {
            fd if fd >= 0 => fd,
            _ => open(UFFD_USER_MODE_ONLY),
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: `fd` was just opened and is owned by nothing else.
        let uffd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
        let mut api = UffdioApi {
            api: UFFD_API,
            features: UFFD_FEATURE_WP_ASYNC
                | UFFD_FEATURE_WP_UNPOPULATED
                | UFFD_FEATURE_WP_HUGETLBFS_SHMEM,
            ioctls: 0,
        };
        // SAFETY: the argument is the `uffdio_api` the request expects.
        if unsafe { libc::ioctl(uffd.as_raw_fd(), UFFDIO_API as _, &mut api) } != 0 {
            return None;
        }
        let pagemap = std::fs::File::open("/proc/self/pagemap").ok()?;
        Some(Self { uffd, pagemap })
    }

    /// Registers `[start, start + len)` and protects it.
    fn track(&self, start: usize, len: usize) -> bool {
        let mut register = UffdioRegister {
            start: start as u64,
            len: len as u64,
            mode: UFFDIO_REGISTER_MODE_WP,
            ioctls: 0,
        };
        let mut protect = UffdioWriteprotect {
            start: start as u64,
            len: len as u64,
            mode: UFFDIO_WRITEPROTECT_MODE_WP,
        };
        // SAFETY: the arguments are the structures the requests expect; the
        // range is a live mapping of the caller's.
        unsafe {
            libc::ioctl(self.uffd.as_raw_fd(), UFFDIO_REGISTER as _, &mut register) == 0
                && libc::ioctl(
                    self.uffd.as_raw_fd(),
                    UFFDIO_WRITEPROTECT as _,
                    &mut protect,
                ) == 0
        }
    }

    /// Appends to `pages` the offsets from `start` of the pages of
    /// `[start, start + len)` written since the last scan, and protects
    /// them again.
    fn take_written(&self, start: usize, len: usize, pages: &mut Vec<usize>) {
        let mut regions = [PageRegion::default(); 64];
        let end = (start + len) as u64;
        let mut from = start as u64;
        while from < end {
            let mut arg = PmScanArg {
                size: std::mem::size_of::<PmScanArg>() as u64,
                flags: PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
                start: from,
                end,
                vec: regions.as_mut_ptr() as u64,
                vec_len: regions.len() as u64,
                category_mask: PAGE_IS_WRITTEN,
                return_mask: PAGE_IS_WRITTEN,
                ..Default::default()
            };
            // SAFETY: the argument is the `pm_scan_arg` the request expects,
            // pointing at `regions` for its answer.
            let found =
                unsafe { libc::ioctl(self.pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg) };
            // Pages written and not listed would be neither kept nor put
            // back: there is no going on.
            if found < 0 {
                eprintln!(
                    "the kernel refused to list the pages written to a canister's heap: {}",
                    std::io::Error::last_os_error()
                );
                std::process::abort();
            }
            for region in &regions[..found as usize] {
                pages.extend(
                    (region.start as usize..region.end as usize)
                        .step_by(PAGE)
                        .map(|address| address - start),
                );
            }
            from = arg.walk_end;
        }
    }

    /// Lays out a heap as wasmtime does (a module's initial image mapped
    /// privately from a memfd, then anonymous pages), tracks it in two
    /// steps as a heap that grew, writes a page of each kind and expects to
    /// be told exactly those, twice: the kernel has every feature used.
    fn works(&self) -> bool {
        const LEN: usize = 4 * PAGE;
        // SAFETY: a fresh mapping, replaced in part below and unmapped at
        // the end.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                LEN,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return false;
        }
        let base = base as usize;
        // SAFETY: a memfd mapped privately over the first two pages of the
        // mapping above, then closed (the mapping keeps it).
        let image = unsafe {
            let fd = libc::memfd_create(c"heap image".as_ptr(), libc::MFD_CLOEXEC);
            let mapped = fd >= 0
                && libc::ftruncate(fd, (2 * PAGE) as libc::off_t) == 0
                && libc::mmap(
                    base as *mut libc::c_void,
                    2 * PAGE,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_FIXED,
                    fd,
                    0,
                ) != libc::MAP_FAILED;
            if fd >= 0 {
                libc::close(fd);
            }
            mapped
        };
        let mut works = image && self.track(base, 3 * PAGE) && self.track(base + 3 * PAGE, PAGE);
        if works {
            let mut written = Vec::new();
            let write = |offset: usize, byte: u8| {
                // SAFETY: inside the mapping.
                unsafe { *((base + offset) as *mut u8) = byte };
            };
            write(PAGE, 1);
            write(3 * PAGE, 1);
            self.take_written(base, LEN, &mut written);
            write(PAGE, 2);
            write(3 * PAGE, 2);
            self.take_written(base, LEN, &mut written);
            self.take_written(base, LEN, &mut written);
            works = written == [PAGE, 3 * PAGE, PAGE, 3 * PAGE];
        }
        // SAFETY: the mappings made above, no longer used.
        unsafe { libc::munmap(base as *mut libc::c_void, LEN) };
        works
    }
}

/// The journal of one heap.
#[derive(Default)]
pub struct Journal {
    /// Start of the heap; 0 before the first execution.
    base: usize,
    /// The heap as of the last commit, from `base`: the part tracked.
    committed: Vec<u8>,
    /// The pages (offsets, sorted) the running execution changed, once
    /// scanned and compared.
    changed: Option<Vec<usize>>,
}

impl Journal {
    /// Starts tracking a heap `[base, base + len)` not seen before, or the
    /// pages it grew by since the last execution.
    pub fn begin(&mut self, base: *mut u8, len: usize) {
        let base = base as usize;
        // What an earlier execution changed was kept or put back already.
        self.changed = None;
        if self.base != base {
            self.base = base;
            self.committed = Vec::new();
        }
        let tracked = self.committed.len();
        if len > tracked {
            let kernel = kernel().expect("chosen because available");
            if !kernel.track(base + tracked, len - tracked) {
                eprintln!(
                    "the kernel refused to track writes to a canister's heap; \
                     IC_RUNTIME_HEAP_JOURNAL=protect journals it by protecting pages"
                );
                std::process::abort();
            }
            // SAFETY: the heap is readable, and no execution runs.
            let grown =
                unsafe { std::slice::from_raw_parts((base + tracked) as *const u8, len - tracked) };
            self.committed.extend_from_slice(grown);
        }
    }

    /// The pages the running execution changed, compared with their copies
    /// from its beginning.
    fn take_changed(&mut self) -> Vec<usize> {
        if let Some(changed) = self.changed.take() {
            return changed;
        }
        if self.base == 0 {
            return Vec::new();
        }
        let mut written = Vec::new();
        let kernel = kernel().expect("chosen because available");
        kernel.take_written(self.base, self.committed.len(), &mut written);
        let heap = self.heap();
        written
            .retain(|&offset| heap[offset..offset + PAGE] != self.committed[offset..offset + PAGE]);
        written
    }

    fn heap(&self) -> &[u8] {
        // SAFETY: the tracked part of a live heap, read while no execution
        // runs; nothing writes to it until the slice is dropped.
        unsafe { std::slice::from_raw_parts(self.base as *const u8, self.committed.len()) }
    }

    /// The `os_page`-sized pages the running execution changed.
    pub fn changed_pages(&mut self, os_page: usize) -> u64 {
        debug_assert_eq!(os_page, PAGE);
        let changed = self.take_changed();
        let count = changed.len() as u64;
        self.changed = Some(changed);
        count
    }

    /// Keeps what the execution wrote; with a scratch span open, records
    /// in it each page's copy from before the span.
    pub fn commit(&mut self, mut scratch: Option<&mut Scratch>) {
        for offset in self.take_changed() {
            let page = offset..offset + PAGE;
            if let Some(scratch) = scratch.as_deref_mut() {
                scratch
                    .entry(offset)
                    .or_insert_with(|| self.committed[page.clone()].into());
            }
            // SAFETY: as `heap`, for one page that does not overlap `committed`.
            let now =
                unsafe { std::slice::from_raw_parts((self.base + offset) as *const u8, PAGE) };
            self.committed[page].copy_from_slice(now);
        }
    }

    /// Puts back the pages the execution changed.
    pub fn rollback(&mut self) {
        for offset in self.take_changed() {
            // SAFETY: the page lies inside the heap, which is writable (the
            // kernel records this write, and the next scan finds the page
            // as committed); no reference to the heap is alive.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    self.committed[offset..].as_ptr(),
                    (self.base + offset) as *mut u8,
                    PAGE,
                )
            };
        }
    }

    /// Puts back the pages of `scratch` into the heap `[base, base + len)`
    /// and its committed copy; pages past `len` are left alone.
    pub fn end_scratch(&mut self, base: *mut u8, len: usize, scratch: &Scratch) {
        let tracked = self.base == base as usize;
        for (&offset, page) in scratch.iter().filter(|(o, p)| **o + p.len() <= len) {
            // SAFETY: the page lies inside the heap, which is writable; no
            // reference to the heap is alive.
            unsafe { std::ptr::copy_nonoverlapping(page.as_ptr(), base.add(offset), page.len()) };
            if tracked && offset + page.len() <= self.committed.len() {
                self.committed[offset..offset + page.len()].copy_from_slice(page);
            }
        }
    }
}
