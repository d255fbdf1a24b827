//! A connection's socket as the handler layer's [`Channel`]: non-blocking
//! reads and writes, and the waits between them (`poll(2)`), each wait
//! announced to the dispatch first (`blocking::before_wait`) so that a
//! poller never sits behind it.

use std::any::Any;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::handler::io::Channel;
use crate::transport::blocking;

/// A non-blocking TCP socket, shared with the poller and the shutdown
/// registry (which may close it).
pub(crate) struct TcpChannel(pub(crate) Arc<TcpStream>);

impl Channel for TcpChannel {
    fn read(&mut self, dst: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(dst)
    }

    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        (&*self.0).write(data)
    }

    fn wait(&self, writable: bool, timeout: Option<Duration>) -> io::Result<bool> {
        wait_socket(&self.0, writable, timeout)
    }

    fn shutdown_write(&mut self) {
        let _ = self.0.shutdown(Shutdown::Write);
    }

    fn socket(&self) -> Option<BorrowedFd<'_>> {
        Some(self.0.as_fd())
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// A channel's wait on its socket (`Channel::wait`): announced to the
/// dispatch first, so the poller is handed over before the thread blocks.
pub(crate) fn wait_socket(stream: &TcpStream, writable: bool, timeout: Option<Duration>) -> io::Result<bool> {
    blocking::before_wait();
    wait_for(stream, if writable { PollFlags::OUT } else { PollFlags::IN }, timeout)
}

/// Waits until `fd` is ready for `flags` or `timeout` passes (`false`).
pub(crate) fn wait_for(fd: &impl AsFd, flags: PollFlags, timeout: Option<Duration>) -> io::Result<bool> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Ok(false);
        }
        let spec = left.map(|l| Timespec { tv_sec: l.as_secs() as i64, tv_nsec: l.subsec_nanos() as _ });
        let mut fds = [PollFd::new(fd, flags)];
        match rustix::event::poll(&mut fds, spec.as_ref()) {
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits for the client's next bytes on `stream`, or until `wake` is
/// readable: `Some(hangup)` when there are some (or the client closed),
/// `None` when woken. No timeout: a timed wait arms a kernel timer each
/// time (see `linger.rs`).
pub(crate) fn wait_readable(stream: &TcpStream, wake: impl AsFd) -> Option<bool> {
    let mut fds = [PollFd::new(stream, PollFlags::IN | PollFlags::RDHUP), PollFd::new(&wake, PollFlags::IN)];
    loop {
        match rustix::event::poll(&mut fds, None) {
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return None,
            Ok(_) if !fds[1].revents().is_empty() => return None,
            Ok(_) => {
                let hangup = PollFlags::RDHUP | PollFlags::HUP | PollFlags::ERR;
                return Some(fds[0].revents().intersects(hangup));
            }
        }
    }
}
