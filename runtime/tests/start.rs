//! Start-up of `coditect-entrypoint run` against a wiremock license API: configuration, every answer
//! of the validate call, retries and their limit, bad answers, key masking, and a command that cannot start.

mod common;

use std::time::Duration;

use assert_cmd::Command as AssertCommand;
use common::*;
use predicates::prelude::*;
use rstest::rstest;
use serde_json::json;
use wiremock::ResponseTemplate;

#[test]
fn missing_key_fails_with_78_before_any_request() {
    let rig = Rig::new();
    // Port 9 on loopback: nothing listens there, and nothing must be sent anyway.
    let mut cmd = AssertCommand::from_std(rig.run("http://127.0.0.1:9", &["true"]));
    cmd.env_remove("CODITECT_LICENSE_KEY");
    cmd.assert()
        .code(78)
        .stderr(predicate::str::contains("CODITECT_LICENSE_KEY is not set"));
}

#[rstest]
#[case::word("CODITECT_HEARTBEAT_INTERVAL", "abc")]
#[case::zero("CODITECT_HEARTBEAT_INTERVAL", "0")]
#[case::negative("CODITECT_HEARTBEAT_INTERVAL", "-5")]
#[case::container_type("CODITECT_CONTAINER_TYPE", "kubernetes")]
#[case::url("CODITECT_API_URL", "not a url")]
#[case::insecure_remote("CODITECT_API_URL", "http://licensing.example.com")]
#[case::grace("CODITECT_OFFLINE_GRACE", "-1")]
fn bad_values_fail_with_78_naming_the_variable(#[case] var: &str, #[case] value: &str) {
    let rig = Rig::new();
    let mut cmd = AssertCommand::from_std(rig.run("http://127.0.0.1:9", &["true"]));
    cmd.env(var, value);
    cmd.assert()
        .code(78)
        .stderr(predicate::str::contains(var).and(predicate::str::contains("expected")))
        .stderr(predicate::str::contains(KEY).not());
}

#[tokio::test]
async fn malformed_key_fails_with_78_sends_nothing_and_hides_the_value() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["true"]);
    cmd.env("CODITECT_LICENSE_KEY", "CDT SECRET-KEY-WITH-SPACE");
    let (out, _) = finish(cmd).await;
    assert_eq!(code(&out), 78, "{}", text(&out));
    assert!(!text(&out).contains("SECRET-KEY"), "{}", text(&out));
    assert!(
        api.journal.all().is_empty(),
        "requests were sent: {:?}",
        api.journal.all()
    );
}

#[tokio::test]
async fn valid_key_runs_the_command_and_returns_its_code() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["sh", "-c", "echo command ran; exit 3"])).await;
    assert_eq!(code(&out), 3, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("command ran"));
    let validate = &api.journal.on("/validate")[0];
    assert_eq!(validate.body["license_key"], KEY);
    assert_eq!(validate.body["container_type"], "docker");
    assert_eq!(validate.body["framework_version"], "2.3.1");
    assert_eq!(validate.body["image_version"], env!("CARGO_PKG_VERSION"));
    assert!(validate.body["container_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(validate.body["user"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(
        validate
            .header("user-agent")
            .is_some_and(|ua| ua.starts_with("coditect-entrypoint/"))
    );
    assert!(
        validate
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/json"))
    );
    let end = &api.journal.on("/end")[0];
    assert_eq!(
        end.body,
        json!({"session_id": "ses_4f2a9c81", "reason": "child_exit", "exit_code": 3})
    );
}

#[rstest]
#[case::invalid(403, "LICENSE_INVALID", json!({}), "key …8ZN1 is unknown or malformed")]
#[case::expired(403, "LICENSE_EXPIRED", json!({"expires_at": "2026-01-31T00:00:00Z"}), "expired on 2026-01-31T00:00:00Z")]
#[case::suspended(403, "LICENSE_SUSPENDED", json!({}), "license is suspended")]
#[case::seats(403, "SEAT_LIMIT_REACHED", json!({"seats": 5}), "all 5 seats")]
#[tokio::test]
async fn refusals_exit_77_with_their_own_message_and_are_not_retried(
    #[case] status: u16,
    #[case] refusal: &str,
    #[case] extra: serde_json::Value,
    #[case] message: &str,
) {
    let api = Api::start().await;
    api.on("validate", vec![refused(status, refusal, extra)]).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["sh", "-c", "echo must-not-run"])).await;
    assert_eq!(code(&out), 77, "{}", text(&out));
    assert!(text(&out).contains(message), "expected {message:?} in: {}", text(&out));
    assert!(!text(&out).contains("must-not-run"));
    assert!(!text(&out).contains(KEY));
    assert_eq!(
        api.journal.all().len(),
        1,
        "a refusal was retried or followed by heartbeats"
    );
}

