//! Every request a mock answered, with its arrival time (wiremock keeps none), for assertions on bodies,
//! headers and spacing.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// One request as a mock saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Monotonic arrival time.
    pub at: Instant,
    /// HTTP method.
    pub method: String,
    /// Path, e.g. `/api/v1/sessions/heartbeat`.
    pub path: String,
    /// Query string, when any.
    pub query: Option<String>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    /// Headers, names lower-case.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A shared, ordered record of requests.
#[derive(Debug, Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<Seen>>>);

impl Journal {
    /// Records `request` now.
    pub fn record(&self, request: &wiremock::Request) {
        let seen = Seen {
            at: Instant::now(),
            method: request.method.to_string(),
            path: request.url.path().to_owned(),
            query: request.url.query().map(str::to_owned),
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_ascii_lowercase(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
        };
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(seen);
    }

    /// Everything so far.
    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The requests whose path ends with `suffix` (`/validate`, `/heartbeat`, `/end`).
    pub fn on(&self, suffix: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.path.ends_with(suffix)).collect()
    }

    /// The body of the first request to `suffix` (`Null` when there was none).
    pub fn first_body(&self, suffix: &str) -> Value {
        self.on(suffix).into_iter().next().map(|s| s.body).unwrap_or_default()
    }

    /// Gaps between consecutive requests to `suffix`.
    pub fn gaps(&self, suffix: &str) -> Vec<Duration> {
        self.on(suffix).windows(2).map(|w| w[1].at - w[0].at).collect()
    }
}
