//! The GCP metadata server, for workstation containers: the identity token, the instance and the e-mail.
//!
//! The token is a JWT that lives about an hour; [`TokenCache`] hands out the current one and fetches a
//! new one a margin before its `exp`, so heartbeats never carry an expired token.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use reqwest::{Method, Url};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::api::client::{exchange_failure, transient_or};
use crate::api::http::{Http, Request};
use crate::api::{Failure, LicenseError, Server};

/// The longest a token is assumed to live when its `exp` is further away (the contract: one hour).
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// Refresh this long before expiry at most (less for short-lived tokens: a quarter of their life).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// The metadata server's client.
#[derive(Debug, Clone)]
pub struct Metadata {
    http: Http,
    base: Url,
    audience: String,
}

/// An identity token and when to fetch the next one.
#[derive(Debug, Clone)]
pub struct IdentityToken {
    jwt: String,
    refresh_at: Instant,
}

impl Metadata {
    /// A client for `host` (host[:port]); tokens are minted for `audience`, the license API's URL.
    pub fn new(http: Http, host: &str, audience: &str) -> Result<Self, LicenseError> {
        let base = Url::parse(&format!("http://{host}/computeMetadata/v1/")).map_err(|e| LicenseError::Protocol {
            server: Server::Metadata,
            request: "GET /computeMetadata/v1/".into(),
            detail: format!("build the URL from GCE_METADATA_HOST={host:?}: {e}"),
        })?;
        Ok(Self {
            http,
            base,
            audience: audience.to_owned(),
        })
    }

    /// The base URL, for messages.
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `instance/name`: the workstation's ID.
    pub async fn instance_name(&self, timeout: Duration) -> Result<String, Failure> {
        self.get("instance/name", &[], "the instance name", timeout).await
    }

    /// The default service account's e-mail.
    pub async fn email(&self, timeout: Duration) -> Result<String, Failure> {
        self.get(
            "instance/service-accounts/default/email",
            &[],
            "the service account e-mail",
            timeout,
        )
        .await
    }

    /// A fresh identity token for the audience, in `format=full`.
    pub async fn identity_token(&self, timeout: Duration) -> Result<IdentityToken, Failure> {
        let query = [("audience", self.audience.as_str()), ("format", "full")];
        let jwt = self
            .get(
                "instance/service-accounts/default/identity",
                &query,
                "an identity token",
                timeout,
            )
            .await?;
        let lifetime = token_lifetime(&jwt).map_err(|detail| {
            Failure::Final(LicenseError::Protocol {
                server: Server::Metadata,
                request: "GET /computeMetadata/v1/instance/service-accounts/default/identity".into(),
                detail,
            })
        })?;
        let margin = REFRESH_MARGIN.min(lifetime / 4);
        Ok(IdentityToken {
            jwt,
            refresh_at: Instant::now() + lifetime.saturating_sub(margin),
        })
    }

    async fn get(
        &self,
        path: &str,
        query: &[(&str, &str)],
        what: &'static str,
        timeout: Duration,
    ) -> Result<String, Failure> {
        let mut url = self.base.join(path).map_err(|e| Failure::Transient {
            server: Server::Metadata,
            detail: format!("build the URL for {path}: {e}"),
            retry_after: None,
        })?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = Request {
            method: Method::GET,
            url: url.clone(),
            headers: vec![("metadata-flavor", "Google".to_owned())],
            json: None,
        };
        let answer = self
            .http
            .exchange(request, timeout)
            .await
            .map_err(|e| exchange_failure(e, Server::Metadata, url.path()))?;
        match answer.status {
            200 => match String::from_utf8(answer.body) {
                Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_owned()),
                _ => Err(Failure::Final(LicenseError::Protocol {
                    server: Server::Metadata,
                    request: format!("GET {}", url.path()),
                    detail: format!("{what} is empty or not UTF-8"),
                })),
            },
            429 | 500..=599 => Err(
                transient_or(answer.status, &answer, Server::Metadata).unwrap_or_else(|detail| Failure::Transient {
                    server: Server::Metadata,
                    detail,
                    retry_after: None,
                }),
            ),
            status => Err(Failure::Final(LicenseError::MetadataRefused { what, status })),
        }
    }
}

/// How long a JWT has left, from its `exp` claim, capped at the contract's hour.
fn token_lifetime(jwt: &str) -> Result<Duration, String> {
    let payload = jwt
        .split('.')
        .nth(1)
        .ok_or("the identity token is not a JWT (no payload part)")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .map_err(|e| format!("the identity token's payload is not base64url: {e}"))?;
    let claims: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("the identity token's payload is not JSON: {e}"))?;
    let exp = claims
        .get("exp")
        .and_then(serde_json::Value::as_u64)
        .ok_or("the identity token has no numeric \"exp\" claim")?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    if exp <= now {
        return Err(format!("the identity token expired already (exp {exp}, now {now})"));
    }
    Ok(Duration::from_secs(exp - now).min(TOKEN_LIFETIME))
}

/// The current identity token, refreshed before it expires.
#[derive(Debug)]
pub struct TokenCache {
    metadata: Metadata,
    current: Mutex<Option<IdentityToken>>,
}

impl TokenCache {
    /// An empty cache over `metadata`.
    pub fn new(metadata: Metadata) -> Self {
        Self {
            metadata,
            current: Mutex::new(None),
        }
    }

    /// A token that is not about to expire.
    pub async fn bearer(&self, timeout: Duration) -> Result<String, Failure> {
        let mut current = self.current.lock().await;
        if let Some(token) = current.as_ref().filter(|t| Instant::now() < t.refresh_at) {
            return Ok(token.jwt.clone());
        }
        let token = self.metadata.identity_token(timeout).await?;
        tracing::info!(
            refresh_in_s = token.refresh_at.saturating_duration_since(Instant::now()).as_secs(),
            "identity token fetched from the metadata server"
        );
        let jwt = token.jwt.clone();
        *current = Some(token);
        Ok(jwt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: &str) -> String {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}.sig", enc.encode(r#"{"alg":"RS256"}"#), enc.encode(claims))
    }

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock after 1970")
            .as_secs()
    }

    #[test]
    fn lifetime_comes_from_exp_capped_at_an_hour() {
        let soon = token_lifetime(&jwt(&format!(r#"{{"exp":{}}}"#, now() + 120))).expect("valid");
        assert!(soon <= Duration::from_secs(120) && soon >= Duration::from_secs(118));
        let far = token_lifetime(&jwt(&format!(r#"{{"exp":{}}}"#, now() + 99_999))).expect("valid");
        assert_eq!(far, TOKEN_LIFETIME);
    }

    #[test]
    fn tokens_that_are_not_jwts_or_expired_are_refused() {
        assert!(token_lifetime("opaque-token").is_err());
        assert!(token_lifetime(&jwt(r#"{"sub":"x"}"#)).is_err());
        assert!(
            token_lifetime(&jwt(r#"{"exp":1}"#))
                .expect_err("expired")
                .contains("expired")
        );
    }
}
