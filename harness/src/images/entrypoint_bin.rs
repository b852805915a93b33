//! The `coditect-entrypoint` binary the images carry, built in release mode from this workspace.

use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// Builds the release binary in its own target folder (so a build from inside `cargo test` never waits
/// on the outer cargo's lock) and returns its path. The host is Debian bookworm like the images, so the
/// binary links against the same glibc; the base Dockerfile runs it once to prove that.
pub async fn build(root: &Path) -> Result<PathBuf> {
    let target = root.join("target/image-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("[coditect-entrypoint] cargo build --release (target/image-build)");
    let status = tokio::process::Command::new(&cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "-p",
            "coditect-runtime",
            "--bin",
            "coditect-entrypoint",
        ])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(root)
        .status()
        .await
        .map_err(|e| HarnessError::Tool {
            tool: cargo.clone(),
            detail: e.to_string(),
        })?;
    if !status.success() {
        return Err(HarnessError::Tool {
            tool: format!("{cargo} build --release -p coditect-runtime"),
            detail: status.to_string(),
        });
    }
    Ok(target.join("release/coditect-entrypoint"))
}
