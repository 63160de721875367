//! The allocator's settings: how many malloc arenas the server uses, and handing back the
//! free memory a cache warm-up leaves behind.
//!
//! glibc gives threads arenas of their own, up to 8 per core. The server's threads (tokio's
//! workers, the SQLite connection threads, the password hashers) allocate in one arena and
//! free in another, and memory freed into an arena other than the main one is rarely given
//! back. With a million sessions cached, that was 644 MiB of RSS with the default and
//! 474 MiB with two arenas, for the same entries (BENCHMARKS.md).

/// Arenas when `MALLOC_ARENA_MAX` does not say: each thread keeps a small cache of its own
/// (tcache), so two arenas are enough on the hot path.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const ARENAS: libc::c_int = 2;

/// Caps the arenas unless `MALLOC_ARENA_MAX` is set. Call before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; no thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}

/// Gives the pages of free heap memory back to the system. A warm-up leaves tens of
/// megabytes free between the entries it kept (rows decoded and dropped, page by page, on
/// whichever thread ran): with a million sessions, RSS after it measured 359 to 542 MiB
/// from start to start, and 354 to 358 MiB once trimmed. Called after the warm-up and after
/// each sweep (once a minute by default): it holds each arena's lock while it walks it,
/// 0.4 to 2.2 ms with a million entries cached.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let started = std::time::Instant::now();
        // SAFETY: malloc_trim only releases free memory; it is safe from any thread.
        let released = unsafe { libc::malloc_trim(0) } != 0;
        tracing::debug!(
            released,
            elapsed_us = started.elapsed().as_micros() as u64,
            "free heap memory handed back"
        );
    }
}
