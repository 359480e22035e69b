//! Giving freed heap pages back to the kernel.

/// Return the pages of what was just freed (a parsed configuration, its
/// text) to the kernel. glibc's malloc keeps freed pages in its heap
/// otherwise, and a child forked afterwards would have them in its RSS:
/// megabytes at 1,000 real servers (README "Benchmarks"). musl's malloc
/// unmaps what it frees in whole groups by itself, so this is glibc only.
pub fn release_free() {
    #[cfg(target_env = "gnu")]
    // SAFETY: no arguments that point anywhere; only free pages are released.
    unsafe {
        libc::malloc_trim(0);
    }
}
