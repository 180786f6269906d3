//! Transparent huge pages off for the gateway's process.
//!
//! mimalloc asks the kernel for transparent huge pages on its arenas
//! (`madvise(MADV_HUGEPAGE)`), and where the host's THP mode is `madvise` (Debian's and
//! Ubuntu's default) or `always`, the kernel then backs the heap with 2 MiB pages: resident
//! memory grows in 2 MiB steps, and a huge page stays whole while any byte of it is in
//! use. The gateway's memory is many small long-lived objects (a watch stream is about
//! 5 KiB spread over h2, hyper, tonic and the gateway), so huge pages doubled its idle
//! resident memory (50 MiB against 24 MiB) and made the cost of a watcher depend on how
//! many huge pages a burst of stream openings happened to touch: 8 to 12 KiB per watcher
//! at 2,000 watchers with tonic clients, about 6 with them off (`cargo bench --bench
//! watchers`, docs/BENCHMARKS.md). The switch is per process (`PR_SET_THP_DISABLE`), so
//! the host's setting for other programs is left alone; mimalloc is also built with
//! `no_thp` (Cargo.toml), so the memory it maps before `main` is not advised either.

/// Turns transparent huge pages off for this process; returns whether they are off now.
/// Best effort: where the kernel has no per-process switch (not Linux, or Linux before
/// 3.15) the host's setting stays in force, which costs memory, not correctness.
pub fn disable() -> bool {
    #[cfg(target_os = "linux")]
    {
        rustix::thread::disable_transparent_huge_pages(true).is_ok()
            && rustix::thread::transparent_huge_pages_are_disabled().unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn disable_turns_transparent_huge_pages_off_for_the_process() {
        assert!(super::disable());
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }
}
