//! cosign's format, byte for byte, against `tests/fixtures/cosign-p384` (made by OpenSSL from cosign's
//! documented format; its README cites the sources).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use coditect_signing::layout::{Descriptor, Manifest};
use coditect_signing::payload::Payload;
use coditect_signing::{PrivateKey, PublicKey};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cosign-p384")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

fn text(name: &str) -> String {
    String::from_utf8(read(name)).expect("utf-8 fixture")
}

#[test]
fn payload_matches_the_fixture_byte_for_byte() {
    let annotations = BTreeMap::from([("version".to_owned(), "1.0.0".to_owned())]);
    let ours = Payload::new(
        "registry.example.com/coditect/licensed-docker",
        &text("image-digest"),
        &annotations,
    );
    assert_eq!(String::from_utf8(ours.to_bytes()).expect("utf-8"), text("payload.json"));
}

#[test]
fn signature_manifest_matches_the_fixture_byte_for_byte() {
    let mut manifest = Manifest::signatures();
    manifest
        .layers
        .push(Descriptor::signature(&read("payload.json"), &text("signature.b64")));
    assert_eq!(
        String::from_utf8(manifest.to_bytes()).expect("utf-8"),
        text("manifest.json")
    );
    let parsed: Manifest = serde_json::from_slice(&read("manifest.json")).expect("the fixture parses");
    assert_eq!(parsed, manifest);
}

#[test]
fn openssls_signature_verifies_with_the_fixture_key() {
    let key = PublicKey::read(&fixture("cosign.pub")).expect("the fixture key reads");
    let der = STANDARD.decode(text("signature.b64")).expect("base64");
    assert_eq!(key.verify(&read("payload.json"), &der), Ok(()));
    assert!(
        key.verify(b"{}", &der).is_err(),
        "a signature must not verify over other bytes"
    );
}

/// The other direction: OpenSSL, knowing nothing of this crate, accepts its signatures and keys.
#[test]
fn openssl_verifies_a_signature_made_here() {
    let dir = tempfile::tempdir().expect("temp dir");
    let key = PrivateKey::generate();
    let payload = read("payload.json");
    let (public, signature, message) = (dir.path().join("k.pub"), dir.path().join("sig"), dir.path().join("p"));
    std::fs::write(&public, key.public_key().to_pem()).expect("write");
    std::fs::write(&signature, key.sign(&payload)).expect("write");
    std::fs::write(&message, &payload).expect("write");
    let out = Command::new("openssl")
        .args(["dgst", "-sha384", "-verify"])
        .arg(&public)
        .arg("-signature")
        .arg(&signature)
        .arg(&message)
        .output()
        .expect("openssl runs (Debian: apt-get install openssl)");
    assert!(
        out.status.success(),
        "openssl rejected our signature: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
