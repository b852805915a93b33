//! Starting an image under test, in testcontainers' builder style, and talking to it once it runs.
//!
//! ```no_run
//! # async fn f(images: &coditect_harness::images::ImageSet) -> coditect_harness::Result<()> {
//! use coditect_harness::{Launch, mock::Mock};
//! let docker = coditect_harness::docker::connect().await?;
//! let running = Launch::docker(images).with_license(Mock::expired()).with_heartbeat(1).start(&docker).await?;
//! let exit = running.wait_exit(std::time::Duration::from_secs(30)).await?;
//! assert_eq!(exit.code, 77);
//! # Ok(()) }
//! ```
//!
//! Every container is labelled [`LABEL`] and [`OWNER_LABEL`] (this process's pid) and removed on drop,
//! also when a test panics; [`clean_leftovers`] removes those whose owner is gone (a SIGKILLed run).

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::{ListContainersOptions, LogsOptions, RemoveContainerOptions};
use futures_util::StreamExt as _;
use testcontainers::core::{Host, Mount, WaitFor};
use testcontainers::runners::AsyncRunner as _;
use testcontainers::{ContainerAsync, GenericImage, ImageExt as _};

use crate::error::{HarnessError, Result};
use crate::exec::{self, Entry, ExecOutput};

use crate::images::{Image, ImageSet};
use crate::mock::{LicenseApi, Metadata, MetadataServer, Mock, bind};

/// Label on every container the harness starts.
pub const LABEL: &str = "ai.coditect.conformance";
/// Label naming the pid of the process that started the container.
pub const OWNER_LABEL: &str = "ai.coditect.conformance.owner";
/// The key every licensed container gets unless a test says otherwise.
pub const TEST_KEY: &str = "CDT-CONF0-RMANC-E0000-K3Y42";
/// An API URL that reaches nothing, for containers started without a mock: a container under test
/// never talks to a real license API.
pub const NOWHERE: &str = "http://127.0.0.1:9";

/// When a started container counts as ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    /// As soon as it runs.
    Started,
    /// When this text appears in its output.
    Log(String),
    /// When Docker reports it healthy.
    Healthy,
}

/// A container to start.
#[derive(Debug)]
#[must_use]
pub struct Launch {
    image: String,
    env: Vec<(String, String)>,
    cmd: Option<Vec<String>>,
    user: Option<String>,
    cap_drop_all: bool,
    cap_add: Vec<String>,
    no_new_privileges: bool,
    ready: Ready,
    license: Option<Mock>,
    shared_license: Option<std::sync::Arc<LicenseApi>>,
    metadata: Option<Metadata>,
    empty_home: bool,
    binds: Vec<(String, String)>,
    licensed: bool,
}

impl Launch {
    /// Any image reference.
    pub fn image(reference: impl Into<String>) -> Self {
        Self {
            image: reference.into(),
            env: Vec::new(),
            cmd: None,
            user: None,
            cap_drop_all: false,
            cap_add: Vec::new(),
            no_new_privileges: false,
            ready: Ready::Started,
            license: None,
            shared_license: None,
            metadata: None,
            empty_home: false,
            binds: Vec::new(),
            licensed: false,
        }
    }

    /// The base image.
    pub fn base(images: &ImageSet) -> Self {
        Self::image(reference(images, Image::Base))
    }

    /// The licensed docker image, with the test key.
    pub fn docker(images: &ImageSet) -> Self {
        let mut launch = Self::image(reference(images, Image::Docker)).with_env("CODITECT_LICENSE_KEY", TEST_KEY);
        launch.licensed = true;
        launch
    }

    /// The licensed workstation image.
    pub fn workstation(images: &ImageSet) -> Self {
        let mut launch = Self::image(reference(images, Image::Workstation));
        launch.licensed = true;
        launch
    }

