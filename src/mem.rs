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

#[cfg(test)]
mod tests {
    #[test]
    fn peak_is_at_least_current() {
        let (now, peak) = (super::rss_mb(), super::peak_rss_mb());
        assert!(peak >= now || peak == 0, "{peak} < {now}");
    }
}
