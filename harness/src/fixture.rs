//! Set-up for Docker-backed tests, shared by the harness's own tests and the suites: the engine (or a
//! loud failure naming DOCKER_HOST), leftovers of killed runs removed, and the images built once per
//! test binary. It panics instead of returning errors: a Docker-backed test never passes or skips
//! silently, and the panic carries the harness's own message.

use bollard::Docker;
use tokio::sync::OnceCell;

use crate::images::{self, BuildOptions, Image, ImageSet};

static IMAGES: OnceCell<ImageSet> = OnceCell::const_new();

/// The engine and the images under test (built, or named by `CODITECT_IMAGE_*`).
pub async fn setup() -> (Docker, ImageSet) {
    let docker = crate::docker::connect()
        .await
        .unwrap_or_else(|e| panic!("these tests need Docker: failed to {e}"));
    let images = IMAGES
        .get_or_init(|| async {
            if let Err(error) = crate::launch::clean_leftovers(&docker, false).await {
                crate::progress!("warning: could not remove leftover containers: {error}");
            }
            images::ensure_all(&docker, &BuildOptions::from_env())
                .await
                .unwrap_or_else(|e| panic!("failed to {e}"))
        })
        .await
        .clone();
    (docker, images)
}

/// The reference of `image` in the set.
pub fn reference(images: &ImageSet, image: Image) -> String {
    images
        .get(image)
        .map(|r| r.reference.clone())
        .unwrap_or_else(|| panic!("{image} is not in the image set"))
}
