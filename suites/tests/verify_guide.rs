//! `docs/verify-images.md`, the customers' guide, run command by command: the licensed image is pushed
//! and signed in a local registry, the guide's key URL is served by a mock, and every `sh` block runs in
//! bash with the production registry and key addresses swapped for the local ones. cosign's lines run
//! where cosign is installed; elsewhere they are checked for the flags a P-384 key needs.

mod common;

use std::process::Command;

use coditect_harness::images::Image;
use coditect_suites::signature_verification;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const GUIDE: &str = include_str!("../../docs/verify-images.md");
const PRODUCTION_REGISTRY: &str = "us-central1-docker.pkg.dev/coditect-citus-prod/coditect-licensed";
const KEY_SITE: &str = "https://coditect.ai";

/// The guide's `sh` blocks, in order.
fn blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(_), "```") => blocks.extend(current.take()),
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn the_guide_has_the_commands_it_promises() {
    let blocks = blocks(GUIDE);
    assert_eq!(blocks.len(), 4, "{blocks:#?}");
    let cosign = blocks
        .iter()
        .find(|b| b.starts_with("cosign verify"))
        .expect("a cosign block");
    for flag in [
        "--key cosign.pub",
        "--signature-digest-algorithm sha384",
        "--insecure-ignore-tlog",
        "-a version=",
    ] {
        assert!(cosign.contains(flag), "the cosign command lacks {flag}: {cosign}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_of_the_guide_runs_against_a_local_registry() {
    let (docker, images) = common::setup().await;
    let bench = signature_verification::bench(&docker, &common::reference(&images, Image::Docker))
        .await
        .unwrap_or_else(|f| panic!("the signature bench: {f:?}"));
    bench
        .copy_to("coditect-licensed/coditect-docker")
        .await
        .unwrap_or_else(|f| panic!("the image copied where the guide expects it: {f:?}"));
    let site = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/cosign.pub"))
        .respond_with(ResponseTemplate::new(200).set_body_string(bench.public_key().to_pem()))
        .mount(&site)
        .await;
    let local_registry = format!("{}/coditect-licensed", bench.host());
    let tool = assert_cmd::cargo::cargo_bin!("coditect-conformance");
    let bin_dir = tool.parent().expect("the binary's directory");
    let search_path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let work = tempfile::tempdir().expect("temp dir");
    let has_cosign = on_path("cosign");
    let mut ran = 0;
    for block in blocks(GUIDE) {
        if block.starts_with("cosign ") && !has_cosign {
            // Documented as such: cosign is not installed here; its flags are checked above.
            eprintln!("cosign is not installed: not running\n{block}");
            continue;
        }
        let script = block
            .replace(PRODUCTION_REGISTRY, &local_registry)
            .replace(KEY_SITE, &site.uri());
        let out = Command::new("bash")
            .args(["-euo", "pipefail", "-c", &script])
            .current_dir(work.path())
            .env("PATH", &search_path)
            .output()
            .expect("bash runs");
        assert!(
            out.status.success(),
            "the guide's command failed (exit {:?}):\n{script}\nstdout: {}\nstderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        if script.contains("docker pull") {
            assert!(
                stdout.contains(&format!("@{}", bench.digest)),
                "pinned by digest: {stdout}"
            );
        }
        ran += 1;
    }
    assert_eq!(ran, if has_cosign { 4 } else { 3 });
}
