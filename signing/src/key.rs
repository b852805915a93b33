//! P-384 keys: the public key customers verify with (SPKI PEM, what `cosign public-key` and Cloud KMS
//! `getPublicKey` print) and a local private key for development and the conformance run.

use std::path::{Path, PathBuf};

use p384::ecdsa::signature::{Signer as _, Verifier as _};
use p384::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p384::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};

use crate::error::KeyError;

/// What a public key file must hold, for error messages.
const PUBLIC_KEY_FORM: &str = "a P-384 public key as SPKI PEM (-----BEGIN PUBLIC KEY-----), as `cosign public-key` \
                               or Cloud KMS getPublicKey print it";
/// What a private key file must hold, for error messages.
const PRIVATE_KEY_FORM: &str = "an unencrypted P-384 private key as PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) or SEC1 \
                                PEM (-----BEGIN EC PRIVATE KEY-----, from `openssl ecparam -name secp384r1 -genkey`)";

/// A P-384 verifying key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Parses an SPKI PEM; `origin` names where it came from in the error.
    pub fn from_pem(pem: &str, origin: &str) -> Result<Self, KeyError> {
        VerifyingKey::from_public_key_pem(pem.trim())
            .map(Self)
            .map_err(|e| KeyError::Malformed {
                origin: origin.to_owned(),
                detail: e.to_string(),
                wanted: PUBLIC_KEY_FORM,
            })
    }

    /// Reads an SPKI PEM file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?, &path.display().to_string())
    }

    /// The key as SPKI PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// Whether `der` is this key's ECDSA signature over SHA-384 of `message`. A signature that is not
    /// DER at all is reported apart, because it points at a corrupted annotation rather than a wrong key.
    pub fn verify(&self, message: &[u8], der: &[u8]) -> Result<(), SignatureFault> {
        let signature = Signature::from_der(der).map_err(|_| SignatureFault::NotDer)?;
        self.0.verify(message, &signature).map_err(|_| SignatureFault::Mismatch)
    }
}

/// Why a signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFault {
    /// The bytes are not a DER `SEQUENCE { r, s }`.
    NotDer,
    /// Well-formed, but not made by this key over these bytes.
    Mismatch,
}

/// A P-384 signing key held in memory.
#[derive(Clone)]
pub struct PrivateKey(SigningKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("PrivateKey").field(&"<redacted>").finish()
    }
}

impl PrivateKey {
    /// A fresh key from the OS's randomness.
    pub fn generate() -> Self {
        Self(SigningKey::random(&mut rand_core::OsRng))
    }

    /// Parses a PKCS#8 or SEC1 PEM; `origin` names where it came from in the error.
    pub fn from_pem(pem: &str, origin: &str) -> Result<Self, KeyError> {
        let pem = pem.trim();
        let parsed = if pem.contains("BEGIN EC PRIVATE KEY") {
            p384::SecretKey::from_sec1_pem(pem)
                .map(SigningKey::from)
                .map_err(|e| e.to_string())
        } else {
            SigningKey::from_pkcs8_pem(pem).map_err(|e| e.to_string())
        };
        parsed.map(Self).map_err(|detail| KeyError::Malformed {
            origin: origin.to_owned(),
            detail,
            wanted: PRIVATE_KEY_FORM,
        })
    }

    /// Reads a PEM file.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        Self::from_pem(&read(path)?, &path.display().to_string())
    }

    /// Writes the key (PKCS#8, mode 0600) and its public half (`<path>.pub`), for `keygen`.
    pub fn write(&self, path: &Path) -> Result<PathBuf, KeyError> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let pem = self.0.to_pkcs8_pem(LineEnding::LF).map_err(|e| KeyError::Malformed {
            origin: "the generated key".into(),
            detail: e.to_string(),
            wanted: PRIVATE_KEY_FORM,
        })?;
        let io = |source| KeyError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        file.write_all(pem.as_bytes()).map_err(io)?;
        let public = public_path(path);
        std::fs::write(&public, self.public_key().to_pem()).map_err(|source| KeyError::Write {
            path: public.clone(),
            source,
        })?;
        Ok(public)
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// The DER signature over SHA-384 of `message`.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: Signature = self.0.sign(message);
        let der: DerSignature = signature.to_der();
        der.as_bytes().to_vec()
    }
}

/// Where `keygen` puts the public half of `private`: beside it, with `.pub` appended.
pub fn public_path(private: &Path) -> PathBuf {
    let mut name = private.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn read(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_made_by_a_key_verifies_with_its_public_half() {
        let key = PrivateKey::generate();
        let der = key.sign(b"payload");
        assert!(
            (102..=104).contains(&der.len()),
            "P-384 DER is 102-104 bytes, got {}",
            der.len()
        );
        assert_eq!(key.public_key().verify(b"payload", &der), Ok(()));
    }

    #[test]
    fn signature_by_another_key_or_over_other_bytes_is_a_mismatch() {
        let key = PrivateKey::generate();
        let der = key.sign(b"payload");
        assert_eq!(
            PrivateKey::generate().public_key().verify(b"payload", &der),
            Err(SignatureFault::Mismatch)
        );
        assert_eq!(
            key.public_key().verify(b"payload!", &der),
            Err(SignatureFault::Mismatch)
        );
        assert_eq!(
            key.public_key().verify(b"payload", b"junk"),
            Err(SignatureFault::NotDer)
        );
    }

    #[test]
    fn keys_round_trip_through_pem_files() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("keys/release.key");
        let key = PrivateKey::generate();
        let public = key.write(&path).expect("writes");
        assert_eq!(public, dir.path().join("keys/release.key.pub"));
        let read = PrivateKey::read(&path).expect("reads back");
        assert_eq!(read.public_key(), key.public_key());
        assert_eq!(PublicKey::read(&public).expect("reads"), key.public_key());
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).expect("meta").permissions());
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_p256_or_garbage_public_key_is_refused_naming_the_form() {
        // A P-256 SPKI key (`openssl ecparam -name prime256v1 -genkey -noout | openssl ec -pubout`): valid
        // PEM, wrong curve.
        let p256 = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHDcp+0e7WZAbkDlRCK1Ca+v5xtYZ\nymwVOVjrKbIPXos9prcmj9aRhQfOWmGHOhQ+hv2hOpo9Hc5+WzfpxGYpMw==\n-----END PUBLIC KEY-----\n";
        for pem in [p256, "not a key"] {
            let err = PublicKey::from_pem(pem, "cosign.pub").expect_err("refused");
            let text = err.to_string();
            assert!(text.contains("cosign.pub") && text.contains("P-384"), "{text}");
        }
    }

    #[test]
    fn sec1_private_keys_are_accepted() {
        let key = PrivateKey::generate();
        let sec1 = p384::SecretKey::from(key.0.clone())
            .to_sec1_pem(LineEnding::LF)
            .expect("sec1");
        let read = PrivateKey::from_pem(&sec1, "ec.pem").expect("parses");
        assert_eq!(read.public_key(), key.public_key());
    }
}
