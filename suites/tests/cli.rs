//! `coditect-conformance` end to end: `list` is the catalog, `run` on the built images writes one JUnit
//! file per suite that the strict Ant schema accepts, with a testcase per check, and a summary; and the
//! signing commands (`keygen`, `sign`, `verify`) refuse bad input with exit 2 and one clear line.

use std::process::Command;

const XSD: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/junit/JUnit.xsd");

#[test]
fn list_prints_every_check_of_the_catalog() {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("coditect-conformance"))
        .arg("list")
        .output()
        .expect("runs");
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(listed, coditect_suites::catalog::all().len());
}

/// ADR-193's five suites end to end through the CLI, as a release engineer gates a release: 93 testcases
/// with the per-suite counts 25/28/13/17/10, all passing, in reports the strict JUnit schema accepts.
#[test]
fn run_writes_schema_valid_junit_for_adr_193s_93_checks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let suites = [
        ("protection_model", 25),
        ("claude_code", 28),
        ("license_validation", 13),
        ("heartbeat", 17),
        ("signature_verification", 10),
    ];
    let mut command = Command::new(assert_cmd::cargo::cargo_bin!("coditect-conformance"));
    command.arg("run");
    for (suite, _) in suites {
        command.args(["--suite", suite]);
    }
    let out = command.arg("--reports").arg(dir.path()).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("93 passed, 0 failed"), "{stdout}");
    for (suite, count) in suites {
        let path = dir.path().join(format!("{suite}.xml"));
        let xml = std::fs::read_to_string(&path).expect("report written");
        assert_eq!(xml.matches("<testcase ").count(), count, "{suite}: {xml}");
        assert!(xml.contains(&format!("tests=\"{count}\"")) && xml.contains("failures=\"0\""));
        let lint = Command::new("xmllint")
            .args(["--noout", "--schema", XSD])
            .arg(&path)
            .output();
        let lint =
            lint.unwrap_or_else(|e| panic!("xmllint is needed to validate the reports (Debian: libxml2-utils): {e}"));
        assert!(
            lint.status.success(),
            "{suite}.xml does not validate: {}",
            String::from_utf8_lossy(&lint.stderr)
        );
    }
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).expect("summary");
    assert!(
        summary.contains("93 of 93 checks passed")
            && summary.contains("coditect-base:")
            && summary.contains("signed and verified (SV-01)"),
        "{summary}"
    );
    let html = std::fs::read_to_string(dir.path().join("summary.html")).expect("html summary");
    assert!(
        html.contains("93 of 93 checks passed") && html.contains("SV-10"),
        "{html}"
    );
}

#[test]
fn run_exits_2_naming_a_missing_image_and_its_variable() {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("coditect-conformance"))
        .args(["run", "--check", "PM-01"])
        .env("CODITECT_IMAGE_BASE", "coditect-base:no-such-tag")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("coditect-base:no-such-tag") && stderr.contains("CODITECT_IMAGE_BASE"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn run_exits_1_with_the_failure_in_the_output_and_the_report() {
    let (docker, images) = coditect_harness::fixture::setup().await;
    let base = coditect_harness::fixture::reference(&images, coditect_harness::images::Image::Base);
    let lines = "USER root\nRUN chmod 0644 /opt/coditect/CLAUDE.md\nUSER developer";
    let broken = coditect_harness::images::variant(&docker, &base, "pm-file-0644", lines)
        .await
        .expect("variant");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || {
            Command::new(assert_cmd::cargo::cargo_bin!("coditect-conformance"))
                .args(["run", "--check", "PM-02", "--reports"])
                .arg(dir)
                .env("CODITECT_IMAGE_BASE", broken)
                .output()
                .expect("runs")
        }
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("PM-02")
            && stdout.contains("/opt/coditect/CLAUDE.md 644")
            && stdout.contains("0 passed, 1 failed"),
        "{stdout}"
    );
    let path = dir.path().join("protection_model.xml");
    let xml = std::fs::read_to_string(&path).expect("report");
    assert!(xml.contains("failures=\"1\"") && xml.contains("<failure "), "{xml}");
    let lint = Command::new("xmllint")
        .args(["--noout", "--schema", XSD])
        .arg(&path)
        .output()
        .expect("xmllint (libxml2-utils)");
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stderr));
}

#[test]
fn verify_refuses_a_bad_reference_key_or_annotation_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("dev.key");
    let out = Command::new(assert_cmd::cargo::cargo_bin!("coditect-conformance"))
        .args(["keygen", "--out"])
        .arg(&key)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let public = dir.path().join("dev.key.pub");
    let cases: [(&[&str], &str); 3] = [
        (&["verify", "127.0.0.1:1/Bad/UPPER:x", "--key"], "REGISTRY/REPOSITORY"),
        (
            &["verify", "127.0.0.1:1/coditect/docker:1.0.0", "--key", "/etc/hostname"],
            "SPKI PEM",
        ),
        (
            &["verify", "127.0.0.1:1/coditect/docker:1.0.0", "-a", "version", "--key"],
            "KEY=VALUE",
        ),
    ];
    for (args, says) in cases {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin!("coditect-conformance"));
        command.args(args);
        if args.last() == Some(&"--key") {
            command.arg(&public);
        }
        let out = command.output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    }
}
