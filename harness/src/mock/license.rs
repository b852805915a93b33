//! A mock license API on wiremock, speaking `license-api.md`, with ready-made behaviours.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bollard::Docker;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock as WireMock, MockServer, Request, Respond, ResponseTemplate};

use super::bind;
use super::journal::Journal;
use crate::error::Result;

/// The session ID the first accepted validation gets; the n-th gets [`session_id`]`(n)`.
pub const SESSION_ID: &str = "ses_conformance_0001";

/// The session ID of the n-th accepted validation (1-based): every validation opens its own session.
pub fn session_id(n: usize) -> String {
    format!("ses_conformance_{n:04}")
}
/// The expiry date the expired mock reports.
pub const EXPIRED_ON: &str = "2026-01-31T00:00:00Z";

/// How the mock answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Behaviour {
    /// Validate accepts; heartbeats and end succeed.
    Valid,
    /// 403 LICENSE_INVALID.
    Invalid,
    /// 403 LICENSE_EXPIRED with [`EXPIRED_ON`].
    Expired,
    /// 403 LICENSE_SUSPENDED.
    Suspended,
    /// 403 SEAT_LIMIT_REACHED with this many seats.
    SeatLimit(u64),
    /// 401 TOKEN_INVALID (workstation).
    TokenInvalid,
    /// This many 503s, then valid.
    ServerErrorsThenValid(usize),
    /// One 429 with this `Retry-After` (seconds), then valid.
    TooManyRequestsThenValid(u64),
    /// Valid, but every validate answer takes this long.
    Slow(Duration),
    /// 200 with a body that is not JSON.
    MalformedJson,
    /// Valid; this many heartbeats succeed, then 410 SESSION_REVOKED.
    RevokedAfter(usize),
    /// Valid; every heartbeat answers 503.
    HeartbeatsFailing,
    /// Valid; the first this many heartbeat requests answer 503, then they succeed.
    FlakyBeats(usize),
}

/// A mock to start: a behaviour and an optional server-side heartbeat interval.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Mock {
    behaviour: Behaviour,
    heartbeat_interval: Option<u64>,
}

impl Mock {
    /// Accepts the license.
    pub fn valid() -> Self {
        Self::new(Behaviour::Valid)
    }
    /// Refuses: unknown key.
    pub fn invalid() -> Self {
        Self::new(Behaviour::Invalid)
    }
    /// Refuses: expired on [`EXPIRED_ON`].
    pub fn expired() -> Self {
        Self::new(Behaviour::Expired)
    }
    /// Refuses: suspended.
    pub fn suspended() -> Self {
        Self::new(Behaviour::Suspended)
    }
    /// Refuses: all `seats` in use.
    pub fn seat_limit(seats: u64) -> Self {
        Self::new(Behaviour::SeatLimit(seats))
    }
    /// Refuses the workstation's token.
    pub fn token_invalid() -> Self {
        Self::new(Behaviour::TokenInvalid)
    }
    /// `errors` 503s, then accepts.
    pub fn server_errors_then_valid(errors: usize) -> Self {
        Self::new(Behaviour::ServerErrorsThenValid(errors))
    }
    /// One 429 with `Retry-After: retry_after`, then accepts.
    pub fn too_many_requests(retry_after: u64) -> Self {
        Self::new(Behaviour::TooManyRequestsThenValid(retry_after))
    }
    /// Accepts after `delay`.
    pub fn slow(delay: Duration) -> Self {
        Self::new(Behaviour::Slow(delay))
    }
    /// Answers 200 with a broken body.
    pub fn malformed_json() -> Self {
        Self::new(Behaviour::MalformedJson)
    }
    /// Accepts, then revokes the session at heartbeat `beats + 1`.
    pub fn revoked_after(beats: usize) -> Self {
        Self::new(Behaviour::RevokedAfter(beats))
    }
    /// Accepts, then fails every heartbeat with 503.
    pub fn heartbeats_failing() -> Self {
        Self::new(Behaviour::HeartbeatsFailing)
    }
    /// Accepts; the first `failures` heartbeat requests answer 503.
    pub fn flaky_beats(failures: usize) -> Self {
        Self::new(Behaviour::FlakyBeats(failures))
    }
    fn new(behaviour: Behaviour) -> Self {
        Self {
            behaviour,
            heartbeat_interval: None,
        }
    }

    /// The accepting answer carries `heartbeat_interval: seconds`.
    pub fn with_heartbeat_interval(mut self, seconds: u64) -> Self {
        self.heartbeat_interval = Some(seconds);
        self
    }

    /// The behaviour.
    pub fn behaviour(&self) -> &Behaviour {
        &self.behaviour
    }

    /// Starts the mock where containers reach it (see [`bind::address`]).
    pub async fn start(self, docker: &Docker) -> Result<LicenseApi> {
        let listener = bind::listener(bind::address(docker).await)?;
        self.start_on(listener).await
    }