#[tokio::test]
async fn bad_request_exits_76_without_retry() {
    let api = Api::start().await;
    api.on(
        "validate",
        vec![json_answer(
            400,
            json!({"code": "BAD_REQUEST", "message": "missing user"}),
        )],
    )
    .await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["true"])).await;
    assert_eq!(code(&out), 76, "{}", text(&out));
    assert!(text(&out).contains("BAD_REQUEST"));
    assert_eq!(api.journal.all().len(), 1);
}

#[tokio::test]
async fn unreachable_api_is_retried_then_exits_69_within_the_deadline() {
    // A listener that is bound and closed at once: its port refuses connections.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let rig = Rig::new();
    let (out, took) = finish(rig.run(&format!("http://127.0.0.1:{port}"), &["true"])).await;
    assert_eq!(code(&out), 69, "{}", text(&out));
    assert!(text(&out).contains("license API unreachable"), "{}", text(&out));
    assert!(
        text(&out).matches("retrying").count() >= 2,
        "expected retries: {}",
        text(&out)
    );
    assert!(took < Duration::from_secs(5), "took {took:?} with a 3 s deadline");
}

#[tokio::test]
async fn server_errors_then_ok_recover() {
    let api = Api::start().await;
    api.on(
        "validate",
        vec![ResponseTemplate::new(503), ResponseTemplate::new(500), accepted(None)],
    )
    .await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["true"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(api.journal.on("/validate").len(), 3);
}

#[tokio::test]
async fn too_many_requests_honours_retry_after() {
    let api = Api::start().await;
    api.on(
        "validate",
        vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            accepted(None),
        ],
    )
    .await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["true"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let seen = api.journal.on("/validate");
    let gap = seen[1].at - seen[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "retried after {gap:?}, Retry-After said 1 s"
    );
}

#[rstest]
#[case::not_json(ResponseTemplate::new(200).set_body_raw("{valid: yes", "application/json"), "not the expected JSON")]
#[case::wrong_type(ResponseTemplate::new(200).set_body_raw("<html>ok</html>", "text/html"), "expected application/json")]
#[case::missing_field(json_answer(200, json!({"valid": true, "customer": "Acme"})), "session_id")]
#[case::a_string_not_an_object(json_answer(200, json!("ok")), "expected struct")]
#[case::valid_as_a_string(
    json_answer(200, json!({"valid": "true", "session_id": "ses_1", "expires_at": "2027-06-30T00:00:00Z", "customer": "Acme"})),
    "expected a boolean"
)]
#[case::empty_session_id(
    json_answer(200, json!({"valid": true, "session_id": "", "expires_at": "2027-06-30T00:00:00Z", "customer": "Acme"})),
    "\"session_id\" is empty"
)]
#[case::invalid_utf8(ResponseTemplate::new(200).set_body_raw(vec![0xff, 0xfe, 0x7b], "application/json"), "UTF-8")]
#[case::oversized(ResponseTemplate::new(200).set_body_raw("x".repeat(200_000), "application/json"), "larger than")]
#[case::redirect(ResponseTemplate::new(307).insert_header("Location", "https://elsewhere.example/validate"), "redirect to https://elsewhere.example")]
#[case::teapot(ResponseTemplate::new(418), "unexpected HTTP 418")]
#[tokio::test]
async fn answers_outside_the_contract_exit_76_clearly(#[case] answer: ResponseTemplate, #[case] message: &str) {
    let api = Api::start().await;
    api.on("validate", vec![answer]).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["true"])).await;
    assert_eq!(code(&out), 76, "{}", text(&out));
    assert!(text(&out).contains(message), "expected {message:?} in: {}", text(&out));
    assert_eq!(api.journal.all().len(), 1);
}

