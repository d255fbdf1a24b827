//! Knowing when a request blocks its thread, so that the reactor
//! (`reactor.rs`) can keep it from holding up the other connections of its
//! poller. A poller's owner runs requests inline while they are quick; a
//! request that waits must give the poller to another thread first.
//!
//! Three things tell that a request waits:
//! - the runtime's own waits (reading a body the client has not sent yet,
//!   writing to a client that does not read, a lingering close) and the
//!   handler's [`will_block`] call go through [`before_wait`], which runs
//!   the hook the reactor installed on the thread: it hands the poller over
//!   at once, before the wait begins;
//! - waits the runtime cannot see (`thread::sleep`, a database driver, a
//!   lock) are measured: a request that gave up the CPU of its own accord
//!   (a voluntary context switch) and spent [`BLOCKED`] or more of its time
//!   off the CPU marks its poller, and for [`HOLD_MS`] after that the poller
//!   hands itself over *before* every request ([`Estimate`]). A request
//!   that was only preempted (other threads wanted the core) did not
//!   block: handing the poller over would not have freed the core;
//! - a request that blocks before anything predicted it is found by the
//!   reactor's supervisor, which sees the poller's owner inside one request
//!   for a millisecond and hands the poller over (and marks it).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};
use rustix::time::{clock_gettime, ClockId};

/// A request that spent this long off the CPU, in waits the runtime did
/// not see, blocked. Below it, running requests inline is cheaper than the
/// thread wake-up a hand-over costs (a few microseconds).
pub(crate) const BLOCKED: Duration = Duration::from_micros(50);

/// How long (ms) a poller goes on handing itself over before each request
/// after one of its requests blocked. Long enough to cover the gaps of a
/// steady load of blocking requests; short enough that a server whose
/// handlers stopped blocking is back on the inline path within a second.
pub(crate) const HOLD_MS: u64 = 1000;

thread_local! {
    /// What to do before this thread waits: set by the reactor while the
    /// thread owns a poller.
    static HOOK: RefCell<Option<Rc<dyn Fn()>>> = const { RefCell::new(None) };
    /// Whether the thread waited (through [`before_wait`]) since the
    /// measurement of the current request began.
    static WAITED: Cell<bool> = const { Cell::new(false) };
    /// Turns this thread measured while its poller was blocking (one in
    /// [`SAMPLE_EVERY`] reads the clocks).
    static TURNS: Cell<u64> = const { Cell::new(0) };
}

/// Installs (or with `None` removes) this thread's hook for [`before_wait`].
pub(crate) fn set_hook(hook: Option<Rc<dyn Fn()>>) {
    HOOK.with(|h| *h.borrow_mut() = hook);
}

/// Called before the runtime waits for a socket (and by [`will_block`]).
pub(crate) fn before_wait() {
    WAITED.set(true);
    HOOK.with(|h| {
        if let Some(hook) = &*h.borrow() {
            hook();
        }
    });
}

/// Tells the server that the calling handler is about to block (a database
/// query, a call to another service, a long computation), so that the
/// other connections its thread serves are handed to another thread now
/// rather than when the server notices. Optional: the server finds blocking
/// handlers by itself (README, "How it works"); this only saves the first
/// blocked request of a burst its wait. Outside a server thread it does
/// nothing.
///
/// ```
/// use basehttp::{http_handler, Request};
///
/// #[derive(Default)]
/// struct Report;
///
/// #[http_handler]
/// impl Report {
///     fn do_GET(&mut self, req: &mut Request) -> std::io::Result<()> {
///         basehttp::will_block();
///         std::thread::sleep(std::time::Duration::from_millis(5)); // the slow query
///         req.send_response(204)?;
///         req.end_headers()
///     }
/// }
/// let out = basehttp::serve_bytes(&mut Report, b"GET / HTTP/1.0\r\n\r\n");
/// assert!(out.starts_with(b"HTTP/1.0 204 No Content\r\n"));
/// ```
pub fn will_block() {
    before_wait();
}

/// Measure one turn in this many on a thread while a poller is blocking: the
/// clocks cost about a microsecond per turn, and a mark lasts a second.
const SAMPLE_EVERY: u64 = 16;

/// What the kernel says of the calling thread: its CPU time, and how often
/// it gave up the CPU by waiting (voluntary context switches) and by being
/// preempted (involuntary ones).
#[derive(Clone, Copy)]
struct Times {
    cpu: Duration,
    waits: i64,
    preemptions: i64,
}

fn thread_times() -> Times {
    let t = clock_gettime(ClockId::ThreadCPUTime);
    let cpu = Duration::new(t.tv_sec as u64, t.tv_nsec as u32);
    // The CPU time in the usage record is only as fine as the scheduler
    // tick; the switch counts are exact.
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(usage) => {
            Times { cpu, waits: usage.voluntary_context_switches(), preemptions: usage.involuntary_context_switches() }
        }
        Err(_) => Times { cpu, waits: 1, preemptions: 0 },
    }
}

