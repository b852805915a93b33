//! Signature verification (ADR-193 `test_signature_verification.sh`, 10 checks): the licensed image,
//! pushed to a real OCI registry on loopback and signed by digest in cosign's format with a P-384
//! release key, verifies; and every attack of ADR-193's threat table is rejected for its own reason —
//! an unsigned image, another key, a moved tag, a corrupted signature or payload, a payload naming
//! another image, a rollback to an older release (also with a junk-signed layer claiming the newer
//! version beside it). Each check asserts the verifier's *reason*, not just a rejection, so a verifier
//! that rejects everything fails as surely as one that accepts everything.
//!
//! Every check works in a repository of its own (`sv-NN/licensed`), copied inside the registry from the
//! one push the suite makes, so checks never see each other's tampering.

use std::collections::BTreeMap;
use std::future::Future;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bollard::Docker;
use coditect_harness::registry::LocalRegistry;
use coditect_signing::layout::{self, Descriptor, Manifest, OCI_MANIFEST, SIGNATURE_ANNOTATION, signature_tag};
use coditect_signing::registry::{digest_in, parse, tag_in};
use coditect_signing::{Fault, PrivateKey, PublicKey, Reference, Registry, Verified, VerifyError};

use crate::catalog::{Check, Suite};
use crate::verdict::{Failure, Verdict, expect, harness};

macro_rules! checks {
    ($($id:literal => $title:literal, $req:literal;)*) => {
        /// The suite's checks.
        pub const CHECKS: &[Check] = &[$(Check { id: $id, suite: Suite::SignatureVerification, title: $title, requirement: $req }),*];
    };
}

checks! {
    "SV-01" => "the licensed image, pushed and signed by digest with the P-384 release key, verifies with its version annotation", "ADR-193 Docker Content Trust (REQUIRED, C.6.6.3): images signed by digest with the KMS P-384 key";
    "SV-02" => "an unsigned image is rejected: no signatures found for its digest", "ADR-193 DCT threat table: supply chain attack — only signed images accepted";
    "SV-03" => "a signature by another P-384 key is rejected: it does not verify with the release key", "ADR-193 DCT threat table: insider threat — signing requires the KMS key";
    "SV-04" => "a tag moved to another image, with the first image's signature copied beside it, is rejected: the payload signs the first digest", "ADR-193 DCT threat table: registry compromise — attacker replaces the image";
    "SV-05" => "a corrupted signature (one byte of r flipped) is rejected", "ADR-193 DCT threat table: man-in-the-middle — signature mismatch rejects";
    "SV-06" => "a corrupted payload (one byte changed, stored under its new digest) is rejected", "ADR-193 DCT threat table: man-in-the-middle — signature mismatch rejects";
    "SV-07" => "a valid release-key signature whose payload names another image's digest is rejected", "cosign SIGNATURE_SPEC: critical.image.docker-manifest-digest must be the image's digest";
    "SV-08" => "a rollback (an older signed release under the newer version tag) is rejected by the version annotation, also with a junk-signed layer claiming the newer version", "ADR-193 DCT threat table: rollback attack — signature includes version";
    "SV-09" => "an image with several signatures (two keys; re-signing adds no duplicate) verifies with each key", "cosign: signing again appends a layer, de-duplicated; verification accepts when one layer holds";
    "SV-10" => "verifying by tag and by digest agree on the digest, and the result is pinned by digest", "Issue: after verifying, refer to the image by digest, never by tag";
}

/// The repository the suite pushes the image under test to.
const REPOSITORY: &str = "coditect/licensed";
/// The version the release is signed with.
const VERSION: &str = coditect_harness::VERSION;

/// What every check shares: the registry, the image pushed once, and the release key.
#[derive(Debug)]
pub struct Bench {
    registry: LocalRegistry,
    /// The pushed image, by tag.
    pub image: String,
    /// Its manifest digest.
    pub digest: String,
    release: PrivateKey,
}

