//! The `coditect-entrypoint` binary the images carry, built in release mode from this workspace.

use std::path::{Path, PathBuf};

use crate::error::{HarnessError, Result};

/// Builds the release binary in its own target folder (so a build from inside `cargo test` never waits
/// on the outer cargo's lock) and returns its path. The host is Debian bookworm like the images, so the
/// binary links against the same glibc; every licensed container the tests start runs it.
/// `manifest_key` (SPKI PEM) is compiled in as the key the framework manifest must be signed with.
pub async fn build(root: &Path, manifest_key: &str) -> Result<PathBuf> {
    let target = root.join("target/image-build");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    crate::progress!("[coditect-entrypoint] cargo build --release (target/image-build)");
    let mut command = tokio::process::Command::new(&cargo);
    command
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
        .env("CODITECT_MANIFEST_PUBLIC_KEY", manifest_key)
        .current_dir(root);
    // Under `cargo test`, cargo sets CARGO_PKG_* and friends for each test binary; build scripts (ring's)
    // would see them change from one test binary to the next and rebuild every time.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy().into_owned();
        let from_outer_cargo = (name.starts_with("CARGO_") && name != "CARGO_HOME") || name.starts_with("__CARGO");
        if from_outer_cargo {
            command.env_remove(&name);
        }
    }
    let status = command.status().await.map_err(|e| HarnessError::Tool {
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
