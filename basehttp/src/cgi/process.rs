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

    /// Waits for the script to exit, at most until `deadline`, then kills
    /// its group; always reaps it. `None` if it had to be killed.
    pub(crate) fn finish(&mut self, deadline: Instant) -> io::Result<Option<ExitStatus>> {
        let mut pause = Duration::from_micros(100);
        loop {
            if let Some(status) = self.child.try_wait()? {
                self.reaped = true;
                return Ok(Some(status));
            }
            if Instant::now() >= deadline {
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

/// CPython's `nobody_uid()`, with the group: `nobody`'s ids, or 65534 (the
/// usual `nobody`/`nogroup`) where the system has no such user.
pub(crate) fn nobody() -> (u32, u32) {
    match User::from_name("nobody") {
        Ok(Some(user)) => (user.uid.as_raw(), user.gid.as_raw()),
        _ => (65534, 65534),
    }
}
