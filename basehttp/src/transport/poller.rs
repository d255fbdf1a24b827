//! One epoll instance and the connections parked in it: the unit of work
//! a worker thread owns (see `reactor.rs`).
//!
//! Connections are registered once, edge-triggered, and never re-armed: a
//! worker that drives a connection reads until the socket is empty (a short
//! read or `EAGAIN`), so the next event means new bytes. Between requests a
//! connection is *parked*: its state sits in a slot of the table, and its
//! slot number (with a generation, so that a late event for a closed
//! connection is recognised) is its epoll token. Events are first moved into
//! a ready queue beside the table, so that a thread taking the poller over
//! from a stuck owner sees the events the stuck one had already collected.

use std::collections::VecDeque;
use std::io;
use std::net::TcpStream;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rustix::event::epoll::{self, Event, EventData, EventFlags};
use rustix::event::{eventfd, EventfdFlags, Timespec};

use crate::handler::logging::LOG_TARGET;
use crate::handler::request::Request;
use crate::transport::blocking::Estimate;

/// The token of the poller's wake-up eventfd.
const WAKE: u64 = u64::MAX;
/// The token of the listening socket.
pub(crate) const LISTENER: u64 = u64::MAX - 1;

/// A connection between requests.
pub(crate) struct Conn<H> {
    pub(crate) handler: H,
    pub(crate) req: Request,
    /// The socket the poller watches (the request's channel reads it).
    pub(crate) stream: Arc<TcpStream>,
    /// When it is closed if nothing (more) arrives.
    pub(crate) deadline: Instant,
}

enum Entry<H> {
    Vacant,
    Parked(Box<Conn<H>>),
    /// A thread is serving it; `woken` records an event that arrived
    /// meanwhile and was taken by another thread.
    Busy {
        woken: bool,
    },
}

struct Slot<H> {
    generation: u32,
    entry: Entry<H>,
}

struct Table<H> {
    slots: Vec<Slot<H>>,
    free: Vec<u32>,
    /// Tokens with new events, and whether the peer hung up.
    ready: VecDeque<(u64, bool)>,
}

fn token(index: u32, generation: u32) -> u64 {
    (u64::from(generation) << 32) | u64::from(index)
}

fn index(token: u64) -> u32 {
    (token & u64::from(u32::MAX)) as u32
}

impl<H> Table<H> {
    fn slot(&mut self, token: u64) -> Option<&mut Slot<H>> {
        let slot = self.slots.get_mut(index(token) as usize)?;
        (u64::from(slot.generation) == token >> 32).then_some(slot)
    }

    /// Empties slot `index` for reuse; a new generation makes its old
    /// token (and any late event for it) stale. Returns what it held.
    fn free_slot(&mut self, index: u32) -> Entry<H> {
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(index);
        std::mem::replace(&mut slot.entry, Entry::Vacant)
    }

    /// The next ready item from the queue: the listener, or a parked
    /// connection (taken out and marked busy). An event for a busy
    /// connection marks it woken; a stale token is dropped.
    fn pop_ready(&mut self) -> Option<Ready<H>> {
        while let Some((token, hangup)) = self.ready.pop_front() {
            if token == LISTENER {
                return Some(Ready::Listener);
            }
            let Some(slot) = self.slot(token) else { continue };
            match std::mem::replace(&mut slot.entry, Entry::Busy { woken: false }) {
                Entry::Parked(conn) => return Some(Ready::Conn(token, conn, hangup)),
                Entry::Busy { .. } => slot.entry = Entry::Busy { woken: true },
                Entry::Vacant => slot.entry = Entry::Vacant,
            }
        }
        None
    }
}

/// What a worker gets from [`Poller::next`].
pub(crate) enum Ready<H> {
    /// A connection with new bytes, now marked busy, and whether the peer
    /// hung up (then a short read does not mean the socket is empty of
    /// events: the end of input is still to be read).
    Conn(u64, Box<Conn<H>>, bool),
    /// The listening socket has connections to accept.
    Listener,
    /// Nothing within the timeout, or a wake-up.
    Nothing,
}

/// An epoll instance, its connection table and ready queue, and the
/// counters the supervisor reads to see whether its owner is stuck.
pub(crate) struct Poller<H> {
    epoll: OwnedFd,
    wake: OwnedFd,
    table: Mutex<Table<H>>,
    /// The owning thread's ticket (the supervisor hands the poller to a new
    /// thread by changing it).
    pub(crate) owner: AtomicU64,
    /// Whether the owner is serving a connection now.
    pub(crate) busy: AtomicBool,
    /// Connections served so far (progress, for stall detection).
    pub(crate) served: AtomicU64,
    /// Whether its requests have been blocking lately.
    pub(crate) estimate: Estimate,
}

