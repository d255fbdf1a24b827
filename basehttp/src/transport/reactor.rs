//! Where connections wait between requests, and the threads that serve
//! them: one poller (`poller.rs`) per core, each owned by a worker thread,
//! and a supervisor that keeps a blocked handler from holding up the rest.
//!
//! A worker waits in its poller's `epoll_wait`, accepts new connections when
//! the listener is ready (handing them round-robin to the pollers), and
//! serves each ready connection: every request whose head has arrived,
//! pipelined ones included, then parks it again. Sockets are registered
//! once, edge-triggered, so serving a keep-alive request inline costs a
//! `read` and a `write` and a share of one `epoll_wait`: no re-arming, no
//! hand-off to another thread, no wake-up per request. Idle connections cost
//! no thread at all.
//!
//! A request that blocks (a `do_*` method waiting for a database, a slow
//! body) must not hold up the poller's other connections. While a poller's
//! recent requests block (`blocking.rs` measures them), its owner no longer
//! serves requests itself: it hands each ready connection to a thread of
//! its own (`workers.rs`: a spare, or a new one), which serves it and parks
//! it again, while the owner goes back to its poller. Each request that is
//! in progress then holds one thread, up to `max_workers`; beyond that the
//! connections wait in the queue (back-pressure), and idle connections
//! still hold none. A request that blocks while the owner serves it inline
//! (before the poller knew) makes the owner give the poller to another
//! thread and finish the request on its own: at once when the wait is the
//! runtime's (a body read, a write) or announced (`will_block`), else when
//! the supervisor finds it stuck.
//!
//! The supervisor ticks every 10 ms: it advances the coarse clock, resumes
//! accepting after a pause (the connection cap was reached, or accept
//! failed, e.g. out of descriptors), closes parked connections whose idle
//! or head deadline passed, and looks for owners stuck inside one request:
//! an owner seen inside a request is looked at again 1 ms later, and if it
//! is still inside the same one the poller is handed over and marked
//! blocking.

use std::io;
use std::net::TcpListener;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::epoll::{Event, EventData, EventFlags};
use rustix::event::{PollFlags, Timespec};

use crate::handler::base::BaseHTTPRequestHandler;
use crate::handler::logging::LOG_TARGET;
use crate::handler::request::Shared;
use crate::transport::blocking;
use crate::transport::channel::{wait_for, wait_readable};
use crate::transport::connection::{self, Next, Wrap};
use crate::transport::linger::{Waiter, Waiters};
use crate::transport::poller::{Conn, Poller, Ready};
use crate::transport::workers::{Task, Workers};

/// How often the supervisor wakes when no owner is inside a request.
const TICK: Duration = Duration::from_millis(10);
/// An owner inside the same request for this long is stuck.
const STALL: Duration = Duration::from_millis(1);
/// How often the supervisor looks for expired parked connections.
const REAP_EVERY: Duration = Duration::from_millis(200);
/// The longest one `epoll_wait` lasts (shutdown also wakes it).
const WAIT: Timespec = Timespec { tv_sec: 1, tv_nsec: 0 };
/// Connections accepted per listener event before serving others.
const ACCEPT_BATCH: usize = 64;
/// The first wait after an accept error; it doubles up to 1 s.
const INITIAL_BACKOFF: Duration = Duration::from_millis(5);
/// What the pool's threads are given.
enum Work<H> {
    /// A poller and its new owner's ticket.
    Own(Arc<Poller<H>>, u64),
    /// A connection of a poller with new bytes, whether the peer hung up.
    Serve(Arc<Poller<H>>, u64, Box<Conn<H>>, bool),
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
    workers: Workers<Work<H>>,
    /// The threads waiting for their connection's next request.
    waiters: Waiters,
    tickets: AtomicU64,
    /// A clock the supervisor advances every tick (milliseconds since
    /// `epoch`): parking a connection reads it instead of the system clock.
    epoch: Instant,
    coarse_ms: AtomicU64,
    stopping: AtomicBool,
    shared: Arc<Shared>,
    factory: Arc<dyn Fn() -> H + Send + Sync>,
    wrap: Wrap,
}

