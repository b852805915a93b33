//! The workstation flow: the identity token from a mock GCP metadata server goes to the license API
//! as a Bearer token, with the instance name and the user's e-mail; metadata failures and a refused
//! token stop the start with their documented codes.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::*;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn jwt(lifetime: Duration) -> String {
    let exp = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() + lifetime.as_secs();
    let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!(
        "{}.{}.c2ln",
        enc.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        enc.encode(format!(r#"{{"exp":{exp},"aud":"x"}}"#))
    )
}

async fn metadata(token: &str, audience: &str) -> MockServer {
    let server = MockServer::start().await;
    let flavor = || header("Metadata-Flavor", "Google");
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/instance/service-accounts/default/identity"))
        .and(query_param("audience", audience))
        .and(query_param("format", "full"))
        .and(flavor())
        .respond_with(ResponseTemplate::new(200).set_body_string(token))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/instance/name"))
        .and(flavor())
        .respond_with(ResponseTemplate::new(200).set_body_string("ws-alice-01"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/computeMetadata/v1/instance/service-accounts/default/email"))
        .and(flavor())
        .respond_with(ResponseTemplate::new(200).set_body_string("sa@acme-dev.iam.gserviceaccount.com"))
        .mount(&server)
        .await;
    server
}

fn workstation(rig: &Rig, api: &Api, metadata_host: &str, command: &[&str]) -> std::process::Command {
    let mut cmd = rig.run(&api.uri(), command);
    cmd.env_remove("CODITECT_LICENSE_KEY")
        .env("CODITECT_CONTAINER_TYPE", "workstation")
        .env("GCE_METADATA_HOST", metadata_host);
    cmd
}

fn host_of(server: &MockServer) -> String {
    server.uri().trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn the_identity_token_reaches_the_api_as_a_bearer_token() {
    let api = Api::accepting(Some(1)).await;
    let token = jwt(Duration::from_secs(3600));
    let md = metadata(&token, &api.uri()).await;
    let rig = Rig::new();
    let mut cmd = workstation(&rig, &api, &host_of(&md), &["sleep", "1.5"]);
    cmd.env("CODITECT_USER_EMAIL", "alice@acme.example");
    let (out, _) = finish(cmd).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let validate = &api.journal.on("/validate")[0];
    assert_eq!(
        validate.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    assert!(validate.body.get("license_key").is_none());
    assert_eq!(validate.body["container_type"], "workstation");
    assert_eq!(validate.body["workstation_id"], "ws-alice-01");
    assert_eq!(validate.body["user_email"], "alice@acme.example");
    let beat = &api.journal.on("/heartbeat")[0];
    assert_eq!(beat.header("authorization"), Some(format!("Bearer {token}").as_str()));
}

#[tokio::test]
async fn without_a_configured_email_the_service_account_is_used() {
    let api = Api::accepting(None).await;
    let md = metadata(&jwt(Duration::from_secs(3600)), &api.uri()).await;
    let rig = Rig::new();
    let (out, _) = finish(workstation(&rig, &api, &host_of(&md), &["true"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert_eq!(
        api.journal.on("/validate")[0].body["user_email"],
        "sa@acme-dev.iam.gserviceaccount.com"
    );
}

#[tokio::test]
async fn a_short_lived_token_is_refreshed_before_it_expires() {
    let api = Api::accepting(Some(1)).await;
    let md = metadata(&jwt(Duration::from_secs(4)), &api.uri()).await;
    let rig = Rig::new();
    let (out, _) = finish(workstation(&rig, &api, &host_of(&md), &["sleep", "4.5"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let fetched = md
        .received_requests()
        .await
        .expect("recording")
        .iter()
        .filter(|r| r.url.path().ends_with("/identity"))
        .count();
    assert!(fetched >= 2, "the 4 s token was fetched {fetched} time(s) over 4.5 s");
}

#[tokio::test]
async fn an_unreachable_metadata_server_exits_69() {
    let api = Api::accepting(None).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let rig = Rig::new();
    let (out, _) = finish(workstation(&rig, &api, &format!("127.0.0.1:{port}"), &["true"])).await;
    assert_eq!(code(&out), 69, "{}", text(&out));
    assert!(text(&out).contains("metadata server"), "{}", text(&out));
    assert!(api.journal.all().is_empty());
}

#[tokio::test]
async fn a_metadata_server_without_a_service_account_exits_69_clearly() {
    let api = Api::accepting(None).await;
    let md = MockServer::start().await; // answers 404 to everything
    let rig = Rig::new();
    let (out, _) = finish(workstation(&rig, &api, &host_of(&md), &["true"])).await;
    assert_eq!(code(&out), 69, "{}", text(&out));
    assert!(text(&out).contains("HTTP 404"), "{}", text(&out));
}

#[tokio::test]
async fn a_refused_token_exits_77() {
    let api = Api::start().await;
    api.on("validate", vec![refused(401, "TOKEN_INVALID", json!({}))]).await;
    let md = metadata(&jwt(Duration::from_secs(3600)), &api.uri()).await;
    let rig = Rig::new();
    let (out, _) = finish(workstation(&rig, &api, &host_of(&md), &["true"])).await;
    assert_eq!(code(&out), 77, "{}", text(&out));
    assert!(text(&out).contains("identity token was not accepted"), "{}", text(&out));
}

#[tokio::test]
async fn a_token_that_is_not_a_jwt_exits_76() {
    let api = Api::accepting(None).await;
    let md = metadata("opaque-token", &api.uri()).await;
    let rig = Rig::new();
    let (out, _) = finish(workstation(&rig, &api, &host_of(&md), &["true"])).await;
    assert_eq!(code(&out), 76, "{}", text(&out));
    assert!(text(&out).contains("not a JWT"), "{}", text(&out));
}