    /// Sets an environment variable.
    pub fn with_env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let name = name.into();
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        self
    }

    /// Removes an environment variable set earlier (e.g. the test key).
    pub fn without_env(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// The heartbeat interval, in seconds.
    pub fn with_heartbeat(self, seconds: u64) -> Self {
        self.with_env("CODITECT_HEARTBEAT_INTERVAL", seconds.to_string())
    }

    /// The command (replaces the image's CMD).
    pub fn with_cmd(mut self, cmd: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.cmd = Some(cmd.into_iter().map(Into::into).collect());
        self
    }

    /// The user the container starts as.
    pub fn with_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// `--cap-drop ALL`.
    pub fn with_cap_drop_all(mut self) -> Self {
        self.cap_drop_all = true;
        self
    }

    /// `--cap-add CAP`: gives one capability back, e.g. after [`Launch::with_cap_drop_all`].
    pub fn with_cap_add(mut self, capability: impl Into<String>) -> Self {
        self.cap_add.push(capability.into());
        self
    }

    /// Mounts the host directory `host` over `target`, read-only (a volume swapped in under the image).
    pub fn with_bind(mut self, host: &str, target: &str) -> Self {
        self.binds.push((host.to_owned(), target.to_owned()));
        self
    }

    /// `--security-opt no-new-privileges`.
    pub fn with_no_new_privileges(mut self) -> Self {
        self.no_new_privileges = true;
        self
    }

    /// When the container counts as started.
    pub fn with_ready(mut self, ready: Ready) -> Self {
        self.ready = ready;
        self
    }

    /// A mock license API, started with the container and reached from it.
    pub fn with_license(mut self, mock: Mock) -> Self {
        self.license = Some(mock);
        self
    }

    /// A license API mock already running, shared with other containers (one mock, several sessions).
    pub fn with_license_api(mut self, api: std::sync::Arc<LicenseApi>) -> Self {
        self.shared_license = Some(api);
        self
    }

    /// A mock metadata server, started with the container and reached from it.
    pub fn with_metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// An empty anonymous volume on `/home`, as Cloud Workstations mount a persistent disk there.
    pub fn with_empty_home(mut self) -> Self {
        self.empty_home = true;
        self
    }

    /// Starts the mocks, then the container; returns once it is ready (or has exited, for
    /// [`Ready::Started`]: see [`Running::wait_exit`]).
    pub async fn start(self, docker: &Docker) -> Result<Running> {
        let license = match (self.license, self.shared_license) {
            (_, Some(shared)) => Some(shared),
            (Some(mock), None) => Some(std::sync::Arc::new(mock.start(docker).await?)),
            (None, None) => None,
        };
        let metadata = match self.metadata {
            Some(m) => Some(m.start(docker).await?),
            None => None,
        };
        let (name, tag) = split_reference(&self.image);
        let mut image = GenericImage::new(name, tag);
        image = match &self.ready {
            Ready::Started => image.with_wait_for(WaitFor::Nothing),
            Ready::Log(text) => image.with_wait_for(WaitFor::message_on_either_std(text.as_str())),
            Ready::Healthy => image.with_wait_for(WaitFor::healthcheck()),
        };
        let api_url = license
            .as_ref()
            .map_or_else(|| NOWHERE.to_owned(), |api| api.container_url());
        let mut request = image
            .with_label(LABEL, "true")
            .with_label(OWNER_LABEL, std::process::id().to_string())
            .with_host(bind::HOST_ALIAS, Host::HostGateway)
            .with_env_var("CODITECT_API_URL", api_url)
            .with_env_var("CODITECT_ALLOW_INSECURE_API", "1")
            .with_startup_timeout(Duration::from_secs(120));
        if let Some(m) = &metadata {
            request = request.with_env_var("GCE_METADATA_HOST", m.container_host());
        }
        for (name, value) in &self.env {
            request = request.with_env_var(name, value);
        }
        if let Some(cmd) = &self.cmd {
            request = request.with_cmd(cmd);
        }
        if let Some(user) = &self.user {
            request = request.with_user(user);
        }
        if self.cap_drop_all {
            request = request.with_cap_drop("ALL");
        }
        for capability in &self.cap_add {
            request = request.with_cap_add(capability);
        }
        if self.no_new_privileges {
            request = request.with_security_opt("no-new-privileges");
        }
        for (host, target) in &self.binds {
            request = request.with_mount(
                Mount::bind_mount(host.as_str(), target.as_str())
                    .with_access_mode(testcontainers::core::AccessMode::ReadOnly),
            );
        }
        if self.empty_home {
            request = request
                .with_mount(Mount::tmpfs_mount("/home").with_access_mode(testcontainers::core::AccessMode::ReadWrite));
        }
        let container = request.start().await.map_err(|e| HarnessError::ImageMissing {
            reference: self.image.clone(),
            origin: "the launch".into(),
            detail: e.to_string(),
        })?;
        let handle = ContainerHandle::new(docker, container.id());
        Ok(Running {
            _container: container,
            handle,
            license,
            metadata,
        })
    }
}

