//! The entrypoint's exit codes: an API that Docker, orchestrators and the conformance suites read.
//!
//! The table follows the license API contract (`license-api.md`, "Exit codes of the entrypoint") and the
//! conventions of sysexits(3) and POSIX shells. [`code_for`] is the one place that maps an error to a code.

use crate::session::RunError;

/// The license was refused at start, or the session was revoked, expired or exceeded the offline grace.
pub const LICENSE_REFUSED: u8 = 77;
/// Configuration is missing or invalid; nothing was sent to the license API.
pub const CONFIG: u8 = 78;
/// The license API or the metadata server could not be reached before the deadline.
pub const UNREACHABLE: u8 = 69;
/// The license API (or the metadata server) answered something that breaks the contract.
pub const PROTOCOL: u8 = 76;
/// The framework under `/opt/coditect` failed its integrity check.
pub const INTEGRITY: u8 = 65;
/// The command was found but could not be executed (POSIX shell convention).
pub const CANNOT_EXECUTE: u8 = 126;
/// The command was not found (POSIX shell convention).
pub const NOT_FOUND: u8 = 127;
/// The entrypoint itself failed at an operating-system call (sysexits' `EX_OSERR`).
pub const OS_ERROR: u8 = 71;
/// Base of the code for a child killed by a signal: the code is 128 + the signal's number.
pub const SIGNAL_BASE: u8 = 128;

/// The exit code for an error that ended `run` before the child's own status was known.
pub fn code_for(error: &RunError) -> u8 {
    match error {
        RunError::Config(_) => CONFIG,
        RunError::Integrity(_) => INTEGRITY,
        RunError::License(e) => e.exit_code(),
        RunError::Spawn(e) => e.exit_code(),
        RunError::Os { .. } | RunError::Privilege { .. } => OS_ERROR,
        RunError::Interrupted { signal } => signal_code(*signal),
    }
}

/// 128 + N for signal N, saturating for out-of-range numbers.
pub fn signal_code(signal: i32) -> u8 {
    u8::try_from(signal).map_or(u8::MAX, |n| SIGNAL_BASE.saturating_add(n))
}
