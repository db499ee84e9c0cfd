//! The Read Tag round (decode the request, answer it, encode the reply) and the 50-operation
//! Multiple Service Packet round allocate nothing: a counting global allocator sees no
//! allocation on this thread while they run.
//!
//! This test binary needs `unsafe` for one thing only: implementing `GlobalAlloc`, which
//! forwards to the system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use cpppo_bench::{msp_read_request, unhex, Scada, READ_TAG_FRAME};

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

// SAFETY: forwards every call unchanged to the system allocator; the counter is a
// const-initialised thread-local `Cell` without a destructor, so touching it never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 64]))) >= 1);
}

#[test]
fn read_tag_round_allocates_nothing() {
    let tags = Scada::default();
    let frame = unhex(READ_TAG_FRAME);
    let (mut scratch, mut out) = ([0u8; 512], [0u8; 512]);
    let mut n = 0;
    let count = allocations_during(|| {
        for _ in 0..100 {
            n = tags
                .frame_round(&frame, &mut scratch, &mut out)
                .unwrap_or(0);
        }
    });
    assert_eq!(n, 48, "the reply frame");
    assert_eq!(count, 0, "allocations in 100 Read Tag rounds");
}

#[test]
fn msp_round_allocates_nothing() {
    let tags = Scada::default();
    let req = msp_read_request(50).expect("request");
    let mut out = vec![0u8; 4096];
    let mut n = 0;
    let count = allocations_during(|| n = tags.round(&req, &mut out).unwrap_or(0));
    assert!(n > 50 * 8, "reply of {n} bytes");
    assert_eq!(
        count, 0,
        "allocations in a 50-read Multiple Service Packet round"
    );
}
