//! The framework's integrity at start: every file under the framework tree matches the manifest.
//!
//! `MANIFEST.sha256` (the format `sha256sum` writes and `sha256sum -c` reads: `<hex>  <path>`) lists
//! every file with its SHA-256. A file that differs, is missing, or is not listed stops the start with
//! exit 65 and the first offending path, so a derived image or a mounted volume cannot swap the tree.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

/// The manifest's file name, at the framework tree's root.
pub const MANIFEST: &str = "MANIFEST.sha256";

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
    /// A file or link is in the tree but not in the manifest.
    #[error("verify the framework: {path} is not in the manifest; expected only the files it lists")]
    Unlisted {
        /// The path.
        path: PathBuf,
    },
}

/// Verifies `root` against its manifest.
pub fn check(root: &Path) -> Result<Framework, IntegrityError> {
    let manifest_path = root.join(MANIFEST);
    let manifest = read_to_string(&manifest_path)?;
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
        if relative == Path::new(MANIFEST) {
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
        if entry.file_type().is_file() && relative != Path::new(MANIFEST) && !skipped {
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
            check(dir.path()).expect("intact"),
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
        let err = check(dir.path()).expect_err("modified");
        assert!(
            matches!(err, IntegrityError::Modified { ref path, .. } if path.ends_with("agents/reviewer.md")),
            "{err}"
        );
    }

    #[test]
    fn an_added_or_removed_file_is_named() {
        let dir = tree();
        fs::write(dir.path().join("agents/extra.md"), "x").expect("write");
        assert!(matches!(check(dir.path()), Err(IntegrityError::Unlisted { .. })));
        fs::remove_file(dir.path().join("agents/extra.md")).expect("rm");
        fs::remove_file(dir.path().join("agents/reviewer.md")).expect("rm");
        assert!(matches!(check(dir.path()), Err(IntegrityError::Missing { .. })));
    }

    #[test]
    fn a_missing_or_malformed_manifest_fails() {
        let dir = tree();
        fs::write(dir.path().join(MANIFEST), "not a manifest\n").expect("write");
        assert!(matches!(
            check(dir.path()),
            Err(IntegrityError::Manifest { line: 1, .. })
        ));
        fs::remove_file(dir.path().join(MANIFEST)).expect("rm");
        assert!(matches!(check(dir.path()), Err(IntegrityError::Missing { .. })));
    }
}
