//! A real OCI distribution registry on loopback for the signature suite: Debian's `docker-registry`
//! (distribution 2.8) with the harness's own config — `127.0.0.1`, a free port, storage in a temporary
//! directory, deletes enabled, no auth — stopped and wiped when dropped. Docker pushes to it over plain
//! HTTP because it treats 127.0.0.0/8 registries as insecure without configuration.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{PushImageOptions, TagImageOptions};
use futures_util::StreamExt as _;

use crate::{HarnessError, Result};

/// The variable naming the registry binary, when it is not `docker-registry` or `registry` on PATH.
pub const REGISTRY_BIN_VAR: &str = "CODITECT_REGISTRY_BIN";

/// How long the registry may take to answer `/v2/`.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// A running local registry.
#[derive(Debug)]
pub struct LocalRegistry {
    /// The watchdog shell that owns the registry process.
    child: Child,
    host: String,
}

impl LocalRegistry {
    /// Starts a registry on a free loopback port and waits until it answers.
    pub async fn start() -> Result<Self> {
        Self::start_on(None).await
    }

    /// Starts a registry on `port` of 127.0.0.1 (a free one when `None`) and waits until it answers.
    pub async fn start_on(port: Option<u16>) -> Result<Self> {
        let binary = binary()?;
        let mut last = String::new();
        // A port found free can be taken before the registry binds it: try a few.
        for _ in 0..if port.is_some() { 1 } else { 3 } {
            let storage = tempfile::Builder::new()
                .prefix("coditect-registry-")
                .tempdir()
                .map_err(HarnessError::io("create the registry's storage", std::env::temp_dir()))?
                .keep();
            let host = format!("127.0.0.1:{}", port.map_or_else(free_port, Ok)?);
            let config = storage.join("config.yml");
            std::fs::write(&config, config_yaml(&storage.join("data"), &host))
                .map_err(HarnessError::io("write the registry config", &config))?;
            let log = storage.join("registry.log");
            let mut child = Command::new("sh")
                .arg("-c")
                .arg(WATCHDOG)
                .arg(&binary)
                .arg(&config)
                .arg(std::process::id().to_string())
                .arg(&log)
                .arg(&storage)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| tool(&binary, format!("could not start: {e}")))?;
            match wait_ready(&mut child, &host).await {
                Ok(()) => return Ok(Self { child, host }),
                Err(detail) => {
                    let tail = std::fs::read_to_string(&log).unwrap_or_default();
                    last = format!("{detail}; its log: {}", tail.lines().last().unwrap_or("(empty)"));
                    stop(&mut child);
                }
            }
        }
        Err(tool(&binary, last))
    }

    /// `127.0.0.1:PORT`, the registry part of references into it.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Pushes the local image `local` as `<host>/<repository>:<tag>` and returns that reference.
    pub async fn push(&self, docker: &Docker, local: &str, repository: &str, tag: &str) -> Result<String> {
        let target = format!("{}/{repository}", self.host);
        docker
            .tag_image(
                local,
                Some(TagImageOptions {
                    repo: Some(target.clone()),
                    tag: Some(tag.to_owned()),
                }),
            )
            .await
            .map_err(HarnessError::docker(format!("tag {local} as {target}:{tag}")))?;
        let mut stream = docker.push_image(
            &target,
            Some(PushImageOptions {
                tag: Some(tag.to_owned()),
                ..Default::default()
            }),
            None,
        );
        while let Some(item) = stream.next().await {
            let info = item.map_err(HarnessError::docker(format!("push {target}:{tag}")))?;
            if let Some(error) = info.error_detail.and_then(|d| d.message) {
                return Err(HarnessError::Tool {
                    tool: format!("docker push {target}:{tag}"),
                    detail: format!(
                        "{error}; the engine must reach {} (a local engine, not a remote DOCKER_HOST)",
                        self.host
                    ),
                });
            }
        }
        Ok(format!("{target}:{tag}"))
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// Runs the registry (`$0 serve $1`, log in `$3`) and stops it, removing its storage (`$4`), when the
/// harness asks (SIGTERM), when it exits, or when the process that started it (`$2`) is gone: a
/// registry shared by a whole test binary outlives every test but never the binary, even after a
/// panic or a kill.
const WATCHDOG: &str = r#"
"$0" serve "$1" 2>>"$3" & r=$!
trap 'kill $r 2>/dev/null; wait $r 2>/dev/null; rm -rf "$4"; exit 0' EXIT INT TERM HUP
while kill -0 "$2" 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1; done
"#;

fn stop(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let _ = child.wait();
}

fn binary() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os(REGISTRY_BIN_VAR) {
        return Ok(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["docker-registry", "registry"] {
        if let Some(found) = std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
        {
            return Ok(found);
        }
    }
    Err(HarnessError::Tool {
        tool: "docker-registry".into(),
        detail: format!(
            "not found on PATH; install it (Debian: apt-get install docker-registry) or set {REGISTRY_BIN_VAR} \
             to a distribution registry 2.x binary"
        ),
    })
}

fn tool(binary: &std::path::Path, detail: String) -> HarnessError {
    HarnessError::Tool {
        tool: binary.display().to_string(),
        detail,
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(HarnessError::io("find a free port on", PathBuf::from("127.0.0.1")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(HarnessError::io("find a free port on", PathBuf::from("127.0.0.1")))
}

fn config_yaml(data: &std::path::Path, host: &str) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
         delete:\n    enabled: true\n  cache:\n    blobdescriptor: inmemory\nhttp:\n  addr: {host}\n",
        data.display()
    )
}

async fn wait_ready(child: &mut Child, host: &str) -> std::result::Result<(), String> {
    let url = format!("http://{host}/v2/");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("it exited with {status} before answering on {host}"));
        }
        if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        if started.elapsed() > READY_WITHIN {
            return Err(format!("no answer on {url} within {READY_WITHIN:?}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
