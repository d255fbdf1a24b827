//! Where connections wait between requests: the kernel's poller (epoll)
//! and a pool of worker threads that share it.
//!
//! A connection holds a thread only while a request is in progress. Between
//! requests it is parked: its state (handler value and `Request`, buffers
//! returned to a pool) sits in a table and its socket is registered with
//! epoll, one-shot. Every worker waits in `epoll_wait` on the same poller;
//! the kernel wakes one of them per ready connection, and that worker serves
//! the requests that arrived on it, inline, then parks it again. Under load
//! a worker goes from one ready connection to the next without sleeping, so
//! no thread wake-up is paid per request, and idle connections cost no
//! thread at all. A supervisor thread looks at the workers every 10
//! milliseconds: when all of them are busy and none has finished anything
//! for 20 ms (slow handlers), it starts another, up to
//! `max_workers`, so a slow handler never holds up other connections while
//! fast ones never pay for extra threads. It also closes parked connections
//! whose idle or head deadline passed.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use rustix::event::epoll::{self, Event, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

use crate::connection::{self, Next};
use crate::handler::BaseHTTPRequestHandler;
use crate::request::Request;
use crate::server::Shared;

/// The epoll data of the shutdown wake-up eventfd.
const WAKE: u64 = u64::MAX;
/// How often the supervisor looks at the workers.
const TICK: Duration = Duration::from_millis(10);
/// How often it looks for expired parked connections (in ticks).
const REAP_EVERY_TICKS: u32 = 20;
/// When every worker is busy and none has finished anything for this long,
/// they are probably all blocked in slow handlers: start another.
const STALL: Duration = Duration::from_millis(20);
/// A worker beyond the minimum exits after this long without work.
const WORKER_IDLE: Duration = Duration::from_secs(10);

/// A connection between requests.
struct Conn<H> {
    handler: H,
    req: Request,
    /// When it is closed if nothing (more) arrives.
    deadline: Instant,
}

pub(crate) struct Reactor<H> {
    epoll: OwnedFd,
    wake: OwnedFd,
    table: Mutex<HashMap<u64, Box<Conn<H>>>>,
    next_id: AtomicU64,
    workers: AtomicUsize,
    idle_workers: AtomicUsize,
    /// Microseconds since `epoch` when a worker last picked up or finished
    /// a connection.
    last_progress: AtomicU64,
    epoch: Instant,
    stopping: AtomicBool,
    shared: Arc<Shared>,
    factory: Arc<dyn Fn() -> H + Send + Sync>,
}

fn timespec(d: Duration) -> Timespec {
    Timespec { tv_sec: d.as_secs() as i64, tv_nsec: d.subsec_nanos() as _ }
}

