//! The process's resident memory, for the logs (Linux `/proc/self/status`; 0 elsewhere).

/// One `/proc/self/status` field in MB.
fn status_mb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map_or(0, |kb| kb / 1024)
}

/// Peak resident memory so far, in MB.
pub fn peak_rss_mb() -> u64 {
    status_mb("VmHWM:")
}

/// Resident memory now, in MB (what a step holds once earlier steps have freed theirs).
pub fn rss_mb() -> u64 {
    status_mb("VmRSS:")
}

/// Bytes the allocator has handed out and not yet had back, in MB (glibc's `mallinfo2`; 0
/// elsewhere). Beside [`rss_mb`] it tells live data from freed pages the process still holds.
pub fn heap_mb() -> u64 {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        #[repr(C)]
        struct MallInfo2 {
            arena: usize,
            ordblks: usize,
            smblks: usize,
            hblks: usize,
            hblkhd: usize,
            usmblks: usize,
            fsmblks: usize,
            uordblks: usize,
            fordblks: usize,
            keepcost: usize,
        }
        extern "C" {
            fn mallinfo2() -> MallInfo2;
        }
        // SAFETY: mallinfo2 takes no arguments and returns a plain struct of counters.
        let m = unsafe { mallinfo2() };
        ((m.uordblks + m.hblkhd) / (1024 * 1024)) as u64
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        0
    }
}

/// Hands memory the allocator holds but no longer uses back to the operating system.
///
/// A whole-run step frees what an earlier step built (batches of texts, signatures, term
/// lists), but glibc's allocator keeps freed pages in its arenas, scattered between live
/// allocations, so the resident size stays at the earlier step's peak and the next step's
/// allocations add to it. Called between steps, this keeps the process's footprint near
/// what is live. Does nothing on other platforms.
pub fn release_free() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: malloc_trim only returns unused pages of glibc's own arenas to the kernel;
        // it takes no pointers and is safe to call at any time, from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn peak_is_at_least_current() {
        let (now, peak) = (super::rss_mb(), super::peak_rss_mb());
        assert!(peak >= now || peak == 0, "{peak} < {now}");
    }
}
