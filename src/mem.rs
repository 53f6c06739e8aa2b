//! The process's memory: what it holds, for the logs (Linux `/proc/self/status`; 0 elsewhere),
//! and large lookup tables placed for huge pages ([`HugeTable`]).

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

/// Asks the CPU to start loading the cache line of `x`, which will be read soon (a weight row
/// of a table too large for the core's own caches): loads asked for ahead overlap instead of
/// waiting one after another.
#[inline(always)]
pub fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is a hint with no effect on memory; the pointer comes from a live
    // reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(x as *const T as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Huge-page size the large lookup tables are aligned to (x86-64 and aarch64 with 4 KB pages).
const HUGE_PAGE: usize = 2 << 20;

/// A fixed-size table read at random (a model's weight rows), placed so that the kernel can
/// back it with 2 MB pages. With 4 KB pages nearly every lookup in a table of tens of MB also
/// misses the TLB; with 2 MB pages the whole table fits in the TLB's entries. On Linux the
/// table is 2 MB-aligned and `madvise(MADV_HUGEPAGE)`d before its pages are first written
/// (transparent huge pages are often enabled only for regions that ask); elsewhere, or when
/// the kernel declines, it is an ordinary allocation with the same contents.
pub struct HugeTable<T> {
    buf: Vec<T>,
    /// Elements of `buf` before the aligned start.
    off: usize,
}

impl<T: Copy> HugeTable<T> {
    /// `n` copies of `fill`.
    pub fn new(n: usize, fill: T) -> HugeTable<T> {
        let size = std::mem::size_of::<T>();
        let bytes = n.saturating_mul(size);
        // Small tables, and elements whose size does not divide a huge page, gain nothing.
        if bytes < HUGE_PAGE || size == 0 || !HUGE_PAGE.is_multiple_of(size) {
            return HugeTable { buf: vec![fill; n], off: 0 };
        }
        let slack = HUGE_PAGE / size;
        let mut buf: Vec<T> = Vec::with_capacity(n + slack);
        let addr = buf.as_ptr() as usize;
        let gap = addr.next_multiple_of(HUGE_PAGE) - addr;
        // The allocation is aligned to `T`, so the gap is a whole number of elements unless
        // `T`'s alignment is smaller than its size (then the table stays where it is).
        let aligned = gap.is_multiple_of(size);
        let off = if aligned { gap / size } else { 0 };
        #[cfg(target_os = "linux")]
        if aligned {
            // SAFETY: the range lies inside `buf`'s allocation (`off + n <= n + slack`
            // elements); the advice only changes how the kernel backs those pages, not their
            // contents, and nothing has been written to them yet.
            unsafe {
                let start = buf.as_mut_ptr().add(off) as *mut std::ffi::c_void;
                let _ = rustix::mm::madvise(start, bytes.next_multiple_of(HUGE_PAGE).min((n + slack - off) * size), rustix::mm::Advice::LinuxHugepage);
            }
        }
        buf.resize(off + n, fill);
        HugeTable { buf, off }
    }

    /// A copy of `x`.
    pub fn from_slice(x: &[T]) -> HugeTable<T>
    where
        T: Default,
    {
        let mut t = HugeTable::new(x.len(), T::default());
        t.copy_from_slice(x);
        t
    }
}

impl<T> std::ops::Deref for HugeTable<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.buf[self.off..]
    }
}

impl<T> std::ops::DerefMut for HugeTable<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.buf[self.off..]
    }
}

impl<T: Copy + Default> Clone for HugeTable<T> {
    fn clone(&self) -> Self {
        HugeTable::from_slice(self)
    }
}

impl<T: Copy + Default> Default for HugeTable<T> {
    fn default() -> Self {
        HugeTable { buf: Vec::new(), off: 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_is_at_least_current() {
        let (now, peak) = (rss_mb(), peak_rss_mb());
        assert!(peak >= now || peak == 0, "{peak} < {now}");
    }

    #[derive(Clone, Copy, Default, PartialEq, Debug)]
    #[repr(C, align(64))]
    struct Row([u8; 32]);

    #[test]
    fn huge_tables_hold_what_was_asked_and_start_aligned() {
        for n in [0usize, 1, 1000, (HUGE_PAGE / 64) * 3 + 5] {
            let mut t = HugeTable::new(n, Row([7; 32]));
            assert_eq!(t.len(), n);
            assert!(t.iter().all(|r| r == &Row([7; 32])));
            if n * 64 >= HUGE_PAGE {
                assert_eq!(t.as_ptr() as usize % HUGE_PAGE, 0);
            }
            if n > 0 {
                t[n - 1] = Row([1; 32]);
                let c = t.clone();
                assert_eq!(c.len(), n);
                assert_eq!(c[n - 1], Row([1; 32]));
                if n > 1 {
                    assert_eq!(c[0], Row([7; 32]));
                }
            }
        }
    }
}
