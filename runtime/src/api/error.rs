//! What a license flow reports when it cannot go on, and the exit code each case maps to.

use std::time::Duration;

use crate::exit;

/// Which remote party an error speaks of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    /// The CODITECT license API.
    LicenseApi,
    /// The GCP metadata server.
    Metadata,
}

impl std::fmt::Display for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::LicenseApi => "license API",
            Self::Metadata => "metadata server",
        })
    }
}

/// One attempt's failure: worth another try, or final.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Connect error, time-out, 5xx or 429: another attempt may succeed.
    Transient {
        /// Who failed.
        server: Server,
        /// What happened, for the log and the final message.
        detail: String,
        /// How long the server asked us to wait (429 `Retry-After`).
        retry_after: Option<Duration>,
    },
    /// An answer that settles the matter.
    Final(LicenseError),
}

/// A license flow that ended without a live session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LicenseError {
    /// The license API refused the license or the token (403/401).
    #[error("validate the license: {}", refusal_text(code, message, expires_at.as_deref(), *seats, key_hint.as_deref()))]
    Refused {
        /// The contract's refusal code, e.g. `LICENSE_EXPIRED`.
        code: String,
        /// The server's message (with any echo of the key masked).
        message: String,
        /// The expiry date, for `LICENSE_EXPIRED`.
        expires_at: Option<String>,
        /// The seat count, for `SEAT_LIMIT_REACHED`.
        seats: Option<u64>,
        /// The masked key, for `LICENSE_INVALID`.
        key_hint: Option<String>,
    },
    /// The server ended the session (404 SESSION_UNKNOWN, 410 SESSION_REVOKED or SESSION_EXPIRED).
    #[error("keep the session: the license API ended it ({code}){}", suffix(message))]
    SessionEnded {
        /// SESSION_UNKNOWN, SESSION_REVOKED or SESSION_EXPIRED.
        code: String,
        /// The server's message, when it gave one.
        message: String,
    },
    /// Heartbeats failed for more consecutive intervals than the offline grace allows.
    #[error(
        "keep the session: {failed} heartbeat intervals failed in a row, past the offline grace of {grace} (CODITECT_OFFLINE_GRACE); last error: {last}"
    )]
    OfflineGraceExceeded {
        /// Failed intervals in a row.
        failed: u32,
        /// The configured grace.
        grace: u32,
        /// The last failure.
        last: String,
    },
    /// No answer that settles the matter before the deadline.
    #[error(
        "reach the {server} at {url}: license API unreachable after {attempts} attempt(s) in {elapsed:?} (deadline CODITECT_API_DEADLINE={deadline:?}); last error: {last}"
    )]
    Unreachable {
        /// Who could not be reached.
        server: Server,
        /// Where.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// Time spent.
        elapsed: Duration,
        /// The configured deadline.
        deadline: Duration,
        /// The last failure.
        last: String,
    },
    /// The metadata server refused to give what the workstation flow needs.
    #[error(
        "get {what} from the metadata server: HTTP {status}; expected 200 with the value (is this a GCP workstation with a service account?)"
    )]
    MetadataRefused {
        /// What was asked for.
        what: &'static str,
        /// The HTTP status.
        status: u16,
    },
    /// An answer that breaks the contract.
    #[error("understand the {server}'s answer to {request}: {detail}")]
    Protocol {
        /// Who answered.
        server: Server,
        /// Which request, e.g. `POST /api/v1/sessions/validate`.
        request: String,
        /// What was wrong and what was expected.
        detail: String,
    },
    /// 400 BAD_REQUEST: the API says our request is malformed, a client bug that retrying cannot fix.
    #[error(
        "validate the license: the license API rejected the request as malformed (BAD_REQUEST){}; this is a client bug, not retried",
        suffix(message)
    )]
    BadRequest {
        /// The server's message.
        message: String,
    },
}

impl LicenseError {
    /// The entrypoint's exit code for this error (see [`crate::exit`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Refused { .. } | Self::SessionEnded { .. } | Self::OfflineGraceExceeded { .. } => {
                exit::LICENSE_REFUSED
            }
            Self::Unreachable { .. } | Self::MetadataRefused { .. } => exit::UNREACHABLE,
            Self::Protocol { .. } | Self::BadRequest { .. } => exit::PROTOCOL,
        }
    }
}

fn suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn refusal_text(
    code: &str,
    message: &str,
    expires_at: Option<&str>,
    seats: Option<u64>,
    key_hint: Option<&str>,
) -> String {
    let what = match code {
        "LICENSE_INVALID" => match key_hint {
            Some(hint) => format!("the license key {hint} is unknown or malformed"),
            None => "the license key is unknown or malformed".to_owned(),
        },
        "LICENSE_EXPIRED" => match expires_at {
            Some(date) => format!("the license expired on {date}"),
            None => "the license has expired (the API gave no date)".to_owned(),
        },
        "LICENSE_SUSPENDED" => "the license is suspended".to_owned(),
        "SEAT_LIMIT_REACHED" => match seats {
            Some(n) => format!("all {n} seats of the license are in use"),
            None => "all seats of the license are in use".to_owned(),
        },
        "TOKEN_INVALID" => "the workstation's identity token was not accepted".to_owned(),
        _ => "the license was refused".to_owned(),
    };
    format!("license refused: {what} ({code}){}", suffix(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(code: &str) -> LicenseError {
        LicenseError::Refused {
            code: code.into(),
            message: "see your account".into(),
            expires_at: Some("2026-01-31T00:00:00Z".into()),
            seats: Some(5),
            key_hint: Some("…8ZN1".into()),
        }
    }

    #[test]
    fn each_refusal_has_its_own_message() {
        assert!(
            refused("LICENSE_EXPIRED")
                .to_string()
                .contains("expired on 2026-01-31T00:00:00Z")
        );
        assert!(refused("LICENSE_INVALID").to_string().contains("key …8ZN1 is unknown"));
        assert!(refused("LICENSE_SUSPENDED").to_string().contains("is suspended"));
        assert!(refused("SEAT_LIMIT_REACHED").to_string().contains("all 5 seats"));
        assert!(
            refused("TOKEN_INVALID")
                .to_string()
                .contains("identity token was not accepted")
        );
    }

    #[test]
    fn refusals_end_sessions_with_the_license_code() {
        assert_eq!(refused("LICENSE_INVALID").exit_code(), 77);
        let ended = LicenseError::SessionEnded {
            code: "SESSION_REVOKED".into(),
            message: String::new(),
        };
        assert_eq!(ended.exit_code(), 77);
    }

    #[test]
    fn unreachable_and_protocol_have_their_own_codes() {
        let unreachable = LicenseError::Unreachable {
            server: Server::LicenseApi,
            url: "https://x".into(),
            attempts: 3,
            elapsed: Duration::from_secs(1),
            deadline: Duration::from_secs(1),
            last: "refused".into(),
        };
        assert_eq!(unreachable.exit_code(), 69);
        assert!(unreachable.to_string().contains("license API unreachable"));
        let protocol = LicenseError::Protocol {
            server: Server::LicenseApi,
            request: "POST x".into(),
            detail: "bad".into(),
        };
        assert_eq!(protocol.exit_code(), 76);
    }
}
