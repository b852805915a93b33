//! Validate, heartbeat and end, each answer classified by the contract's tables.

use std::time::Duration;

use reqwest::{Method, Url};
use serde::Serialize;

use super::http::{Answer, ExchangeError, Http, Request};
use super::model::{self, Coded, EndRequest, HeartbeatAck, HeartbeatRequest, Refusal, Session, ValidateRequest};
use super::{Failure, LicenseError, Server};
use crate::config::{Config, LicenseKey};
use crate::metadata::TokenCache;

const VALIDATE: &str = "POST /api/v1/sessions/validate";
const HEARTBEAT: &str = "POST /api/v1/sessions/heartbeat";

/// Why the session is being ended, as the `end` request names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The container was told to stop (SIGTERM/SIGINT).
    Shutdown,
    /// The command exited by itself.
    ChildExit,
    /// The server ended the session.
    Revoked,
    /// The offline grace ran out.
    Offline,
}

impl EndReason {
    /// The contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Shutdown => "shutdown",
            Self::ChildExit => "child_exit",
            Self::Revoked => "revoked",
            Self::Offline => "offline",
        }
    }
}

/// How one heartbeat attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeatOutcome {
    /// 200 `{"ok": true}`.
    Ok,
    /// 404 or 410: the session is over.
    Ended {
        /// SESSION_UNKNOWN, SESSION_REVOKED or SESSION_EXPIRED.
        code: String,
        /// The server's message.
        message: String,
    },
    /// Worth retrying within the interval (connect error, time-out, 429, 5xx).
    Transient {
        /// What happened.
        detail: String,
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// An answer outside the contract; retrying within the interval would not help.
    Failed {
        /// What was wrong.
        detail: String,
    },
}

/// The license API as the entrypoint uses it.
#[derive(Debug)]
pub struct LicenseApi {
    http: Http,
    validate_url: Url,
    heartbeat_url: Url,
    end_url: Url,
    key: Option<LicenseKey>,
    identity: Option<TokenCache>,
}

impl LicenseApi {
    /// A client for `config`'s API; `identity` supplies Bearer tokens in workstation containers.
    pub fn new(config: &Config, http: Http, identity: Option<TokenCache>) -> Self {
        Self {
            http,
            validate_url: config.endpoint("sessions/validate"),
            heartbeat_url: config.endpoint("sessions/heartbeat"),
            end_url: config.endpoint("sessions/end"),
            key: config.license_key.clone(),
            identity,
        }
    }

    /// The validate URL, for messages.
    pub fn validate_url(&self) -> &Url {
        &self.validate_url
    }

    /// One validation attempt.
    pub async fn validate_once(&self, body: &ValidateRequest, timeout: Duration) -> Result<Session, Failure> {
        let answer = self.post(&self.validate_url, body, timeout).await?;
        let protocol = |detail: String| {
            Failure::Final(LicenseError::Protocol {
                server: Server::LicenseApi,
                request: VALIDATE.into(),
                detail,
            })
        };
        match answer.status {
            200 => {
                require_json(&answer).map_err(protocol)?;
                let session: Session = model::parse(&answer.body).map_err(protocol)?;
                session.check().map_err(protocol)
            }
            401 | 403 => {
                require_json(&answer).map_err(protocol)?;
                let refusal: Refusal = model::parse(&answer.body).map_err(protocol)?;
                if refusal.valid == Some(true) {
                    return Err(protocol(format!(
                        "HTTP {} says \"valid\": true; expected false",
                        answer.status
                    )));
                }
                Err(Failure::Final(LicenseError::Refused {
                    message: self.redact(&refusal.message),
                    code: refusal.code,
                    expires_at: refusal.expires_at,
                    seats: refusal.seats,
                    key_hint: self.key.as_ref().map(LicenseKey::masked),
                }))
            }
            400 => {
                let message = model::parse::<Coded>(&answer.body)
                    .map(|c| c.message)
                    .unwrap_or_default();
                Err(Failure::Final(LicenseError::BadRequest {
                    message: self.redact(&message),
                }))
            }
            status => Err(transient_or(status, &answer, Server::LicenseApi).unwrap_or_else(protocol)),
        }
    }

