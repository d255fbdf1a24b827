//! The bytes of one script run, in one thread: the request body to the
//! script's stdin, its stdout to the client (its head checked and turned
//! into the server's own, its body framed), its stderr to the server log,
//! with one `poll(2)` over the pipes and the client's socket, so a script
//! that writes while it reads never deadlocks against the server, a script
//! that goes quiet for longer than the timeout is killed, and a client that
//! leaves kills its script.

use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::cgi::process::Script;
use crate::cgi::script_head::{scan, Scan, ScriptHead, MAX_HEAD};
use crate::handler::request::Request;
use crate::protocol::pyrepr::repr;

/// Bytes moved per read or write.
const CHUNK: usize = 64 * 1024;
/// A stderr line longer than this is logged in pieces.
const MAX_LOG_LINE: usize = 4096;

/// How a run ended, for the handler.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The response was sent (a `502` or `504` included).
    Answered,
    /// RFC 3875 §6.2.2: the script asked the server to answer a `GET` of
    /// this path instead; nothing was sent.
    LocalRedirect(String),
}

/// Where the script's output goes.
enum Out {
    /// Still reading its head.
    Head(Vec<u8>),
    /// Its body: `left` bytes more when it gave a `Content-Length`.
    Body { left: Option<u64> },
    /// `nph-`: everything, unchanged.
    Raw,
    /// Read and dropped: a local redirect waits for the end, or the
    /// response was already given (a `502`).
    Drop,
}

/// One script run's state.
pub(crate) struct Pump<'a> {
    req: &'a mut Request,
    script: &'a mut Script,
    /// `SCRIPT_NAME`, for log lines.
    name: &'a str,
    timeout: Duration,
    out: Out,
    redirect: Option<String>,
    /// Request-body bytes read from the client and not yet written to stdin.
    input: Vec<u8>,
    input_at: usize,
    /// A partial stderr line.
    err_line: Vec<u8>,
    /// Response bytes reached the client's buffers (no more error pages).
    started: bool,
    /// The response is complete whatever the script does next (a `502`
    /// was sent, or its `Content-Length` was reached and it wrote on):
    /// the script is killed rather than drained.
    abandon: bool,
}

impl<'a> Pump<'a> {
    pub(crate) fn new(
        req: &'a mut Request,
        script: &'a mut Script,
        name: &'a str,
        nph: bool,
        timeout: Duration,
    ) -> Self {
        Pump {
            req,
            script,
            name,
            timeout,
            out: if nph { Out::Raw } else { Out::Head(Vec::new()) },
            redirect: None,
            input: Vec::new(),
            input_at: 0,
            err_line: Vec::new(),
            started: false,
            abandon: false,
        }
    }

    /// Runs until the script closed its stdout and stderr (or was given
    /// up on). An error means the client is gone or the response was cut
    /// short; the caller then kills the script and the connection closes.
    pub(crate) fn run(mut self) -> io::Result<Outcome> {
        for fd in [
            self.script.stdin.as_ref().map(|p| rustix::io::ioctl_fionbio(p, true)),
            self.script.stdout.as_ref().map(|p| rustix::io::ioctl_fionbio(p, true)),
            self.script.stderr.as_ref().map(|p| rustix::io::ioctl_fionbio(p, true)),
        ] {
            fd.transpose()?;
        }
        let mut buf = vec![0u8; CHUNK];
        let mut deadline = self.deadline();
        loop {
            if self.script.stdin.is_some() && self.input_at == self.input.len() {
                // The client's pace, not the script's: the clock restarts.
                self.read_body()?;
                deadline = self.deadline();
            }
            if self.script.stdout.is_none() && self.script.stderr.is_none() {
                break;
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                return self.timed_out();
            }
            let ready = self.wait(left)?;
            if ready.client_gone {
                return Err(io::Error::new(ErrorKind::ConnectionAborted, "the client closed the connection"));
            }
            let mut progress = false;
            if ready.stdin {
                progress |= self.write_input()?;
            }
            if ready.stdout {
                progress |= self.read_output(&mut buf)?;
            }
            if ready.stderr {
                self.read_errors(&mut buf);
            }
            if self.abandon {
                self.log_line_end();
                self.script.kill();
                return Ok(Outcome::Answered);
            }
            if progress {
                deadline = self.deadline();
            }
        }
        self.end_of_output()
    }

    /// When the script's silence ends it, from now: `None` for a timeout
    /// too long to count (`Duration::MAX`: no limit).
    fn deadline(&self) -> Option<Instant> {
        Instant::now().checked_add(self.timeout)
    }