impl<H: BaseHTTPRequestHandler> Reactor<H> {
    /// Creates one poller per available core, each with its worker, and
    /// the supervisor; the workers accept from `listener` (made
    /// non-blocking) from now on.
    pub(crate) fn start(
        listener: Arc<TcpListener>,
        shared: Arc<Shared>,
        factory: Arc<dyn Fn() -> H + Send + Sync>,
        wrap: Wrap,
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
            workers: Workers::new(count, shared.config.max_workers.max(1)),
            waiters: Waiters::default(),
            tickets: AtomicU64::new(1),
            epoch: Instant::now(),
            coarse_ms: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            shared,
            factory,
            wrap,
        });
        for poller in &reactor.pollers {
            reactor.give(poller);
        }
        let supervisor = reactor.clone();
        thread::Builder::new().name("basehttp-supervisor".into()).spawn(move || supervisor.supervise())?;
        Ok(reactor)
    }

    /// Gives `poller` a new owner (a spare thread, or a new one).
    fn give(self: &Arc<Self>, poller: &Arc<Poller<H>>) {
        let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
        poller.owner.store(ticket, Ordering::SeqCst);
        if self.workers.push_owner(Work::Own(poller.clone(), ticket)) {
            self.spawn();
        }
    }

    /// Hands `poller` over from its owner, which goes on with its request
    /// as a running thread. At `max_workers` running threads it does
    /// nothing and returns `false` (the poller waits for its owner).
    fn hand_over(self: &Arc<Self>, poller: &Arc<Poller<H>>) -> bool {
        let new_owner = || {
            let ticket = self.tickets.fetch_add(1, Ordering::SeqCst);
            poller.busy.store(false, Ordering::Relaxed);
            poller.owner.store(ticket, Ordering::SeqCst);
            Work::Own(poller.clone(), ticket)
        };
        match self.workers.detach(new_owner) {
            Some(start) => {
                if start {
                    self.spawn();
                }
                true
            }
            None => false,
        }
    }

    /// Starts a pool thread (the pool has counted it).
    fn spawn(self: &Arc<Self>) {
        let me = self.clone();
        if thread::Builder::new().name("basehttp-worker".into()).spawn(move || me.work()).is_err() {
            // The work stays queued: the next thread to be free takes it.
            self.workers.spawn_failed();
        }
    }

    /// A pool thread: owns pollers and serves connections as it is told,
    /// until it has had nothing to do for `worker_idle_timeout`.
    fn work(self: Arc<Self>) {
        self.workers.started();
        let mut events = [Event { flags: EventFlags::empty(), data: EventData::new_u64(0) }; 256];
        let mut was_running = false;
        let mut waiter = None;
        while let Some(task) = self.workers.next(was_running, self.shared.config.worker_idle_timeout) {
            was_running = match task {
                Task::Own(Work::Own(poller, ticket)) => !self.serve(&poller, ticket, &mut events),
                Task::Run(Work::Serve(poller, token, conn, hangup)) => {
                    let waiter = waiter.get_or_insert_with(|| self.waiters.join());
                    self.run(&poller, token, conn, hangup, waiter.as_deref());
                    true
                }
                Task::Own(Work::Serve(..)) | Task::Run(Work::Own(..)) => unreachable!("queued by kind"),
            };
        }
        if let Some(Some(waiter)) = waiter {
            self.waiters.leave(&waiter);
        }
    }

    /// Serves `poller` while this thread owns it. Returns `false` if it
    /// lost it to a hand-over (the thread then counts as running).
    fn serve(self: &Arc<Self>, poller: &Arc<Poller<H>>, ticket: u64, events: &mut [Event]) -> bool {
        let owns = || poller.owner.load(Ordering::SeqCst) == ticket;
        let hook: Rc<dyn Fn()> = {
            let (me, poller) = (self.clone(), poller.clone());
            Rc::new(move || me.before_wait(&poller, ticket))
        };
        blocking::set_hook(Some(hook));
        while owns() && !self.stopping.load(Ordering::SeqCst) {
            match poller.next(events, &WAIT) {
                Ready::Conn(token, conn, hangup) => {
                    if poller.estimate.blocking(self.coarse_ms.load(Ordering::Relaxed)) {
                        if self.workers.push_job(Work::Serve(poller.clone(), token, conn, hangup)) {
                            self.spawn();
                        }
                        continue;
                    }
                    poller.busy.store(true, Ordering::Relaxed);
                    self.turn(poller, token, conn, hangup);
                    poller.progress();
                    if owns() {
                        poller.busy.store(false, Ordering::Relaxed);
                    }
                }
                Ready::Listener => self.accept(),
                Ready::Nothing => {}
            }
        }
        blocking::set_hook(None);
        owns()
    }

    /// Serves a ready connection inline, then parks or closes it.
    fn turn(&self, poller: &Poller<H>, token: u64, mut conn: Box<Conn<H>>, hangup: bool) {
        match self.drive(poller, &mut conn, hangup) {
            Next::Park => self.park(poller, token, conn),
            Next::Close => poller.close(token, &conn, true),
        }
    }

    /// Serves every request of `conn` whose head has arrived, measuring
    /// whether it blocked.
    fn drive(&self, poller: &Poller<H>, conn: &mut Conn<H>, hangup: bool) -> Next {
        let now = self.coarse_ms.load(Ordering::Relaxed);
        let measure = poller.estimate.start(now);
        let next = connection::drive(&mut conn.handler, &mut conn.req, hangup);
        poller.estimate.finish(measure, now);
        next
    }

    /// Serves a connection on a thread of its own (its poller's requests
    /// block). Like a thread per connection, the thread then waits for the
    /// connection's next request itself, for about `LINGER_MS` (through
    /// `waiter`; see `linger.rs`): a client that keeps sending is served
    /// without going through the poller at all (no event, no hand-off). It
    /// parks the connection when the client pauses or sends only part of a
    /// request head, when other connections wait for a place (at
    /// `max_workers`), or when the poller's requests stop blocking.
    fn run(&self, poller: &Poller<H>, token: u64, mut conn: Box<Conn<H>>, mut hangup: bool, waiter: Option<&Waiter>) {
        let mut unwatched = false;
        loop {
            if let Next::Close = self.drive(poller, &mut conn, hangup) {
                poller.close(token, &conn, !unwatched);
                return;
            }
            let Some(waiter) = waiter else { break };
            let now = self.coarse_ms.load(Ordering::Relaxed);
            // A partial request head waits in the poller, under its deadline.
            if !conn.req.io.buffered().is_empty()
                || self.stopping.load(Ordering::SeqCst)
                || !poller.estimate.blocking(now)
                || self.workers.places_wanted()
            {
                break;
            }
            if !unwatched {
                poller.unwatch(&conn);
                unwatched = true;
            }
            waiter.begin();
            let next = wait_readable(&conn.stream, waiter.fd());
            waiter.end(next.is_none());
            match next {
                Some(hup) => hangup = hup,
                None => break,
            }
        }
        if unwatched {
            self.set_deadline(&mut conn);
            conn.req.io.release_buffers();
            if let Err(e) = poller.put_back_unwatched(token, conn) {
                log::error!(target: LOG_TARGET, "cannot watch a connection: {e}");
            }
            if self.stopping.load(Ordering::SeqCst) {
                drop(poller.evict(|_| false));
            }
        } else {
            self.park(poller, token, conn);
        }
    }

    /// The owner's request is about to wait for its socket (or said it
    /// will block): it hands its poller over before it does.
    fn before_wait(self: &Arc<Self>, poller: &Arc<Poller<H>>, ticket: u64) {
        if poller.owner.load(Ordering::Relaxed) == ticket && poller.busy.load(Ordering::Relaxed) {
            self.hand_over(poller);
        }
    }

    /// Now, to within a tick (deadlines are seconds long).
    fn coarse_now(&self) -> Instant {
        self.epoch + Duration::from_millis(self.coarse_ms.load(Ordering::Relaxed))
    }

    /// When a parked connection is closed if nothing (more) arrives.
    fn set_deadline(&self, conn: &mut Conn<H>) {
        let config = &self.shared.config;
        conn.deadline = match conn.req.head_started {
            Some(start) => start + config.header_timeout,
            None if conn.req.requests == 0 => self.coarse_now() + config.header_timeout,
            None => self.coarse_now() + config.keep_alive_timeout,
        };
    }

    /// Parks a served connection until its next bytes arrive.
    fn park(&self, poller: &Poller<H>, token: u64, mut conn: Box<Conn<H>>) {
        self.set_deadline(&mut conn);
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
                    let Some((handler, req, stream)) =
                        connection::open(stream, peer, &self.shared, &*self.factory, &self.wrap)
                    else {
                        continue;
                    };
                    let deadline = self.coarse_now() + self.shared.config.header_timeout;
                    let conn = Box::new(Conn { handler, req, stream, deadline });
                    let next = self.next_poller.fetch_add(1, Ordering::Relaxed) % self.pollers.len();
                    if let Err(e) = self.pollers[next].register(conn) {
                        log::error!(target: LOG_TARGET, "cannot watch a connection: {e}");
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
            log::error!(target: LOG_TARGET, "accept failed: {e}; retrying in {backoff:?}");
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
                log::error!(target: LOG_TARGET, "cannot watch the listener: {e}");
            }
        }
    }

    /// Every tick: advances the coarse clock, resumes accepting after a
    /// pause, and looks for stuck owners; every few ticks, reaps.
    fn supervise(self: Arc<Self>) {
        // Per poller: the progress count when its owner was last seen inside
        // a request, if it was.
        let mut watched: Vec<Option<u64>> = vec![None; self.pollers.len()];
        let mut reaped = Instant::now();
        let ticker = crate::protocol::date::Ticker::start();
        let mut pause = TICK;
        while !self.stopping.load(Ordering::SeqCst) {
            thread::sleep(pause);
            let now = self.epoch.elapsed().as_millis() as u64;
            self.coarse_ms.store(now, Ordering::Relaxed);
            ticker.tick();
            pause = TICK;
            for (poller, watch) in self.pollers.iter().zip(&mut watched) {
                let served = poller.served.load(Ordering::Relaxed);
                let busy = poller.busy.load(Ordering::Relaxed);
                *watch = match *watch {
                    // Inside the same request since the last look: stuck.
                    Some(before) if busy && served == before => {
                        poller.estimate.mark_blocked(now);
                        if self.hand_over(poller) {
                            None
                        } else {
                            Some(served) // at max_workers: try again next tick
                        }
                    }
                    // It moved on: quick requests, look again in a tick.
                    Some(_) => None,
                    None if busy => {
                        pause = STALL;
                        Some(served)
                    }
                    None => None,
                };
            }
            self.waiters.sweep(now);
            self.resume_accepting();
            if reaped.elapsed() >= REAP_EVERY {
                reaped = Instant::now();
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

    /// Stops taking connections from the listener (the first step of
    /// [`stop`](Self::stop), also taken alone before the listener closes).
    pub(crate) fn stop_accepting(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        for poller in &self.pollers {
            poller.unwatch_listener(&*self.listener);
        }
    }

    /// Stops the workers and the supervisor; parked connections are closed,
    /// requests in flight finish.
    pub(crate) fn stop(&self) {
        self.stop_accepting();
        let mut fresh = Vec::new();
        for poller in &self.pollers {
            poller.wake();
            fresh.extend(poller.evict(|_| false).into_iter().filter(|conn| conn.req.requests == 0));
        }
        self.workers.stop();
        self.waiters.wake_all();
        // A connection accepted but not read yet: its client has sent, or
        // is sending, its first request, and a close now would reset it
        // (a client retries a request on an idle keep-alive connection,
        // not on a new one). Each gets its first request served (with
        // `Connection: close`, since the server is stopping) if the
        // request arrives at once; at most half a second for them all.
        let deadline = Instant::now() + Duration::from_millis(500);
        for mut conn in fresh {
            let left = deadline.saturating_duration_since(Instant::now()).min(Duration::from_millis(100));
            if wait_for(&*conn.stream, PollFlags::IN, Some(left)).unwrap_or(false) {
                let conn = &mut *conn;
                connection::drive(&mut conn.handler, &mut conn.req, false);
            }
        }
    }
}