#[tokio::test]
async fn an_api_that_never_answers_is_unreachable_within_the_deadline() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(None).set_delay(Duration::from_secs(30))])
        .await;
    let rig = Rig::new();
    let (out, took) = finish(rig.run(&api.uri(), &["true"])).await;
    assert_eq!(code(&out), 69, "{}", text(&out));
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn the_key_never_reaches_output_or_the_command_environment() {
    let api = Api::start().await;
    api.on(
        "validate",
        vec![refused(
            403,
            "LICENSE_INVALID",
            json!({"message": format!("key {KEY} unknown")}),
        )],
    )
    .await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["env"])).await;
    assert_eq!(code(&out), 77);
    assert!(!text(&out).contains(KEY), "the key leaked: {}", text(&out));

    let api = Api::accepting(None).await;
    let (out, _) = finish(rig.run(&api.uri(), &["env"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(!text(&out).contains(KEY), "the key leaked: {}", text(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("CODITECT_LICENSE_KEY"));
}

#[tokio::test]
async fn a_missing_command_exits_127_and_ends_the_session() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["/nonexistent/tool"])).await;
    assert_eq!(code(&out), 127, "{}", text(&out));
    assert!(text(&out).contains("/nonexistent/tool"));
    assert_eq!(api.journal.on("/end")[0].body["exit_code"], 127);
}

#[tokio::test]
async fn a_modified_framework_exits_65_before_any_request() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    std::fs::write(rig.framework().join("agents/reviewer.md"), "# tampered\n").expect("write");
    let (out, _) = finish(rig.run(&api.uri(), &["true"])).await;
    assert_eq!(code(&out), 65, "{}", text(&out));
    assert!(text(&out).contains("agents/reviewer.md was modified"), "{}", text(&out));
    assert!(api.journal.all().is_empty());
}

/// A derived image that changes a file and rewrites the manifest to match passes the digests, not the
/// signature: the start stops with 65 before any request. (The debug binary takes its manifest key from
/// `CODITECT_MANIFEST_KEY_FILE`; a release build only trusts the key compiled into it.)
#[tokio::test]
async fn a_rewritten_manifest_fails_its_signature_and_exits_65_before_any_request() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let key = p384::ecdsa::SigningKey::from_slice(&[5; 48]).expect("a valid scalar");
    let public = rig.dir.path().join("manifest.pub");
    let pem =
        p384::pkcs8::EncodePublicKey::to_public_key_pem(key.verifying_key(), p384::pkcs8::LineEnding::LF).expect("pem");
    std::fs::write(&public, pem).expect("write");
    let manifest = std::fs::read(rig.framework().join("MANIFEST.sha256")).expect("manifest");
    let signature = coditect_runtime::integrity::sign_manifest(&manifest, &key);
    std::fs::write(rig.framework().join("MANIFEST.sha256.sig"), signature).expect("write");

    let mut signed = rig.run(&api.uri(), &["true"]);
    signed.env("CODITECT_MANIFEST_KEY_FILE", &public);
    let (out, _) = finish(signed).await;
    assert_eq!(code(&out), 0, "a signed, intact framework starts: {}", text(&out));

    std::fs::write(rig.framework().join("agents/reviewer.md"), "# tampered\n").expect("write");
    coditect_runtime::integrity::write_manifest(&rig.framework()).expect("manifest");
    let before = api.journal.all().len();
    let mut rewritten = rig.run(&api.uri(), &["true"]);
    rewritten.env("CODITECT_MANIFEST_KEY_FILE", &public);
    let (out, _) = finish(rewritten).await;
    assert_eq!(code(&out), 65, "{}", text(&out));
    assert!(
        text(&out).contains("signature of") && text(&out).contains("MANIFEST.sha256"),
        "{}",
        text(&out)
    );
    assert_eq!(api.journal.all().len(), before, "nothing sent");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["true"]);
    cmd.env("CODITECT_LOG_FORMAT", "json");
    let (out, _) = finish(cmd).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    let accepted = events
        .iter()
        .find(|e| e["message"] == "license accepted")
        .expect("a license accepted event");
    assert_eq!(accepted["customer"], "Acme");
    assert_eq!(accepted["session"], "…9c81");
    assert!(
        events
            .iter()
            .all(|e| e["level"].is_string() && e["timestamp"].is_string())
    );
}
