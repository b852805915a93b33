//! The signature suite (`suites/src/signature_verification.rs`): every check with the project's verifier
//! on the licensed image in a real local registry, and deliberately flawed verifiers — the classic
//! mistakes, among them sigstore 0.15's "each constraint on *some* layer" — that must make the right
//! checks fail.

mod common;

use std::collections::BTreeMap;

use coditect_harness::images::Image;
use coditect_signing::layout::signature_tag;
use coditect_signing::payload::Payload;
use coditect_signing::registry::{digest_in, repository_of, tag_in};
use coditect_signing::{Fault, PrivateKey, PublicKey, Reference, Registry, Verified, VerifyError};
use coditect_suites::catalog::check;
use coditect_suites::signature_verification::{self, Bench, Verifier};
use coditect_suites::verdict::{assert_fails, assert_passes};
use rstest::rstest;

async fn bench() -> &'static Bench {
    let (docker, images) = common::setup().await;
    let image = common::reference(&images, Image::Docker);
    signature_verification::bench(&docker, &image)
        .await
        .unwrap_or_else(|f| panic!("the signature bench: {f:?}"))
}

async fn passes(id: &str) {
    let verdict = signature_verification::run_with(id, bench().await, &signature_verification::Cosign)
        .await
        .expect("a signature check");
    assert_passes(check(id), verdict);
}

macro_rules! with_the_real_verifier {
    ($($name:ident => $id:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            passes($id).await;
        }
    )*};
}

with_the_real_verifier! {
    sv_01_the_signed_image_verifies => "SV-01";
    sv_02_an_unsigned_image_is_rejected => "SV-02";
    sv_03_another_keys_signature_is_rejected => "SV-03";
    sv_04_a_moved_tag_is_rejected => "SV-04";
    sv_05_a_corrupted_signature_is_rejected => "SV-05";
    sv_06_a_corrupted_payload_is_rejected => "SV-06";
    sv_07_a_payload_for_another_image_is_rejected => "SV-07";
    sv_08_a_rollback_is_rejected => "SV-08";
    sv_09_several_signatures_are_handled => "SV-09";
    sv_10_tag_and_digest_agree => "SV-10";
}

/// A verifier with one classic mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// Holds another public key than the release key.
    OtherKey,
    /// Treats "no signatures" as nothing to reject.
    AcceptsUnsigned,
    /// Never checks the signature itself.
    NoKeyCheck,
    /// Never compares the payload's digest with the image's.
    NoDigestCheck,
    /// Never compares annotations.
    NoAnnotationCheck,
    /// Accepts when each constraint holds on *some* layer (sigstore 0.15's `verify_constraints`).
    AnyLayer,
    /// Looks at the first signature only.
    FirstLayerOnly,
    /// Returns the reference as given (a tag) instead of pinning the digest.
    Unpinned,
    /// Rejects everything, for no particular reason.
    RejectsAll,
}

struct Flawed(Flaw);

/// What one layer satisfies.
struct Layer {
    signed: bool,
    this_image: bool,
    annotated: bool,
    payload: Option<Payload>,
}

