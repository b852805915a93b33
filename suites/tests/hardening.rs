//! The hardening suite (`suites/src/hardening.rs`): every check on the real licensed docker image, and
//! broken variants (a setuid shell, a key baked into a layer, a key or token in the config, an image
//! that needs privileges, root, no healthcheck, apt lists left, an ADD from a URL, a compiler) and an
//! entrypoint that neither checks the manifest nor hides itself, and a workstation that keeps root,
//! each failing its own checks.

mod common;

use coditect_harness::TEST_KEY;
use coditect_harness::images::{Image, variant, variant_with_files};
use common::{fake_entrypoint, setup};
use rstest::rstest;

on_the_real_image! {
    hd_01_a_rewritten_manifest_stops_a_derived_image => "HD-01";
    hd_02_a_changed_volume_stops_the_start => "HD-02";
    hd_03_the_key_is_in_no_layer_history_env_or_label => "HD-03";
    hd_04_the_developer_cannot_read_the_entrypoints_environment => "HD-04";
    hd_05_the_developer_cannot_trace_the_entrypoint => "HD-05";
    hd_06_no_setuid_or_setgid_file => "HD-06";
    hd_07_runs_without_capabilities_or_new_privileges => "HD-07";
    hd_08_the_user_is_not_root => "HD-08";
    hd_09_a_healthcheck_is_declared => "HD-09";
    hd_10_no_package_cache_is_left => "HD-10";
    hd_11_no_layer_comes_from_a_url => "HD-11";
    hd_12_no_secret_in_env_or_labels => "HD-12";
    hd_13_no_unwanted_tools => "HD-13";
    hd_14_the_workstation_runs_with_three_capabilities_and_keeps_none => "HD-14";
}

/// A workstation image that leaves the entrypoint root (`CODITECT_RUN_AS=root`, so nothing is dropped):
/// PID 1 and the command keep the capabilities added back, and run as uid 0.
#[tokio::test(flavor = "multi_thread")]
async fn a_workstation_that_keeps_root_fails_hd_14() {
    let (docker, images) = setup().await;
    let workstation = images
        .get(Image::Workstation)
        .expect("workstation image")
        .reference
        .clone();
    let broken = variant(
        &docker,
        &workstation,
        "hd-workstation-keeps-root",
        "ENV CODITECT_RUN_AS=root",
    )
    .await
    .expect("variant builds");
    common::fail_on(&docker, &broken, &["HD-14"]).await;
}

const AS_ROOT: &str = "USER root";
const BACK: &str = "USER developer";

#[rstest]
#[case::setuid_shell("hd-setuid-shell", "RUN cp /bin/bash /usr/local/bin/rootsh && chmod 4755 /usr/local/bin/rootsh", &["HD-06"])]
#[case::key_in_env("hd-key-in-env", &format!("ENV CODITECT_LICENSE_KEY={TEST_KEY}"), &["HD-03", "HD-12"])]
#[case::no_healthcheck("hd-no-healthcheck", "HEALTHCHECK NONE", &["HD-09"])]
#[case::apt_lists_left("hd-apt-lists", "RUN mkdir -p /var/lib/apt/lists && touch /var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease", &["HD-10"])]
#[case::secret_label("hd-secret-label", "LABEL api.token=abc123", &["HD-12"])]
#[case::compiler("hd-compiler", "RUN ln -s /bin/true /usr/local/bin/gcc", &["HD-13"])]
#[case::needs_privileges(
    "hd-needs-privileges",
    "RUN cp /usr/bin/id /usr/local/bin/rootid && chmod 4755 /usr/local/bin/rootid\nUSER developer\n\
     ENTRYPOINT [\"sh\", \"-c\", \"[ \\\"$(rootid -u)\\\" = 0 ] || { echo needs root; exit 1; }; exec coditect-entrypoint run -- \\\"$@\\\"\", \"sh\"]",
    &["HD-07", "HD-06"]
)]
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_variant_fails_the_right_checks(#[case] name: &str, #[case] change: &str, #[case] failing: &[&str]) {
    let (docker, images) = setup().await;
    let licensed = images.get(Image::Docker).expect("docker image").reference.clone();
    let broken = variant(&docker, &licensed, name, &format!("{AS_ROOT}\n{change}\n{BACK}"))
        .await
        .expect("variant builds");
    common::fail_on(&docker, &broken, failing).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_that_runs_as_root_fails_hd_08() {
    let (docker, images) = setup().await;
    let licensed = images.get(Image::Docker).expect("docker image").reference.clone();
    let broken = variant(&docker, &licensed, "hd-runs-as-root", AS_ROOT)
        .await
        .expect("variant builds");
    common::fail_on(&docker, &broken, &["HD-08"]).await;
}

/// A key copied into one layer and deleted in the next is gone from the container but not from the
/// image: the layer scan finds it.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_baked_into_an_earlier_layer_fails_hd_03() {
    let (docker, images) = setup().await;
    let licensed = images.get(Image::Docker).expect("docker image").reference.clone();
    let file = format!("CODITECT_LICENSE_KEY={TEST_KEY}\n");
    let broken = variant_with_files(
        &docker,
        &licensed,
        "hd-key-in-layer",
        &format!("{AS_ROOT}\nCOPY license.env /etc/coditect-license.env\nRUN rm /etc/coditect-license.env\n{BACK}"),
        &[("license.env", file.as_bytes())],
    )
    .await
    .expect("variant builds");
    common::fail_on(&docker, &broken, &["HD-03"]).await;
}

/// A layer fetched with `ADD http://…` is an ADD step in the history: HD-11 fails. The URL is served
/// here, on loopback, where the engine fetches it.
#[tokio::test(flavor = "multi_thread")]
async fn an_add_from_a_url_fails_hd_11() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("notes\n"))
        .mount(&server)
        .await;
    let (docker, images) = setup().await;
    let licensed = images.get(Image::Docker).expect("docker image").reference.clone();
    let broken = variant(
        &docker,
        &licensed,
        "hd-add-url",
        &format!("ADD {}/notes.txt /tmp/notes.txt", server.uri()),
    )
    .await
    .expect("variant builds");
    common::fail_on(&docker, &broken, &["HD-11"]).await;
}

/// An entrypoint that checks no manifest and leaves itself dumpable (the fake, written as a script
/// would be): a derived image and a swapped volume start, and the developer reads its environment and
/// memory map.
#[tokio::test(flavor = "multi_thread")]
async fn an_entrypoint_without_integrity_or_hiding_fails_hd_01_02_04_05() {
    let (docker, images) = setup().await;
    let broken = fake_entrypoint(&docker, &images, "").await;
    common::fail_on(&docker, &broken, &["HD-01", "HD-02", "HD-04", "HD-05"]).await;
}
