//! The framework's integrity at start: the manifest is signed by the image build, and every file under
//! the framework tree matches it.
//!
//! `MANIFEST.sha256` (the format `sha256sum` writes and `sha256sum -c` reads: `<hex>  <path>`) lists
//! every file with its SHA-256. A file that differs, is missing, or is not listed stops the start with
//! exit 65 and the first offending path, so a derived image or a mounted volume cannot swap the tree.
//!
//! A derived image could also rewrite the manifest to match its changes, so the manifest is signed:
//! `MANIFEST.sha256.sig` holds the base64 DER ECDSA P-384 signature over SHA-384 of the manifest's
//! bytes, made at build time with a key whose public half is compiled into this binary
//! (`CODITECT_MANIFEST_PUBLIC_KEY` at build time). A manifest that does not verify stops the start
//! before any digest is read. Replacing the key would mean replacing this binary, which image signing
//! covers.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use p384::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest as _, Sha256};

/// The manifest's file name, at the framework tree's root.
pub const MANIFEST: &str = "MANIFEST.sha256";
/// The manifest's signature, beside it.
pub const SIGNATURE: &str = "MANIFEST.sha256.sig";

/// The manifest key compiled in by the image build (SPKI PEM); `None` in a plain `cargo build`.
const COMPILED_KEY: Option<&str> = option_env!("CODITECT_MANIFEST_PUBLIC_KEY");

/// The key the manifest must be signed with: the compiled-in one. Debug builds (the runtime's own
/// tests) also accept `CODITECT_MANIFEST_KEY_FILE`; a release build never reads a key from its
/// environment, which a derived image controls.
pub fn trusted_key() -> Result<Option<VerifyingKey>, IntegrityError> {
    #[cfg(debug_assertions)]
    if let Some(path) = std::env::var_os("CODITECT_MANIFEST_KEY_FILE") {
        let path = PathBuf::from(path);
        let pem = read_to_string(&path)?;
        return parse_key(&pem, &path.display().to_string()).map(Some);
    }
    COMPILED_KEY
        .map(|pem| parse_key(pem, "the key compiled into coditect-entrypoint"))
        .transpose()
}

fn parse_key(pem: &str, origin: &str) -> Result<VerifyingKey, IntegrityError> {
    use p384::pkcs8::DecodePublicKey as _;
    VerifyingKey::from_public_key_pem(pem.trim()).map_err(|e| IntegrityError::Key {
        origin: origin.to_owned(),
        detail: e.to_string(),
    })
}

/// What the check learned about the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framework {
    /// The framework's VERSION.
    pub version: String,
    /// Files verified.
    pub files: usize,
}

/// Why the framework tree failed its check.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// A file could not be read.
    #[error("verify the framework: cannot read {path}: {source}; expected a readable file")]
    Unreadable {
        /// The path.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A manifest line is not `<64 hex>  <relative path>`.
    #[error("verify the framework: {manifest} line {line} is malformed; expected `<sha256 hex>  <relative path>`")]
    Manifest {
        /// The manifest.
        manifest: PathBuf,
        /// 1-based line number.
        line: usize,
    },
    /// A file's digest differs from the manifest's.
    #[error("verify the framework: {path} was modified (sha256 {found}, manifest says {expected})")]
    Modified {
        /// The path.
        path: PathBuf,
        /// The manifest's digest.
        expected: String,
        /// The file's digest.
        found: String,
    },
    /// A listed file is missing.
    #[error("verify the framework: {path} is missing; the manifest lists it")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// The manifest carries no signature.
    #[error("verify the framework: {path} is missing; the manifest must be signed by the image build")]
    Unsigned {
        /// Where the signature should be.
        path: PathBuf,
    },
    /// The signature does not verify: the manifest was rewritten (or signed with another key).
    #[error(
        "verify the framework: the signature of {manifest} does not verify with the build's key; the manifest \
         was changed after the image was built"
    )]
    BadSignature {
        /// The manifest.
        manifest: PathBuf,
    },
    /// The manifest key is not a P-384 SPKI PEM.
    #[error("verify the framework: {origin} is not a P-384 public key ({detail}); expected an SPKI PEM")]
    Key {
        /// Where it came from.
        origin: String,
        /// What the parser said.
        detail: String,
    },
    /// A file or link is in the tree but not in the manifest.
    #[error("verify the framework: {path} is not in the manifest; expected only the files it lists")]
    Unlisted {
        /// The path.
        path: PathBuf,
    },
}

