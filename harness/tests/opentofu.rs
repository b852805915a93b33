//! `infra/opentofu/modules/artifact-registry`, parsed with `hcl-rs`: the registry, the HSM P-384 signing
//! key with its 90-day rotation, and signing rights for the build's service account alone. The same
//! rules run on weakened copies (software protection, another algorithm, no rotation, another signer),
//! which must each be caught. It cannot be applied here.

use std::path::Path;

use hcl::{Block, Body, Expression};

const MODULE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../infra/opentofu/modules/artifact-registry"
);

fn module_text() -> String {
    let mut files: Vec<_> = std::fs::read_dir(MODULE)
        .expect("the module exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tf"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("readable"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn blocks<'a>(body: &'a Body, kind: &'a str, of_type: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
    body.blocks()
        .filter(move |b| b.identifier() == kind && b.labels().first().is_some_and(|l| l.as_str() == of_type))
}

fn text(block: &Block, key: &str) -> Option<String> {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| match a.expr() {
            Expression::String(s) => s.clone(),
            other => other.to_string(),
        })
}

/// Every way the module falls short of the supply-chain requirements; empty when it meets them.
fn violations(source: &str) -> Vec<String> {
    let body = match hcl::parse(source) {
        Ok(body) => body,
        Err(e) => return vec![format!("the module does not parse: {e}")],
    };
    let mut out = Vec::new();
    let mut want = |ok: bool, what: &str| {
        if !ok {
            out.push(what.to_owned());
        }
    };
    let repo = blocks(&body, "resource", "google_artifact_registry_repository").next();
    want(
        repo.is_some_and(|r| text(r, "repository_id").as_deref() == Some("coditect-licensed")),
        "an Artifact Registry repository coditect-licensed",
    );
    want(
        repo.is_some_and(|r| text(r, "format").as_deref() == Some("DOCKER")),
        "the repository holds Docker images",
    );
    want(
        blocks(&body, "resource", "google_kms_key_ring")
            .any(|b| text(b, "name").as_deref() == Some("coditect-container-signing")),
        "a key ring coditect-container-signing",
    );
    let key = blocks(&body, "resource", "google_kms_crypto_key")
        .find(|b| text(b, "name").as_deref() == Some("dct-signing-key"));
    want(key.is_some(), "a crypto key dct-signing-key");
    if let Some(key) = key {
        want(
            text(key, "purpose").as_deref() == Some("ASYMMETRIC_SIGN"),
            "purpose ASYMMETRIC_SIGN",
        );
        want(
            text(key, "rotation_period").as_deref() == Some("7776000s"),
            "rotation every 90 days (7776000s)",
        );
        let template = key.body().blocks().find(|b| b.identifier() == "version_template");
        want(
            template.is_some_and(|t| text(t, "algorithm").as_deref() == Some("EC_SIGN_P384_SHA384")),
            "algorithm EC_SIGN_P384_SHA384",
        );
        want(
            template.is_some_and(|t| text(t, "protection_level").as_deref() == Some("HSM")),
            "protection level HSM",
        );
    }
    let signer_roles = [
        "roles/cloudkms.signer",
        "roles/cloudkms.signerVerifier",
        "roles/owner",
        "roles/cloudkms.admin",
    ];
    let only_build = "[\"serviceAccount:${var.build_service_account}\"]";
    let grants: Vec<&Block> = body
        .blocks()
        .filter(|b| {
            b.identifier() == "resource"
                && b.labels()
                    .first()
                    .is_some_and(|l| l.as_str().starts_with("google_kms_crypto_key_iam"))
        })
        .collect();
    want(
        grants
            .iter()
            .any(|g| text(g, "role").as_deref() == Some("roles/cloudkms.signer")),
        "a signer binding on the key",
    );
    for grant in &grants {
        let role = text(grant, "role").unwrap_or_default();
        let kind = grant.labels().first().map(|l| l.as_str()).unwrap_or_default();
        if signer_roles.contains(&role.as_str()) || kind.ends_with("_policy") {
            let members = text(grant, "members").unwrap_or_else(|| text(grant, "member").unwrap_or_default());
            want(
                members.split_whitespace().collect::<String>() == only_build,
                &format!("{role} granted to the build's service account only (found {members})"),
            );
        }
    }
    want(
        blocks(&body, "output", "public_key_pem").any(|o| text(o, "value").is_some_and(|v| v.contains(".pem"))),
        "an output with the public key",
    );
    for variable in ["project", "region", "build_service_account"] {
        want(
            blocks(&body, "variable", variable).next().is_some(),
            &format!("a variable {variable}"),
        );
    }
    out
}

#[test]
fn the_module_declares_the_registry_and_an_hsm_p384_key_only_the_build_may_use() {
    assert_eq!(violations(&module_text()), Vec::<String>::new());
}

#[test]
fn weakening_the_key_or_widening_its_signers_is_caught() {
    let good = module_text();
    let cases = [
        (
            "protection_level = \"HSM\"",
            "protection_level = \"SOFTWARE\"",
            "protection level HSM",
        ),
        (
            "\"EC_SIGN_P384_SHA384\"",
            "\"EC_SIGN_P256_SHA256\"",
            "algorithm EC_SIGN_P384_SHA384",
        ),
        (
            "rotation_period = \"7776000s\" # 90 days",
            "",
            "rotation every 90 days (7776000s)",
        ),
        (
            "purpose         = \"ASYMMETRIC_SIGN\"",
            "purpose = \"ENCRYPT_DECRYPT\"",
            "purpose ASYMMETRIC_SIGN",
        ),
        (
            "members       = [\"serviceAccount:${var.build_service_account}\"]\n}\n\n# Verifiers",
            "members       = [\"serviceAccount:${var.build_service_account}\", \"group:devs@coditect.ai\"]\n}\n\n# Verifiers",
            "roles/cloudkms.signer granted to the build's service account only",
        ),
    ];
    for (from, to, caught) in cases {
        assert!(good.contains(from), "the module no longer contains {from:?}");
        let weakened = good.replacen(from, to, 1);
        let found = violations(&weakened);
        assert!(
            found.iter().any(|v| v.starts_with(caught)),
            "{from:?} -> {to:?} was not caught: {found:?}"
        );
    }
}

/// `tofu fmt -check` where OpenTofu is installed; elsewhere, the formatting rule it would enforce most
/// often (two-space indentation, aligned `=`) is left to review, and the test says so.
#[test]
fn the_module_is_formatted_as_tofu_fmt_writes_it() {
    let tofu = std::process::Command::new("tofu")
        .args(["fmt", "-check", "-recursive"])
        .arg(Path::new(MODULE))
        .output();
    match tofu {
        Ok(out) => assert!(
            out.status.success(),
            "tofu fmt -check wants changes in: {}",
            String::from_utf8_lossy(&out.stdout)
        ),
        Err(_) => {
            eprintln!("OpenTofu is not installed: `tofu fmt -check` not run; checking indentation only");
            for line in module_text().lines() {
                let indent = line.len() - line.trim_start().len();
                assert!(indent % 2 == 0 && !line.starts_with('\t'), "odd indentation: {line:?}");
            }
        }
    }
}
