//! Set-up shared by the harness's Docker-backed tests: the engine (or a loud failure), leftovers from
//! killed runs removed, and the images built once per test binary.

#![allow(dead_code, reason = "each test binary uses its own part of the set-up")]

use bollard::Docker;
use coditect_harness::images::{self, BuildOptions, ImageSet};
use tokio::sync::OnceCell;

static IMAGES: OnceCell<ImageSet> = OnceCell::const_new();

/// The engine and the images under test. Panics with the harness's own message when Docker is missing:
/// a Docker-backed test never passes or skips silently.
pub async fn setup() -> (Docker, ImageSet) {
    let docker = match coditect_harness::docker::connect().await {
        Ok(docker) => docker,
        Err(error) => panic!("these tests need Docker: failed to {error}"),
    };
    let images = IMAGES
        .get_or_init(|| async {
            if let Err(error) = coditect_harness::launch::clean_leftovers(&docker, false).await {
                eprintln!("warning: could not remove leftover containers: {error}");
            }
            match images::ensure_all(&docker, &BuildOptions::from_env()).await {
                Ok(set) => set,
                Err(error) => panic!("failed to {error}"),
            }
        })
        .await
        .clone();
    (docker, images)
}

/// The reference of one image.
pub fn reference(images: &ImageSet, image: images::Image) -> String {
    images
        .get(image)
        .map(|r| r.reference.clone())
        .unwrap_or_else(|| panic!("{image} is not in the image set"))
}