    /// The next piece of the request body, or its end (stdin is closed:
    /// the script reads EOF).
    fn read_body(&mut self) -> io::Result<()> {
        self.input.resize(CHUNK, 0);
        let n = loop {
            match self.req.rfile().read(&mut self.input) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        self.input.truncate(n);
        self.input_at = 0;
        if n == 0 {
            self.script.stdin = None;
        }
        Ok(())
    }

    /// Waits for the pipes (and the client leaving, once its request is
    /// read), at most `left` (`None`: for as long as it takes).
    fn wait(&self, left: Option<Duration>) -> io::Result<Ready> {
        let input = self.script.stdin.as_ref().filter(|_| self.input_at < self.input.len());
        let client = if input.is_none() && self.script.stdin.is_none() { self.req.client_socket() } else { None };
        let mut fds = Vec::with_capacity(4);
        let mut slots = [None; 4];
        if let Some(p) = input {
            slots[0] = Some(fds.len());
            fds.push(PollFd::new(p, PollFlags::OUT));
        }
        if let Some(p) = &self.script.stdout {
            slots[1] = Some(fds.len());
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        if let Some(p) = &self.script.stderr {
            slots[2] = Some(fds.len());
            fds.push(PollFd::new(p, PollFlags::IN));
        }
        if let Some(fd) = &client {
            // RDHUP: the client's FIN, whatever it still has buffered.
            slots[3] = Some(fds.len());
            fds.push(PollFd::new(fd, PollFlags::RDHUP));
        }
        let spec = left.and_then(|l| Timespec::try_from(l).ok());
        match rustix::event::poll(&mut fds, spec.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(Ready::default()),
            Err(e) => return Err(e.into()),
        }
        let any = |slot: Option<usize>| slot.is_some_and(|i| !fds[i].revents().is_empty());
        Ok(Ready { stdin: any(slots[0]), stdout: any(slots[1]), stderr: any(slots[2]), client_gone: any(slots[3]) })
    }

    /// Writes what the pipe takes; a script that closed its stdin gets no
    /// more (the rest of the body stays unread, so the connection closes).
    fn write_input(&mut self) -> io::Result<bool> {
        let Some(stdin) = &self.script.stdin else { return Ok(false) };
        match (&*stdin).write(&self.input[self.input_at..]) {
            Ok(n) => {
                self.input_at += n;
                Ok(n > 0)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(false),
            Err(_) => {
                self.script.stdin = None;
                self.input.clear();
                self.input_at = 0;
                Ok(true)
            }
        }
    }

    fn read_output(&mut self, buf: &mut [u8]) -> io::Result<bool> {
        let Some(stdout) = &mut self.script.stdout else { return Ok(false) };
        match stdout.read(buf) {
            Ok(0) => {
                self.script.stdout = None;
                Ok(true)
            }
            Ok(n) => {
                self.output(&buf[..n])?;
                Ok(true)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => Ok(false),
            Err(_) => {
                self.script.stdout = None;
                Ok(true)
            }
        }
    }

    /// Script output, wherever it goes now.
    fn output(&mut self, data: &[u8]) -> io::Result<()> {
        match &mut self.out {
            Out::Head(head) => {
                head.extend_from_slice(data);
                // A head ends, or breaks a rule, only with a line's end or
                // its length: without one, the scan from the start (every
                // line checked again) is not repeated for each small read.
                if !data.contains(&b'\n') && head.len() <= MAX_HEAD {
                    return Ok(());
                }
                match scan(head) {
                    Scan::Incomplete => Ok(()),
                    Scan::Invalid(why) => self.bad_gateway(&why),
                    Scan::Done(parsed, body_at) => {
                        let rest = head.split_off(body_at);
                        self.begin(parsed)?;
                        self.output(&rest)
                    }
                }
            }
            Out::Body { left } => {
                let n = left.map_or(data.len(), |l| data.len().min(usize::try_from(l).unwrap_or(usize::MAX)));
                if n < data.len() {
                    self.req
                        .log_error(format_args!("CGI script {} wrote more than its Content-Length", repr(self.name)));
                    self.out = Out::Drop;
                } else if let Some(l) = left {
                    *l -= n as u64;
                }
                self.send(&data[..n])
            }
            Out::Raw => {
                if !self.started {
                    // nph-: the script's own status line, for the log only;
                    // its framing is its own, so the connection ends with it.
                    let code = data.get(9..12).and_then(|c| std::str::from_utf8(c).ok()?.parse().ok());
                    self.req.log_request(code, None);
                    self.req.close_connection = true;
                }
                self.send(data)
            }
            Out::Drop => Ok(()),
        }
    }

    /// The head the script printed, as the server's own.
    fn begin(&mut self, head: ScriptHead) -> io::Result<()> {
        if let Some(path) = head.local_redirect() {
            self.redirect = Some(path.to_owned());
            self.out = Out::Drop;
            return Ok(());
        }
        let req = &mut *self.req;
        let code = head.code();
        match head.status.as_ref().and_then(|(_, reason)| reason.as_deref()) {
            Some(reason) => req.send_response_message(code, reason)?,
            None => req.send_response(code)?,
        }
        for (name, value) in &head.fields {
            req.send_header(name, value)?;
        }
        if head.close {
            req.close_connection = true;
        }
        let no_body = req.command == "HEAD" || matches!(code, 204 | 304);
        match head.content_length {
            Some(n) => req.send_header("Content-Length", n)?,
            None if matches!(code, 204 | 304) => {}
            // HTTP/1.1 keeps the connection: chunked; HTTP/1.0 (or 0.9)
            // ends the body by closing it.
            None => match req.send_chunked() {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::Unsupported => req.close_connection = true,
                Err(e) => return Err(e),
            },
        }
        if no_body {
            req.discard_body(true);
        }
        req.end_headers()?;
        self.started = true;
        self.out = Out::Body { left: head.content_length };
        Ok(())
    }

    /// Response bytes to the client, at once: the script's pace is the
    /// client's (a slow client holds the script back, not memory).
    fn send(&mut self, data: &[u8]) -> io::Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        self.started = true;
        let mut wfile = self.req.wfile();
        wfile.write_all(data)?;
        wfile.flush()
    }

    /// RFC 3875 §6: a script that printed no valid head gets a `502`; the
    /// log says why. The rest of its output is dropped.
    fn bad_gateway(&mut self, why: &str) -> io::Result<()> {
        self.req.log_error(format_args!("CGI script {} printed an invalid head: {why}", repr(self.name)));
        self.out = Out::Drop;
        self.started = true;
        self.abandon = true;
        self.req.send_error_explain(502, None, Some("The CGI script did not print a valid response head."))
    }

    /// The script was quiet for the whole timeout: killed, and `504` if
    /// the client has nothing yet, else the response is cut short.
    fn timed_out(&mut self) -> io::Result<Outcome> {
        self.script.kill();
        let secs = self.timeout.as_secs_f64();
        self.req.log_error(format_args!("CGI script {} timed out after {secs} s and was killed", repr(self.name)));
        if self.started {
            return Err(io::Error::new(ErrorKind::TimedOut, "the CGI script timed out in the middle of its response"));
        }
        self.req.send_error_explain(504, None, Some("The CGI script did not answer in time."))?;
        Ok(Outcome::Answered)
    }

    /// Stdout ended: the response is complete, or was not given at all.
    fn end_of_output(&mut self) -> io::Result<Outcome> {
        self.log_line_end();
        match std::mem::replace(&mut self.out, Out::Drop) {
            Out::Head(head) if head.is_empty() => self.bad_gateway("no output")?,
            Out::Head(_) => self.bad_gateway("the output ended inside the head")?,
            Out::Body { left: Some(left) } if left > 0 => {
                return Err(io::Error::new(
                    ErrorKind::UnexpectedEof,
                    format!("CGI script {} ended {left} bytes short of its Content-Length", repr(self.name)),
                ));
            }
            _ => {}
        }
        Ok(match self.redirect.take() {
            Some(path) => Outcome::LocalRedirect(path),
            None => Outcome::Answered,
        })
    }

    /// Stderr, line by line, to the server's error log.
    fn read_errors(&mut self, buf: &mut [u8]) {
        let Some(stderr) = &mut self.script.stderr else { return };
        let n = match stderr.read(buf) {
            Ok(0) => {
                self.script.stderr = None;
                return self.log_line_end();
            }
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => return,
            Err(_) => {
                self.script.stderr = None;
                return;
            }
        };
        for &b in &buf[..n] {
            if b == b'\n' || self.err_line.len() >= MAX_LOG_LINE {
                self.log_line_end();
            }
            if b != b'\n' {
                self.err_line.push(b);
            }
        }
    }

    fn log_line_end(&mut self) {
        if self.err_line.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(&self.err_line).into_owned();
        self.err_line.clear();
        self.req.log_error(format_args!("CGI script {}: {}", repr(self.name), line.trim_end_matches('\r')));
    }
}

/// Which of the polled files are ready.
#[derive(Default)]
struct Ready {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    client_gone: bool,
}
