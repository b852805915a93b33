//! The live session's state, in a small JSON file that `healthcheck` and `welcome` read.
//!
//! `run` rewrites it atomically (write, then rename) at start, after every heartbeat interval and at the
//! end. It holds nothing secret: the session ID is masked and the key is never there.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The state file's name inside the state directory.
pub const FILE: &str = "session.json";

/// Where the session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Validated, and the last heartbeat (if any) succeeded.
    Live,
    /// The last heartbeat interval failed; the session goes on within the offline grace.
    Degraded,
    /// The session is over.
    Ended,
}

/// What the file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Where the session stands.
    pub status: Status,
    /// The entrypoint's pid, so that a stale file from a dead process is not believed.
    pub pid: u32,
    /// docker or workstation.
    pub container_type: String,
    /// The licensed customer.
    pub customer: String,
    /// The license's expiry.
    pub expires_at: String,
    /// The session ID, masked.
    pub session: String,
    /// Seconds between heartbeats.
    pub heartbeat_interval: u64,
    /// Unix time after which the state is stale unless rewritten.
    pub healthy_until: u64,
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

/// Writes `state` into `dir`, atomically.
pub fn write(dir: &Path, state: &State) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{FILE}.{}", std::process::id()));
    fs::write(&tmp, serde_json::to_vec_pretty(state)?)?;
    fs::rename(&tmp, dir.join(FILE))
}

/// Reads the state in `dir`.
pub fn read(dir: &Path) -> io::Result<State> {
    let bytes = fs::read(dir.join(FILE))?;
    serde_json::from_slice(&bytes).map_err(io::Error::other)
}

/// The healthcheck's verdict: live, fresh, and written by a process that still runs.
pub fn is_healthy(state: &State, now: u64) -> bool {
    state.status == Status::Live && now <= state.healthy_until && Path::new(&format!("/proc/{}", state.pid)).exists()
}

/// How long a "live" state stays believable: one interval plus the request time-out and a margin.
pub fn freshness(interval: Duration, request_timeout: Duration) -> Duration {
    interval + request_timeout + Duration::from_secs(5)
}

/// `coditect-entrypoint healthcheck`: 0 while the session is live, 1 otherwise (never 2, which Docker reserves).
pub fn healthcheck(dir: &Path) -> u8 {
    match read(dir) {
        Ok(state) if is_healthy(&state, now_unix()) => 0,
        Ok(state) => {
            eprintln!("unhealthy: session {} is {:?}", state.session, state.status);
            1
        }
        Err(error) => {
            eprintln!("unhealthy: no session state in {}: {error}", dir.join(FILE).display());
            1
        }
    }
}

/// The state directory from the environment, as `run` would use it.
pub fn dir_from_env() -> PathBuf {
    std::env::var_os(crate::config::vars::STATE_DIR.name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from(crate::config::vars::STATE_DIR.default.unwrap_or("/run/coditect")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(status: Status, healthy_until: u64) -> State {
        State {
            status,
            pid: std::process::id(),
            container_type: "docker".into(),
            customer: "Acme".into(),
            expires_at: "2027-06-30T00:00:00Z".into(),
            session: "…ab12".into(),
            heartbeat_interval: 300,
            healthy_until,
        }
    }

    #[test]
    fn a_fresh_live_state_is_healthy_and_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let live = state(Status::Live, now_unix() + 60);
        write(dir.path(), &live).expect("write");
        assert_eq!(read(dir.path()).expect("read"), live);
        assert_eq!(healthcheck(dir.path()), 0);
    }

    #[test]
    fn degraded_stale_or_missing_states_are_unhealthy() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(healthcheck(dir.path()), 1);
        write(dir.path(), &state(Status::Degraded, now_unix() + 60)).expect("write");
        assert_eq!(healthcheck(dir.path()), 1);
        write(dir.path(), &state(Status::Live, now_unix() - 1)).expect("write");
        assert_eq!(healthcheck(dir.path()), 1);
    }
}