static BENCHES: std::sync::Mutex<Vec<(String, &'static Bench)>> = std::sync::Mutex::new(Vec::new());

/// The bench for the local image `local`, set up once per process: a registry is started, the image is
/// pushed and signed with a release key (`CODITECT_SIGNING_KEY`, a PEM file, or a fresh key).
pub async fn bench(docker: &Docker, local: &str) -> Result<&'static Bench, Failure> {
    // One set-up at a time: two checks starting together must not push the same image twice.
    static SETUP: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = SETUP.lock().await;
    if let Some(found) = lock(&BENCHES).iter().find(|(l, _)| l == local).map(|(_, b)| *b) {
        return Ok(found);
    }
    let registry = LocalRegistry::start().await.map_err(|e| harness(e, local))?;
    let image = registry
        .push(docker, local, REPOSITORY, VERSION)
        .await
        .map_err(|e| harness(e, local))?;
    let release = match std::env::var_os("CODITECT_SIGNING_KEY") {
        Some(path) => {
            PrivateKey::read(std::path::Path::new(&path)).map_err(|e| failure("a readable release key", e, local))?
        }
        None => PrivateKey::generate(),
    };
    let reference = parse(&image).map_err(|e| failure("a reference to the pushed image", e, &image))?;
    let signed = coditect_signing::sign(&client(&reference), &release, &reference, &version(VERSION))
        .await
        .map_err(|e| failure("the pushed image to be signed", e, &image))?;
    let bench: &'static Bench = Box::leak(Box::new(Bench {
        registry,
        image,
        digest: signed.digest,
        release,
    }));
    lock(&BENCHES).push((local.to_owned(), bench));
    Ok(bench)
}

/// Every image this process pushed and signed: (local image, signed reference pinned by digest).
pub fn signed() -> Vec<(String, String)> {
    lock(&BENCHES)
        .iter()
        .map(|(local, bench)| {
            let pinned =
                parse(&bench.image).map_or_else(|_| bench.image.clone(), |r| digest_in(&r, &bench.digest).whole());
            (local.clone(), pinned)
        })
        .collect()
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Bench {
    /// The registry's `host:port`.
    pub fn host(&self) -> &str {
        self.registry.host()
    }

    /// The release key's public half, what customers verify with.
    pub fn public_key(&self) -> PublicKey {
        self.release.public_key()
    }

    /// The pushed image, copied with its signatures into `repository` (mounted, not uploaded).
    pub async fn copy_to(&self, repository: &str) -> Result<(Registry, Reference), Failure> {
        let from = parse(&self.image).map_err(|e| failure("the pushed image", e, &self.image))?;
        let to =
            parse(&format!("{}/{repository}:{VERSION}", self.host())).map_err(|e| failure("a copy", e, repository))?;
        let registry = client(&from);
        registry
            .copy(&from, &to)
            .await
            .map_err(|e| failure("the image copied", e, &to.whole()))?;
        let sig = signature_tag(&self.digest);
        registry
            .copy_signatures(&tag_in(&from, &sig), &tag_in(&to, &sig))
            .await
            .map_err(|e| failure("the signatures copied", e, &to.whole()))?;
        Ok((registry, to))
    }
}

/// A verifier: the real one ([`Cosign`]), or a deliberately flawed one in the negative controls.
pub trait Verifier: Sync {
    /// Verifies `image` with `key`, demanding `wanted` annotations.
    fn verify(
        &self,
        registry: &Registry,
        key: &PublicKey,
        image: &Reference,
        wanted: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Verified, VerifyError>> + Send;
}

/// The project's verifier, `coditect_signing::verify`: cosign's rules, each layer on its own.
#[derive(Debug, Clone, Copy)]
pub struct Cosign;

impl Verifier for Cosign {
    async fn verify(
        &self,
        registry: &Registry,
        key: &PublicKey,
        image: &Reference,
        wanted: &BTreeMap<String, String>,
    ) -> Result<Verified, VerifyError> {
        coditect_signing::verify(registry, key, image, wanted).await
    }
}

fn client(reference: &Reference) -> Registry {
    Registry::for_reference(reference)
}

fn version(v: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("version".to_owned(), v.to_owned())])
}

fn failure(expected: &str, error: impl std::fmt::Display, place: &str) -> Failure {
    Failure {
        expected: expected.to_owned(),
        found: format!("failed to {error}"),
        place: place.to_owned(),
    }
}

