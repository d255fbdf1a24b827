//! Threads that wait for their connection's next request, and the sweep
//! that ends the wait when the client pauses.
//!
//! A thread serving a connection of a blocking poller waits for that
//! connection's next request itself (`reactor.rs`). A bounded `poll(2)`
//! would arm a kernel timer on every wait, which cost about 2 µs per request
//! here (a fifth of the CPU of a request to a sleeping handler); instead the
//! thread polls its socket and an eventfd of its own without a timeout, and
//! the supervisor, which ticks anyway, writes to the eventfd of a thread
//! it has seen waiting for [`LINGER_MS`] or more.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rustix::event::{eventfd, EventfdFlags};

/// How long (ms, within a supervisor tick) a thread waits for its
/// connection's next request before it parks the connection in its poller:
/// long enough for a client that sends its next request as soon as it has
/// the answer, short enough that a connection going idle soon holds no
/// thread.
pub(crate) const LINGER_MS: u64 = 10;

/// One thread's wait.
pub(crate) struct Waiter {
    wake: OwnedFd,
    /// Odd while the thread waits; one more at each beginning and end.
    waits: AtomicU64,
    /// The supervisor's own notes: the wait it last saw, and when (ms).
    seen: AtomicU64,
    seen_at: AtomicU64,
}

impl Waiter {
    /// What the thread polls beside its socket.
    pub(crate) fn fd(&self) -> impl AsFd + '_ {
        self.wake.as_fd()
    }

    /// The thread begins a wait.
    pub(crate) fn begin(&self) {
        self.waits.fetch_add(1, Ordering::SeqCst);
    }

    /// The thread's wait is over; `woken`: by the eventfd, whose count is
    /// then cleared. (A wake-up written after the socket was ready stays
    /// and ends the next wait at once: that connection is parked early.)
    pub(crate) fn end(&self, woken: bool) {
        self.waits.fetch_add(1, Ordering::SeqCst);
        if woken {
            let mut count = [0u8; 8];
            let _ = rustix::io::read(&self.wake, &mut count);
        }
    }

    fn wake(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }
}

/// The waiters of a server's threads.
#[derive(Default)]
pub(crate) struct Waiters {
    all: Mutex<Vec<Arc<Waiter>>>,
}

impl Waiters {
    /// A waiter for the calling thread, until [`leave`](Self::leave); `None`
    /// if no eventfd can be had (out of descriptors: the thread then does
    /// not wait).
    pub(crate) fn join(&self) -> Option<Arc<Waiter>> {
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK).ok()?;
        let zero = || AtomicU64::new(0);
        let waiter = Arc::new(Waiter { wake, waits: zero(), seen: zero(), seen_at: zero() });
        self.lock().push(waiter.clone());
        Some(waiter)
    }

    /// Forgets a thread's waiter (the thread exits; its eventfd closes).
    pub(crate) fn leave(&self, waiter: &Arc<Waiter>) {
        self.lock().retain(|w| !Arc::ptr_eq(w, waiter));
    }

    /// Ends every wait that has lasted [`LINGER_MS`] or more: called by the
    /// supervisor only, with its clock (ms). A wait is timed from the first
    /// sweep that sees it, so it lasts up to a tick longer.
    pub(crate) fn sweep(&self, now_ms: u64) {
        for waiter in self.lock().iter() {
            let waits = waiter.waits.load(Ordering::SeqCst);
            if waits % 2 == 0 {
                continue;
            }
            if waiter.seen.load(Ordering::Relaxed) != waits {
                waiter.seen.store(waits, Ordering::Relaxed);
                waiter.seen_at.store(now_ms, Ordering::Relaxed);
            } else if now_ms >= waiter.seen_at.load(Ordering::Relaxed) + LINGER_MS {
                waiter.wake();
            }
        }
    }

    /// Ends every wait now (shutdown).
    pub(crate) fn wake_all(&self) {
        for waiter in self.lock().iter() {
            waiter.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Waiter>>> {
        self.all.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::event::{PollFd, PollFlags};

    fn woken(waiter: &Waiter) -> bool {
        let mut fds = [PollFd::new(&waiter.wake, PollFlags::IN)];
        rustix::event::poll(&mut fds, Some(&rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 })).unwrap() == 1
    }

    #[test]
    fn the_sweep_ends_only_waits_that_lasted() {
        let waiters = Waiters::default();
        let (old, new, idle) = (waiters.join().unwrap(), waiters.join().unwrap(), waiters.join().unwrap());
        old.begin();
        waiters.sweep(100);
        new.begin();
        waiters.sweep(100 + LINGER_MS - 1);
        assert!(!woken(&old), "seen waiting for less than LINGER_MS");
        waiters.sweep(100 + LINGER_MS);
        assert!(woken(&old));
        assert!(!woken(&new), "seen waiting for less than LINGER_MS");
        assert!(!woken(&idle), "not waiting");
        old.end(true);
        assert!(!woken(&old), "end() clears the wake-up");
        // A new wait of the same thread is timed afresh.
        old.begin();
        waiters.sweep(100 + 2 * LINGER_MS - 1);
        assert!(!woken(&old));
        waiters.leave(&old);
        waiters.wake_all();
        assert!(woken(&new) && woken(&idle));
        assert!(!woken(&old), "a waiter that left is not woken");
    }
}
