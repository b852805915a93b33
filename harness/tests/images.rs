//! The images as built: what ADR-193 and the images issue say each must hold, checked by running
//! commands in containers of the real images. The suites go deeper; this proves the build.

mod common;

use bollard::Docker;
use coditect_harness::exec::Kind;
use coditect_harness::images::{Image, ImageSet, Origin};
use coditect_harness::mock::{Metadata, Mock};
use coditect_harness::{ContainerHandle, Launch, shared};
use common::*;

async fn base() -> (Docker, ImageSet, ContainerHandle) {
    let (docker, images) = setup().await;
    let handle = shared::container(&docker, &reference(&images, Image::Base))
        .await
        .expect("shared base container");
    (docker, images, handle)
}

async fn dev(handle: &ContainerHandle, script: &str) -> (i64, String) {
    let out = handle.sh("developer", script).await.expect("exec");
    (out.code, format!("{}{}", out.stdout, out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_build_with_nothing_changed_does_no_build_work() {
    let (docker, _) = setup().await;
    let again = coditect_harness::images::ensure_all(&docker, &coditect_harness::images::BuildOptions::from_env())
        .await
        .expect("second ensure");
    for image in &again.images {
        if let Origin::Built { skipped, elapsed } = image.origin {
            assert!(skipped, "{} was rebuilt although nothing changed", image.reference);
            eprintln!("{}: up to date in {elapsed:.2?}", image.reference);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_toolchain_is_the_pinned_one_for_the_developer() {
    let (_, _, base) = base().await;
    for (script, want) in [
        ("python3 --version", "Python 3.11."),
        ("node --version", "v20.18.0"),
        ("npm --version", "10."),
        ("git --version", "git version 2."),
        ("claude --version", "2.1.332 (Claude Code)"),
    ] {
        let (code, out) = dev(&base, script).await;
        assert!(
            code == 0 && out.contains(want),
            "`{script}` as developer: expected {want:?}, got exit {code}: {out}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_developer_is_uid_1000_without_sudo_or_privileged_groups() {
    let (_, _, base) = base().await;
    let (_, id) = dev(&base, "id").await;
    assert_eq!(
        id.trim(),
        "uid=1000(developer) gid=1000(developer) groups=1000(developer)"
    );
    let (code, _) = dev(&base, "command -v sudo").await;
    assert_ne!(code, 0, "sudo is installed");
    let locked = base.exec_root(&["passwd", "--status", "root"]).await.expect("exec");
    assert!(
        locked.stdout.split_whitespace().nth(1) == Some("L"),
        "root's password is not locked: {}",
        locked.stdout
    );
    let setuid = base
        .sh("0", "find / -xdev -type f -perm /6000 2>/dev/null")
        .await
        .expect("exec");
    assert!(
        setuid.stdout.trim().is_empty(),
        "setuid/setgid binaries remain:\n{}",
        setuid.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_framework_is_root_owned_and_read_only() {
    let (_, _, base) = base().await;
    let tree = base.tree("/opt/coditect").await.expect("tree");
    assert!(tree.len() > 10, "the framework tree is nearly empty: {tree:?}");
    for entry in &tree {
        let want = match entry.kind {
            Kind::Dir => 0o555,
            Kind::File => 0o444,
            other => panic!("{} is a {other:?}; expected only files and directories", entry.path),
        };
        assert!(
            entry.uid == 0 && entry.gid == 0 && entry.mode == want,
            "{}: expected root:root {want:o}, found {}:{} {:o}",
            entry.path,
            entry.uid,
            entry.gid,
            entry.mode
        );
    }
    let (code, out) = dev(&base, "python3 -B ~/.coditect/scripts/python/coditect_info.py").await;
    assert!(code == 0 && out.contains("intact"), "the manifest check failed: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_home_wires_the_framework_for_claude_code() {
    let (_, _, base) = base().await;
    let link = base.stat("/home/developer/.coditect").await.expect("stat");
    assert_eq!((link.kind, link.target.as_deref()), (Kind::Link, Some("/opt/coditect")));
    for name in ["CLAUDE.md", "agents", "commands", "skills"] {
        let entry = base
            .stat(&format!("/home/developer/.claude/{name}"))
            .await
            .expect("stat");
        assert_eq!(
            entry.target.as_deref(),
            Some(format!("../.coditect/{name}").as_str()),
            "~/.claude/{name}"
        );
    }
    let settings = base.stat("/home/developer/.claude/settings.json").await.expect("stat");
    assert_eq!(
        (settings.uid, settings.kind),
        (1000, Kind::File),
        "settings.json must be the developer's"
    );
    let (code, out) = dev(
        &base,
        "cat ~/.claude/CLAUDE.md && test -w ~/.claude && test -w /workspace && pwd",
    )
    .await;
    assert!(
        code == 0 && out.contains("CODITECT framework") && out.trim_end().ends_with("/workspace"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn framework_scripts_run_without_writing_into_the_tree() {
    let (_, _, base) = base().await;
    let (code, out) = dev(
        &base,
        "node ~/.coditect/scripts/node/coditect-info.js && python3 ~/.coditect/scripts/python/coditect_info.py",
    )
    .await;
    assert!(code == 0 && out.contains("node 20.18.0"), "{out}");
    let (_, written) = dev(&base, "find /opt/coditect -name '__pycache__' -o -name '*.pyc'").await;
    assert!(written.trim().is_empty(), "scripts wrote into the tree: {written}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_entrypoint_is_roots_and_the_image_metadata_is_complete() {
    let (docker, images, base) = base().await;
    let bin = base.stat("/usr/local/bin/coditect-entrypoint").await.expect("stat");
    assert_eq!((bin.uid, bin.gid, bin.mode), (0, 0, 0o755));
    let (code, _) = dev(&base, "test -w /usr/local/bin/coditect-entrypoint").await;
    assert_ne!(code, 0, "the developer can write the entrypoint");
    for image in [Image::Base, Image::Docker, Image::Workstation] {
        let inspect = docker.inspect_image(&reference(&images, image)).await.expect("inspect");
        let config = inspect.config.expect("config");
        let labels = config.labels.unwrap_or_default();
        for label in [
            "org.opencontainers.image.version",
            "org.opencontainers.image.revision",
            "org.opencontainers.image.source",
            "org.opencontainers.image.created",
        ] {
            assert!(
                labels.get(label).is_some_and(|v| !v.is_empty() && v != "unknown"),
                "{image}: label {label} is missing"
            );
        }
        assert_eq!(
            labels.get("org.opencontainers.image.version").map(String::as_str),
            Some(coditect_harness::VERSION)
        );
        let health = config.healthcheck.and_then(|h| h.test).unwrap_or_default();
        assert_eq!(
            health,
            vec!["CMD", "coditect-entrypoint", "healthcheck"],
            "{image}: HEALTHCHECK"
        );
        assert_eq!(config.working_dir.as_deref(), Some("/workspace"));
        let user = config.user.unwrap_or_default();
        let want_user = if image == Image::Workstation {
            "root"
        } else {
            "developer"
        };
        assert_eq!(user, want_user, "{image}: USER");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_licensed_images_run_the_entrypoint_and_local_dev_is_marked_internal() {
    let (docker, images) = setup().await;
    for (image, kind) in [(Image::Docker, "docker"), (Image::Workstation, "workstation")] {
        let config = docker
            .inspect_image(&reference(&images, image))
            .await
            .expect("inspect")
            .config
            .expect("config");
        assert_eq!(
            config.entrypoint.unwrap_or_default(),
            vec!["coditect-entrypoint", "run", "--"],
            "{image}"
        );
        assert!(
            config
                .env
                .unwrap_or_default()
                .contains(&format!("CODITECT_CONTAINER_TYPE={kind}")),
            "{image}"
        );
        assert_eq!(
            config
                .labels
                .unwrap_or_default()
                .get("ai.coditect.licensed")
                .map(String::as_str),
            Some("true")
        );
    }
    let local = docker
        .inspect_image(&reference(&images, Image::LocalDev))
        .await
        .expect("inspect")
        .config
        .expect("config");
    let labels = local.labels.unwrap_or_default();
    assert_eq!(labels.get("ai.coditect.licensed").map(String::as_str), Some("false"));
    assert_eq!(labels.get("ai.coditect.internal").map(String::as_str), Some("true"));
    assert!(
        labels
            .get("org.opencontainers.image.title")
            .is_some_and(|t| t.contains("INTERNAL"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_docker_image_starts_under_license_and_runs_its_command_as_the_developer() {
    let (docker, images) = setup().await;
    let running = Launch::docker(&images)
        .with_license(Mock::valid())
        .with_cmd(["id", "-un"])
        .start(&docker)
        .await
        .expect("start");
    let exit = running
        .wait_exit(std::time::Duration::from_secs(60))
        .await
        .expect("exit");
    assert_eq!(exit.code, 0, "{}", exit.output());
    assert_eq!(exit.stdout.trim(), "developer");
    let journal = running.license().expect("mock").journal();
    assert_eq!(journal.on("/validate").len(), 1);
    assert_eq!(journal.on("/end")[0].body["reason"], "child_exit");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_workstation_image_rewires_an_empty_home_before_the_developers_command() {
    let (docker, images) = setup().await;
    let script =
        "id -un; readlink ~/.coditect; readlink ~/.claude/agents; test -f ~/.claude/settings.json && echo settings";
    let running = Launch::workstation(&images)
        .with_license(Mock::valid())
        .with_metadata(Metadata::workstation("ws-alice", "alice@acme.example"))
        .with_empty_home()
        .with_cmd(["sh", "-c", script])
        .start(&docker)
        .await
        .expect("start");
    let exit = running
        .wait_exit(std::time::Duration::from_secs(60))
        .await
        .expect("exit");
    assert_eq!(exit.code, 0, "{}", exit.output());
    assert_eq!(
        exit.stdout.lines().collect::<Vec<_>>(),
        vec!["developer", "/opt/coditect", "../.coditect/agents", "settings"]
    );
    let validate = &running.license().expect("mock").journal().on("/validate")[0];
    assert!(
        validate
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "))
    );
    assert_eq!(validate.body["workstation_id"], "ws-alice");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_layer_adds_a_url_and_apt_leaves_no_lists_behind() {
    let (docker, images, base) = base().await;
    for image in [Image::Base, Image::Docker, Image::Workstation, Image::LocalDev] {
        let history = docker.image_history(&reference(&images, image)).await.expect("history");
        for layer in history {
            let created_by = layer.created_by;
            // The history shows a URL fetched by ADD as a content hash, like a file: no ADD at all.
            assert!(
                !created_by.contains("#(nop) ADD "),
                "{image}: a layer comes from ADD: {created_by}"
            );
            assert!(
                !created_by.contains("BEGIN CERTIFICATE"),
                "{image}: a layer carries a certificate: {created_by}"
            );
        }
    }
    let (_, lists) = dev(
        &base,
        "ls /var/lib/apt/lists /var/cache/apt/archives 2>/dev/null | grep -v -e '^/' -e '^$' -e partial -e lock",
    )
    .await;
    assert!(lists.trim().is_empty(), "apt left files behind: {lists}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extra_ca_serves_the_fetch_stage_and_reaches_no_shipped_layer() {
    use coditect_harness::images::{BuildOptions, build_one};
    use futures_util::StreamExt as _;
    let (docker, _) = setup().await;
    let marker = format!("coditect-extra-ca-marker-{}", std::process::id());
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("extra-ca.pem");
    // The machine's bundle holds the gateway's CA: the fetch stage downloads the pinned wheels through it.
    let bundle = std::fs::read_to_string("/etc/ssl/certs/ca-certificates.crt").expect("the host's CA bundle");
    std::fs::write(&ca, format!("# {marker}\n{bundle}")).expect("write");
    let options = BuildOptions {
        extra_ca: Some(ca),
        fetch_in_build: true,
        tag_suffix: Some("extra-ca-probe".into()),
        overrides: Default::default(),
    };
    let variant = build_one(&docker, Image::Base, None, &options)
        .await
        .expect("the variant builds with downloads in the fetch stage");
    let mut saved = docker.export_image(&variant.reference);
    let (mut found, mut tail, mut bytes) = (false, Vec::new(), 0usize);
    while let Some(chunk) = saved.next().await {
        let chunk = chunk.expect("export");
        bytes += chunk.len();
        let mut window = std::mem::take(&mut tail);
        window.extend_from_slice(&chunk);
        found |= window.windows(marker.len()).any(|w| w == marker.as_bytes());
        tail = window[window.len().saturating_sub(marker.len())..].to_vec();
    }
    let _ = docker
        .remove_image(
            &variant.reference,
            None::<bollard::query_parameters::RemoveImageOptions>,
            None,
        )
        .await;
    assert!(
        bytes > 100_000_000,
        "the export is too small to be the image: {bytes} bytes"
    );
    assert!(!found, "the extra CA bundle is in a layer of the shipped image");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_override_image_is_one_error_naming_it_and_its_variable() {
    use coditect_harness::HarnessError;
    use coditect_harness::images::{BuildOptions, ensure_all};
    let (docker, _) = setup().await;
    let mut options = BuildOptions::from_env();
    options.overrides.insert(
        Image::Docker,
        ("CODITECT_IMAGE_DOCKER", "coditect-docker:does-not-exist".into()),
    );
    let error = ensure_all(&docker, &options)
        .await
        .expect_err("the image does not exist");
    let text = error.to_string();
    assert!(matches!(error, HarnessError::ImageMissing { .. }), "{text}");
    assert!(
        text.contains("coditect-docker:does-not-exist") && text.contains("CODITECT_IMAGE_DOCKER"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_override_is_used_as_named_without_building() {
    use coditect_harness::images::{BuildOptions, ensure_all};
    let (docker, images) = setup().await;
    let mut options = BuildOptions::from_env();
    let docker_ref = reference(&images, Image::Docker);
    for image in Image::ALL.into_iter().filter(|i| i.override_var().is_some()) {
        options
            .overrides
            .insert(image, (image.override_var().expect("var"), reference(&images, image)));
    }
    let set = ensure_all(&docker, &options).await.expect("overrides exist");
    let got = set.get(Image::Docker).expect("docker image");
    assert_eq!(got.reference, docker_ref);
    assert_eq!(
        got.origin,
        Origin::Override {
            var: "CODITECT_IMAGE_DOCKER"
        }
    );
}
