//! The deployment files that cannot run here — Cloud Build configs, the WorkstationConfig template and
//! the local-dev compose file — parsed and checked for what ADR-193 and the images issue require.

use std::collections::BTreeMap;

use coditect_harness::images::{Image, repo_root};
use rstest::rstest;
use serde_norway::Value;

const REGISTRY: &str = "us-central1-docker.pkg.dev/coditect-citus-prod/coditect-licensed";
const KMS_KEY: &str = "gcpkms://projects/coditect-citus-prod/locations/us-central1/keyRings/coditect-container-signing/cryptoKeys/dct-signing-key";

fn load(path: &str) -> Value {
    let full = repo_root().join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("read {}: {e}", full.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid YAML: {e}"))
}

fn text_of(step: &Value) -> String {
    let args = step["args"]
        .as_sequence()
        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "));
    format!(
        "{} {}",
        step["entrypoint"].as_str().unwrap_or(""),
        args.unwrap_or_default()
    )
}

#[rstest]
#[case::base(Image::Base, "base")]
#[case::docker(Image::Docker, "docker")]
#[case::workstation(Image::Workstation, "workstation")]
fn cloudbuild_builds_pushes_and_signs_the_digest_with_the_kms_key(#[case] image: Image, #[case] short: &str) {
    let config = load(&format!("images/{}/cloudbuild.yaml", image.dir()));
    let subs = &config["substitutions"];
    assert_eq!(subs["_REGISTRY"].as_str(), Some(REGISTRY));
    assert_eq!(
        subs["_KMS_KEY"].as_str(),
        Some(KMS_KEY),
        "signing must use the HSM key of the OpenTofu module"
    );
    assert_eq!(subs["_VERSION"].as_str(), Some(coditect_harness::VERSION));
    let steps = config["steps"].as_sequence().expect("steps");
    let ids: Vec<&str> = steps.iter().filter_map(|s| s["id"].as_str()).collect();
    let order: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| ["context", "build", "push", "sign"].contains(id))
        .collect();
    assert_eq!(
        order,
        vec!["context", "build", "push", "sign"],
        "{}: steps {ids:?}",
        image
    );
    let by_id: BTreeMap<&str, &Value> = steps.iter().filter_map(|s| Some((s["id"].as_str()?, s))).collect();
    assert!(text_of(by_id["context"]).contains(&format!("context {short} --out /workspace/{short}.tar")));
    let build = text_of(by_id["build"]);
    assert!(
        build.contains(&format!("-t ${{_REGISTRY}}/{}:${{_VERSION}}", image.repository())),
        "{build}"
    );
    assert!(
        build.contains("org.opencontainers.image.revision=$COMMIT_SHA"),
        "{build}"
    );
    if image != Image::Base {
        assert!(
            build.contains("BASE_IMAGE=${_REGISTRY}/coditect-base@"),
            "{image} must build on the base by digest: {build}"
        );
    }
    let push = text_of(by_id["push"]);
    assert!(
        push.contains("RepoDigests") && push.contains(&format!("/workspace/{short}.pushed")),
        "{push}"
    );
    let sign = text_of(by_id["sign"]);
    assert!(
        sign.contains("cosign sign") && sign.contains("--key ${_KMS_KEY}"),
        "{sign}"
    );
    assert!(
        sign.contains("-a version=${_VERSION}"),
        "the signature must carry the version annotation: {sign}"
    );
    assert!(
        sign.contains(&format!("/workspace/{short}.pushed")),
        "sign the pushed digest, never a tag: {sign}"
    );
    for step in steps {
        let name = step["name"].as_str().expect("step image");
        let tag = name
            .rsplit_once(':')
            .map(|(_, t)| t)
            .filter(|t| !t.contains('/'))
            .unwrap_or("");
        let version = tag.strip_prefix('v').unwrap_or(tag);
        let pinned = name.contains("@sha256:") || version.chars().next().is_some_and(|c| c.is_ascii_digit());
        assert!(
            pinned,
            "{image}: step image {name} is not pinned to a version or digest"
        );
    }
}

#[test]
fn the_workstation_template_renders_a_config_naming_the_image_and_its_env() {
    let path = repo_root().join("images/licensed-workstation/config.yaml.template");
    let template = std::fs::read_to_string(&path).expect("template");
    let values = [
        ("${PROJECT}", "acme-dev"),
        ("${REGION}", "us-central1"),
        ("${CLUSTER}", "dev-cluster"),
        ("${CONFIG}", "coditect"),
        (
            "${IMAGE}",
            "us-central1-docker.pkg.dev/coditect-citus-prod/coditect-licensed/coditect-workstation@sha256:abc",
        ),
        ("${API_URL}", "https://api.coditect.ai"),
        ("${SERVICE_ACCOUNT}", "ws@acme-dev.iam.gserviceaccount.com"),
    ];
    let rendered = values.iter().fold(template, |t, (k, v)| t.replace(k, v));
    assert!(!rendered.contains("${"), "unrendered placeholders remain:\n{rendered}");
    let config: Value = serde_norway::from_str(&rendered).expect("rendered YAML");
    assert!(
        config["container"]["image"]
            .as_str()
            .is_some_and(|i| i.contains("coditect-workstation@sha256:"))
    );
    assert_eq!(
        config["container"]["runAsUser"].as_u64(),
        Some(0),
        "the entrypoint starts as root to rewire /home"
    );
    let env = &config["container"]["env"];
    assert_eq!(env["CODITECT_CONTAINER_TYPE"].as_str(), Some("workstation"));
    assert_eq!(env["CODITECT_API_URL"].as_str(), Some("https://api.coditect.ai"));
    assert_eq!(env["CODITECT_RUN_AS"].as_str(), Some("developer"));
    let dirs = config["persistentDirectories"]
        .as_sequence()
        .expect("persistent directories");
    assert!(
        dirs.iter().any(|d| d["mountPath"].as_str() == Some("/home")),
        "/home must be the persistent disk"
    );
}

#[test]
fn the_local_dev_stack_is_internal_and_runs_without_privileges() {
    let compose = load("images/local-dev/docker-compose.yml");
    let services = compose["services"].as_mapping().expect("services");
    for (name, service) in services {
        let name = name.as_str().unwrap_or_default();
        let image = service["image"].as_str().unwrap_or_default();
        assert!(
            image.starts_with("coditect-"),
            "{name} uses {image}, not one of this project's images"
        );
        if name != "license-mock" {
            assert_eq!(service["cap_drop"][0].as_str(), Some("ALL"), "{name}: cap_drop");
            assert!(
                service["security_opt"][0]
                    .as_str()
                    .is_some_and(|s| s.starts_with("no-new-privileges")),
                "{name}"
            );
        }
    }
    assert!(
        compose["services"]["dev"]["image"]
            .as_str()
            .is_some_and(|i| i.starts_with("coditect-local-dev:"))
    );
    let licensed = &compose["services"]["licensed"]["environment"];
    assert!(
        licensed["CODITECT_API_URL"]
            .as_str()
            .is_some_and(|u| u.contains("license-mock")),
        "the licensed service must talk to the mock"
    );
    let readme = std::fs::read_to_string(repo_root().join("images/local-dev/README.md")).expect("README");
    assert!(readme.contains("INTERNAL ONLY") && readme.contains("Do not distribute"));
}
