//! The reactor's threads, as a pool: who is waiting for work, who is
//! running a request off its poller, and when to start another thread.
//!
//! Work comes in two kinds. *Owner* work (a poller that needs a thread to
//! wait in it) always starts at once. *Running* work (a request that is
//! expected to block, or a stuck owner that gave its poller away) holds a
//! thread of its own, and at most `max_running` such threads exist at once:
//! beyond that, jobs wait in the queue (back-pressure). A thread that
//! finishes a job takes the next one without sleeping; an idle thread waits
//! for work and exits after the idle timeout.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

struct State<T> {
    /// Pollers waiting for an owner: served first, never limited.
    owners: VecDeque<T>,
    /// Requests waiting for a thread of their own.
    jobs: VecDeque<T>,
    /// Threads waiting for work, and threads started but not yet waiting.
    spares: usize,
    starting: usize,
    /// Threads running a job (or a stuck request whose poller went on).
    running: usize,
    /// All threads of the pool.
    count: usize,
    stopping: bool,
}

/// What [`Workers::next`] hands a thread.
pub(crate) enum Task<T> {
    /// Own a poller. The thread is not counted as running.
    Own(T),
    /// Run a job; the thread counts as running until its next `next` call.
    Run(T),
}

pub(crate) struct Workers<T> {
    state: Mutex<State<T>>,
    work_ready: Condvar,
    /// Whether jobs wait for a place: read without the lock, on every
    /// request of a thread that waits for its connection's next one.
    places_wanted: AtomicBool,
    max_running: usize,
    max_threads: usize,
}

