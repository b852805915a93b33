//! The harness's own behaviour: each mock behaviour as a real container sees it, the journal's arrival
//! times, the one-exec tree listing against a known tree, and containers removed after a panic.

mod common;

use std::time::Duration;

use coditect_harness::exec::Kind;
use coditect_harness::images::Image;
use coditect_harness::launch::{LABEL, clean_leftovers};
use coditect_harness::mock::{Metadata, Mock, license::EXPIRED_ON};
use coditect_harness::{Launch, shared};
use common::*;
use rstest::rstest;

const WAIT: Duration = Duration::from_secs(60);

#[rstest]
#[case::valid(Mock::valid(), 0, "license accepted")]
#[case::invalid(Mock::invalid(), 77, "LICENSE_INVALID")]
#[case::expired(Mock::expired(), 77, EXPIRED_ON)]
#[case::suspended(Mock::suspended(), 77, "LICENSE_SUSPENDED")]
#[case::seat_limit(Mock::seat_limit(5), 77, "all 5 seats")]
#[case::server_errors_then_valid(Mock::server_errors_then_valid(2), 0, "license accepted")]
#[case::too_many_requests(Mock::too_many_requests(1), 0, "license accepted")]
#[case::slow(Mock::slow(Duration::from_millis(1500)), 0, "license accepted")]
#[case::malformed_json(Mock::malformed_json(), 76, "not the expected JSON")]
#[tokio::test(flavor = "multi_thread")]
async fn each_license_behaviour_reaches_the_entrypoint_in_a_container(
    #[case] mock: Mock,
    #[case] code: i64,
    #[case] says: &str,
) {
    let (docker, images) = setup().await;
    let running = Launch::docker(&images)
        .with_license(mock)
        .with_cmd(["true"])
        .start(&docker)
        .await
        .expect("start");
    let exit = running.wait_exit(WAIT).await.expect("exit");
    assert_eq!(exit.code, code, "{}", exit.output());
    assert!(exit.output().contains(says), "expected {says:?} in:\n{}", exit.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_after_n_beats_and_failing_beats_end_the_session() {
    let (docker, images) = setup().await;
    let revoked = Launch::docker(&images)
        .with_license(Mock::revoked_after(2))
        .with_heartbeat(1)
        .start(&docker)
        .await
        .expect("start");
    let exit = revoked.wait_exit(WAIT).await.expect("exit");
    assert_eq!(exit.code, 77, "{}", exit.output());
    assert_eq!(revoked.license().expect("mock").journal().on("/heartbeat").len(), 3);
    let failing = Launch::docker(&images)
        .with_license(Mock::heartbeats_failing())
        .with_heartbeat(1)
        .with_env("CODITECT_OFFLINE_GRACE", "0")
        .start(&docker)
        .await
        .expect("start");
    let exit = failing.wait_exit(WAIT).await.expect("exit");
    assert_eq!(exit.code, 77, "{}", exit.output());
    assert!(exit.output().contains("offline grace"), "{}", exit.output());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_journal_records_arrival_times_that_match_the_heartbeat() {
    let (docker, images) = setup().await;
    let running = Launch::docker(&images)
        .with_license(Mock::valid())
        .with_heartbeat(1)
        .with_cmd(["sleep", "4.5"])
        .start(&docker)
        .await
        .expect("start");
    running.wait_exit(WAIT).await.expect("exit");
    let journal = running.license().expect("mock").journal();
    let gaps = journal.gaps("/heartbeat");
    assert_eq!(gaps.len(), 3, "{gaps:?}");
    for gap in gaps {
        assert!(
            gap.abs_diff(Duration::from_secs(1)) < Duration::from_millis(150),
            "beats {gap:?} apart"
        );
    }
    let all = journal.all();
    assert!(all.windows(2).all(|w| w[0].at <= w[1].at), "journal out of order");
    assert_eq!(all.first().map(|s| s.path.as_str()), Some("/api/v1/sessions/validate"));
    assert_eq!(all.last().map(|s| s.path.as_str()), Some("/api/v1/sessions/end"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metadata_mock_serves_tokens_and_failures() {
    let (docker, images) = setup().await;
    let ok = Launch::workstation(&images)
        .with_license(Mock::valid())
        .with_metadata(Metadata::workstation("ws-1", "sa@acme.iam.gserviceaccount.com"))
        .with_cmd(["true"])
        .start(&docker)
        .await
        .expect("start");
    assert_eq!(ok.wait_exit(WAIT).await.expect("exit").code, 0);
    let seen = ok.metadata().expect("metadata").journal().all();
    assert!(seen.iter().all(|s| s.header("metadata-flavor") == Some("Google")));
    assert!(
        seen.iter()
            .any(|s| s.query.as_deref().is_some_and(|q| q.contains("format=full")))
    );
    let failing = Launch::workstation(&images)
        .with_license(Mock::valid())
        .with_metadata(Metadata::workstation("ws-1", "x@y.z").failing(404))
        .with_cmd(["true"])
        .start(&docker)
        .await
        .expect("start");
    let exit = failing.wait_exit(WAIT).await.expect("exit");
    assert_eq!(exit.code, 69, "{}", exit.output());
    assert!(
        failing.license().expect("mock").journal().all().is_empty(),
        "the license API was called without a token"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tree_listing_matches_a_known_tree() {
    let (docker, images) = setup().await;
    let handle = shared::container(&docker, &reference(&images, Image::Base))
        .await
        .expect("shared");
    let script = "rm -rf /tmp/known && mkdir -p /tmp/known/d && echo x > '/tmp/known/d/a file' && chmod 4750 '/tmp/known/d/a file' \
                  && ln -s /etc/hostname /tmp/known/link && chown -h 1000:1000 /tmp/known/link && chmod 0700 /tmp/known/d";
    assert!(handle.sh("0", script).await.expect("exec").success());
    let tree = handle.tree("/tmp/known").await.expect("tree");
    let summary: Vec<(String, Kind, u32, u32, u32, Option<String>)> = tree
        .into_iter()
        .map(|e| (e.path, e.kind, e.uid, e.gid, e.mode, e.target))
        .collect();
    let mut summary = summary;
    summary.sort();
    assert_eq!(
        summary,
        vec![
            ("/tmp/known".into(), Kind::Dir, 0, 0, 0o755, None),
            ("/tmp/known/d".into(), Kind::Dir, 0, 0, 0o700, None),
            ("/tmp/known/d/a file".into(), Kind::File, 0, 0, 0o4750, None),
            (
                "/tmp/known/link".into(),
                Kind::Link,
                1000,
                1000,
                0o777,
                Some("/etc/hostname".into())
            ),
        ]
    );
    let id = handle.exec_as("developer", &["id", "-u"]).await.expect("exec");
    let root = handle.exec_root(&["id", "-u"]).await.expect("exec");
    assert_eq!((id.stdout.trim(), root.stdout.trim()), ("1000", "0"));
}

#[tokio::test(flavor = "multi_thread")]
async fn containers_are_removed_after_a_panicking_test() {
    let (docker, images) = setup().await;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task_images = images.clone();
    let task = tokio::spawn(async move {
        let docker = coditect_harness::docker::connect().await.expect("docker");
        let running = Launch::base(&task_images)
            .with_cmd(["sleep", "300"])
            .start(&docker)
            .await
            .expect("start");
        let _ = tx.send(running.id().to_owned());
        panic!("a test failing while its container runs");
    });
    let id = rx.await.expect("container id");
    assert!(task.await.is_err(), "the task was meant to panic");
    let gone = async {
        for _ in 0..100 {
            if docker
                .inspect_container(&id, None::<bollard::query_parameters::InspectContainerOptions>)
                .await
                .is_err()
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    };
    assert!(gone.await, "container {id} survived the panic");
    // Leftovers of this process are never touched by the cleanup; only dead owners' are.
    let before = list_labelled(&docker).await;
    assert_eq!(clean_leftovers(&docker, false).await.expect("clean"), 0);
    assert_eq!(list_labelled(&docker).await, before);
}

async fn list_labelled(docker: &bollard::Docker) -> usize {
    let filters = std::collections::HashMap::from([("label".to_owned(), vec![LABEL.to_owned()])]);
    let options = bollard::query_parameters::ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    docker.list_containers(Some(options)).await.expect("list").len()
}
