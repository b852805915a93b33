//! One container per image per test binary, for checks that only read.
//!
//! Starting a container per read-only check would cost a start each; these share one, started with its
//! entrypoint replaced by `sleep` (no license flow: the checks look at the image, not the session).
//! A test binary has no teardown hook, so a shared container removes itself: it sleeps
//! [`LIFETIME`] and is started with auto-remove; [`crate::launch::clean_leftovers`] removes it earlier
//! once its owner process is gone.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::CreateContainerOptions;

use crate::error::{HarnessError, Result};
use crate::launch::{ContainerHandle, LABEL, NOWHERE, OWNER_LABEL};

/// How long a shared container lives at most, in seconds.
pub const LIFETIME: u32 = 1200;

// An async mutex: it is held across the container's start, so that concurrent tests start one, not several.
static SHARED: tokio::sync::Mutex<Option<HashMap<String, String>>> = tokio::sync::Mutex::const_new(None);

/// The shared container of `image` (started on first use), as a handle on `docker`.
pub async fn container(docker: &Docker, image: &str) -> Result<ContainerHandle> {
    let mut guard = SHARED.lock().await;
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(id) = map.get(image) {
        return Ok(ContainerHandle::new(docker, id.clone()));
    }
    let body = ContainerCreateBody {
        image: Some(image.to_owned()),
        entrypoint: Some(vec!["sleep".to_owned()]),
        cmd: Some(vec![LIFETIME.to_string()]),
        env: Some(vec![format!("CODITECT_API_URL={NOWHERE}")]),
        labels: Some(HashMap::from([
            (LABEL.to_owned(), "true".to_owned()),
            (OWNER_LABEL.to_owned(), std::process::id().to_string()),
        ])),
        host_config: Some(HostConfig {
            auto_remove: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(|e| HarnessError::ImageMissing {
            reference: image.to_owned(),
            origin: "a shared container".into(),
            detail: e.to_string(),
        })?;
    docker
        .start_container(&created.id, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(HarnessError::docker(format!("start a shared container of {image}")))?;
    map.insert(image.to_owned(), created.id.clone());
    Ok(ContainerHandle::new(docker, created.id))
}
