//! A script's process: started without a shell, in a clean environment,
//! in its own process group, as `nobody` when the server runs as root; and
//! always waited for, so no run leaves a zombie behind.

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::{geteuid, Pid, User};

/// How to start one script.
pub(crate) struct Launch<'a> {
    /// The script file (absolute).
    pub(crate) script: &'a Path,
    /// The interpreter and its arguments, for a Python script; the
    /// script's path follows them. Empty: the script is executed itself.
    pub(crate) interpreter: &'a [OsString],
    pub(crate) env: Vec<(OsString, OsString)>,
    /// Whether the request has a body for the script's stdin.
    pub(crate) stdin: bool,
}

/// A running script and its pipes.
pub(crate) struct Script {
    child: Child,
    reaped: bool,
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) stdout: Option<ChildStdout>,
    pub(crate) stderr: Option<ChildStderr>,
}

impl Script {
    /// Starts the script: no shell, no arguments (a query without `=` is
    /// not put on the command line: CVE-2012-1823), the working directory
    /// its own folder (RFC 3875 §7.2), a process group of its own, and
    /// `nobody`'s user and group when the server runs as root.
    pub(crate) fn start(launch: Launch<'_>) -> io::Result<Script> {
        let mut command = match launch.interpreter.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(launch.script);
                command
            }
            None => Command::new(launch.script),
        };
        command
            .env_clear()
            .envs(launch.env)
            .stdin(if launch.stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        if let Some(dir) = launch.script.parent() {
            command.current_dir(dir);
        }
        if geteuid().is_root() {
            let (uid, gid) = nobody();
            command.uid(uid).gid(gid);
        }
        let mut child = command.spawn()?;
        Ok(Script {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
            child,
            reaped: false,
        })
    }

    /// Kills the script and everything it started in its group.
    pub(crate) fn kill(&mut self) {
        if !self.reaped {
            // The group exists while any member does: until the script is
            // reaped its pid cannot be reused, so this never hits a stranger.
            let _ = killpg(Pid::from_raw(self.child.id() as i32), Signal::SIGKILL);
        }
    }

    /// Waits for the script to exit, at most until `deadline` (if any),
    /// then kills its group; always reaps it. `None` if it had to be killed.
    pub(crate) fn finish(&mut self, deadline: Option<Instant>) -> io::Result<Option<ExitStatus>> {
        let mut pause = Duration::from_micros(100);
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                return Ok(Some(status));
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                self.kill();
                self.child.wait()?;
                self.reaped = true;
                return Ok(None);
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

impl Drop for Script {
    /// A script dropped before it was reaped (the client left, the server
    /// gave up on it) is killed and reaped here.
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
            let _ = self.child.wait();
        }
    }
}

/// Whether the kernel runs `path` itself: a `#!` line or an ELF header.
/// Anything else is refused before it is started: `execvp(3)`, which std
/// uses when it must change the user first, hands a file the kernel will
/// not run (`ENOEXEC`) to `/bin/sh`, so a data file with an execute bit
/// would run as shell commands.
pub(crate) fn kernel_runs(path: &Path) -> io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut file = std::fs::File::open(path)?;
    let mut got = 0;
    while got < magic.len() {
        match io::Read::read(&mut file, &mut magic[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(magic[..got].starts_with(b"#!") || magic[..got] == *b"\x7fELF")
}

/// The descriptors this process holds without close-on-exec, which every
/// child inherits: never the server's own (std, socket2 and rustix open
/// everything close-on-exec), but ones the process was started with. They
/// cannot be closed in the child without `unsafe` (`pre_exec`), which this
/// crate forbids; the CGI handler logs them once instead. Read from
/// `/proc/self/fdinfo` (`O_CLOEXEC` in `flags`); empty where there is none.
pub(crate) fn inheritable_descriptors() -> Vec<u32> {
    const O_CLOEXEC: u32 = 0o2_000_000;
    let Ok(dir) = std::fs::read_dir("/proc/self/fdinfo") else { return Vec::new() };
    let mut fds: Vec<u32> = dir
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd: u32 = entry.file_name().to_str()?.parse().ok()?;
            let info = std::fs::read_to_string(entry.path()).ok()?;
            let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?.trim();
            let flags = u32::from_str_radix(flags, 8).ok()?;
            (fd > 2 && flags & O_CLOEXEC == 0).then_some(fd)
        })
        .collect();
    fds.sort_unstable();
    fds
}

/// CPython's `nobody_uid()`, with the group: `nobody`'s ids, or 65534 (the
/// usual `nobody`/`nogroup`) where the system has no such user.
/// Looked up once per process, not for every script.
pub(crate) fn nobody() -> (u32, u32) {
    static IDS: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *IDS.get_or_init(|| match User::from_name("nobody") {
        Ok(Some(user)) => (user.uid.as_raw(), user.gid.as_raw()),
        _ => (65534, 65534),
    })
}
