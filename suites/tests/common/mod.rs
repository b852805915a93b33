//! Set-up for suites: the engine (or a loud failure naming DOCKER_HOST) and the images, once per binary.

use bollard::Docker;
use coditect_harness::images::{self, BuildOptions, ImageSet};
use tokio::sync::OnceCell;

static IMAGES: OnceCell<ImageSet> = OnceCell::const_new();

/// The engine and the images under test.
pub async fn setup() -> (Docker, ImageSet) {
    let docker = coditect_harness::docker::connect()
        .await
        .unwrap_or_else(|e| panic!("the suites need Docker: failed to {e}"));
    let images = IMAGES
        .get_or_init(|| async {
            let _ = coditect_harness::launch::clean_leftovers(&docker, false).await;
            images::ensure_all(&docker, &BuildOptions::from_env())
                .await
                .unwrap_or_else(|e| panic!("failed to {e}"))
        })
        .await
        .clone();
    (docker, images)
}
