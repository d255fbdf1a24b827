//! Stopping a server: the state shared by the server, its connections
//! and [`ShutdownHandle`]s (the shutdown flag, the registry of live
//! connections, the count of active ones).

use std::collections::HashMap;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One live connection, as the shutdown logic sees it.
pub(crate) struct ConnSlot {
    pub(crate) stream: Option<Arc<TcpStream>>,
    /// Waiting for the next request (nothing in flight).
    pub(crate) idle: AtomicBool,
}

/// State shared by the server, its connections and shutdown handles.
#[derive(Default)]
pub(crate) struct Control {
    pub(crate) shutting_down: AtomicBool,
    /// Paired with `requested` to wake `serve_forever` when a shutdown is
    /// requested.
    pub(crate) requested_lock: Mutex<()>,
    pub(crate) requested: Condvar,
    pub(crate) serving: Mutex<bool>,
    pub(crate) serving_changed: Condvar,
    pub(crate) active: Mutex<usize>,
    pub(crate) active_changed: Condvar,
    pub(crate) conns: Mutex<HashMap<u64, Arc<ConnSlot>>>,
    pub(crate) next_id: AtomicU64,
}

impl Control {
    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::SeqCst)
    }

    pub(crate) fn register(self: &Arc<Self>, stream: Option<Arc<TcpStream>>) -> SlotGuard {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Arc::new(ConnSlot { stream, idle: AtomicBool::new(false) });
        self.conns.lock().unwrap_or_else(|e| e.into_inner()).insert(id, slot.clone());
        self.add_active(1);
        SlotGuard { control: self.clone(), id, slot, counted: true }
    }

    /// Marks a connection idle or busy. Returns `false` if it went idle
    /// while the server is shutting down (it must close instead of waiting).
    pub(crate) fn set_idle(&self, slot: &ConnSlot, idle: bool) -> bool {
        slot.idle.store(idle, Ordering::SeqCst);
        !(idle && self.is_shutting_down())
    }

    /// Ends idle connections (their blocked read returns EOF); with `all`,
    /// every connection.
    pub(crate) fn close_connections(&self, all: bool) {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        for slot in conns.values() {
            let Some(stream) = &slot.stream else { continue };
            if all {
                let _ = stream.shutdown(Shutdown::Both);
            } else if slot.idle.load(Ordering::SeqCst) {
                let _ = stream.shutdown(Shutdown::Read);
            }
        }
    }

    /// Counts a connection opening or closing. Only a shutdown waits for
    /// the count (`wait_idle`, after the flag is set), so only then is the
    /// waiter woken: a notification is a system call.
    pub(crate) fn add_active(&self, delta: isize) {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        *active = active.saturating_add_signed(delta);
        if self.is_shutting_down() {
            self.active_changed.notify_all();
        }
    }

    /// Connections open now.
    pub(crate) fn active_count(&self) -> usize {
        *self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Blocks until a shutdown is requested.
    pub(crate) fn wait_shutdown(&self) {
        let mut guard = self.requested_lock.lock().unwrap_or_else(|e| e.into_inner());
        while !self.is_shutting_down() {
            guard = self.requested.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn request_shutdown(&self) {
        let _guard = self.requested_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.shutting_down.store(true, Ordering::SeqCst);
        self.requested.notify_all();
    }

    /// Waits until no connection is active or `deadline` passes (only
    /// after a shutdown was requested: see `add_active`).
    pub(crate) fn wait_idle(&self, deadline: Instant) -> usize {
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        while *active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            active = self.active_changed.wait_timeout(active, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        *active
    }

    pub(crate) fn set_serving(&self, serving: bool) {
        *self.serving.lock().unwrap_or_else(|e| e.into_inner()) = serving;
        self.serving_changed.notify_all();
    }
}

/// Unregisters a connection when its thread ends, however it ends.
pub(crate) struct SlotGuard {
    pub(crate) control: Arc<Control>,
    id: u64,
    pub(crate) slot: Arc<ConnSlot>,
    /// Whether this guard holds the registration (see [`take`](Self::take)).
    counted: bool,
}

impl SlotGuard {
    /// Moves the registration out (to a connection a handler took over),
    /// leaving a guard that counts nothing and unregisters nothing.
    pub(crate) fn take(&mut self) -> SlotGuard {
        let inert = SlotGuard {
            control: self.control.clone(),
            id: self.id,
            slot: Arc::new(ConnSlot { stream: None, idle: AtomicBool::new(false) }),
            counted: false,
        };
        std::mem::replace(self, inert)
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if self.counted {
            self.control.conns.lock().unwrap_or_else(|e| e.into_inner()).remove(&self.id);
            self.control.add_active(-1);
        }
    }
}

/// Stops a running [`HTTPServer`](crate::HTTPServer) from any thread (cloneable).
#[derive(Clone)]
pub struct ShutdownHandle {
    pub(crate) control: Arc<Control>,
    pub(crate) grace: Duration,
}

impl ShutdownHandle {
    /// Python's `shutdown()`: tells `serve_forever` to stop accepting and
    /// waits until it has returned, which it does once connections in
    /// flight have finished (or the grace period ran out and they were
    /// closed). Do not call it from a handler of the same server: use
    /// [`request_shutdown`](Self::request_shutdown) there.
    pub fn shutdown(&self) {
        self.request_shutdown();
        let limit = Instant::now() + self.grace + Duration::from_secs(2);
        let mut serving = self.control.serving.lock().unwrap_or_else(|e| e.into_inner());
        while *serving {
            let left = limit.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            serving = self.control.serving_changed.wait_timeout(serving, left).unwrap_or_else(|e| e.into_inner()).0;
        }
    }

    /// Asks the server to stop and returns at once: no new connections,
    /// idle keep-alive connections closed, requests in flight finish.
    pub fn request_shutdown(&self) {
        self.control.request_shutdown();
        self.control.close_connections(false);
    }

    /// Whether a shutdown was requested.
    pub fn is_shutting_down(&self) -> bool {
        self.control.is_shutting_down()
    }
}
