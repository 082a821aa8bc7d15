//! A counting global allocator with a cap, for the worker process: it tracks live bytes and the
//! peak of each input, and refuses (returns null for) one request above `max_one` bytes or one
//! that would take live memory above `max_total`. A refusal first prints
//! `lodestar-fuzz: allocation of N bytes refused` and a backtrace to stderr, so the supervisor can
//! tell where it came from; the standard library then aborts the worker ("memory allocation of N
//! bytes failed"). This is how "an allocation sized by an untrusted header" shows up.
//!
//! The binary installs it with `#[global_allocator]`; without [`set_caps`] nothing is refused.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct CappedAlloc;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static MAX_ONE: AtomicUsize = AtomicUsize::new(usize::MAX);
static MAX_TOTAL: AtomicUsize = AtomicUsize::new(usize::MAX);

thread_local! {
    static REPORTING: Cell<bool> = const { Cell::new(false) };
}

/// Sets the caps (bytes).
pub fn set_caps(max_one: usize, max_total: usize) {
    MAX_ONE.store(max_one, Ordering::SeqCst);
    MAX_TOTAL.store(max_total, Ordering::SeqCst);
}

/// Live bytes now.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// Starts a new peak measurement; returns the live bytes now.
pub fn reset_peak() -> usize {
    let now = LIVE.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// Highest live bytes since [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Whether a request for a block of `size` bytes that grows live memory by `growth` is refused.
fn refuse(size: usize, growth: usize) -> bool {
    if REPORTING.with(|r| r.get()) {
        return false; // the report's own allocations
    }
    let total = LIVE.load(Ordering::Relaxed).saturating_add(growth);
    if size <= MAX_ONE.load(Ordering::Relaxed) && total <= MAX_TOTAL.load(Ordering::Relaxed) {
        return false;
    }
    REPORTING.with(|r| r.set(true));
    let bt = std::backtrace::Backtrace::force_capture();
    eprintln!(
        "lodestar-fuzz: allocation of {size} bytes refused (live {} bytes; caps: {} per allocation, {} in all)\n{bt}",
        LIVE.load(Ordering::Relaxed),
        MAX_ONE.load(Ordering::Relaxed),
        MAX_TOTAL.load(Ordering::Relaxed)
    );
    REPORTING.with(|r| r.set(false));
    true
}

fn grew(size: usize) {
    let now = LIVE.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for CappedAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size(), layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if refuse(layout.size(), layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, which got it from `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > layout.size() && refuse(new_size, new_size - layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: the caller upholds `realloc`'s contract; forwarded unchanged.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}
