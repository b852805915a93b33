//! The key that signs the framework manifest at build time. Its public half is compiled into the
//! entrypoint the images carry (`CODITECT_MANIFEST_PUBLIC_KEY`), which refuses a manifest it does not
//! verify; so a derived image that rewrites the manifest to match its changes cannot start.
//!
//! Releases name their key with `CODITECT_MANIFEST_KEY` (a P-384 PEM file); development builds make one
//! in the harness's cache on first use. The key never enters a build context: only the signature does.

use std::path::Path;

use base64::Engine as _;
use coditect_signing::PrivateKey;

use crate::{HarnessError, Result};

/// The variable naming a release's manifest key.
pub const MANIFEST_KEY_VAR: &str = "CODITECT_MANIFEST_KEY";

/// The manifest key: `CODITECT_MANIFEST_KEY`, else `<cache>/manifest-signing.key` (made if missing).
pub fn load(cache: &Path) -> Result<PrivateKey> {
    let fail = |e: coditect_signing::KeyError| HarnessError::Tool {
        tool: "the manifest key".into(),
        detail: e.to_string(),
    };
    if let Some(path) = std::env::var_os(MANIFEST_KEY_VAR) {
        return PrivateKey::read(Path::new(&path)).map_err(fail);
    }
    let path = cache.join("manifest-signing.key");
    if !path.exists() {
        PrivateKey::generate().write(&path).map_err(fail)?;
    }
    PrivateKey::read(&path).map_err(fail)
}

/// `MANIFEST.sha256.sig`'s content: base64 DER ECDSA P-384 over SHA-384 of the manifest.
pub fn sign(key: &PrivateKey, manifest: &[u8]) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .encode(key.sign(manifest))
        .into_bytes()
}