impl<T> Workers<T> {
    /// A pool for `owners` pollers and at most `max_running` threads running
    /// requests: `owners + max_running` threads at most.
    pub(crate) fn new(owners: usize, max_running: usize) -> Self {
        let state = State {
            owners: VecDeque::new(),
            jobs: VecDeque::new(),
            spares: 0,
            starting: 0,
            running: 0,
            count: 0,
            stopping: false,
        };
        Workers {
            state: Mutex::new(state),
            work_ready: Condvar::new(),
            places_wanted: AtomicBool::new(false),
            max_running,
            max_threads: owners + max_running,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a poller that needs an owner. Returns `true` when the caller
    /// must start a thread (already counted; see [`spawn_failed`](Self::spawn_failed)).
    pub(crate) fn push_owner(&self, item: T) -> bool {
        self.push(item, |state| &mut state.owners)
    }

    /// Queues a job. Returns `true` when the caller must start a thread.
    pub(crate) fn push_job(&self, item: T) -> bool {
        self.push(item, |state| &mut state.jobs)
    }

    /// Once the pool stops, work is dropped (a connection is closed) rather
    /// than queued for threads that are gone.
    fn push(&self, item: T, queue: impl FnOnce(&mut State<T>) -> &mut VecDeque<T>) -> bool {
        let mut state = self.lock();
        if state.stopping {
            drop(state);
            drop(item);
            return false;
        }
        queue(&mut state).push_back(item);
        self.note_places(&state);
        self.wake_or_start(state)
    }

    /// Counts the calling thread as running (it gives its poller away and
    /// finishes its request), if that stays within `max_running`; then
    /// queues the poller for a new owner, like
    /// [`push_owner`](Self::push_owner). `item` makes the work under the
    /// pool's lock, so that no thread can take it before it is made.
    /// `None` at the limit (nothing is made).
    pub(crate) fn detach(&self, item: impl FnOnce() -> T) -> Option<bool> {
        let mut state = self.lock();
        if state.running >= self.max_running {
            return None;
        }
        state.running += 1;
        state.owners.push_back(item());
        self.note_places(&state);
        Some(self.wake_or_start(state))
    }

    /// Wakes a waiting thread for the work just queued, and says whether
    /// another must be started: only when the waiting and starting ones
    /// are fewer than the work that can start now.
    fn wake_or_start(&self, mut state: MutexGuard<'_, State<T>>) -> bool {
        let startable = state.owners.len() + state.jobs.len().min(self.max_running.saturating_sub(state.running));
        if startable == 0 {
            return false;
        }
        if state.spares > 0 {
            self.work_ready.notify_one();
        }
        if state.spares + state.starting >= startable || state.count >= self.max_threads {
            return false;
        }
        state.count += 1;
        state.starting += 1;
        true
    }

    /// Whether jobs wait because every place for a running thread is
    /// taken (a running thread that could let go of its place should).
    pub(crate) fn places_wanted(&self) -> bool {
        self.places_wanted.load(Ordering::Relaxed)
    }

    /// Keeps [`places_wanted`](Self::places_wanted) up to date after a
    /// change of the queue or of the running count.
    fn note_places(&self, state: &State<T>) {
        let wanted = !state.jobs.is_empty() && state.running >= self.max_running;
        if self.places_wanted.load(Ordering::Relaxed) != wanted {
            self.places_wanted.store(wanted, Ordering::Relaxed);
        }
    }

    /// A thread the caller was told to start could not be started.
    pub(crate) fn spawn_failed(&self) {
        let mut state = self.lock();
        state.count -= 1;
        state.starting -= 1;
    }

    /// A new thread's first call: it is no longer starting.
    pub(crate) fn started(&self) {
        self.lock().starting -= 1;
    }

    /// The calling thread's next task. `was_running`: it ran a job (or a
    /// stuck request) since its last call, which frees its place. Waits up
    /// to `idle` for work; `None` then, or when the pool stops, and the
    /// thread must exit (it is no longer counted).
    pub(crate) fn next(&self, was_running: bool, idle: Duration) -> Option<Task<T>> {
        let mut state = self.lock();
        if was_running {
            state.running -= 1;
            self.note_places(&state);
        }
        let deadline = Instant::now() + idle;
        loop {
            if state.stopping {
                break;
            }
            if let Some(item) = state.owners.pop_front() {
                return Some(Task::Own(item));
            }
            if state.running < self.max_running {
                if let Some(item) = state.jobs.pop_front() {
                    state.running += 1;
                    self.note_places(&state);
                    return Some(Task::Run(item));
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state.spares += 1;
            state = self.work_ready.wait_timeout(state, left).unwrap_or_else(|e| e.into_inner()).0;
            state.spares -= 1;
        }
        state.count -= 1;
        None
    }

    /// Wakes every waiting thread to exit; queued work is dropped.
    pub(crate) fn stop(&self) {
        let (owners, jobs) = {
            let mut state = self.lock();
            state.stopping = true;
            self.work_ready.notify_all();
            (std::mem::take(&mut state.owners), std::mem::take(&mut state.jobs))
        };
        drop((owners, jobs));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_millis(1);

    #[test]
    fn jobs_beyond_max_running_wait_for_a_place() {
        let pool = Workers::new(1, 2);
        assert!(pool.push_job(1));
        assert!(pool.push_job(2));
        assert!(!pool.push_job(3), "a third job cannot start: no third thread");
        for _ in 0..2 {
            pool.started();
        }
        assert!(matches!(pool.next(false, IDLE), Some(Task::Run(1))));
        assert!(matches!(pool.next(false, IDLE), Some(Task::Run(2))));
        // Both places are taken: job 3 waits until one is freed.
        assert!(pool.places_wanted());
        assert!(pool.next(false, IDLE).is_none());
        assert!(matches!(pool.next(true, IDLE), Some(Task::Run(3))));
        assert!(!pool.places_wanted());
    }

    #[test]
    fn owners_start_even_at_the_limit_and_come_first() {
        let pool = Workers::new(1, 1);
        assert!(pool.push_job(1));
        pool.started();
        assert!(matches!(pool.next(false, IDLE), Some(Task::Run(1))));
        assert!(pool.detach(|| 7).is_none(), "no place for a stuck request");
        assert!(pool.push_owner(9), "a poller always gets a thread");
        pool.started();
        assert!(!pool.push_job(2));
        assert!(matches!(pool.next(true, IDLE), Some(Task::Own(9))));
        assert!(matches!(pool.next(false, IDLE), Some(Task::Run(2))));
    }

    #[test]
    fn a_waiting_thread_is_woken_instead_of_starting_one() {
        let pool = std::sync::Arc::new(Workers::new(1, 4));
        assert!(pool.push_owner(0));
        pool.started();
        assert!(matches!(pool.next(false, IDLE), Some(Task::Own(0))));
        let waiter = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.next(false, Duration::from_secs(10)).map(|t| matches!(t, Task::Run(5))))
        };
        while pool.lock().spares == 0 {
            std::thread::yield_now();
        }
        assert!(!pool.push_job(5), "the spare takes it");
        assert_eq!(waiter.join().unwrap(), Some(true));
    }

    #[test]
    fn work_pushed_after_stop_is_dropped_not_kept() {
        let pool = Workers::new(1, 1);
        let conn = std::sync::Arc::new(());
        pool.stop();
        assert!(!pool.push_job(conn.clone()));
        assert!(!pool.push_owner(conn.clone()));
        assert_eq!(std::sync::Arc::strong_count(&conn), 1, "a stopped pool holds no connection");
    }
}
