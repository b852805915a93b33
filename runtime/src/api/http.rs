//! One HTTP exchange: a time-out over the whole of it, no redirects, and an answer of bounded size.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LOCATION, RETRY_AFTER};
use reqwest::{Method, Url};

/// The largest answer body read; anything longer is a contract breach, not something to buffer.
pub const MAX_BODY: usize = 64 * 1024;

/// A complete answer: status, the headers the client acts on, and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// `Content-Type`, lower-cased, without parameters.
    pub content_type: Option<String>,
    /// `Retry-After` in seconds, when present and a whole number.
    pub retry_after: Option<Duration>,
    /// `Location`, for the error message of a redirect.
    pub location: Option<String>,
    /// The body, at most [`MAX_BODY`] bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// True when the body is declared JSON (`application/json` or a `+json` type).
    pub fn is_json(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|t| t == "application/json" || t.ends_with("+json"))
    }
}

/// Why an exchange produced no complete answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// Could not connect, or the connection broke.
    #[error("{0}")]
    Transport(String),
    /// No complete answer within the time-out.
    #[error("no complete answer within {0:?}")]
    TimedOut(Duration),
    /// The body went past [`MAX_BODY`].
    #[error("answer body larger than {MAX_BODY} bytes")]
    TooLarge,
}

/// A small HTTP client shared by the license API and the metadata server.
#[derive(Debug, Clone)]
pub struct Http {
    client: reqwest::Client,
}

/// One request to send.
#[derive(Debug)]
pub struct Request<'a> {
    /// GET or POST.
    pub method: Method,
    /// Where.
    pub url: Url,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// JSON body, for POST.
    pub json: Option<&'a serde_json::Value>,
}

impl Http {
    /// Builds the client: rustls with the system roots (and `SSL_CERT_FILE`), no redirects, our User-Agent.
    pub fn new(connect_timeout: Duration) -> Result<Self, ExchangeError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("coditect-entrypoint/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|e| ExchangeError::Transport(format!("set up the HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// Sends `request` and reads the whole answer within `timeout`.
    pub async fn exchange(&self, request: Request<'_>, timeout: Duration) -> Result<Answer, ExchangeError> {
        match tokio::time::timeout(timeout, self.exchange_unbounded(request)).await {
            Ok(result) => result,
            Err(_) => Err(ExchangeError::TimedOut(timeout)),
        }
    }

    async fn exchange_unbounded(&self, request: Request<'_>) -> Result<Answer, ExchangeError> {
        let mut builder = self.client.request(request.method, request.url);
        for (name, value) in request.headers {
            builder = builder.header(name, value);
        }
        if let Some(json) = request.json {
            builder = builder.json(json);
        }
        let mut response = builder
            .send()
            .await
            .map_err(|e| ExchangeError::Transport(describe(&e)))?;
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type =
            header(CONTENT_TYPE).map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase());
        let retry_after = header(RETRY_AFTER)
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = header(LOCATION);
        let status = response.status().as_u16();
        if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
            return Err(ExchangeError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| ExchangeError::Transport(describe(&e)))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ExchangeError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Answer {
            status,
            content_type,
            retry_after,
            location,
            body,
        })
    }
}

/// reqwest's Display stops at the outermost error; the cause chain says what really happened.
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