/// Verifies `root`: the manifest's signature with `key` (when there is one), then every file against
/// the manifest.
pub fn check(root: &Path, key: Option<&VerifyingKey>) -> Result<Framework, IntegrityError> {
    let manifest_path = root.join(MANIFEST);
    let manifest = read_to_string(&manifest_path)?;
    if let Some(key) = key {
        verify_signature(root, &manifest_path, manifest.as_bytes(), key)?;
    }
    let mut expected = BTreeMap::new();
    for (n, line) in manifest.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let malformed = || IntegrityError::Manifest {
            manifest: manifest_path.clone(),
            line: n + 1,
        };
        let (digest, path) = line.split_once("  ").ok_or_else(malformed)?;
        let path = path.strip_prefix("./").unwrap_or(path);
        let well_formed = digest.len() == 64
            && digest.bytes().all(|b| b.is_ascii_hexdigit())
            && !path.is_empty()
            && !path.starts_with('/')
            && !path.split('/').any(|part| part == "..");
        if !well_formed {
            return Err(malformed());
        }
        expected.insert(PathBuf::from(path), digest.to_ascii_lowercase());
    }
    let mut seen = 0;
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| IntegrityError::Unreadable {
            path: e.path().map_or_else(|| root.to_path_buf(), Path::to_path_buf),
            source: e.into(),
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path()).to_path_buf();
        if relative == Path::new(MANIFEST) || relative == Path::new(SIGNATURE) {
            continue;
        }
        let Some(want) = expected.get(&relative) else {
            return Err(IntegrityError::Unlisted {
                path: entry.path().to_path_buf(),
            });
        };
        if entry.file_type().is_symlink() {
            return Err(IntegrityError::Unlisted {
                path: entry.path().to_path_buf(),
            });
        }
        let found = sha256_file(entry.path())?;
        if &found != want {
            return Err(IntegrityError::Modified {
                path: entry.path().to_path_buf(),
                expected: want.clone(),
                found,
            });
        }
        seen += 1;
    }
    if seen != expected.len() {
        let missing = expected
            .keys()
            .find(|p| !root.join(p).is_file())
            .cloned()
            .unwrap_or_default();
        return Err(IntegrityError::Missing {
            path: root.join(missing),
        });
    }
    let version = read_to_string(&root.join("VERSION"))?.trim().to_owned();
    Ok(Framework { version, files: seen })
}

fn verify_signature(root: &Path, manifest: &Path, bytes: &[u8], key: &VerifyingKey) -> Result<(), IntegrityError> {
    use base64::Engine as _;
    use p384::ecdsa::signature::Verifier as _;
    let path = root.join(SIGNATURE);
    let encoded = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(IntegrityError::Unsigned { path }),
        Err(source) => return Err(IntegrityError::Unreadable { path, source }),
    };
    let bad = || IntegrityError::BadSignature {
        manifest: manifest.to_path_buf(),
    };
    let der = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let signature = Signature::from_der(&der).map_err(|_| bad())?;
    key.verify(bytes, &signature).map_err(|_| bad())
}

/// Signs `manifest` with `key` the way the image build does: base64 DER over SHA-384, for
/// [`SIGNATURE`].
pub fn sign_manifest(manifest: &[u8], key: &p384::ecdsa::SigningKey) -> String {
    use base64::Engine as _;
    use p384::ecdsa::signature::Signer as _;
    let signature: Signature = key.sign(manifest);
    base64::engine::general_purpose::STANDARD.encode(signature.to_der().as_bytes())
}

fn read_to_string(path: &Path) -> Result<String, IntegrityError> {
    fs::read_to_string(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => IntegrityError::Missing {
            path: path.to_path_buf(),
        },
        _ => IntegrityError::Unreadable {
            path: path.to_path_buf(),
            source,
        },
    })
}

/// The SHA-256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, IntegrityError> {
    let unreadable = |source| IntegrityError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::File::open(path).map_err(unreadable)?;
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The manifest of `root`: one `<sha256>  <relative path>` line per file, sorted by path, without the
/// manifest itself. The image build writes it into the framework tree it ships.
pub fn manifest(root: &Path) -> Result<String, IntegrityError> {
    let mut lines = String::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1).sort_by_file_name() {
        let entry = entry.map_err(|e| IntegrityError::Unreadable {
            path: root.to_path_buf(),
            source: e.into(),
        })?;
        let relative = entry.path().strip_prefix(root).unwrap_or(entry.path());
        let skipped = relative.components().any(|c| c.as_os_str() == "__pycache__")
            || relative.extension().is_some_and(|e| e == "pyc");
        let ours = relative == Path::new(MANIFEST) || relative == Path::new(SIGNATURE);
        if entry.file_type().is_file() && !ours && !skipped {
            lines.push_str(&format!("{}  {}\n", sha256_file(entry.path())?, relative.display()));
        }
    }
    Ok(lines)
}

