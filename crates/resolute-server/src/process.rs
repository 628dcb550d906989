//! The process's own resource figures (Linux `/proc/self`), for metrics: zero where unavailable.

/// Resident memory in bytes and open file descriptors.
pub fn figures() -> (u64, u64) {
    (resident_bytes().unwrap_or(0), open_fds().unwrap_or(0))
}

fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<u64> {
    // Bounded by the fd limit itself; counting entries opens one more fd, which is not counted.
    let count = std::fs::read_dir("/proc/self/fd").ok()?.count();
    u64::try_from(count.saturating_sub(1)).ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_live_process_has_memory_and_descriptors() {
        let (rss, fds) = super::figures();
        assert!(rss > 1024 * 1024, "rss {rss}");
        assert!(fds >= 3, "fds {fds}");
    }
}