/// What a poller has learnt of its recent requests. Times are the
/// reactor's coarse milliseconds plus one (0: never).
#[derive(Default)]
pub(crate) struct Estimate {
    /// When a request last blocked.
    blocked_at: AtomicU64,
    /// When a request last took [`BLOCKED`] or more of wall time: while
    /// that is recent, requests also read the thread's clocks (system
    /// calls), to tell waiting from computing.
    slow_at: AtomicU64,
}

/// One turn's measurement, from [`Estimate::start`].
pub(crate) struct Measure {
    wall: Instant,
    times: Option<Times>,
}

fn recent(at: &AtomicU64, now_ms: u64) -> bool {
    let at = at.load(Ordering::Relaxed);
    at != 0 && now_ms < at - 1 + HOLD_MS
}

impl Estimate {
    /// Whether requests are expected to block now: one did recently.
    pub(crate) fn blocking(&self, now_ms: u64) -> bool {
        recent(&self.blocked_at, now_ms)
    }

    /// Records that a request blocked.
    pub(crate) fn mark_blocked(&self, now_ms: u64) {
        self.blocked_at.store(now_ms + 1, Ordering::Relaxed);
    }

    /// Starts measuring a connection's turn on this thread. Reads only the
    /// wall clock while requests are quick.
    pub(crate) fn start(&self, now_ms: u64) -> Measure {
        WAITED.set(false);
        let full = if self.blocking(now_ms) {
            TURNS.set(TURNS.get().wrapping_add(1));
            TURNS.get() % SAMPLE_EVERY == 0
        } else {
            recent(&self.slow_at, now_ms)
        };
        Measure { wall: Instant::now(), times: full.then(thread_times) }
    }

    /// Ends the measurement: a turn that took [`BLOCKED`] or more, waited
    /// (a voluntary context switch), was not preempted, and spent
    /// [`BLOCKED`] or more off the CPU, blocked: it marks the poller. A
    /// preempted turn says nothing (its time off the CPU may be either).
    /// A slow turn whose clocks were not read only makes the next ones read
    /// them. Turns that waited through [`before_wait`] teach nothing either:
    /// those waits were handled as they began.
    pub(crate) fn finish(&self, measure: Measure, now_ms: u64) {
        let wall = measure.wall.elapsed();
        if wall < BLOCKED || WAITED.replace(false) {
            return;
        }
        self.slow_at.store(now_ms + 1, Ordering::Relaxed);
        let Some(before) = measure.times else { return };
        let after = thread_times();
        let off_cpu = wall.saturating_sub(after.cpu.saturating_sub(before.cpu));
        if after.waits > before.waits && after.preemptions == before.preemptions && off_cpu >= BLOCKED {
            self.mark_blocked(now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One turn of `work` on an estimate that has seen a slow turn (so the
    /// clocks are read).
    fn turn(estimate: &Estimate, now: u64, work: impl FnOnce()) {
        let measure = estimate.start(now);
        work();
        estimate.finish(measure, now);
    }

    fn spin(d: Duration) {
        let start = thread_times().cpu;
        while thread_times().cpu - start < d {}
    }

    #[test]
    fn a_sleeping_turn_marks_the_poller_and_a_quick_one_does_not() {
        let estimate = Estimate::default();
        turn(&estimate, 5, || {});
        assert!(!estimate.blocking(5), "a turn of a few nanoseconds");
        // The first slow turn is not measured: it makes the next ones so.
        turn(&estimate, 5, || std::thread::sleep(Duration::from_millis(2)));
        assert!(!estimate.blocking(5));
        // A preempted turn teaches nothing: on a busy machine, try again.
        let marked = (0..5).any(|_| {
            turn(&estimate, 5, || std::thread::sleep(Duration::from_millis(2)));
            estimate.blocking(5)
        });
        assert!(marked);
        assert!(estimate.blocking(5 + HOLD_MS - 1));
        assert!(!estimate.blocking(5 + HOLD_MS), "the mark wears off");
    }

    #[test]
    fn computing_is_not_blocking() {
        let estimate = Estimate::default();
        turn(&estimate, 0, || spin(Duration::from_millis(1)));
        for _ in 0..5 {
            turn(&estimate, 0, || spin(Duration::from_millis(1)));
            assert!(!estimate.blocking(0));
        }
    }

    #[test]
    fn a_turn_that_waited_through_the_hook_teaches_nothing() {
        let estimate = Estimate::default();
        turn(&estimate, 0, || std::thread::sleep(Duration::from_millis(2)));
        for _ in 0..3 {
            turn(&estimate, 0, || {
                will_block();
                std::thread::sleep(Duration::from_millis(2));
            });
        }
        assert!(!estimate.blocking(0));
    }

    #[test]
    fn before_wait_runs_the_installed_hook() {
        let calls = Rc::new(Cell::new(0));
        let seen = calls.clone();
        set_hook(Some(Rc::new(move || seen.set(seen.get() + 1))));
        before_wait();
        will_block();
        set_hook(None);
        before_wait();
        assert_eq!(calls.get(), 2);
    }
}