/// Passes when `outcome` is a rejection `wanted` accepts; fails naming what the verifier said.
fn rejected(
    outcome: Result<Verified, VerifyError>,
    expected: &str,
    wanted: impl Fn(&VerifyError) -> bool,
    place: &str,
) -> Verdict {
    match outcome {
        Ok(v) => Err(Failure {
            expected: format!("a rejection: {expected}"),
            found: format!("accepted (signature layer {} of {})", v.layer, v.signatures),
            place: place.to_owned(),
        }),
        Err(e) => expect(
            wanted(&e),
            format!("a rejection: {expected}"),
            format!("rejected for another reason: {e}"),
            place,
        ),
    }
}

/// Whether every layer was rejected and some for a fault `which` accepts.
fn any_fault(error: &VerifyError, which: impl Fn(&Fault) -> bool) -> bool {
    matches!(error, VerifyError::Rejected { rejected, .. } if rejected.iter().any(|(_, f)| which(f)))
}

/// The signature manifest of `digest` in `image`'s repository, rewritten by `edit`.
async fn edit_signatures(
    registry: &Registry,
    image: &Reference,
    digest: &str,
    edit: impl FnOnce(&mut Manifest),
) -> Result<(), Failure> {
    let place = image.whole();
    let mut manifest = registry
        .signatures(image, digest)
        .await
        .map_err(|e| failure("the signature manifest", e, &place))?
        .ok_or_else(|| failure("the signature manifest", "find it: none", &place))?;
    edit(&mut manifest);
    registry
        .put_manifest(
            &tag_in(image, &signature_tag(digest)),
            manifest.to_bytes(),
            OCI_MANIFEST,
        )
        .await
        .map_err(|e| failure("the edited signature manifest stored", e, &place))?;
    Ok(())
}

/// A signature layer for a payload naming `digest` with `version`, signed by `key`, its payload uploaded.
async fn forge(
    registry: &Registry,
    image: &Reference,
    digest: &str,
    version_: &str,
    key: &PrivateKey,
) -> Result<Descriptor, Failure> {
    let payload = coditect_signing::payload::Payload::new(
        &coditect_signing::registry::repository_of(image),
        digest,
        &version(version_),
    )
    .to_bytes();
    registry
        .put_blob(image, &payload)
        .await
        .map_err(|e| failure("a forged payload uploaded", e, &image.whole()))?;
    Ok(Descriptor::signature(&payload, &STANDARD.encode(key.sign(&payload))))
}

/// SV-01.
pub async fn sv_01(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-01/licensed").await?;
    let place = image.whole();
    match verifier
        .verify(&registry, &bench.public_key(), &image, &version(VERSION))
        .await
    {
        Ok(v) => expect(
            v.digest == bench.digest && v.payload.annotation("version").as_deref() == Some(VERSION),
            format!("{} verified with version {VERSION}", bench.digest),
            format!("{} with version {:?}", v.digest, v.payload.annotation("version")),
            &place,
        ),
        Err(e) => Err(failure("the signed image to verify", e, &place)),
    }
}

/// SV-02.
pub async fn sv_02(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-02/licensed").await?;
    let unsigned = tag_in(&image, "unsigned");
    let digest = registry
        .relabel(&image, &unsigned, "ai.coditect.unsigned", "true")
        .await
        .map_err(|e| failure("an unsigned copy", e, &unsigned.whole()))?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &unsigned, &version(VERSION))
        .await;
    rejected(
        outcome,
        &format!("no signatures found for {digest}"),
        |e| matches!(e, VerifyError::Unsigned { digest: d, .. } if *d == digest),
        &unsigned.whole(),
    )
}

/// SV-03.
pub async fn sv_03(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-03/licensed").await?;
    let digest = bench.digest.clone();
    // An attacker's key replaces the release signature.
    let attacker = PrivateKey::generate();
    edit_signatures(&registry, &image, &digest, |m| m.layers.clear()).await?;
    coditect_signing::sign(&registry, &attacker, &image, &version(VERSION))
        .await
        .map_err(|e| failure("the attacker's signature", e, &image.whole()))?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &image, &version(VERSION))
        .await;
    rejected(
        outcome,
        "the signature does not verify with the release key",
        |e| any_fault(e, |f| *f == Fault::Mismatch),
        &image.whole(),
    )
}

