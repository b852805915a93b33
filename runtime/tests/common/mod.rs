//! Shared rig for the binary's tests: a framework tree, a recording wiremock license API, and the
//! entrypoint started as a real process against them.

#![allow(dead_code, reason = "each test binary uses its own part of the rig")]

use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

pub const KEY: &str = "CDT-7Q2M9-XK4PA-33HRT-W8ZN1";

/// A request as the mock saw it, with its arrival time.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub path: String,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Records every request it answers, in order, with its arrival time (wiremock keeps none).
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<Seen>>>);

impl Journal {
    pub fn record(&self, request: &Request) {
        let seen = Seen {
            at: Instant::now(),
            path: request.url.path().to_owned(),
            body: serde_json::from_slice(&request.body).unwrap_or(Value::Null),
            headers: request
                .headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
        };
        self.0.lock().expect("journal lock").push(seen);
    }

    pub fn all(&self) -> Vec<Seen> {
        self.0.lock().expect("journal lock").clone()
    }

    pub fn on(&self, suffix: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.path.ends_with(suffix)).collect()
    }
}

/// Answers from a list (the last answer repeats), recording each request in the journal.
pub struct Script {
    journal: Journal,
    answers: Mutex<Vec<ResponseTemplate>>,
}

impl Respond for Script {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.journal.record(request);
        let mut answers = self.answers.lock().expect("script lock");
        if answers.len() > 1 {
            answers.remove(0)
        } else {
            answers[0].clone()
        }
    }
}

/// A license API mock.
pub struct Api {
    pub server: MockServer,
    pub journal: Journal,
}

impl Api {
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
            journal: Journal::default(),
        }
    }

    /// Answers `endpoint` (validate, heartbeat, end) with `answers` in order, the last one repeating.
    pub async fn on(&self, endpoint: &str, answers: Vec<ResponseTemplate>) {
        let script = Script {
            journal: self.journal.clone(),
            answers: Mutex::new(answers),
        };
        Mock::given(method("POST"))
            .and(path(format!("/api/v1/sessions/{endpoint}")))
            .respond_with(script)
            .mount(&self.server)
            .await;
    }

    /// The usual happy path: validate accepts, heartbeats and end succeed.
    pub async fn accepting(interval: Option<u64>) -> Self {
        let api = Self::start().await;
        api.on("validate", vec![accepted(interval)]).await;
        api.on("heartbeat", vec![json_answer(200, json!({"ok": true}))]).await;
        api.on("end", vec![ResponseTemplate::new(204)]).await;
        api
    }

    pub fn uri(&self) -> String {
        self.server.uri()
    }
}

pub fn json_answer(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

pub fn accepted(interval: Option<u64>) -> ResponseTemplate {
    let mut body =
        json!({"valid": true, "session_id": "ses_4f2a9c81", "expires_at": "2027-06-30T00:00:00Z", "customer": "Acme"});
    if let Some(i) = interval {
        body["heartbeat_interval"] = json!(i);
    }
    json_answer(200, body)
}

pub fn refused(status: u16, code: &str, extra: Value) -> ResponseTemplate {
    let mut body = json!({"valid": false, "code": code, "message": format!("{code} from the mock")});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    json_answer(status, body)
}

/// A framework tree with a VERSION and a manifest, plus a state directory.
pub struct Rig {
    pub dir: tempfile::TempDir,
}

impl Rig {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let framework = dir.path().join("framework");
        std::fs::create_dir_all(framework.join("agents")).expect("mkdir");
        std::fs::write(framework.join("VERSION"), "2.3.1\n").expect("write");
        std::fs::write(framework.join("agents/reviewer.md"), "# Reviewer\n").expect("write");
        coditect_runtime::integrity::write_manifest(&framework).expect("manifest");
        Self { dir }
    }

    pub fn framework(&self) -> std::path::PathBuf {
        self.dir.path().join("framework")
    }

    pub fn state(&self) -> std::path::PathBuf {
        self.dir.path().join("state")
    }

    /// `coditect-entrypoint run -- <command>` against `api_url`, with short time-outs and a clean env.
    pub fn run(&self, api_url: &str, command: &[&str]) -> Command {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("coditect-entrypoint"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("CODITECT_LICENSE_KEY", KEY)
            .env("CODITECT_API_URL", api_url)
            .env("CODITECT_API_TIMEOUT", "1s")
            .env("CODITECT_API_DEADLINE", "3s")
            .env("CODITECT_STOP_GRACE", "2s")
            .env("CODITECT_FRAMEWORK_DIR", self.framework())
            .env("CODITECT_STATE_DIR", self.state())
            .arg("run")
            .arg("--")
            .args(command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }
}

/// Runs a command to its end off the async runtime, returning its output and how long it took.
pub async fn finish(mut cmd: Command) -> (Output, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let output = cmd.output().expect("entrypoint starts");
        (output, started.elapsed())
    })
    .await
    .expect("join")
}

/// Waits for a spawned child off the async runtime.
pub async fn wait(child: Child) -> Output {
    tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join")
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Polls `check` every 20 ms for up to `limit`.
pub async fn eventually(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    check()
}