fn reference(images: &ImageSet, image: Image) -> String {
    images.get(image).map_or_else(|| image.tag(), |r| r.reference.clone())
}

/// `repo:tag` → (`repo`, `tag`), keeping a registry's port in the repository.
fn split_reference(reference: &str) -> (String, String) {
    match reference.rsplit_once(':') {
        Some((name, tag)) if !tag.contains('/') => (name.to_owned(), tag.to_owned()),
        _ => (reference.to_owned(), "latest".to_owned()),
    }
}

/// How a container ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// Its exit code.
    pub code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Exit {
    /// Both streams.
    pub fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// A running (or exited) container under test, with its mocks; removed on drop. Its container
/// operations are those of [`ContainerHandle`], which it dereferences to.
pub struct Running {
    _container: ContainerAsync<GenericImage>,
    handle: ContainerHandle,
    license: Option<std::sync::Arc<LicenseApi>>,
    metadata: Option<MetadataServer>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("id", &self.handle.id)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for Running {
    type Target = ContainerHandle;
    fn deref(&self) -> &ContainerHandle {
        &self.handle
    }
}

impl Running {
    /// The mock license API, when one was started.
    pub fn license(&self) -> Option<&LicenseApi> {
        self.license.as_deref()
    }

    /// The mock metadata server, when one was started.
    pub fn metadata(&self) -> Option<&MetadataServer> {
        self.metadata.as_ref()
    }

    /// `docker stop` with a time-out (SIGTERM, then SIGKILL), then the exit.
    pub async fn stop(&self, timeout: Duration) -> Result<Exit> {
        let secs = i32::try_from(timeout.as_secs()).unwrap_or(i32::MAX);
        self._container
            .stop_with_timeout(Some(secs))
            .await
            .map_err(|e| HarnessError::Tool {
                tool: "docker stop".into(),
                detail: e.to_string(),
            })?;
        self.wait_exit(Duration::from_secs(5)).await
    }
}

/// A container by ID, on one engine connection: commands, file metadata, logs, exit and health.
#[derive(Debug, Clone)]
pub struct ContainerHandle {
    docker: Docker,
    id: String,
}

impl ContainerHandle {
    /// A handle on container `id`.
    pub fn new(docker: &Docker, id: impl Into<String>) -> Self {
        Self {
            docker: docker.clone(),
            id: id.into(),
        }
    }

    /// The container's ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs `cmd` as `user` (name or uid).
    pub async fn exec_as(&self, user: &str, cmd: &[&str]) -> Result<ExecOutput> {
        exec::exec(&self.docker, &self.id, user, cmd).await
    }

    /// Runs `cmd` as the developer.
    pub async fn exec_dev(&self, cmd: &[&str]) -> Result<ExecOutput> {
        self.exec_as("developer", cmd).await
    }

    /// Runs `cmd` as root.
    pub async fn exec_root(&self, cmd: &[&str]) -> Result<ExecOutput> {
        self.exec_as("0", cmd).await
    }

    /// Runs `sh -c script` as `user`.
    pub async fn sh(&self, user: &str, script: &str) -> Result<ExecOutput> {
        self.exec_as(user, &["sh", "-c", script]).await
    }

    /// Every entry under `root` with its metadata, in one exec.
    pub async fn tree(&self, root: &str) -> Result<Vec<Entry>> {
        exec::tree(&self.docker, &self.id, root).await
    }

    /// One path's metadata (a link's own, not its target's).
    pub async fn stat(&self, path: &str) -> Result<Entry> {
        let out = self
            .exec_root(&["find", path, "-maxdepth", "0", "-printf", exec::FIND_FORMAT])
            .await?;
        exec::parse_find(&out.stdout)
            .ok()
            .and_then(|mut v| v.pop())
            .ok_or_else(|| HarnessError::Tool {
                tool: format!("stat {path}"),
                detail: format!("{} {}", out.stdout, out.stderr),
            })
    }

    /// The container's output so far.
    pub async fn logs(&self) -> Result<(String, String)> {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let mut stream = self.docker.logs(&self.id, Some(options));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = stream.next().await {
            match chunk.map_err(HarnessError::docker(format!("read the logs of {}", short(&self.id))))? {
                bollard::container::LogOutput::StdErr { message } => err.extend_from_slice(&message),
                other => out.extend_from_slice(&other.into_bytes()),
            }
        }
        Ok((
            String::from_utf8_lossy(&out).into_owned(),
            String::from_utf8_lossy(&err).into_owned(),
        ))
    }

    async fn state(&self) -> Result<Option<bollard::models::ContainerState>> {
        Ok(self
            .docker
            .inspect_container(&self.id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(HarnessError::docker(format!("inspect container {}", short(&self.id))))?
            .state)
    }

    /// Waits up to `limit` for the container to exit; returns its code and output.
    pub async fn wait_exit(&self, limit: Duration) -> Result<Exit> {
        let until = Instant::now() + limit;
        loop {
            let exited = self.state().await?.filter(|s| {
                s.running == Some(false) && s.finished_at.as_deref().is_some_and(|f| !f.starts_with("0001"))
            });
            if let Some(state) = exited {
                let (stdout, stderr) = self.logs().await?;
                return Ok(Exit {
                    code: state.exit_code.unwrap_or(-1),
                    stdout,
                    stderr,
                });
            }
            if Instant::now() >= until {
                let (stdout, stderr) = self.logs().await?;
                return Err(HarnessError::Tool {
                    tool: format!("wait for container {} to exit", short(&self.id)),
                    detail: format!("still running after {limit:?}; output so far:\n{stdout}{stderr}"),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Docker's health status (`starting`, `healthy`, `unhealthy`), when the image has a healthcheck.
    pub async fn health(&self) -> Result<Option<String>> {
        Ok(self
            .state()
            .await?
            .and_then(|s| s.health)
            .and_then(|h| h.status)
            .map(|s| s.to_string()))
    }
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}

/// Removes containers labelled by the harness whose owning process is gone; returns how many.
pub async fn clean_leftovers(docker: &Docker, all: bool) -> Result<usize> {
    let filters = std::collections::HashMap::from([("label".to_owned(), vec![LABEL.to_owned()])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    let containers = docker
        .list_containers(Some(options))
        .await
        .map_err(HarnessError::docker("list the harness's containers"))?;
    let mut removed = 0;
    for container in containers {
        let owner = container
            .labels
            .as_ref()
            .and_then(|l| l.get(OWNER_LABEL))
            .and_then(|p| p.parse::<u32>().ok());
        let owner_alive = owner.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if (all || !owner_alive)
            && let Some(id) = container.id
        {
            let options = RemoveContainerOptions {
                force: true,
                v: true,
                ..Default::default()
            };
            docker
                .remove_container(&id, Some(options))
                .await
                .map_err(HarnessError::docker(format!("remove container {id}")))?;
            removed += 1;
        }
    }
    Ok(removed)
}
