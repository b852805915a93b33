//! A live session against a wiremock license API: heartbeat rhythm and body, the server's shorter
//! interval, revocation, the offline grace, the session end, and the healthcheck.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use wiremock::ResponseTemplate;

#[tokio::test]
async fn heartbeats_come_one_interval_apart_with_a_rising_sequence() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["sleep", "5.5"]);
    cmd.env("CODITECT_HEARTBEAT_INTERVAL", "1");
    let (out, _) = finish(cmd).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let validate = api.journal.on("/validate")[0].at;
    let beats = api.journal.on("/heartbeat");
    assert_eq!(beats.len(), 5, "{beats:?}");
    let first = beats[0].at - validate;
    assert!(
        first >= Duration::from_millis(950) && first <= Duration::from_millis(1200),
        "first beat after {first:?}"
    );
    for (i, beat) in beats.iter().enumerate() {
        assert_eq!(beat.body["session_id"], "ses_4f2a9c81");
        assert_eq!(beat.body["sequence"], i as u64 + 1);
        assert!(beat.body["uptime_seconds"].as_u64().is_some());
        // No drift: beat n lands n intervals after the first, within 100 ms.
        let offset = beat.at - beats[0].at;
        let want = Duration::from_secs(i as u64);
        assert!(
            offset.abs_diff(want) <= Duration::from_millis(100),
            "beat {} at {offset:?}, want {want:?}",
            i + 1
        );
    }
}

#[tokio::test]
async fn the_servers_shorter_interval_wins() {
    let api = Api::accepting(Some(1)).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["sleep", "2.5"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(api.journal.on("/heartbeat").len(), 2, "expected beats at 1 s and 2 s");
}

#[tokio::test]
async fn revocation_mid_session_stops_the_command_and_exits_77() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(Some(1))]).await;
    api.on(
        "heartbeat",
        vec![
            json_answer(200, json!({"ok": true})),
            json_answer(410, json!({"code": "SESSION_REVOKED", "message": "revoked by admin"})),
        ],
    )
    .await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let (out, took) = finish(rig.run(
        &api.uri(),
        &[
            "sh",
            "-c",
            "trap 'echo got TERM; exit 0' TERM; while :; do sleep 0.1; done",
        ],
    ))
    .await;
    assert_eq!(code(&out), 77, "{}", text(&out));
    assert!(text(&out).contains("SESSION_REVOKED"), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("got TERM"),
        "the command was not sent SIGTERM"
    );
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(api.journal.on("/end")[0].body["reason"], "revoked");
    assert_eq!(api.journal.on("/end")[0].body["exit_code"], 77);
}

#[tokio::test]
async fn an_unknown_session_ends_like_a_revoked_one() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(Some(1))]).await;
    api.on("heartbeat", vec![json_answer(404, json!({"code": "SESSION_UNKNOWN"}))])
        .await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["sleep", "30"])).await;
    assert_eq!(code(&out), 77, "{}", text(&out));
    assert!(text(&out).contains("SESSION_UNKNOWN"));
}

#[tokio::test]
async fn failed_beats_within_the_grace_keep_the_session() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(Some(1))]).await;
    api.on(
        "heartbeat",
        vec![
            ResponseTemplate::new(503),
            ResponseTemplate::new(503),
            json_answer(200, json!({"ok": true})),
        ],
    )
    .await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["sleep", "3.5"]);
    cmd.env("CODITECT_OFFLINE_GRACE", "1");
    let (out, _) = finish(cmd).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let beats = api.journal.on("/heartbeat");
    // The first beat is retried within its interval and keeps its number.
    assert!(beats.len() >= 4, "{beats:?}");
    assert_eq!(beats[0].body["sequence"], 1);
    assert_eq!(beats[1].body["sequence"], 1);
}

#[tokio::test]
async fn the_offline_grace_ends_the_session_with_77() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(Some(1))]).await;
    api.on("heartbeat", vec![ResponseTemplate::new(503)]).await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["sleep", "30"]);
    cmd.env("CODITECT_OFFLINE_GRACE", "1");
    let (out, took) = finish(cmd).await;
    assert_eq!(code(&out), 77, "{}", text(&out));
    assert!(text(&out).contains("offline grace"), "{}", text(&out));
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert_eq!(api.journal.on("/end")[0].body["reason"], "offline");
}

#[tokio::test]
async fn the_healthcheck_follows_the_session() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(Some(1))]).await;
    api.on(
        "heartbeat",
        vec![json_answer(200, json!({"ok": true})), ResponseTemplate::new(503)],
    )
    .await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["sleep", "30"]);
    cmd.env("CODITECT_OFFLINE_GRACE", "100");
    let child = cmd.spawn().expect("spawn");
    let health = || {
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("coditect-entrypoint"))
            .arg("healthcheck")
            .env("CODITECT_STATE_DIR", rig.state())
            .output()
            .expect("healthcheck runs")
            .status
            .code()
    };
    assert!(
        eventually(Duration::from_secs(3), || health() == Some(0)).await,
        "never healthy"
    );
    // The second beat (at 2 s) fails for its whole interval: the healthcheck must turn to 1, never 2.
    assert!(
        eventually(Duration::from_secs(5), || health() == Some(1)).await,
        "never unhealthy"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("kill");
    let out = wait(child).await;
    assert_eq!(code(&out), 143, "{}", text(&out));
    assert_eq!(health(), Some(1));
}
