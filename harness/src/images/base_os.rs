//! The Debian bookworm base of every image: pulled when a registry answers, else bootstrapped here from
//! Debian's archive (debootstrap, minbase) and imported under this project's own name — never as an
//! official image.

use std::path::Path;

use bollard::Docker;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt as _;

use crate::error::{HarnessError, Result};

/// The upstream image tried first.
pub const UPSTREAM: &str = "debian:bookworm-slim";
/// The repository of the locally bootstrapped base.
pub const LOCAL_REPO: &str = "coditect-os/debian";
/// Its tag.
pub const LOCAL_TAG: &str = "bookworm-minbase";
/// The mirror debootstrap uses unless `CODITECT_DEBIAN_MIRROR` says otherwise (plain http: apt's own
/// signatures are the trust anchor, so no TLS-intercepting gateway's CA is needed).
pub const MIRROR: &str = "http://deb.debian.org/debian";

/// The base OS reference to build on: `CODITECT_BASE_OS` if set, a local bootstrap if present, the
/// upstream image if present or pullable, else a fresh bootstrap.
pub async fn ensure(docker: &Docker, work: &Path) -> Result<String> {
    let local = format!("{LOCAL_REPO}:{LOCAL_TAG}");
    if let Ok(named) = std::env::var("CODITECT_BASE_OS") {
        return present_or_pulled(docker, &named)
            .await
            .map(|()| named.clone())
            .map_err(|detail| HarnessError::ImageMissing {
                reference: named,
                origin: "CODITECT_BASE_OS".into(),
                detail,
            });
    }
    if docker.inspect_image(&local).await.is_ok() {
        return Ok(local);
    }
    match present_or_pulled(docker, UPSTREAM).await {
        Ok(()) => Ok(UPSTREAM.to_owned()),
        Err(detail) => {
            crate::progress!(
                "[base-os] {UPSTREAM} is not available ({detail}); bootstrapping Debian bookworm from Debian's archive"
            );
            bootstrap(docker, work).await?;
            Ok(local)
        }
    }
}

async fn present_or_pulled(docker: &Docker, reference: &str) -> std::result::Result<(), String> {
    if docker.inspect_image(reference).await.is_ok() {
        return Ok(());
    }
    let options = CreateImageOptions {
        from_image: Some(reference.to_owned()),
        ..Default::default()
    };
    let mut pull = docker.create_image(Some(options), None, None);
    while let Some(item) = pull.next().await {
        item.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// debootstrap (minbase) into `work`, then import the tree as `coditect-os/debian:bookworm-minbase`.
pub async fn bootstrap(docker: &Docker, work: &Path) -> Result<()> {
    let tool = |detail: String| HarnessError::Tool {
        tool: "debootstrap".into(),
        detail,
    };
    if !nix_is_root() {
        return Err(tool(
            "it needs root to build the base OS; run as root, or set CODITECT_BASE_OS to a Debian bookworm image"
                .into(),
        ));
    }
    let rootfs = work.join("bookworm-rootfs");
    if rootfs.exists() {
        std::fs::remove_dir_all(&rootfs).map_err(HarnessError::io("remove", &rootfs))?;
    }
    std::fs::create_dir_all(work).map_err(HarnessError::io("create", work))?;
    let mirror = std::env::var("CODITECT_DEBIAN_MIRROR").unwrap_or_else(|_| MIRROR.to_owned());
    let started = std::time::Instant::now();
    let status = tokio::process::Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&rootfs)
        .arg(&mirror)
        .stdout(std::process::Stdio::null())
        .status()
        .await
        .map_err(|e| tool(format!("{e}; install it (Debian: apt-get install debootstrap)")))?;
    if !status.success() {
        return Err(tool(format!(
            "exited with {status} for {mirror}; see its log in {}/debootstrap/debootstrap.log",
            rootfs.display()
        )));
    }
    // Security updates and point releases reach images built on this base, as they do on the official one.
    let sources = format!(
        "deb {mirror} bookworm main\ndeb {mirror} bookworm-updates main\ndeb {} bookworm-security main\n",
        mirror.replace("/debian", "/debian-security")
    );
    std::fs::write(rootfs.join("etc/apt/sources.list"), sources).map_err(HarnessError::io("write", &rootfs))?;
    for dir in ["var/cache/apt/archives", "var/lib/apt/lists"] {
        clear_files(&rootfs.join(dir))?;
    }
    let tar = tokio::process::Command::new("tar")
        .args(["--numeric-owner", "-C"])
        .arg(&rootfs)
        .args(["-cf", "-", "."])
        .output()
        .await
        .map_err(|e| HarnessError::Tool {
            tool: "tar".into(),
            detail: e.to_string(),
        })?;
    if !tar.status.success() {
        return Err(HarnessError::Tool {
            tool: "tar".into(),
            detail: String::from_utf8_lossy(&tar.stderr).into_owned(),
        });
    }
    let options = CreateImageOptions {
        from_src: Some("-".into()),
        repo: Some(LOCAL_REPO.into()),
        tag: Some(LOCAL_TAG.into()),
        message: Some(format!("debootstrap --variant=minbase bookworm {mirror}")),
        ..Default::default()
    };
    let mut import = docker.create_image(Some(options), Some(bollard::body_full(tar.stdout.into())), None);
    while let Some(item) = import.next().await {
        item.map_err(HarnessError::docker(format!(
            "import the bootstrapped base as {LOCAL_REPO}:{LOCAL_TAG}"
        )))?;
    }
    std::fs::remove_dir_all(&rootfs).map_err(HarnessError::io("remove", &rootfs))?;
    crate::progress!(
        "[base-os] {LOCAL_REPO}:{LOCAL_TAG} bootstrapped and imported in {:.1?}",
        started.elapsed()
    );
    Ok(())
}

fn clear_files(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(entry.path()).map_err(HarnessError::io("remove", entry.path()))?;
        }
    }
    Ok(())
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
