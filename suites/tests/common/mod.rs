//! Set-up for suites: `coditect_harness::fixture`, plus the runners of checks and the flawed entrypoint.

use bollard::Docker;
pub use coditect_harness::fixture::{reference, setup};
use coditect_harness::images::{self, ImageSet};

/// The licensed docker image with its entrypoint replaced by the flawed fake (`fixtures/fake_entrypoint.py`),
/// flaws switched on by `flaws` (comma-separated; empty: the fake as it is).
#[allow(dead_code, reason = "used by the license and heartbeat suites only")]
pub async fn fake_entrypoint(docker: &Docker, images: &ImageSet, flaws: &str) -> String {
    let from = reference(images, images::Image::Docker);
    let lines = format!(
        "COPY fake-entrypoint /usr/local/bin/fake-entrypoint\nENV FAKE_FLAWS={flaws}\n\
         ENTRYPOINT [\"python3\", \"-B\", \"/usr/local/bin/fake-entrypoint\"]\nCMD [\"sleep\", \"infinity\"]"
    );
    let name = if flaws.is_empty() {
        "fake-entrypoint".to_owned()
    } else {
        format!("fake-entrypoint-{}", flaws.replace(',', "-"))
    };
    let script: &[u8] = include_bytes!("../../fixtures/fake_entrypoint.py");
    images::variant_with_files(docker, &from, &name, &lines, &[("fake-entrypoint", script)])
        .await
        .expect("the fake entrypoint variant builds")
}

/// Runs check `id` on the real image its suite is about (`runner::image_for`) and fails the test with
/// the auditor's message unless it passes.
#[allow(dead_code, reason = "the example suite calls its checks directly")]
pub async fn passes(id: &str) {
    let check = coditect_suites::catalog::check(id);
    let (docker, images) = setup().await;
    let image = reference(&images, coditect_suites::runner::image_for(check));
    coditect_suites::verdict::assert_passes(check, coditect_suites::runner::run_check(check, &docker, &image).await);
}

/// Runs each of `ids` on `image` (a broken variant) and fails the test if any of them passes.
#[allow(dead_code, reason = "the example suite calls its checks directly")]
pub async fn fail_on(docker: &Docker, image: &str, ids: &[&str]) {
    for id in ids {
        let check = coditect_suites::catalog::check(id);
        coditect_suites::verdict::assert_fails(check, coditect_suites::runner::run_check(check, docker, image).await);
    }
}

/// One `#[tokio::test]` per check, each running it on the real image: `on_the_real_image! { name => "ID"; }`.
#[macro_export]
macro_rules! on_the_real_image {
    ($($name:ident => $id:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            common::passes($id).await;
        }
    )*};
}
