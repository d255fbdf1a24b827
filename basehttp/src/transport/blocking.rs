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
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::sys::resource::{getrusage, UsageWho};
use nix::time::{clock_gettime, ClockId};

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
    // Through libc, not rustix's own vDSO reader, which valgrind cannot
    // follow (rustix issue 1559): programs built on basehttp stay
    // debuggable under valgrind.
    let cpu = clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(Duration::ZERO, Duration::from);
    // The CPU time in the usage record is only as fine as the scheduler
    // tick; the switch counts are exact.
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(usage) => {
            Times { cpu, waits: usage.voluntary_context_switches(), preemptions: usage.involuntary_context_switches() }
        }
        Err(_) => Times { cpu, waits: 1, preemptions: 0 },
    }
}

/// The share of recent turns (out of 1024) that took [`BLOCKED`] or more,
/// above which turns also read the thread's clocks (system calls): a
/// handler that blocks makes nearly every turn slow, while a quick one has
/// an odd slow turn now and then (preempted, a page fault), which must not
/// make every turn pay for the clocks.
const SLOW_SHARE: u32 = 256;

/// What a poller has learnt of its recent requests.
#[derive(Default)]
pub(crate) struct Estimate {
    /// When a request last blocked (the reactor's coarse ms + 1; 0: never).
    blocked_at: AtomicU64,
    /// The share of recent turns that were slow, out of 1024: a moving
    /// average over about 16 turns.
    slow: AtomicU32,
}

/// One turn's measurement, from [`Estimate::start`].
pub(crate) struct Measure {
    wall: Instant,
    times: Option<Times>,
}

impl Estimate {
    /// Whether requests are expected to block now: one did within
    /// [`HOLD_MS`].
    pub(crate) fn blocking(&self, now_ms: u64) -> bool {
        let at = self.blocked_at.load(Ordering::Relaxed);
        at != 0 && now_ms < at - 1 + HOLD_MS
    }

    /// Records that a request blocked.
    pub(crate) fn mark_blocked(&self, now_ms: u64) {
        self.blocked_at.store(now_ms + 1, Ordering::Relaxed);
    }

    /// Starts measuring a connection's turn on this thread. Reads only the
    /// wall clock, unless the poller's turns have been slow lately; while
    /// the poller is blocking, one turn in [`SAMPLE_EVERY`] of each thread
    /// reads the clocks.
    pub(crate) fn start(&self, now_ms: u64) -> Measure {
        WAITED.set(false);
        let full = if self.blocking(now_ms) {
            TURNS.set(TURNS.get().wrapping_add(1));
            TURNS.get() % SAMPLE_EVERY == 0
        } else {
            self.slow.load(Ordering::Relaxed) >= SLOW_SHARE
        };
        Measure { wall: Instant::now(), times: full.then(thread_times) }
    }

    /// Ends the measurement: a turn that took [`BLOCKED`] or more, waited
    /// (a voluntary context switch), was not preempted, and spent
    /// [`BLOCKED`] or more off the CPU, blocked: it marks the poller. A
    /// preempted turn says nothing (its time off the CPU may be either),
    /// nor does one whose clocks were not read. Turns that waited through
    /// [`before_wait`] teach nothing either: those waits were handled as
    /// they began.
    pub(crate) fn finish(&self, measure: Measure, now_ms: u64) {
        let wall = measure.wall.elapsed();
        if WAITED.replace(false) {
            return;
        }
        let slow = wall >= BLOCKED;
        let share = self.slow.load(Ordering::Relaxed);
        let updated = share - share / 16 + if slow { 64 } else { 0 };
        if updated != share {
            self.slow.store(updated, Ordering::Relaxed);
        }
        let Some(before) = measure.times.filter(|_| slow) else { return };
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

    /// One turn of `work`.
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
    fn sleeping_turns_mark_the_poller_and_quick_ones_do_not() {
        let estimate = Estimate::default();
        for _ in 0..100 {
            turn(&estimate, 5, || {});
        }
        assert!(!estimate.blocking(5), "quick turns");
        // The clocks are read once a quarter of the recent turns are slow;
        // a preempted turn teaches nothing, so allow a few more on a busy
        // machine.
        let turns = (1..=20).find(|_| {
            turn(&estimate, 5, || std::thread::sleep(Duration::from_millis(1)));
            estimate.blocking(5)
        });
        assert!(turns.is_some_and(|n| n >= 5), "marked after {turns:?} sleeping turns");
        assert!(estimate.blocking(5 + HOLD_MS - 1));
        assert!(!estimate.blocking(5 + HOLD_MS), "the mark wears off");
    }

    #[test]
    fn an_odd_slow_turn_does_not_make_quick_turns_read_the_clocks() {
        let estimate = Estimate::default();
        turn(&estimate, 0, || std::thread::sleep(Duration::from_millis(1)));
        for _ in 0..3 {
            turn(&estimate, 0, || {});
            assert!(estimate.start(0).times.is_none());
        }
    }

    #[test]
    fn computing_is_not_blocking() {
        let estimate = Estimate::default();
        for _ in 0..20 {
            turn(&estimate, 0, || spin(Duration::from_millis(1)));
        }
        assert!(estimate.slow.load(Ordering::Relaxed) >= SLOW_SHARE, "the clocks were read");
        assert!(!estimate.blocking(0));
    }

    #[test]
    fn a_turn_that_waited_through_the_hook_teaches_nothing() {
        let estimate = Estimate::default();
        for _ in 0..20 {
            turn(&estimate, 0, || {
                will_block();
                std::thread::sleep(Duration::from_millis(1));
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
