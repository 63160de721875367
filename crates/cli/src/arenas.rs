//! How many malloc arenas the server may use.
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
pub fn limit() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets an allocator parameter; no thread runs yet.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, ARENAS);
        }
    }
}
