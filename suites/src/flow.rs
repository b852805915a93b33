//! Starting a licensed container for a flow check and collecting what happened: its exit, its output,
//! and the mock's journal.

use std::time::Duration;

use bollard::Docker;
use coditect_harness::mock::{Journal, Metadata, Mock};
use coditect_harness::{Exit, Launch, Running, TEST_KEY};

use crate::verdict::{Failure, harness};

/// How long a flow may take before it counts as hung.
pub const WAIT: Duration = Duration::from_secs(60);

/// A licensed docker container of `image` with the test key, short deadlines and `mock`.
pub fn docker(image: &str, mock: Mock) -> Launch {
    Launch::image(image)
        .with_env("CODITECT_LICENSE_KEY", TEST_KEY)
        .with_env("CODITECT_API_DEADLINE", "5s")
        .with_env("CODITECT_API_TIMEOUT", "2s")
        .with_env("CODITECT_STOP_GRACE", "2s")
        .with_license(mock)
}

/// A workstation container of `image` for `email`, with `mock` and a metadata server.
pub fn workstation(image: &str, mock: Mock, metadata: Metadata) -> Launch {
    Launch::image(image)
        .with_env("CODITECT_API_DEADLINE", "5s")
        .with_env("CODITECT_API_TIMEOUT", "2s")
        .with_license(mock)
        .with_metadata(metadata)
}

/// Starts `launch`.
pub async fn start(docker: &Docker, launch: Launch, image: &str) -> Result<Running, Failure> {
    launch.start(docker).await.map_err(|e| harness(e, image))
}

/// Starts `launch` and waits for its exit.
pub async fn run(docker: &Docker, launch: Launch, image: &str) -> Result<(Exit, Journal), Failure> {
    let running = start(docker, launch, image).await?;
    let exit = running.wait_exit(WAIT).await.map_err(|e| harness(e, image))?;
    let journal = running.license().map(|l| l.journal().clone()).unwrap_or_default();
    Ok((exit, journal))
}

/// `exit N: <last lines of output>`, for a failure's "found".
pub fn ended(exit: &Exit) -> String {
    let output = exit.output();
    let tail: Vec<&str> = output.lines().rev().take(4).collect();
    format!(
        "exit {}: {}",
        exit.code,
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    )
}
