//! Work that feeds the pool from a thread of its own: reading (decompressing, decoding) the
//! next items while the pool computes on the last ones, so that neither waits for the other.

/// Sends what `items` yields from a thread of `scope`, at most `bound` items ahead of the
/// receiver. The thread ends when `items` does, or when the receiver is dropped (its reader
/// stopped, on an error), and gives `items` back.
pub(crate) fn ahead<'scope, I>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    bound: usize,
    mut items: I,
) -> (std::sync::mpsc::Receiver<I::Item>, std::thread::ScopedJoinHandle<'scope, I>)
where
    I: Iterator + Send + 'scope,
    I::Item: Send + 'scope,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(bound);
    let thread = scope.spawn(move || {
        for x in items.by_ref() {
            if tx.send(x).is_err() {
                break;
            }
        }
        items
    });
    (rx, thread)
}

/// Whether reading on a thread of its own can gain anything: only when the pool has a second
/// thread to compute meanwhile (a one-thread run reads in line, as it asked).
pub(crate) fn worth_a_thread() -> bool {
    rayon::current_num_threads() >= 2
}