/// Writes [`manifest`] into `root`; returns the number of files listed.
pub fn write_manifest(root: &Path) -> Result<usize, IntegrityError> {
    let text = manifest(root)?;
    let path = root.join(MANIFEST);
    fs::write(&path, &text).map_err(|source| IntegrityError::Unreadable { path, source })?;
    Ok(text.lines().count())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fixed test key: the scalar `n` repeated (well below the curve's order).
    fn test_key(n: u8) -> p384::ecdsa::SigningKey {
        p384::ecdsa::SigningKey::from_slice(&[n; 48]).expect("a valid scalar")
    }

    fn signed(dir: &Path) -> VerifyingKey {
        let key = test_key(7);
        let manifest = fs::read(dir.join(MANIFEST)).expect("manifest");
        fs::write(dir.join(SIGNATURE), sign_manifest(&manifest, &key)).expect("write");
        *key.verifying_key()
    }

    #[test]
    fn a_signed_manifest_passes_and_a_rewritten_one_is_refused() {
        let dir = tree();
        let key = signed(dir.path());
        assert_eq!(check(dir.path(), Some(&key)).expect("intact").files, 2);
        // A derived image changes a file and rewrites the manifest to match: the digests agree, the
        // signature does not.
        fs::write(dir.path().join("agents/reviewer.md"), "# Evil\n").expect("write");
        write_manifest(dir.path()).expect("manifest");
        assert!(check(dir.path(), None).is_ok(), "the digests alone are satisfied");
        let err = check(dir.path(), Some(&key)).expect_err("refused");
        assert!(matches!(err, IntegrityError::BadSignature { .. }), "{err}");
        assert!(err.to_string().contains("MANIFEST.sha256"), "{err}");
    }

    #[test]
    fn a_missing_or_garbled_signature_is_refused() {
        let dir = tree();
        let key = signed(dir.path());
        fs::write(dir.path().join(SIGNATURE), "not base64!").expect("write");
        assert!(matches!(
            check(dir.path(), Some(&key)),
            Err(IntegrityError::BadSignature { .. })
        ));
        fs::remove_file(dir.path().join(SIGNATURE)).expect("rm");
        assert!(matches!(
            check(dir.path(), Some(&key)),
            Err(IntegrityError::Unsigned { .. })
        ));
    }

    #[test]
    fn a_signature_by_another_key_is_refused() {
        let dir = tree();
        signed(dir.path());
        let other = test_key(9);
        assert!(matches!(
            check(dir.path(), Some(other.verifying_key())),
            Err(IntegrityError::BadSignature { .. })
        ));
    }

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(dir.path().join("agents")).expect("mkdir");
        fs::write(dir.path().join("VERSION"), "2.3.1\n").expect("write");
        fs::write(dir.path().join("agents/reviewer.md"), "# Reviewer\n").expect("write");
        write_manifest(dir.path()).expect("manifest");
        dir
    }

    #[test]
    fn an_untouched_tree_passes() {
        let dir = tree();
        assert_eq!(
            check(dir.path(), None).expect("intact"),
            Framework {
                version: "2.3.1".into(),
                files: 2
            }
        );
    }

    #[test]
    fn a_modified_file_is_named() {
        let dir = tree();
        fs::write(dir.path().join("agents/reviewer.md"), "# Evil\n").expect("write");
        let err = check(dir.path(), None).expect_err("modified");
        assert!(
            matches!(err, IntegrityError::Modified { ref path, .. } if path.ends_with("agents/reviewer.md")),
            "{err}"
        );
    }

    #[test]
    fn an_added_or_removed_file_is_named() {
        let dir = tree();
        fs::write(dir.path().join("agents/extra.md"), "x").expect("write");
        assert!(matches!(check(dir.path(), None), Err(IntegrityError::Unlisted { .. })));
        fs::remove_file(dir.path().join("agents/extra.md")).expect("rm");
        fs::remove_file(dir.path().join("agents/reviewer.md")).expect("rm");
        assert!(matches!(check(dir.path(), None), Err(IntegrityError::Missing { .. })));
    }

    #[test]
    fn a_missing_or_malformed_manifest_fails() {
        let dir = tree();
        fs::write(dir.path().join(MANIFEST), "not a manifest\n").expect("write");
        assert!(matches!(
            check(dir.path(), None),
            Err(IntegrityError::Manifest { line: 1, .. })
        ));
        fs::remove_file(dir.path().join(MANIFEST)).expect("rm");
        assert!(matches!(check(dir.path(), None), Err(IntegrityError::Missing { .. })));
    }
}
