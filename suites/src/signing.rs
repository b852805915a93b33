//! The CLI's signing commands: `keygen`, `sign`, `verify` and `registry`. They speak cosign's format
//! (`coditect-signing`), so an image signed here verifies with the real `cosign verify --key` and one
//! signed by cosign verifies here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use coditect_signing::registry::parse;
use coditect_signing::{KmsSigner, PrivateKey, PublicKey, Registry, VerifyError};

/// The variable naming the signing key's PEM file when `--key` is not given.
pub const SIGNING_KEY_VAR: &str = "CODITECT_SIGNING_KEY";

/// A command's failure, already phrased to read after "failed to …", with its exit code.
#[derive(Debug)]
pub struct CommandError {
    /// 1: the image was rejected; 2: the command could not run (bad input, unreachable registry).
    pub code: u8,
    /// What happened.
    pub message: String,
}

impl CommandError {
    fn usage(message: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: message.to_string(),
        }
    }
}

/// Parses `-a key=value` annotations.
pub fn annotations(pairs: &[String]) -> Result<BTreeMap<String, String>, CommandError> {
    pairs
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => Err(CommandError::usage(format!(
                "read the annotation {pair:?}: expected KEY=VALUE, e.g. -a version=1.0.0"
            ))),
        })
        .collect()
}

/// `keygen`: writes a P-384 key (PKCS#8, 0600) and its public half (`.pub`).
pub fn keygen(out: &Path) -> Result<PathBuf, CommandError> {
    PrivateKey::generate().write(out).map_err(CommandError::usage)
}

/// `sign`: signs `image` with the PEM key `key` (or `CODITECT_SIGNING_KEY`) or the Cloud KMS key `kms`.
pub async fn sign(
    image: &str,
    key: Option<PathBuf>,
    kms: Option<String>,
    annotations: &BTreeMap<String, String>,
) -> Result<coditect_signing::Signed, CommandError> {
    let reference = parse(image).map_err(CommandError::usage)?;
    let registry = Registry::for_reference(&reference);
    let signed = match (
        kms,
        key.or_else(|| std::env::var_os(SIGNING_KEY_VAR).map(PathBuf::from)),
    ) {
        (Some(uri), _) => {
            let token = std::env::var("GOOGLE_OAUTH_ACCESS_TOKEN").ok();
            let signer = KmsSigner::new(&uri, token).map_err(CommandError::usage)?;
            coditect_signing::sign(&registry, &signer, &reference, annotations).await
        }
        (None, Some(path)) => {
            let signer = PrivateKey::read(&path).map_err(CommandError::usage)?;
            coditect_signing::sign(&registry, &signer, &reference, annotations).await
        }
        (None, None) => {
            return Err(CommandError::usage(format!(
                "sign {image}: no key; pass --key PEM or --kms gcpkms://…, or set {SIGNING_KEY_VAR} \
                 (`coditect-conformance keygen --out KEY` makes a development key)"
            )));
        }
    };
    signed.map_err(CommandError::usage)
}

/// `verify`: verifies `image` with the public key `key`, demanding `annotations`.
pub async fn verify(
    image: &str,
    key: &Path,
    annotations: &BTreeMap<String, String>,
) -> Result<coditect_signing::Verified, CommandError> {
    let reference = parse(image).map_err(CommandError::usage)?;
    let key = PublicKey::read(key).map_err(CommandError::usage)?;
    coditect_signing::verify(&Registry::for_reference(&reference), &key, &reference, annotations)
        .await
        .map_err(|e| CommandError {
            code: match e {
                VerifyError::Registry(_) => 2,
                VerifyError::Unsigned { .. } | VerifyError::Rejected { .. } => 1,
            },
            message: e.to_string(),
        })
}