    /// Starts the mock on loopback, for tests on the host.
    pub async fn start_local(self) -> Result<LicenseApi> {
        self.start_on(bind::listener(std::net::Ipv4Addr::LOCALHOST.into())?)
            .await
    }

    async fn start_on(self, listener: std::net::TcpListener) -> Result<LicenseApi> {
        let server = MockServer::builder().listener(listener).start().await;
        let journal = Journal::default();
        let validate = Validate {
            journal: journal.clone(),
            mock: self.clone(),
            calls: AtomicUsize::new(0),
            sessions: AtomicUsize::new(0),
        };
        let heartbeat = Heartbeat {
            journal: journal.clone(),
            behaviour: self.behaviour.clone(),
            calls: AtomicUsize::new(0),
        };
        let end = Recorded {
            journal: journal.clone(),
            answer: Mutex::new(ResponseTemplate::new(204)),
        };
        mount(&server, "validate", validate).await;
        mount(&server, "heartbeat", heartbeat).await;
        mount(&server, "end", end).await;
        Ok(LicenseApi {
            server,
            journal,
            mock: self,
        })
    }
}

async fn mount(server: &MockServer, endpoint: &str, responder: impl Respond + 'static) {
    WireMock::given(method("POST"))
        .and(path(format!("/api/v1/sessions/{endpoint}")))
        .respond_with(responder)
        .mount(server)
        .await;
}

/// A running mock license API.
#[derive(Debug)]
pub struct LicenseApi {
    server: MockServer,
    journal: Journal,
    mock: Mock,
}

impl LicenseApi {
    /// The URL for processes on this machine.
    pub fn url(&self) -> String {
        self.server.uri()
    }

    /// The URL for containers (through the host gateway alias).
    pub fn container_url(&self) -> String {
        format!("http://{}:{}", bind::HOST_ALIAS, self.server.address().port())
    }

    /// Every request so far.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// What it was started as.
    pub fn mock(&self) -> &Mock {
        &self.mock
    }
}

fn accepted(interval: Option<u64>, session: usize) -> ResponseTemplate {
    let mut body = json!({"valid": true, "session_id": session_id(session), "expires_at": "2027-06-30T00:00:00Z", "customer": "Acme Conformance"});
    if let Some(i) = interval {
        body["heartbeat_interval"] = json!(i);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn refused(status: u16, code: &str, extra: Value) -> ResponseTemplate {
    let mut body = json!({"valid": false, "code": code, "message": format!("{code} (conformance mock)")});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    ResponseTemplate::new(status).set_body_json(body)
}

struct Validate {
    journal: Journal,
    mock: Mock,
    calls: AtomicUsize,
    sessions: AtomicUsize,
}

impl Respond for Validate {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.journal.record(request);
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let ok = || {
            accepted(
                self.mock.heartbeat_interval,
                self.sessions.fetch_add(1, Ordering::SeqCst) + 1,
            )
        };
        match &self.mock.behaviour {
            Behaviour::Invalid => refused(403, "LICENSE_INVALID", json!({})),
            Behaviour::Expired => refused(403, "LICENSE_EXPIRED", json!({"expires_at": EXPIRED_ON})),
            Behaviour::Suspended => refused(403, "LICENSE_SUSPENDED", json!({})),
            Behaviour::SeatLimit(seats) => refused(403, "SEAT_LIMIT_REACHED", json!({"seats": seats})),
            Behaviour::TokenInvalid => refused(401, "TOKEN_INVALID", json!({})),
            Behaviour::ServerErrorsThenValid(n) if call < *n => ResponseTemplate::new(503),
            Behaviour::TooManyRequestsThenValid(after) if call == 0 => {
                ResponseTemplate::new(429).insert_header("Retry-After", after.to_string().as_str())
            }
            Behaviour::Slow(delay) => ok().set_delay(*delay),
            Behaviour::MalformedJson => ResponseTemplate::new(200).set_body_raw("{\"valid\": tru", "application/json"),
            _ => ok(),
        }
    }
}

struct Heartbeat {
    journal: Journal,
    behaviour: Behaviour,
    calls: AtomicUsize,
}

impl Respond for Heartbeat {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.journal.record(request);
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        match self.behaviour {
            Behaviour::RevokedAfter(n) if call >= n => ResponseTemplate::new(410)
                .set_body_json(json!({"code": "SESSION_REVOKED", "message": "revoked by the conformance mock"})),
            Behaviour::HeartbeatsFailing => ResponseTemplate::new(503),
            Behaviour::FlakyBeats(n) if call < n => ResponseTemplate::new(503),
            _ => ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
        }
    }
}

struct Recorded {
    journal: Journal,
    answer: Mutex<ResponseTemplate>,
}

impl Respond for Recorded {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.journal.record(request);
        self.answer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
