//! Small helpers the checks share: run as the developer or root on an image's shared container, read an
//! image's configuration, and describe outputs for failure messages.

use bollard::Docker;
use coditect_harness::exec::{Entry, ExecOutput};
use coditect_harness::{ContainerHandle, shared};

use crate::verdict::{Failure, harness};

/// The shared container of `image`.
pub async fn container(docker: &Docker, image: &str) -> Result<ContainerHandle, Failure> {
    shared::container(docker, image).await.map_err(|e| harness(e, image))
}

/// `sh -c script` as the developer.
pub async fn dev(docker: &Docker, image: &str, script: &str) -> Result<ExecOutput, Failure> {
    container(docker, image)
        .await?
        .sh("developer", script)
        .await
        .map_err(|e| harness(e, image))
}

/// `sh -c script` as root.
pub async fn root(docker: &Docker, image: &str, script: &str) -> Result<ExecOutput, Failure> {
    container(docker, image)
        .await?
        .sh("0", script)
        .await
        .map_err(|e| harness(e, image))
}

/// Every entry under `path`, in one exec.
pub async fn tree(docker: &Docker, image: &str, path: &str) -> Result<Vec<Entry>, Failure> {
    container(docker, image)
        .await?
        .tree(path)
        .await
        .map_err(|e| harness(e, image))
}

/// The image's configuration (USER, WORKDIR, labels, env).
pub async fn config(docker: &Docker, image: &str) -> Result<bollard::models::ImageConfig, Failure> {
    let inspect = docker.inspect_image(image).await.map_err(|e| {
        harness(
            coditect_harness::HarnessError::docker(format!("inspect {image}"))(e),
            image,
        )
    })?;
    Ok(inspect.config.unwrap_or_default())
}

/// `exit N: stdout stderr`, trimmed, for a failure's "found".
pub fn shown(out: &ExecOutput) -> String {
    let text = format!("{} {}", out.stdout.trim(), out.stderr.trim());
    let text: String = text.trim().chars().take(600).collect();
    format!("exit {}: {text}", out.code)
}

/// The first few offending paths, for a failure's "found".
pub fn listed(paths: &[String]) -> String {
    let head: Vec<_> = paths.iter().take(5).cloned().collect();
    let more = paths.len().saturating_sub(head.len());
    if more > 0 {
        format!("{} (and {more} more)", head.join(", "))
    } else {
        head.join(", ")
    }
}