    /// One heartbeat attempt.
    pub async fn heartbeat_once(
        &self,
        session_id: &str,
        sequence: u64,
        uptime: Duration,
        timeout: Duration,
    ) -> BeatOutcome {
        let body = HeartbeatRequest {
            session_id,
            sequence,
            uptime_seconds: uptime.as_secs(),
        };
        let answer = match self.post(&self.heartbeat_url, &body, timeout).await {
            Ok(answer) => answer,
            Err(Failure::Transient {
                detail, retry_after, ..
            }) => return BeatOutcome::Transient { detail, retry_after },
            Err(Failure::Final(error)) => {
                return BeatOutcome::Failed {
                    detail: error.to_string(),
                };
            }
        };
        match answer.status {
            200 => match require_json(&answer).and_then(|()| model::parse::<HeartbeatAck>(&answer.body)) {
                Ok(HeartbeatAck { ok: true }) => BeatOutcome::Ok,
                Ok(HeartbeatAck { ok: false }) => BeatOutcome::Failed {
                    detail: "heartbeat answered \"ok\": false".into(),
                },
                Err(detail) => BeatOutcome::Failed {
                    detail: format!("{HEARTBEAT}: {detail}"),
                },
            },
            // The status alone ends the session; a body that does not parse still does.
            404 | 410 => {
                let coded = model::parse::<Coded>(&answer.body).ok();
                let fallback = if answer.status == 404 {
                    "SESSION_UNKNOWN"
                } else {
                    "SESSION_ENDED"
                };
                BeatOutcome::Ended {
                    code: coded.as_ref().map_or(fallback.to_owned(), |c| c.code.clone()),
                    message: coded.map(|c| c.message).unwrap_or_default(),
                }
            }
            status => match transient_or(status, &answer, Server::LicenseApi) {
                Ok(Failure::Transient {
                    detail, retry_after, ..
                }) => BeatOutcome::Transient { detail, retry_after },
                Ok(Failure::Final(error)) => BeatOutcome::Failed {
                    detail: error.to_string(),
                },
                Err(detail) => BeatOutcome::Failed {
                    detail: format!("{HEARTBEAT}: {detail}"),
                },
            },
        }
    }

    /// Ends the session, best effort, within `bound`: one attempt, and a second if the first failed
    /// quickly and time is left.
    pub async fn end(
        &self,
        session_id: &str,
        reason: EndReason,
        exit_code: i32,
        bound: Duration,
    ) -> Result<(), String> {
        let started = tokio::time::Instant::now();
        let body = EndRequest {
            session_id,
            reason: reason.as_str(),
            exit_code,
        };
        let mut last = String::new();
        for _ in 0..2 {
            let left = bound.saturating_sub(started.elapsed());
            if left < Duration::from_millis(50) {
                break;
            }
            match self.post(&self.end_url, &body, left).await {
                Ok(answer) if matches!(answer.status, 200 | 204) => return Ok(()),
                Ok(answer) if answer.status < 500 && answer.status != 429 => {
                    return Err(format!("the license API answered HTTP {}; expected 204", answer.status));
                }
                Ok(answer) => last = format!("HTTP {}", answer.status),
                Err(Failure::Transient { detail, .. }) => last = detail,
                Err(Failure::Final(error)) => return Err(error.to_string()),
            }
        }
        Err(format!("{last} (gave up within CODITECT_END_TIMEOUT={bound:?})"))
    }

    async fn post(&self, url: &Url, body: &impl Serialize, timeout: Duration) -> Result<Answer, Failure> {
        let started = tokio::time::Instant::now();
        let mut headers = vec![("accept", "application/json".to_owned())];
        if let Some(identity) = &self.identity {
            let token = identity.bearer(timeout).await?;
            headers.push(("authorization", format!("Bearer {token}")));
        }
        let json = serde_json::to_value(body).map_err(|e| {
            Failure::Final(LicenseError::Protocol {
                server: Server::LicenseApi,
                request: format!("POST {}", url.path()),
                detail: format!("encode the request: {e}"),
            })
        })?;
        let request = Request {
            method: Method::POST,
            url: url.clone(),
            headers,
            json: Some(&json),
        };
        let left = timeout.saturating_sub(started.elapsed()).max(Duration::from_millis(1));
        self.http
            .exchange(request, left)
            .await
            .map_err(|e| exchange_failure(e, Server::LicenseApi, url.path()))
    }

    /// Masks any echo of the key in text that came from the server.
    fn redact(&self, text: &str) -> String {
        match &self.key {
            Some(key) => text.replace(key.expose(), &key.masked()),
            None => text.to_owned(),
        }
    }
}

/// Maps a failed exchange: the connection and time-outs are transient, an oversized body is final.
pub(crate) fn exchange_failure(error: ExchangeError, server: Server, path: &str) -> Failure {
    match error {
        ExchangeError::TooLarge => Failure::Final(LicenseError::Protocol {
            server,
            request: format!("{} {path}", if server == Server::LicenseApi { "POST" } else { "GET" }),
            detail: error.to_string(),
        }),
        other => Failure::Transient {
            server,
            detail: other.to_string(),
            retry_after: None,
        },
    }
}

/// 429 and 5xx are transient; anything else not handled by the caller breaks the contract.
pub(crate) fn transient_or(status: u16, answer: &Answer, server: Server) -> Result<Failure, String> {
    match status {
        429 => Ok(Failure::Transient {
            server,
            detail: "HTTP 429 (slow down)".into(),
            retry_after: answer.retry_after,
        }),
        500..=599 => Ok(Failure::Transient {
            server,
            detail: format!("HTTP {status}"),
            retry_after: answer.retry_after,
        }),
        300..=399 => Err(format!(
            "HTTP {status} redirect to {}; expected a direct answer (redirects are not followed)",
            answer.location.as_deref().unwrap_or("(no Location)")
        )),
        _ => Err(format!(
            "unexpected HTTP {status}; expected one of the contract's answers"
        )),
    }
}

fn require_json(answer: &Answer) -> Result<(), String> {
    if answer.is_json() {
        Ok(())
    } else {
        Err(format!(
            "HTTP {} with Content-Type {}; expected application/json",
            answer.status,
            answer.content_type.as_deref().unwrap_or("(none)")
        ))
    }
}
