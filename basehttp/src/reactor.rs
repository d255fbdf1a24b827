//! Where connections wait between requests, and the threads that serve
//! them: one poller (`poller.rs`) per core, each owned by a worker thread,
//! and a supervisor that keeps a slow handler from holding up the rest.
//!
//! A worker waits in its poller's `epoll_wait`, accepts new connections when
//! the listener is ready (handing them round-robin to the pollers), and
//! serves each ready connection inline: every request whose head has
//! arrived, pipelined ones included, then parks it again. Sockets are
//! registered once, edge-triggered, so serving a keep-alive request costs a
//! `read` and a `write` and a share of one `epoll_wait`: no re-arming, no
//! hand-off to another thread, no wake-up per request. Idle connections cost
//! no thread at all.
//!
//! A handler may block (a slow body, a slow `do_*` method). The supervisor
//! looks at the pollers every 10 ms: when a poller's owner has been inside
//! one connection for 20 ms or more, it hands the poller to another thread
//! (a spare one, or a new one up to `max_workers`), which goes on serving
//! the poller's other connections. The stuck thread finishes its request,
//! parks its connection and becomes a spare; spares exit after 10 s
//! without work. The supervisor also closes parked connections whose idle
//! or head deadline passed, and resumes accepting after a pause (the
//! connection cap was reached, or accept failed, e.g. out of descriptors).

use std::collections::VecDeque;
use std::io;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::epoll::{Event, EventData, EventFlags};
use rustix::event::Timespec;

use crate::connection::{self, Next};
use crate::handler::BaseHTTPRequestHandler;
use crate::poller::{Conn, Poller, Ready};
use crate::server::Shared;

/// How often the supervisor looks at the pollers.
const TICK: Duration = Duration::from_millis(10);
/// How often it looks for expired parked connections (in ticks).
const REAP_EVERY_TICKS: u32 = 20;
/// A poller whose owner has served nothing for this many ticks while busy
/// is handed to another thread.
const STALL_TICKS: u32 = 2;
/// A spare thread exits after this long without a poller to take over.
const SPARE_IDLE: Duration = Duration::from_secs(10);
/// The longest one `epoll_wait` lasts (shutdown also wakes it).
const WAIT: Timespec = Timespec { tv_sec: 1, tv_nsec: 0 };
/// Connections accepted per listener event before serving others.
const ACCEPT_BATCH: usize = 64;
/// The first wait after an accept error; it doubles up to 1 s.
const INITIAL_BACKOFF: Duration = Duration::from_millis(5);

/// Pollers waiting for a thread, and how many spare threads wait for one.
struct Handovers<H> {
    queue: VecDeque<(Arc<Poller<H>>, u64)>,
    spares: usize,
}

/// Whether accepting is paused, and until when.
struct Accepting {
    paused: bool,
    resume_at: Instant,
    backoff: Duration,
}

pub(crate) struct Reactor<H> {
    pollers: Vec<Arc<Poller<H>>>,
    listener: Arc<TcpListener>,
    accepting: Mutex<Accepting>,
    next_poller: AtomicUsize,
    handovers: Mutex<Handovers<H>>,
    handover_ready: Condvar,
    tickets: AtomicU64,
    workers: AtomicUsize,
    /// A clock the supervisor advances every tick (milliseconds since
    /// `epoch`): parking a connection reads it instead of the system clock.
    epoch: Instant,
    coarse_ms: AtomicU64,
    stopping: AtomicBool,
    shared: Arc<Shared>,
    factory: Arc<dyn Fn() -> H + Send + Sync>,
}

impl<H: BaseHTTPRequestHandler> Reactor<H> {
    /// Creates one poller per available core, each with its worker, and
    /// the supervisor; the workers accept from `listener` (made
    /// non-blocking) from now on.
    pub(crate) fn start(
        listener: Arc<TcpListener>,
        shared: Arc<Shared>,
        factory: Arc<dyn Fn() -> H + Send + Sync>,
    ) -> io::Result<Arc<Self>> {
        listener.set_nonblocking(true)?;
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        let count = cores.min(shared.config.max_workers.max(1));
        let pollers = (0..count).map(|_| Poller::new().map(Arc::new)).collect::<io::Result<Vec<_>>>()?;
        for poller in &pollers {
            poller.watch_listener(&*listener)?;
        }
        let reactor = Arc::new(Reactor {
            pollers,
            listener,
            accepting: Mutex::new(Accepting { paused: false, resume_at: Instant::now(), backoff: INITIAL_BACKOFF }),
            next_poller: AtomicUsize::new(0),
            handovers: Mutex::new(Handovers { queue: VecDeque::new(), spares: 0 }),
            handover_ready: Condvar::new(),
            tickets: AtomicU64::new(1),
            workers: AtomicUsize::new(0),
            epoch: Instant::now(),
            coarse_ms: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            shared,
            factory,
        });
        for poller in &reactor.pollers {
            reactor.hand_over(poller);
        }
        let supervisor = reactor.clone();
        thread::Builder::new().name("basehttp-supervisor".into()).spawn(move || supervisor.supervise())?;
        Ok(reactor)
    }

