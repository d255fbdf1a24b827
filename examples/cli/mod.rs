//! The examples' command line, shared: each takes an optional port (and
//! `-h`/`--help`), answers a mistake the way a command-line tool does (one
//! line on stderr, exit status 2, as Python's `argparse`), and reports a
//! port it cannot listen on in one line with exit status 1.

use std::fmt::Display;
use std::process::exit;

/// The example's name and its usage line, e.g.
/// `Cli::new("hello", "usage: hello [-h] [PORT]")`.
pub struct Cli {
    pub name: &'static str,
    pub usage: &'static str,
}

// Each example is its own crate and uses only part of this module.
#[allow(dead_code)]
impl Cli {
    pub const fn new(name: &'static str, usage: &'static str) -> Cli {
        Cli { name, usage }
    }

    /// A bad command line: one line on stderr, exit status 2.
    pub fn usage_error(&self, message: impl Display) -> ! {
        eprintln!("{}: error: {message} ({})", self.name, self.usage);
        exit(2)
    }

    /// The optional `PORT` argument (`default` without one); `-h`/`--help`
    /// prints the usage and exits.
    pub fn port(&self, default: u16) -> u16 {
        let mut args = std::env::args().skip(1);
        let port = match args.next() {
            None => default,
            Some(flag) if flag == "-h" || flag == "--help" => {
                println!("{}", self.usage);
                exit(0)
            }
            Some(arg) => arg.parse().unwrap_or_else(|_| self.usage_error(format!("invalid port: {arg:?}"))),
        };
        if let Some(extra) = args.next() {
            self.usage_error(format!("unrecognized argument: {extra:?}"));
        }
        port
    }

    /// The server, or one line saying why it could not listen, and exit
    /// status 1: `error: cannot listen on 127.0.0.1:8000: Address already
    /// in use (os error 98)`.
    pub fn listen<T>(&self, address: impl Display, bound: std::io::Result<T>) -> T {
        bound.unwrap_or_else(|e| {
            eprintln!("{}: error: cannot listen on {address}: {e}", self.name);
            exit(1)
        })
    }
}
