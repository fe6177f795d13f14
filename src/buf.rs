//! Large output columns.
//!
//! A column of a million rows is 8 MB of fresh memory, and the kernel maps it in 4 kB pages,
//! one fault each, on first write: for the metrics' step table (72 MB) that was a fifth of
//! the time. Columns of 4 MB or more are therefore advised to use transparent huge pages on
//! Linux (as numpy does for its arrays), which maps them 2 MB at a time. Nothing changes
//! elsewhere, or when the kernel declines.

/// Columns at least this large (bytes) are advised to use huge pages.
const HUGE_PAGE_MIN_BYTES: usize = 4 << 20;

/// `n` zeros (`T::default()` must be all-zero bits for the allocation to stay lazy, as for
/// the numbers), in memory not yet touched where the allocator allows.
pub(crate) fn zeroed<T: Clone + Default>(n: usize) -> Vec<T> {
    let v = vec![T::default(); n];
    advise_huge_pages(&v);
    v
}

#[cfg(target_os = "linux")]
fn advise_huge_pages<T>(v: &[T]) {
    const HUGE: usize = 2 << 20;
    let bytes = std::mem::size_of_val(v);
    if bytes < HUGE_PAGE_MIN_BYTES {
        return;
    }
    // The whole 2 MB pages inside the buffer.
    let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
    let end = (v.as_ptr() as usize + bytes) / HUGE * HUGE;
    if end > start {
        // SAFETY: the range lies inside `v`'s allocation, and MADV_HUGEPAGE only changes how
        // the kernel backs those pages, never their contents; a failure is ignored.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages<T>(_: &[T]) {
    let _ = HUGE_PAGE_MIN_BYTES;
}

#[cfg(test)]
mod tests {
    #[test]
    fn zeroed_columns_are_zero_whatever_their_size() {
        for n in [0, 1, 1000, 3 << 20] {
            let v: Vec<f64> = super::zeroed(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|&x| x == 0.0));
            let u: Vec<u32> = super::zeroed(n);
            assert!(u.iter().all(|&x| x == 0));
        }
    }
}