    /// Gives `poller` a new owner: a waiting spare thread, else a new one
    /// (unless `max_workers` are running; the current owner then keeps it).
    fn hand_over(self: &Arc<Self>, poller: &Arc<Poller<H>>) {
        let mut handovers = self.handovers.lock().unwrap_or_else(|e| e.into_inner());
        if handovers.spares == 0 && self.workers.load(Ordering::SeqCst) >= self.shared.config.max_workers.max(1) {
            return;
        }
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        poller.owner.store(ticket, Ordering::SeqCst);
        handovers.queue.push_back((poller.clone(), ticket));
        if handovers.spares > 0 {
            self.handover_ready.notify_one();
            return;
        }
        drop(handovers);
        self.workers.fetch_add(1, Ordering::SeqCst);
        let me = self.clone();
        if thread::Builder::new().name("basehttp-worker".into()).spawn(move || me.work()).is_err() {
            self.workers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// A worker thread: serves the poller it is handed until another
    /// thread takes it over, then waits as a spare for the next one.
    fn work(self: Arc<Self>) {
        let mut events = [Event { flags: EventFlags::empty(), data: EventData::new_u64(0) }; 256];
        while let Some((poller, ticket)) = self.next_handover() {
            self.serve(&poller, ticket, &mut events);
        }
        self.workers.fetch_sub(1, Ordering::SeqCst);
    }

    fn next_handover(&self) -> Option<(Arc<Poller<H>>, u64)> {
        let mut handovers = self.handovers.lock().unwrap_or_else(|e| e.into_inner());
        let deadline = Instant::now() + SPARE_IDLE;
        loop {
            if self.stopping.load(Ordering::SeqCst) {
                return None;
            }
            if let Some(next) = handovers.queue.pop_front() {
                return Some(next);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            handovers.spares += 1;
            handovers = self.handover_ready.wait_timeout(handovers, left).unwrap_or_else(|e| e.into_inner()).0;
            handovers.spares -= 1;
        }
    }

    /// Serves `poller` while this thread owns it.
    fn serve(self: &Arc<Self>, poller: &Arc<Poller<H>>, ticket: u64, events: &mut [Event]) {
        while poller.owner.load(Ordering::SeqCst) == ticket && !self.stopping.load(Ordering::SeqCst) {
            match poller.next(events, &WAIT) {
                Ready::Conn(token, mut conn, hangup) => {
                    poller.busy.store(true, Ordering::Relaxed);
                    let next = connection::drive(&mut conn.handler, &mut conn.req, hangup);
                    poller.progress();
                    if poller.owner.load(Ordering::Relaxed) == ticket {
                        poller.busy.store(false, Ordering::Relaxed);
                    }
                    match next {
                        Next::Park => self.park(poller, token, conn),
                        Next::Close => {
                            poller.vacate(token);
                            drop(conn);
                        }
                    }
                }
                Ready::Listener => self.accept(),
                Ready::Nothing => {}
            }
        }
    }

    /// Now, to within a tick (deadlines are seconds long).
    fn coarse_now(&self) -> Instant {
        self.epoch + Duration::from_millis(self.coarse_ms.load(Ordering::Relaxed))
    }

    /// Parks a served connection until its next bytes arrive.
    fn park(&self, poller: &Poller<H>, token: u64, mut conn: Box<Conn<H>>) {
        let config = &self.shared.config;
        conn.deadline = match conn.req.head_started {
            Some(start) => start + config.header_timeout,
            None if conn.req.requests == 0 => self.coarse_now() + config.header_timeout,
            None => self.coarse_now() + config.keep_alive_timeout,
        };
        conn.req.io.release_buffers();
        poller.put_back(token, conn);
        if self.stopping.load(Ordering::SeqCst) {
            drop(poller.evict(|_| false));
        }
    }

    /// Accepts what the listener has (up to a batch), handing the
    /// connections round-robin to the pollers. Pauses accepting at the
    /// connection cap and after an accept error (with a back-off, which
    /// the first connection accepted afterwards resets).
    fn accept(&self) {
        let control = &self.shared.control;
        let (mut accepted, mut failed) = (false, None);
        for _ in 0..ACCEPT_BATCH {
            if control.is_shutting_down() || self.stopping.load(Ordering::SeqCst) {
                break;
            }
            if control.active_count() >= self.shared.config.max_connections.max(1) {
                self.pause_accepting(false);
                break;
            }
            match self.listener.accept() {
                Ok((stream, peer)) => {
                    accepted = true;
                    let Some((handler, req)) = connection::open(stream, peer, &self.shared, &*self.factory) else {
                        continue;
                    };
                    let deadline = self.coarse_now() + self.shared.config.header_timeout;
                    let conn = Box::new(Conn { handler, req, deadline });
                    let next = self.next_poller.fetch_add(1, Ordering::Relaxed) % self.pollers.len();
                    if let Err(e) = self.pollers[next].register(conn) {
                        log::error!(target: crate::logging::LOG_TARGET, "cannot watch a connection: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if accepted {
            self.accepting.lock().unwrap_or_else(|e| e.into_inner()).backoff = INITIAL_BACKOFF;
        }
        if let Some(e) = failed {
            // EMFILE and friends: wait for descriptors to free up.
            let backoff = self.pause_accepting(true);
            log::error!(target: crate::logging::LOG_TARGET, "accept failed: {e}; retrying in {backoff:?}");
        }
    }

    /// Stops watching the listener until the supervisor resumes it: at the
    /// next tick below the connection cap, or (`after_error`) once the
    /// doubling back-off has passed. Returns the back-off.
    fn pause_accepting(&self, after_error: bool) -> Duration {
        let mut accepting = self.accepting.lock().unwrap_or_else(|e| e.into_inner());
        let backoff = accepting.backoff;
        accepting.resume_at = Instant::now();
        if after_error {
            accepting.resume_at += backoff;
            accepting.backoff = (backoff * 2).min(Duration::from_secs(1));
        }
        if !accepting.paused {
            accepting.paused = true;
            for poller in &self.pollers {
                poller.unwatch_listener(&*self.listener);
            }
        }
        backoff
    }

    fn resume_accepting(&self) {
        let mut accepting = self.accepting.lock().unwrap_or_else(|e| e.into_inner());
        if !accepting.paused
            || Instant::now() < accepting.resume_at
            || self.shared.control.active_count() >= self.shared.config.max_connections.max(1)
        {
            return;
        }
        accepting.paused = false;
        for poller in &self.pollers {
            if let Err(e) = poller.watch_listener(&*self.listener) {
                log::error!(target: crate::logging::LOG_TARGET, "cannot watch the listener: {e}");
            }
        }
    }

    /// Every tick: hands stuck pollers to other threads and resumes
    /// accepting after a pause; every few ticks, reaps.
    fn supervise(self: Arc<Self>) {
        let mut seen: Vec<(u64, u32)> = vec![(0, 0); self.pollers.len()];
        let mut ticks = 0u32;
        let ticker = crate::date::Ticker::start();
        while !self.stopping.load(Ordering::SeqCst) {
            thread::sleep(TICK);
            self.coarse_ms.store(self.epoch.elapsed().as_millis() as u64, Ordering::Relaxed);
            ticker.tick();
            for (poller, (served, stalled)) in self.pollers.iter().zip(&mut seen) {
                let now_served = poller.served.load(Ordering::Relaxed);
                if poller.busy.load(Ordering::Relaxed) && now_served == *served {
                    *stalled += 1;
                } else {
                    *stalled = 0;
                }
                *served = now_served;
                if *stalled >= STALL_TICKS {
                    *stalled = 0;
                    poller.busy.store(false, Ordering::Relaxed);
                    self.hand_over(poller);
                }
            }
            self.resume_accepting();
            ticks += 1;
            if ticks % REAP_EVERY_TICKS == 0 {
                self.reap();
            }
        }
    }

    /// Closes parked connections whose deadline passed: silently when they
    /// were idle, with 408 when a request head was incomplete.
    fn reap(&self) {
        let now = Instant::now();
        for poller in &self.pollers {
            for mut conn in poller.evict(|c| c.deadline > now) {
                connection::expire(&mut conn.req);
            }
        }
    }

    /// Stops the workers and the supervisor; parked connections are closed,
    /// requests in flight finish.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for poller in &self.pollers {
            poller.unwatch_listener(&*self.listener);
            poller.wake();
            drop(poller.evict(|_| false));
        }
        let _guard = self.handovers.lock().unwrap_or_else(|e| e.into_inner());
        self.handover_ready.notify_all();
    }
}
