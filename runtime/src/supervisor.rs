//! The PID 1 supervisor: spawn the command, forward signals to it, reap every child, stop processes.
//!
//! One loop owns every wait: nothing else calls `waitpid` or `Child::wait`, so no exit status is stolen.

use std::future::Future;
use std::io;
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::time::Duration;

use nix::sys::signal::Signal;
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::api::LicenseError;
use crate::config::{RunAs, vars};
use crate::exit;
use crate::unix::{self, Signals};

/// The command could not be started.
#[derive(Debug, thiserror::Error)]
#[error("start the command {program:?}: {source}; expected an executable on PATH or a path to one")]
pub struct SpawnError {
    /// The program that was asked for.
    pub program: String,
    /// Why it could not start.
    #[source]
    pub source: io::Error,
}

impl SpawnError {
    /// 127 when the program does not exist, 126 when it exists but cannot be executed.
    pub fn exit_code(&self) -> u8 {
        if self.source.kind() == io::ErrorKind::NotFound {
            exit::NOT_FOUND
        } else {
            exit::CANNOT_EXECUTE
        }
    }
}

/// Starts `command` with the environment less the license key, and default signal handling. With
/// `run_as`, the entrypoint has already become that user (`session::become_run_as`), so the command
/// inherits its IDs and gets its HOME, USER and LOGNAME.
pub fn spawn(command: &[String], run_as: Option<&RunAs>) -> Result<Pid, SpawnError> {
    let (program, args) = command.split_first().ok_or_else(|| SpawnError {
        program: String::new(),
        source: io::Error::new(io::ErrorKind::NotFound, "empty command"),
    })?;
    let mut cmd = Command::new(program);
    cmd.args(args).env_remove(vars::LICENSE_KEY.name).arg0(program);
    if let Some(user) = run_as {
        cmd.env("HOME", &user.home)
            .env("USER", &user.name)
            .env("LOGNAME", &user.name)
            .env_remove(vars::RUN_AS.name);
    }
    unix::restore_signals_on_exec(&mut cmd);
    let child = cmd.spawn().map_err(|source| SpawnError {
        program: program.clone(),
        source,
    })?;
    let pid = i32::try_from(child.id()).map_err(|_| SpawnError {
        program: program.clone(),
        source: io::Error::other("child pid out of range"),
    })?;
    // The `Child` handle is dropped without waiting: the supervisor's loop reaps it with waitpid.
    Ok(Pid::from_raw(pid))
}

/// Why supervision stopped.
#[derive(Debug)]
pub enum Ending {
    /// The command exited by itself with this code.
    ChildExited(u8),
    /// The container was told to stop; the signal has been forwarded to the command.
    Signalled(Signal),
    /// The license session ended.
    SessionEnded(LicenseError),
}

/// Forwards signals to `child` and reaps, until the child exits, a stop signal arrives or `session`
/// (the heartbeat) says the session is over.
pub async fn supervise(
    signals: &mut Signals,
    child: Pid,
    session: impl Future<Output = LicenseError>,
) -> io::Result<Ending> {
    let mut session = std::pin::pin!(session);
    loop {
        tokio::select! {
            signal = signals.recv() => {
                let signal = signal?;
                if signal == Signal::SIGCHLD {
                    if let Some(code) = unix::reap(child) {
                        return Ok(Ending::ChildExited(code));
                    }
                    continue;
                }
                tracing::info!(%signal, "forwarding signal to the command");
                unix::send(child, signal);
                if unix::is_stop(signal) {
                    return Ok(Ending::Signalled(signal));
                }
            }
            error = &mut session => return Ok(Ending::SessionEnded(error)),
        }
    }
}

/// Waits for `child` to exit after a stop: SIGTERM unless it was already sent, SIGKILL after `grace`.
/// Signals that arrive meanwhile are still forwarded. Returns the child's exit code.
pub async fn stop_child(signals: &mut Signals, child: Pid, grace: Duration, sigterm_sent: bool) -> io::Result<u8> {
    if !sigterm_sent {
        unix::send(child, Signal::SIGTERM);
    }
    let kill_at = Instant::now() + grace;
    let mut killed = false;
    loop {
        tokio::select! {
            signal = signals.recv() => {
                let signal = signal?;
                if signal == Signal::SIGCHLD {
                    if let Some(code) = unix::reap(child) {
                        return Ok(code);
                    }
                } else {
                    unix::send(child, signal);
                }
            }
            () = tokio::time::sleep_until(kill_at), if !killed => {
                tracing::warn!(grace_ms = grace.as_millis() as u64, "the command outlived the stop grace; sending SIGKILL");
                unix::send(child, Signal::SIGKILL);
                killed = true;
            }
        }
    }
}

/// Stops whatever processes remain after the command exited (its orphans, reparented here): SIGTERM,
/// then SIGKILL after `grace`, reaping them all. Bounded by `grace` plus one second.
pub async fn stop_leftovers(signals: &mut Signals, grace: Duration) -> io::Result<()> {
    unix::reap(Pid::from_raw(0));
    let mut left = unix::children();
    if left.is_empty() {
        return Ok(());
    }
    tracing::info!(count = left.len(), "stopping processes left behind by the command");
    left.iter().for_each(|pid| unix::send(*pid, Signal::SIGTERM));
    let kill_at = Instant::now() + grace;
    let give_up = kill_at + Duration::from_secs(1);
    let mut killed = false;
    while !left.is_empty() {
        tokio::select! {
            signal = signals.recv() => {
                if signal? == Signal::SIGCHLD {
                    unix::reap(Pid::from_raw(0));
                }
            }
            () = tokio::time::sleep_until(kill_at), if !killed => {
                left.iter().for_each(|pid| unix::send(*pid, Signal::SIGKILL));
                killed = true;
            }
            () = tokio::time::sleep_until(give_up) => {
                tracing::warn!(count = left.len(), "processes still present after SIGKILL; leaving them");
                return Ok(());
            }
        }
        left = unix::children();
        if killed {
            // Orphans of the orphans are reparented here too; they get SIGKILL at once.
            left.iter().for_each(|pid| unix::send(*pid, Signal::SIGKILL));
        }
    }
    Ok(())
}