impl Verifier for Flawed {
    async fn verify(
        &self,
        registry: &Registry,
        key: &PublicKey,
        image: &Reference,
        wanted: &BTreeMap<String, String>,
    ) -> Result<Verified, VerifyError> {
        let flaw = self.0;
        let digest = registry.resolve(image).await?;
        let verified = |layer: usize, payload: Payload, signatures: usize| Verified {
            pinned: if flaw == Flaw::Unpinned {
                image.whole()
            } else {
                digest_in(image, &digest).whole()
            },
            digest: digest.clone(),
            layer,
            payload,
            signatures,
        };
        let rejected = || VerifyError::Rejected {
            image: image.whole(),
            digest: digest.clone(),
            count: 0,
            rejected: Vec::new(),
        };
        if flaw == Flaw::RejectsAll {
            return Err(rejected());
        }
        let Some(manifest) = registry.signatures(image, &digest).await? else {
            if flaw == Flaw::AcceptsUnsigned {
                return Ok(verified(0, Payload::new(&repository_of(image), &digest, wanted), 0));
            }
            return Err(VerifyError::Unsigned {
                image: image.whole(),
                digest: digest.clone(),
                tag: signature_tag(&digest),
                repository: tag_in(image, "x").whole(),
            });
        };
        let key = if flaw == Flaw::OtherKey {
            PrivateKey::generate().public_key()
        } else {
            key.clone()
        };
        let take = if flaw == Flaw::FirstLayerOnly {
            1
        } else {
            manifest.layers.len()
        };
        let mut layers = Vec::new();
        for descriptor in manifest.layers.iter().take(take) {
            let blob = registry.blob(image, descriptor).await.unwrap_or_default();
            let der = descriptor
                .annotation(coditect_signing::layout::SIGNATURE_ANNOTATION)
                .and_then(|s| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s).ok())
                .unwrap_or_default();
            let payload: Option<Payload> = serde_json::from_slice(&blob).ok();
            layers.push(Layer {
                signed: flaw == Flaw::NoKeyCheck || key.verify(&blob, &der).is_ok(),
                this_image: flaw == Flaw::NoDigestCheck
                    || payload
                        .as_ref()
                        .is_some_and(|p| p.critical.image.docker_manifest_digest == digest),
                annotated: flaw == Flaw::NoAnnotationCheck
                    || payload.as_ref().is_some_and(|p| {
                        wanted
                            .iter()
                            .all(|(k, v)| p.annotation(k).as_deref() == Some(v.as_str()))
                    }),
                payload,
            });
        }
        let count = manifest.layers.len();
        if flaw == Flaw::AnyLayer {
            let ok = layers.iter().any(|l| l.signed)
                && layers.iter().any(|l| l.this_image)
                && layers.iter().any(|l| l.annotated);
            let payload = layers.iter().find(|l| l.annotated).and_then(|l| l.payload.clone());
            return match (ok, payload) {
                (true, Some(p)) => Ok(verified(0, p, count)),
                _ => Err(rejected()),
            };
        }
        layers
            .into_iter()
            .enumerate()
            .find(|(_, l)| l.signed && l.this_image && l.annotated)
            .and_then(|(i, l)| Some(verified(i, l.payload?, count)))
            .ok_or_else(rejected)
    }
}

/// Each flaw makes the checks that guard against it fail.
#[rstest]
#[case::other_key(Flaw::OtherKey, &["SV-01", "SV-09", "SV-10"])]
#[case::accepts_unsigned(Flaw::AcceptsUnsigned, &["SV-02"])]
#[case::no_key_check(Flaw::NoKeyCheck, &["SV-03", "SV-05", "SV-06"])]
#[case::no_digest_check(Flaw::NoDigestCheck, &["SV-04", "SV-07"])]
#[case::no_annotation_check(Flaw::NoAnnotationCheck, &["SV-08"])]
#[case::any_layer(Flaw::AnyLayer, &["SV-08"])]
#[case::first_layer_only(Flaw::FirstLayerOnly, &["SV-09"])]
#[case::unpinned(Flaw::Unpinned, &["SV-10"])]
#[case::rejects_all(Flaw::RejectsAll, &["SV-01", "SV-02", "SV-03", "SV-04", "SV-05", "SV-06", "SV-07", "SV-08", "SV-09", "SV-10"])]
#[tokio::test(flavor = "multi_thread")]
async fn a_flawed_verifier_fails_the_checks_that_guard_against_it(#[case] flaw: Flaw, #[case] ids: &[&str]) {
    let bench = bench().await;
    for id in ids {
        let verdict = signature_verification::run_with(id, bench, &Flawed(flaw))
            .await
            .expect("a signature check");
        assert_fails(check(id), verdict);
    }
}

/// The rejection names what did not match, the way an auditor reads it.
#[tokio::test(flavor = "multi_thread")]
async fn a_rejection_names_the_layer_and_what_did_not_match() {
    let bench = bench().await;
    let image = coditect_signing::registry::parse(&bench.image).expect("reference");
    let registry = Registry::for_reference(&image);
    let wanted = BTreeMap::from([("version".to_owned(), "9.9.9".to_owned())]);
    let err = coditect_signing::verify(&registry, &bench.public_key(), &image, &wanted)
        .await
        .expect_err("the version does not match");
    assert!(
        matches!(&err, VerifyError::Rejected { rejected, .. } if matches!(&rejected[..], [(0, Fault::Annotation { key, .. })] if key == "version")),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&bench.digest) && text.contains("layer 0: annotation version is") && text.contains("9.9.9"),
        "{text}"
    );
}
