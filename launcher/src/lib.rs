//! selkies-launcher: the pieces of `selkies-gstreamer-run`, the portable bundle's entry point.
//! Pure logic (glibc choice, environment, arguments, encoder choice, report) lives in modules
//! that do no I/O beyond reading files they are handed; the binary's `launch` module wires them to the system.
//! The host may use [`env::user_env`] to recover the user's environment for the programs it
//! starts.

pub mod args;
pub mod bundle;
pub mod env;
pub mod exec;
pub mod glibc;
pub mod probe;
pub mod report;
pub mod services;
pub mod vars;