/// SV-04.
pub async fn sv_04(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-04/licensed").await?;
    // The attacker pushes another image under the release tag and copies the release's signature to it.
    let other = registry
        .relabel(&image, &image, "ai.coditect.replaced", "true")
        .await
        .map_err(|e| failure("a replacement image under the tag", e, &image.whole()))?;
    registry
        .copy_signatures(
            &tag_in(&image, &signature_tag(&bench.digest)),
            &tag_in(&image, &signature_tag(&other)),
        )
        .await
        .map_err(|e| failure("the signature copied", e, &image.whole()))?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &image, &version(VERSION))
        .await;
    let signed = bench.digest.clone();
    rejected(
        outcome,
        &format!("the payload signs {signed}, not {other}"),
        |e| {
            any_fault(
                e,
                |f| matches!(f, Fault::OtherImage { signed: s, digest } if *s == signed && *digest == other),
            )
        },
        &image.whole(),
    )
}

/// SV-05.
pub async fn sv_05(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-05/licensed").await?;
    edit_signatures(&registry, &image, &bench.digest, |m| {
        for layer in &mut m.layers {
            if let Some(sig) = layer.annotations.as_mut().and_then(|a| a.get_mut(SIGNATURE_ANNOTATION))
                && let Ok(mut der) = STANDARD.decode(sig.as_bytes())
            {
                // DER: 30 len 02 rlen r...; flip a byte inside r so the DER stays well-formed.
                if der.len() > 20 {
                    der[20] ^= 0x01;
                }
                *sig = STANDARD.encode(der);
            }
        }
    })
    .await?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &image, &version(VERSION))
        .await;
    rejected(
        outcome,
        "the signature does not verify",
        |e| any_fault(e, |f| matches!(f, Fault::Mismatch | Fault::Corrupted)),
        &image.whole(),
    )
}

/// SV-06.
pub async fn sv_06(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-06/licensed").await?;
    let place = image.whole();
    let manifest = registry
        .signatures(&image, &bench.digest)
        .await
        .map_err(|e| failure("the signature manifest", e, &place))?
        .ok_or_else(|| failure("the signature manifest", "find it: none", &place))?;
    let layer = manifest
        .layers
        .first()
        .ok_or_else(|| failure("a signature layer", "find one: none", &place))?;
    let payload = registry
        .blob(&image, layer)
        .await
        .map_err(|e| failure("the payload", e, &place))?;
    // The same document with one byte changed: the version 1.0.0 becomes 9.0.0.
    let tampered = String::from_utf8_lossy(&payload)
        .replacen(VERSION, &format!("9{}", &VERSION[1..]), 1)
        .into_bytes();
    registry
        .put_blob(&image, &tampered)
        .await
        .map_err(|e| failure("the tampered payload", e, &place))?;
    let signature = layer.annotation(SIGNATURE_ANNOTATION).unwrap_or_default().to_owned();
    edit_signatures(&registry, &image, &bench.digest, |m| {
        m.layers = vec![Descriptor::signature(&tampered, &signature)];
    })
    .await?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &image, &BTreeMap::new())
        .await;
    rejected(
        outcome,
        "the signature does not verify over the altered payload",
        |e| any_fault(e, |f| *f == Fault::Mismatch),
        &place,
    )
}

/// SV-07.
pub async fn sv_07(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-07/licensed").await?;
    let place = image.whole();
    // A genuine release signature, but over a payload naming another image's digest.
    let other = layout::digest_of(b"another image");
    let layer = forge(&registry, &image, &other, VERSION, &bench.release).await?;
    edit_signatures(&registry, &image, &bench.digest, |m| m.layers = vec![layer]).await?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &image, &version(VERSION))
        .await;
    rejected(
        outcome,
        &format!("the payload signs {other}, not {}", bench.digest),
        |e| any_fault(e, |f| matches!(f, Fault::OtherImage { signed, .. } if *signed == other)),
        &place,
    )
}

