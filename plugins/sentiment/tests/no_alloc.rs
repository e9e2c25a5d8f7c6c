//! The scorer allocates nothing once warm: a counting global allocator watches a second
//! pass over tweets the scorer has seen (its buffers have grown to fit them by then).

// A global allocator is an `unsafe impl` by definition; this test binary is the only
// place that needs one, and it only counts before delegating to the system allocator.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use sentiment::score::Scorer;

mod corpus;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn warm_scorer_does_not_allocate() {
    let tweets = corpus::mixed(5, 2000);
    let mut scorer = Scorer::new();
    let mut sum = 0.0;
    for t in &tweets {
        sum += scorer.compound(t);
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for t in &tweets {
        sum += scorer.compound(t);
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    assert!(before > 0, "the counter sees the corpus being built");
    assert!(sum.is_finite());
    assert_eq!(allocations, 0, "allocations while scoring 2,000 tweets");
}