impl<H: BaseHTTPRequestHandler> Reactor<H> {
    /// Creates the poller and starts the minimum number of workers and the
    /// supervisor.
    pub(crate) fn start(shared: Arc<Shared>, factory: Arc<dyn Fn() -> H + Send + Sync>) -> io::Result<Arc<Self>> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(&epoll, &wake, EventData::new_u64(WAKE), EventFlags::IN)?;
        let reactor = Arc::new(Reactor {
            epoll,
            wake,
            table: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            workers: AtomicUsize::new(0),
            idle_workers: AtomicUsize::new(0),
            last_progress: AtomicU64::new(0),
            epoch: Instant::now(),
            stopping: AtomicBool::new(false),
            shared,
            factory,
        });
        for _ in 0..reactor.min_workers() {
            reactor.spawn_worker()?;
        }
        let supervisor = reactor.clone();
        thread::Builder::new().name("basehttp-supervisor".into()).spawn(move || supervisor.supervise())?;
        Ok(reactor)
    }

    fn min_workers(&self) -> usize {
        thread::available_parallelism().map_or(2, |n| n.get()).min(self.shared.config.max_workers.max(1))
    }

    fn spawn_worker(self: &Arc<Self>) -> io::Result<()> {
        self.workers.fetch_add(1, Ordering::SeqCst);
        let me = self.clone();
        let spawned = thread::Builder::new().name("basehttp-worker".into()).spawn(move || me.worker_loop());
        if spawned.is_err() {
            self.workers.fetch_sub(1, Ordering::SeqCst);
        }
        spawned.map(drop)
    }

    /// Takes a freshly accepted connection: it waits in the poller for its
    /// first request like any other.
    pub(crate) fn admit(&self, stream: TcpStream, peer: SocketAddr) {
        let Some((handler, req)) = connection::open(stream, peer, &self.shared, &*self.factory) else { return };
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let conn = Box::new(Conn { handler, req, deadline: Instant::now() });
        self.park(id, conn, true);
    }

    /// Registers a connection with the poller until its next bytes arrive.
    fn park(&self, id: u64, mut conn: Box<Conn<H>>, new: bool) {
        let config = &self.shared.config;
        conn.deadline = match conn.req.head_started {
            Some(start) => start + config.header_timeout,
            None if conn.req.requests == 0 => Instant::now() + config.header_timeout,
            None => Instant::now() + config.keep_alive_timeout,
        };
        conn.req.io.release_buffers();
        let Some(stream) = conn.req.io.stream.tcp().cloned() else { return };
        self.table.lock().unwrap_or_else(|e| e.into_inner()).insert(id, conn);
        let flags = EventFlags::IN | EventFlags::RDHUP | EventFlags::ONESHOT;
        let registered = if new {
            epoll::add(&self.epoll, stream.as_fd(), EventData::new_u64(id), flags)
        } else {
            epoll::modify(&self.epoll, stream.as_fd(), EventData::new_u64(id), flags)
        };
        if registered.is_err() {
            // Cannot wait for it: close it (dropping it closes the socket).
            let conn = self.table.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            drop(conn);
        }
        if self.stopping.load(Ordering::SeqCst) {
            self.close_parked();
        }
    }

    fn worker_loop(self: Arc<Self>) {
        let mut events = [Event { flags: EventFlags::empty(), data: EventData::new_u64(0) }; 1];
        let mut last_work = Instant::now();
        loop {
            self.idle_workers.fetch_add(1, Ordering::SeqCst);
            let waited = epoll::wait(&self.epoll, &mut events, Some(&timespec(Duration::from_secs(1))));
            self.idle_workers.fetch_sub(1, Ordering::SeqCst);
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            let n = match waited {
                Ok(n) => n,
                Err(rustix::io::Errno::INTR) => 0,
                Err(e) => {
                    log::error!(target: crate::logging::LOG_TARGET, "epoll_wait failed: {e}");
                    thread::sleep(Duration::from_millis(10));
                    0
                }
            };
            if n == 0 {
                if last_work.elapsed() > WORKER_IDLE && self.retire() {
                    return;
                }
                continue;
            }
            let id = events[0].data.u64();
            if id == WAKE {
                continue;
            }
            last_work = Instant::now();
            self.progress();
            let conn = self.table.lock().unwrap_or_else(|e| e.into_inner()).remove(&id);
            if let Some(mut conn) = conn {
                match connection::drive(&mut conn.handler, &mut conn.req) {
                    Next::Park => self.park(id, conn, false),
                    Next::Close => drop(conn),
                }
            }
            self.progress();
        }
        self.workers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Lets an idle worker exit if more than the minimum are running.
    fn retire(&self) -> bool {
        let min = self.min_workers();
        self.workers.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| (w > min).then(|| w - 1)).is_ok()
    }

    fn progress(&self) {
        self.last_progress.store(self.epoch.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// Every tick: starts a worker when all of them are stuck in handlers
    /// (so a slow handler never holds up other connections, while fast ones
    /// never pay for extra threads); every few ticks, reaps.
    fn supervise(self: Arc<Self>) {
        let mut ticks = 0u32;
        while !self.stopping.load(Ordering::SeqCst) {
            thread::sleep(TICK);
            let since = self.epoch.elapsed().as_micros() as u64 - self.last_progress.load(Ordering::Relaxed);
            if self.idle_workers.load(Ordering::SeqCst) == 0
                && Duration::from_micros(since) >= STALL
                && self.workers.load(Ordering::SeqCst) < self.shared.config.max_workers
            {
                let _ = self.spawn_worker();
                self.progress();
            }
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
        let expired: Vec<Box<Conn<H>>> = {
            let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
            let ids: Vec<u64> = table.iter().filter(|(_, c)| c.deadline <= now).map(|(id, _)| *id).collect();
            ids.iter().filter_map(|id| table.remove(id)).collect()
        };
        for mut conn in expired {
            connection::expire(&mut conn.req);
        }
    }

    /// Closes every parked connection (shutdown).
    pub(crate) fn close_parked(&self) {
        let parked: Vec<Box<Conn<H>>> =
            self.table.lock().unwrap_or_else(|e| e.into_inner()).drain().map(|(_, c)| c).collect();
        drop(parked);
    }

    /// Stops the workers and the supervisor; parked connections are closed,
    /// requests in flight finish.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
        self.close_parked();
    }

    /// Workers running now (for tests and the benchmark's thread count).
    #[allow(dead_code)]
    pub(crate) fn worker_count(&self) -> usize {
        self.workers.load(Ordering::SeqCst)
    }
}
