//! Runs the example suite (`suites/src/example.rs`) against the real images, and each check against a
//! deliberately broken variant that must make it fail.

mod common;

use coditect_harness::images::{Image, variant};
use coditect_suites::catalog::check;
use coditect_suites::example::{ex_01, ex_02, ex_03};
use coditect_suites::verdict::{assert_fails, assert_passes};
use common::setup;

fn reference(images: &coditect_harness::images::ImageSet, image: Image) -> String {
    images
        .get(image)
        .map(|r| r.reference.clone())
        .unwrap_or_else(|| panic!("{image} is not built"))
}

#[tokio::test(flavor = "multi_thread")]
async fn ex_01_the_developer_reads_the_framework_through_the_home_link() {
    let (docker, images) = setup().await;
    assert_passes(check("EX-01"), ex_01(&docker, &reference(&images, Image::Base)).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn ex_01_fails_when_the_home_link_is_missing() {
    let (docker, images) = setup().await;
    let broken = variant(
        &docker,
        &reference(&images, Image::Base),
        "no-home-link",
        "USER root\nRUN rm /home/developer/.coditect\nUSER developer",
    )
    .await
    .expect("variant");
    assert_fails(check("EX-01"), ex_01(&docker, &broken).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn ex_02_a_valid_license_runs_the_command_as_the_developer() {
    let (docker, images) = setup().await;
    assert_passes(check("EX-02"), ex_02(&docker, &reference(&images, Image::Docker)).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn ex_02_fails_when_the_image_runs_as_root() {
    let (docker, images) = setup().await;
    let broken = variant(&docker, &reference(&images, Image::Docker), "runs-as-root", "USER root")
        .await
        .expect("variant");
    assert_fails(check("EX-02"), ex_02(&docker, &broken).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn ex_03_an_expired_license_exits_77_showing_the_date() {
    let (docker, images) = setup().await;
    assert_passes(check("EX-03"), ex_03(&docker, &reference(&images, Image::Docker)).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn ex_03_fails_when_the_entrypoint_ignores_the_license() {
    let (docker, images) = setup().await;
    let broken = variant(
        &docker,
        &reference(&images, Image::Docker),
        "no-license-check",
        "ENTRYPOINT []\nCMD [\"sleep\", \"1\"]",
    )
    .await
    .expect("variant");
    assert_fails(check("EX-03"), ex_03(&docker, &broken).await);
}
