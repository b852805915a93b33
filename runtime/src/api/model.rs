//! The bodies on the wire, and the contract's rules for reading answers.
//!
//! Unknown fields are ignored; a missing required field, a wrong type or a body that is not JSON is a
//! protocol error naming the field and what was expected.

use serde::{Deserialize, Serialize};

/// `POST /api/v1/sessions/validate` body. `license_key` is absent in workstation requests.
#[derive(Debug, Clone, Serialize)]
pub struct ValidateRequest {
    /// The key (docker only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub license_key: Option<String>,
    /// docker or workstation.
    pub container_type: &'static str,
    /// The container's short ID (its hostname under Docker).
    pub container_id: String,
    /// The image's version.
    pub image_version: String,
    /// The framework's VERSION.
    pub framework_version: String,
    /// The user the session runs for.
    pub user: String,
    /// The workstation's instance name (workstation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workstation_id: Option<String>,
    /// The workstation user's e-mail (workstation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
}

/// A validated session, from a 200 answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    /// Must be `true` in a 200 answer.
    pub valid: bool,
    /// The session's ID, sent in every heartbeat.
    pub session_id: String,
    /// When the license expires.
    pub expires_at: String,
    /// The customer's name.
    pub customer: String,
    /// The server's heartbeat interval in seconds; wins when shorter than the configured one.
    #[serde(default)]
    pub heartbeat_interval: Option<u64>,
}

/// A refusal, from a 401 or 403 answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Refusal {
    /// The refusal code, e.g. `LICENSE_EXPIRED`.
    pub code: String,
    /// The server's explanation.
    pub message: String,
    /// The expiry date (`LICENSE_EXPIRED`).
    #[serde(default)]
    pub expires_at: Option<String>,
    /// The seat count (`SEAT_LIMIT_REACHED`).
    #[serde(default)]
    pub seats: Option<u64>,
    /// `false` when present.
    #[serde(default)]
    pub valid: Option<bool>,
}

/// A body carrying just a code and maybe a message (400, 404, 410).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Coded {
    /// The code.
    pub code: String,
    /// The message, when given.
    #[serde(default)]
    pub message: String,
}

/// `POST /api/v1/sessions/heartbeat` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeartbeatRequest<'a> {
    /// The session.
    pub session_id: &'a str,
    /// 1, 2, 3, …; a retried beat keeps its number.
    pub sequence: u64,
    /// Whole seconds since the session was validated.
    pub uptime_seconds: u64,
}

/// The 200 answer to a heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct HeartbeatAck {
    /// Must be `true`.
    pub ok: bool,
}

/// `POST /api/v1/sessions/end` body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct EndRequest<'a> {
    /// The session.
    pub session_id: &'a str,
    /// shutdown, child_exit, revoked or offline.
    pub reason: &'static str,
    /// The exit code the entrypoint is about to return.
    pub exit_code: i32,
}

/// Parses a JSON body into `T`, or says in one line what was wrong.
pub fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    if body.is_empty() {
        return Err("the body is empty; expected a JSON object".to_owned());
    }
    if std::str::from_utf8(body).is_err() {
        return Err("the body is not valid UTF-8; expected a JSON object".to_owned());
    }
    serde_json::from_slice(body).map_err(|e| format!("the body is not the expected JSON: {e}"))
}

impl Session {
    /// The contract's checks beyond the field types.
    pub fn check(self) -> Result<Self, String> {
        if !self.valid {
            return Err("a 200 answer says \"valid\": false; expected true".to_owned());
        }
        if self.session_id.is_empty() || self.session_id.chars().any(|c| !c.is_ascii_graphic()) {
            return Err("\"session_id\" is empty or not printable ASCII".to_owned());
        }
        if self.heartbeat_interval == Some(0) {
            return Err("\"heartbeat_interval\" is 0; expected whole seconds of at least 1".to_owned());
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_answer_parses_and_ignores_unknown_fields() {
        let body = br#"{"valid":true,"session_id":"ses_1","expires_at":"2027-06-30T00:00:00Z","customer":"Acme","heartbeat_interval":60,"extra":1}"#;
        let s: Session = parse(body).expect("valid");
        let s = s.check().expect("contract");
        assert_eq!(s.heartbeat_interval, Some(60));
    }

    #[test]
    fn missing_session_id_is_named() {
        let err = parse::<Session>(br#"{"valid":true,"expires_at":"x","customer":"Acme"}"#).expect_err("missing");
        assert!(err.contains("session_id"), "{err}");
    }

    #[test]
    fn wrong_shapes_are_refused_clearly() {
        assert!(parse::<Session>(b"").expect_err("empty").contains("empty"));
        assert!(parse::<Session>(b"\xff\xfe").expect_err("utf8").contains("UTF-8"));
        assert!(parse::<Session>(b"[1,2]").is_err());
        assert!(parse::<Session>(br#"{"valid":"yes"}"#).is_err());
        let zero = parse::<Session>(
            br#"{"valid":true,"session_id":"s","expires_at":"x","customer":"c","heartbeat_interval":0}"#,
        )
        .expect("types fit");
        assert!(zero.check().is_err());
        let negative = br#"{"valid":true,"session_id":"s","expires_at":"x","customer":"c","heartbeat_interval":-5}"#;
        assert!(parse::<Session>(negative).is_err());
    }

    #[test]
    fn workstation_request_has_no_key_field() {
        let req = ValidateRequest {
            license_key: None,
            container_type: "workstation",
            container_id: "c".into(),
            image_version: "1".into(),
            framework_version: "2".into(),
            user: "developer".into(),
            workstation_id: Some("ws-1".into()),
            user_email: Some("a@b.c".into()),
        };
        let json = serde_json::to_value(&req).expect("serializes");
        assert!(json.get("license_key").is_none());
        assert_eq!(json["workstation_id"], "ws-1");
    }
}
