//! `coditect-entrypoint run`, as a list of steps: config → privilege → signals → integrity → license →
//! spawn → supervise → end session.

use std::io;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::time::Instant;

use crate::api::http::Http;
use crate::api::model::{Session, ValidateRequest};
use crate::api::retry::{self, Target};
use crate::api::{BeatOutcome, EndReason, LicenseApi, LicenseError, Server};
use crate::config::key::mask;
use crate::config::{Config, ConfigError, ContainerType};
use crate::heartbeat::{self, Beat, Health, Schedule};
use crate::integrity::{self, Framework, IntegrityError};
use crate::metadata::{Metadata, TokenCache};
use crate::state::{self, State, Status};
use crate::supervisor::{self, Ending, SpawnError};
use crate::unix::{self, Signals};
use crate::{exit, logging};

/// Why `run` ended before the command's own status could be returned.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad configuration (exit 78).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The framework tree failed its check (exit 65).
    #[error(transparent)]
    Integrity(#[from] IntegrityError),
    /// The license flow failed (exit 77, 69 or 76).
    #[error(transparent)]
    License(#[from] LicenseError),
    /// The command could not be started (exit 127 or 126).
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// An operating-system call of the supervisor failed (exit 71).
    #[error("{what}: {source}")]
    Os {
        /// What was being done.
        what: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The entrypoint could not become `CODITECT_RUN_AS` (exit 71).
    #[error(
        "become {user} (uid {uid}, gid {gid}) as CODITECT_RUN_AS asks: {source}; expected a container that keeps \
         CAP_SETUID, CAP_SETGID and CAP_CHOWN when it drops capabilities"
    )]
    Privilege {
        /// The user asked for.
        user: String,
        /// Its uid.
        uid: u32,
        /// Its primary gid.
        gid: u32,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A stop signal arrived before the command was started (exit 128 + N).
    #[error("start: interrupted by signal {signal} before the command started")]
    Interrupted {
        /// The signal's number.
        signal: i32,
    },
}

fn os(what: &'static str) -> impl FnOnce(io::Error) -> RunError {
    move |source| RunError::Os { what, source }
}

/// Step 2: a workstation image starts as root so that a fresh `/home` volume can be given to the user.
/// Root creates and hands over the home directory and the state directory and nothing else; then the
/// entrypoint becomes the user for good, before any thread, request or spawn, so PID 1 keeps no
/// capability, the API is spoken to unprivileged, and the home is wired with the user's own rights.
fn become_run_as(config: &Config) -> Result<(), RunError> {
    let Some(user) = &config.run_as else {
        return Ok(());
    };
    if let Err(error) = crate::home::hand_over(user) {
        tracing::warn!("failed to {error}; the command starts without the framework links");
    }
    let privilege = |source: io::Error| RunError::Privilege {
        user: user.name.clone(),
        uid: user.uid,
        gid: user.gid,
        source,
    };
    std::fs::create_dir_all(&config.state_dir)
        .and_then(|()| std::os::unix::fs::lchown(&config.state_dir, Some(user.uid), Some(user.gid)))
        .map_err(privilege)?;
    unix::become_user(user.uid, user.gid).map_err(|errno| privilege(errno.into()))?;
    tracing::info!(user = %user.name, uid = user.uid, "became the user; no capability is kept");
    Ok(())
}

/// Runs `command` under license, and returns the process's exit code.
pub fn run(command: Vec<String>) -> u8 {
    let process_start = std::time::Instant::now();
    logging::init(crate::config::log_format_from_env());
    match run_steps(command, process_start) {
        Ok(code) => code,
        Err(error) => {
            let code = exit::code_for(&error);
            tracing::error!(exit_code = code, "failed to {error}");
            code
        }
    }
}

fn run_steps(command: Vec<String>, process_start: std::time::Instant) -> Result<u8, RunError> {
    // 0. Out of the developer's reach: no /proc/1/environ (the key), no ptrace.
    unix::hide_from_same_uid();
    // 1. Configuration: everything is checked before the first request or spawn.
    if command.is_empty() {
        return Err(ConfigError::Missing {
            var: "the command after `run --`",
            accepted: "a program and its arguments",
        }
        .into());
    }
    let config = Config::from_env()?;
    // 2. Privilege: root only hands the user its home and the state directory, then becomes the user.
    become_run_as(&config)?;
    // 3. Signals: blocked before any thread exists, so that every thread inherits the mask.
    let blocked = unix::block_signals().map_err(|e| RunError::Os {
        what: "block signals",
        source: e.into(),
    })?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(os("start the async runtime"))?;
    runtime.block_on(async {
        let mut signals = Signals::new(&blocked).map_err(os("open a signalfd"))?;
        unix::adopt_orphans();
        // 4. Integrity of the framework tree.
        let key = integrity::trusted_key()?;
        if key.is_none() {
            tracing::warn!("built without a manifest key: the manifest's signature is not checked, only its digests");
        }
        let framework = integrity::check(&config.framework_dir, key.as_ref())?;
        tracing::info!(version = %framework.version, files = framework.files, "framework verified");
        // 5. License.
        let http = Http::new(config.api_timeout).map_err(|e| RunError::Os {
            what: "set up HTTP",
            source: io::Error::other(e),
        })?;
        let metadata = match config.container_type {
            ContainerType::Workstation => {
                let audience = config.api_url.as_str().trim_end_matches('/');
                Some(Metadata::new(http.clone(), &config.metadata_host, audience)?)
            }
            ContainerType::Docker => None,
        };
        let api = LicenseApi::new(&config, http, metadata.clone().map(TokenCache::new));
        let started = Instant::now();
        let session = tokio::select! {
            session = validate(&config, &api, metadata.as_ref(), &framework, started) => session?,
            signal = next_stop_signal(&mut signals) => {
                let signal = signal.map_err(os("read signals"))?;
                return Err(RunError::Interrupted { signal: signal as i32 });
            }
        };
        let interval = effective_interval(&config, &session);
        let validated = Instant::now();
        tracing::info!(
            customer = %session.customer,
            expires_at = %session.expires_at,
            session = %mask(&session.session_id),
            heartbeat_interval_s = interval.as_secs(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            since_start_us = process_start.elapsed().as_micros() as u64,
            "license accepted"
        );
        let publish = |status: Status| publish_state(&config, &session, interval, status);
        publish(Status::Live);
        // 6. Spawn the command; as CODITECT_RUN_AS, in a home it wired itself from the skeleton.
        if let Some(user) = &config.run_as {
            match crate::home::wire(&config.home_skel, user) {
                Ok(created) => tracing::info!(user = %user.name, home = %user.home.display(), created, "home wired"),
                Err(error) => tracing::warn!("failed to {error}; the command starts without the framework links"),
            }
        }
        let child = match supervisor::spawn(&command, config.run_as.as_ref()) {
            Ok(child) => child,
            Err(error) => {
                let code = error.exit_code();
                end_session(&api, &config, &session, EndReason::ChildExit, code).await;
                publish(Status::Ended);
                return Err(error.into());
            }
        };
        tracing::info!(pid = child.as_raw(), command = %command.join(" "), "command started");
        // 7. Supervise: signals, reaping and heartbeats until one of them ends the session.
        let beat = ApiBeat {
            api: &api,
            session_id: &session.session_id,
        };
        let schedule = Schedule {
            interval,
            offline_grace: config.offline_grace,
            request_timeout: config.api_timeout,
        };
        let heartbeats = heartbeat::run(&beat, schedule, validated, |health| {
            publish(if health == Health::Live {
                Status::Live
            } else {
                Status::Degraded
            });
        });
        let ending = supervisor::supervise(&mut signals, child, heartbeats)
            .await
            .map_err(os("supervise"))?;
        // 8. Stop what is left and end the session.
        let (reason, code, error) = match ending {
            Ending::ChildExited(code) => {
                tracing::info!(exit_code = code, "the command exited");
                (EndReason::ChildExit, code, None)
            }
            Ending::Signalled(signal) => {
                tracing::info!(%signal, "stopping on request");
                let code = supervisor::stop_child(&mut signals, child, config.stop_grace, true)
                    .await
                    .map_err(os("stop the command"))?;
                (EndReason::Shutdown, code, None)
            }
            Ending::SessionEnded(error) => {
                tracing::error!("failed to {error}; stopping the command");
                supervisor::stop_child(&mut signals, child, config.stop_grace, false)
                    .await
                    .map_err(os("stop the command"))?;
                let reason = if matches!(error, LicenseError::OfflineGraceExceeded { .. }) {
                    EndReason::Offline
                } else {
                    EndReason::Revoked
                };
                (reason, error.exit_code(), Some(error))
            }
        };
        supervisor::stop_leftovers(&mut signals, config.stop_grace)
            .await
            .map_err(os("stop leftover processes"))?;
        end_session(&api, &config, &session, reason, code).await;
        publish(Status::Ended);
        match error {
            Some(error) => Err(error.into()),
            None => Ok(code),
        }
    })
}

/// Validates within the deadline; in a workstation, gathers the instance name and e-mail first.
async fn validate(
    config: &Config,
    api: &LicenseApi,
    metadata: Option<&Metadata>,
    framework: &Framework,
    started: Instant,
) -> Result<Session, LicenseError> {
    let mut request = ValidateRequest {
        license_key: config.license_key.as_ref().map(|k| k.expose().to_owned()),
        container_type: config.container_type.as_str(),
        container_id: container_id(),
        image_version: config.image_version.clone(),
        framework_version: framework.version.clone(),
        user: config.run_as.as_ref().map_or_else(user_name, |u| u.name.clone()),
        workstation_id: None,
        user_email: config.user_email.clone(),
    };
    if let Some(metadata) = metadata {
        let target = Target {
            server: Server::Metadata,
            url: metadata.base().to_string(),
        };
        request.workstation_id = Some(
            retry::until_deadline(target.clone(), started, config.api_deadline, |left| {
                metadata.instance_name(config.api_timeout.min(left))
            })
            .await?,
        );
        if request.user_email.is_none() {
            request.user_email = Some(
                retry::until_deadline(target, started, config.api_deadline, |left| {
                    metadata.email(config.api_timeout.min(left))
                })
                .await?,
            );
        }
    }
    let target = Target {
        server: Server::LicenseApi,
        url: api.validate_url().to_string(),
    };
    retry::until_deadline(target, started, config.api_deadline, |left| {
        api.validate_once(&request, config.api_timeout.min(left))
    })
    .await
}

/// The configured interval, or the server's when it is shorter.
fn effective_interval(config: &Config, session: &Session) -> Duration {
    match session.heartbeat_interval.map(Duration::from_secs) {
        Some(server) if server < config.heartbeat_interval => server,
        _ => config.heartbeat_interval,
    }
}

async fn next_stop_signal(signals: &mut Signals) -> io::Result<Signal> {
    loop {
        let signal = signals.recv().await?;
        if unix::is_stop(signal) {
            return Ok(signal);
        }
    }
}

async fn end_session(api: &LicenseApi, config: &Config, session: &Session, reason: EndReason, code: u8) {
    match api
        .end(&session.session_id, reason, i32::from(code), config.end_timeout)
        .await
    {
        Ok(()) => tracing::info!(reason = reason.as_str(), exit_code = code, "session ended"),
        Err(error) => tracing::warn!(reason = reason.as_str(), "could not report the session end: {error}"),
    }
}

fn publish_state(config: &Config, session: &Session, interval: Duration, status: Status) {
    let state = State {
        status,
        pid: std::process::id(),
        container_type: config.container_type.as_str().to_owned(),
        customer: session.customer.clone(),
        expires_at: session.expires_at.clone(),
        session: mask(&session.session_id),
        heartbeat_interval: interval.as_secs(),
        healthy_until: state::now_unix() + state::freshness(interval, config.api_timeout).as_secs(),
    };
    if let Err(error) = state::write(&config.state_dir, &state) {
        tracing::warn!(dir = %config.state_dir.display(), "could not write the session state for the healthcheck: {error}");
    }
}

/// Docker sets the hostname to the container's short ID.
fn container_id() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The name of the user the entrypoint (and so the command) runs as.
fn user_name() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map_or_else(|| nix::unistd::getuid().to_string(), |u| u.name)
}

struct ApiBeat<'a> {
    api: &'a LicenseApi,
    session_id: &'a str,
}

impl Beat for ApiBeat<'_> {
    async fn beat(&self, sequence: u64, uptime: Duration, timeout: Duration) -> BeatOutcome {
        self.api
            .heartbeat_once(self.session_id, sequence, uptime, timeout)
            .await
    }
}