/// SV-08.
pub async fn sv_08(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-08/licensed").await?;
    // The older release: another image, genuinely signed with version 0.9.0, then served under the
    // newer version's tag; an attacker also appends a layer claiming the newer version, signed with junk.
    let old_tag = tag_in(&image, "0.9.0");
    let old = registry
        .relabel(&image, &old_tag, "org.opencontainers.image.version", "0.9.0")
        .await
        .map_err(|e| failure("the older release", e, &old_tag.whole()))?;
    coditect_signing::sign(&registry, &bench.release, &old_tag, &version("0.9.0"))
        .await
        .map_err(|e| failure("the older release signed", e, &old_tag.whole()))?;
    registry
        .copy(&digest_in(&image, &old), &image)
        .await
        .map_err(|e| failure("the older release under the newer tag", e, &image.whole()))?;
    let junk = forge(&registry, &image, &old, VERSION, &PrivateKey::generate()).await?;
    edit_signatures(&registry, &image, &old, |m| m.layers.push(junk)).await?;
    let outcome = verifier
        .verify(&registry, &bench.public_key(), &image, &version(VERSION))
        .await;
    rejected(
        outcome,
        &format!("annotation version is \"0.9.0\", expected {VERSION:?} (and the junk layer does not verify)"),
        |e| {
            any_fault(
                e,
                |f| matches!(f, Fault::Annotation { key, found, .. } if key == "version" && found.as_deref() == Some("0.9.0")),
            ) && any_fault(e, |f| *f == Fault::Mismatch)
        },
        &image.whole(),
    )
}

/// SV-09.
pub async fn sv_09(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-09/licensed").await?;
    let place = image.whole();
    // A second key signs first in line; the release key's signature is re-added (a no-op) after it.
    let second = PrivateKey::generate();
    edit_signatures(&registry, &image, &bench.digest, |m| m.layers.clear()).await?;
    for key in [&second, &bench.release, &bench.release] {
        coditect_signing::sign(&registry, key, &image, &version(VERSION))
            .await
            .map_err(|e| failure("the image signed", e, &place))?;
    }
    let layers = registry
        .signatures(&image, &bench.digest)
        .await
        .map_err(|e| failure("the signature manifest", e, &place))?
        .map_or(0, |m| m.layers.len());
    if layers != 2 {
        return Err(Failure {
            expected: "2 signature layers (one per key, the repeated signature not added)".into(),
            found: format!("{layers}"),
            place,
        });
    }
    for (name, key) in [
        ("the second key", second.public_key()),
        ("the release key", bench.public_key()),
    ] {
        if let Err(e) = verifier.verify(&registry, &key, &image, &version(VERSION)).await {
            return Err(failure(&format!("the image to verify with {name}"), e, &place));
        }
    }
    Ok(())
}

/// SV-10.
pub async fn sv_10(bench: &Bench, verifier: &impl Verifier) -> Verdict {
    let (registry, image) = bench.copy_to("sv-10/licensed").await?;
    let by_digest = digest_in(&image, &bench.digest);
    let mut pinned = Vec::new();
    for reference in [&image, &by_digest] {
        match verifier
            .verify(&registry, &bench.public_key(), reference, &version(VERSION))
            .await
        {
            Ok(v) => pinned.push((v.digest, v.pinned)),
            Err(e) => {
                return Err(failure(
                    "the image to verify by tag and by digest",
                    e,
                    &reference.whole(),
                ));
            }
        }
    }
    let want = by_digest.whole();
    expect(
        pinned
            .iter()
            .all(|(digest, reference)| *digest == bench.digest && *reference == want),
        format!("both verifications pinned to {want}"),
        format!("{pinned:?}"),
        image.whole(),
    )
}

/// Runs check `id` with the real verifier on the local image `image`.
pub async fn run(id: &str, docker: &Docker, image: &str) -> Option<Verdict> {
    if !CHECKS.iter().any(|c| c.id == id) {
        return None;
    }
    Some(match bench(docker, image).await {
        Ok(bench) => run_with(id, bench, &Cosign).await?,
        Err(f) => Err(f),
    })
}

/// Runs check `id` on `bench` with `verifier`.
pub async fn run_with(id: &str, bench: &Bench, verifier: &impl Verifier) -> Option<Verdict> {
    Some(match id {
        "SV-01" => sv_01(bench, verifier).await,
        "SV-02" => sv_02(bench, verifier).await,
        "SV-03" => sv_03(bench, verifier).await,
        "SV-04" => sv_04(bench, verifier).await,
        "SV-05" => sv_05(bench, verifier).await,
        "SV-06" => sv_06(bench, verifier).await,
        "SV-07" => sv_07(bench, verifier).await,
        "SV-08" => sv_08(bench, verifier).await,
        "SV-09" => sv_09(bench, verifier).await,
        "SV-10" => sv_10(bench, verifier).await,
        _ => return None,
    })
}
