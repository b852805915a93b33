//! A mock GCP metadata server: identity tokens (JWTs with a chosen lifetime), the instance name and the
//! service account's e-mail, or a failure.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bollard::Docker;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock as WireMock, MockServer, Request, Respond, ResponseTemplate};

use super::bind;
use super::journal::Journal;
use crate::error::Result;

/// A metadata server to start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct Metadata {
    instance: String,
    email: String,
    token_lifetime: Duration,
    failure: Option<u16>,
}

impl Metadata {
    /// Answers for workstation `instance` with service account `email`; tokens live an hour.
    pub fn workstation(instance: &str, email: &str) -> Self {
        Self {
            instance: instance.into(),
            email: email.into(),
            token_lifetime: Duration::from_secs(3600),
            failure: None,
        }
    }

    /// Tokens live `lifetime`.
    pub fn with_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.token_lifetime = lifetime;
        self
    }

    /// Every request answers `status` (404: no service account).
    pub fn failing(mut self, status: u16) -> Self {
        self.failure = Some(status);
        self
    }

    /// Starts it where containers reach it.
    pub async fn start(self, docker: &Docker) -> Result<MetadataServer> {
        let server = MockServer::builder()
            .listener(bind::listener(bind::address(docker).await)?)
            .start()
            .await;
        let journal = Journal::default();
        let flavor = || header("Metadata-Flavor", "Google");
        let base = "/computeMetadata/v1/instance";
        let answer = |body: String| Answer {
            journal: journal.clone(),
            failure: self.failure,
            body: Body::Fixed(body),
        };
        WireMock::given(method("GET"))
            .and(path(format!("{base}/name")))
            .and(flavor())
            .respond_with(answer(self.instance.clone()))
            .mount(&server)
            .await;
        WireMock::given(method("GET"))
            .and(path(format!("{base}/service-accounts/default/email")))
            .and(flavor())
            .respond_with(answer(self.email.clone()))
            .mount(&server)
            .await;
        let tokens = Answer {
            journal: journal.clone(),
            failure: self.failure,
            body: Body::Token {
                lifetime: self.token_lifetime,
                email: self.email.clone(),
                issued: AtomicUsize::new(0),
            },
        };
        WireMock::given(method("GET"))
            .and(path(format!("{base}/service-accounts/default/identity")))
            .and(flavor())
            .respond_with(tokens)
            .mount(&server)
            .await;
        Ok(MetadataServer { server, journal })
    }
}

enum Body {
    Fixed(String),
    Token {
        lifetime: Duration,
        email: String,
        issued: AtomicUsize,
    },
}

struct Answer {
    journal: Journal,
    failure: Option<u16>,
    body: Body,
}

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.journal.record(request);
        if let Some(status) = self.failure {
            return ResponseTemplate::new(status);
        }
        let text = match &self.body {
            Body::Fixed(text) => text.clone(),
            Body::Token {
                lifetime,
                email,
                issued,
            } => {
                let n = issued.fetch_add(1, Ordering::SeqCst) + 1;
                let audience = request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "audience")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                jwt(email, &audience, *lifetime, n)
            }
        };
        ResponseTemplate::new(200)
            .insert_header("Metadata-Flavor", "Google")
            .set_body_string(text)
    }
}

/// An unsigned JWT shaped like Google's identity tokens; `n` makes each one distinct.
pub fn jwt(email: &str, audience: &str, lifetime: Duration, n: usize) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = enc.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": "https://accounts.google.com", "aud": audience, "email": email, "sub": n.to_string(),
        "iat": now, "exp": now + lifetime.as_secs(),
    });
    format!("{header}.{}.bW9jay1zaWduYXR1cmU", enc.encode(claims.to_string()))
}

/// A running mock metadata server.
#[derive(Debug)]
pub struct MetadataServer {
    server: MockServer,
    journal: Journal,
}

impl MetadataServer {
    /// `host:port` for containers' `GCE_METADATA_HOST`.
    pub fn container_host(&self) -> String {
        format!("{}:{}", bind::HOST_ALIAS, self.server.address().port())
    }

    /// Every request so far.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }
}
