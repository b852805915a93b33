//! The harness's errors: each names the culprit (the engine, the image, the file) and what would work.

use std::path::PathBuf;

/// Anything the harness could not do.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// No Docker engine answered.
    #[error(
        "reach the Docker engine at {host}: {detail}; start it (`systemctl start docker`, or `dockerd &`) \
         or set DOCKER_HOST to a reachable engine (unix:///path/docker.sock or tcp://host:2375)"
    )]
    EngineUnreachable {
        /// DOCKER_HOST or the default socket.
        host: String,
        /// What the client said.
        detail: String,
    },
    /// The engine is older than what the harness uses.
    #[error(
        "use the Docker engine at {host}: it speaks API {found}, expected {wanted} or newer (Docker Engine 20.10+)"
    )]
    EngineTooOld {
        /// DOCKER_HOST or the default socket.
        host: String,
        /// The engine's API version.
        found: String,
        /// The oldest accepted.
        wanted: &'static str,
    },
    /// A Docker API call failed.
    #[error("{what}: {source}")]
    Docker {
        /// What was being done.
        what: String,
        /// The client's error.
        #[source]
        source: bollard::errors::Error,
    },
    /// An image named by the user (or an env variable) does not exist.
    #[error("find the image {reference} (from {origin}): {detail}; expected a local image or one the engine can pull")]
    ImageMissing {
        /// The reference.
        reference: String,
        /// Where the name came from, e.g. `CODITECT_IMAGE_DOCKER`.
        origin: String,
        /// What the engine said.
        detail: String,
    },
    /// A Dockerfile step failed.
    #[error("build {image}: {message}")]
    BuildFailed {
        /// The image being built.
        image: String,
        /// The failing step's output and error.
        message: String,
    },
    /// A pinned artifact could not be fetched, or did not match its digest.
    #[error("fetch {file}: {detail}")]
    Artifact {
        /// The artifact's file name.
        file: String,
        /// What went wrong and what was expected.
        detail: String,
    },
    /// A file of the repository or the cache could not be read or written.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An external tool (cargo, debootstrap, tar) failed.
    #[error("run {tool}: {detail}")]
    Tool {
        /// The command.
        tool: String,
        /// Its exit status and the tail of its output, or why it could not start.
        detail: String,
    },
}

impl HarnessError {
    /// An I/O error about `path`.
    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { what, path, source }
    }

    /// A Docker API error while doing `what`.
    pub fn docker(what: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Self {
        let what = what.into();
        move |source| Self::Docker { what, source }
    }
}

/// The harness's result type.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;