impl<H> Poller<H> {
    pub(crate) fn new() -> io::Result<Self> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(&epoll, &wake, EventData::new_u64(WAKE), EventFlags::IN)?;
        let table = Table { slots: Vec::new(), free: Vec::new(), ready: VecDeque::new() };
        Ok(Poller {
            epoll,
            wake,
            table: Mutex::new(table),
            owner: AtomicU64::new(0),
            busy: AtomicBool::new(false),
            served: AtomicU64::new(0),
            estimate: Estimate::default(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Table<H>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Watches `listener` (level-triggered; one poller is woken per
    /// connection when several watch it).
    pub(crate) fn watch_listener(&self, listener: &impl AsFd) -> io::Result<()> {
        let flags = EventFlags::IN | EventFlags::EXCLUSIVE;
        Ok(epoll::add(&self.epoll, listener, EventData::new_u64(LISTENER), flags)?)
    }

    /// Stops watching `listener` (accepting is paused).
    pub(crate) fn unwatch_listener(&self, listener: &impl AsFd) {
        let _ = epoll::delete(&self.epoll, listener);
    }

    /// Parks a new connection and registers its socket. On failure the
    /// connection is dropped (closed).
    pub(crate) fn register(&self, conn: Box<Conn<H>>) -> io::Result<()> {
        let stream = conn.stream.clone();
        let token = {
            let mut table = self.lock();
            let index = match table.free.pop() {
                Some(index) => index,
                None => {
                    table.slots.push(Slot { generation: 0, entry: Entry::Vacant });
                    (table.slots.len() - 1) as u32
                }
            };
            let slot = &mut table.slots[index as usize];
            slot.entry = Entry::Parked(conn);
            token(index, slot.generation)
        };
        self.watch(&stream, token)
    }

    /// Registers a parked connection's socket under `token`, edge-triggered;
    /// bytes already waiting raise an event at once. On failure the
    /// connection is dropped (closed).
    fn watch(&self, stream: &impl AsFd, token: u64) -> io::Result<()> {
        let flags = EventFlags::IN | EventFlags::RDHUP | EventFlags::ET;
        let added = epoll::add(&self.epoll, stream, EventData::new_u64(token), flags);
        if let Err(e) = added {
            drop(self.vacate(token));
            return Err(e.into());
        }
        Ok(())
    }

    /// Stops watching a busy connection's socket: the thread serving it
    /// waits for its next bytes itself for a while (see `reactor.rs`).
    pub(crate) fn unwatch(&self, conn: &Conn<H>) {
        let _ = epoll::delete(&self.epoll, &*conn.stream);
    }

    /// Frees the slot of a connection that ends (it closes when dropped).
    /// The socket of one a handler took over (`Request::upgrade`) lives on
    /// in the handler's `Upgraded`, so the poller stops watching it here
    /// (`watched`: it is still registered).
    pub(crate) fn close(&self, token: u64, conn: &Conn<H>, watched: bool) {
        if conn.req.upgraded && watched {
            self.unwatch(conn);
        }
        self.vacate(token);
    }

    /// Parks a connection after [`unwatch`](Self::unwatch) and watches its
    /// socket again.
    pub(crate) fn put_back_unwatched(&self, token: u64, conn: Box<Conn<H>>) -> io::Result<()> {
        let stream = conn.stream.clone();
        self.put_back(token, conn);
        self.watch(&stream, token)
    }

    /// The next thing to do: a ready connection (taken out of its slot), the
    /// listener, or nothing. Waits in `epoll_wait` (at most `timeout`) only
    /// when the ready queue is empty.
    pub(crate) fn next(&self, events: &mut [Event], timeout: &Timespec) -> Ready<H> {
        if let Some(ready) = self.lock().pop_ready() {
            return ready;
        }
        let n = match epoll::wait(&self.epoll, &mut *events, Some(timeout)) {
            Ok(n) => n,
            Err(rustix::io::Errno::INTR) => 0,
            Err(e) => {
                log::error!(target: LOG_TARGET, "epoll_wait failed: {e}");
                std::thread::sleep(std::time::Duration::from_millis(10));
                0
            }
        };
        let mut woken = false;
        let ready = {
            let mut table = self.lock();
            for event in &events[..n] {
                let flags = event.flags;
                let hangup = flags.intersects(EventFlags::RDHUP | EventFlags::HUP | EventFlags::ERR);
                match event.data.u64() {
                    WAKE => woken = true,
                    token => table.ready.push_back((token, hangup)),
                }
            }
            table.pop_ready()
        };
        if woken {
            let mut count = [0u8; 8];
            let _ = rustix::io::read(&self.wake, &mut count);
        }
        ready.unwrap_or(Ready::Nothing)
    }

    /// Parks a connection again after it was served. If an event for it
    /// arrived meanwhile (taken by another thread), it is queued again and
    /// the poller woken, so that it is not lost.
    pub(crate) fn put_back(&self, token: u64, conn: Box<Conn<H>>) {
        let requeued = {
            let mut table = self.lock();
            let Some(slot) = table.slot(token) else { return };
            let woken = matches!(slot.entry, Entry::Busy { woken: true });
            slot.entry = Entry::Parked(conn);
            if woken {
                table.ready.push_back((token, true));
            }
            woken
        };
        if requeued {
            self.wake();
        }
    }

    /// Frees a connection's slot; returns the connection if it was parked.
    pub(crate) fn vacate(&self, token: u64) -> Option<Box<Conn<H>>> {
        let mut table = self.lock();
        table.slot(token)?;
        match table.free_slot(index(token)) {
            Entry::Parked(conn) => Some(conn),
            _ => None,
        }
    }

    /// Takes out every parked connection that `keep` rejects.
    pub(crate) fn evict(&self, mut keep: impl FnMut(&Conn<H>) -> bool) -> Vec<Box<Conn<H>>> {
        let mut table = self.lock();
        let mut out = Vec::new();
        for index in 0..table.slots.len() as u32 {
            if matches!(&table.slots[index as usize].entry, Entry::Parked(conn) if !keep(conn)) {
                if let Entry::Parked(conn) = table.free_slot(index) {
                    out.push(conn);
                }
            }
        }
        out
    }

    /// Interrupts the owner's `epoll_wait`.
    pub(crate) fn wake(&self) {
        let _ = rustix::io::write(&self.wake, &1u64.to_ne_bytes());
    }

    /// Records that the owner finished serving a connection.
    pub(crate) fn progress(&self) {
        self.served.store(self.served.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }
}
