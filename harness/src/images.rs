//! The project's images, built for real from `images/` on this machine's engine.
//!
//! [`ensure_all`] is what suites call: it substitutes the images named by `CODITECT_IMAGE_*`, and builds
//! the others — entrypoint binary, pinned artifacts, base OS, then base, docker, workstation and local-dev —
//! skipping every image whose inputs have not changed since it was built. One build runs at a time on a
//! machine (a file lock in the temporary directory), so test binaries and checkouts that start together
//! share it.

pub mod artifacts;
pub mod base_os;
pub mod build;
pub mod context;
pub mod entrypoint_bin;
pub mod manifest_key;
pub mod spec;
pub mod variant;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use bollard::Docker;

pub use build::{Built, INPUTS_LABEL};
pub use spec::Image;
pub use variant::{variant, variant_with_files};

use crate::error::{HarnessError, Result};

/// How an image under test was obtained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built here (or found up to date).
    Built {
        /// True when no build work ran.
        skipped: bool,
        /// Time spent.
        elapsed: Duration,
    },
    /// Named by an env variable; nothing was built.
    Override {
        /// The variable.
        var: &'static str,
    },
}

/// An image ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// Which image.
    pub image: Image,
    /// The reference to run (tag or name).
    pub reference: String,
    /// The image ID (`sha256:…`).
    pub id: String,
    /// How it was obtained.
    pub origin: Origin,
}

/// The images under test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageSet {
    /// Every image, base first.
    pub images: Vec<ImageRef>,
}

impl ImageSet {
    /// The image of that kind.
    pub fn get(&self, image: Image) -> Option<&ImageRef> {
        self.images.iter().find(|r| r.image == image)
    }
}

/// The repository's root (where `images/` lives): `CODITECT_REPO_ROOT`, else this workspace.
pub fn repo_root() -> PathBuf {
    std::env::var_os("CODITECT_REPO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .unwrap_or(Path::new("."))
                .to_path_buf()
        })
}

/// The harness's cache: artifacts and the base OS's work folder.
pub fn cache_dir() -> PathBuf {
    repo_root().join("target/coditect-cache")
}

/// Options of a build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// An extra CA bundle for the fetch stage (a TLS-intercepting proxy's); it never reaches a shipped image.
    pub extra_ca: Option<PathBuf>,
    /// Leave artifacts to the fetch stage's own download instead of fetching them on the host.
    pub fetch_in_build: bool,
    /// Build under `repository:VERSION-suffix` instead of the release tags (variants under test).
    pub tag_suffix: Option<String>,
    /// Prebuilt images to test instead of building them, with the variable that named each.
    pub overrides: BTreeMap<Image, (&'static str, String)>,
}

impl BuildOptions {
    /// From `CODITECT_EXTRA_CA` and `CODITECT_FETCH_IN_BUILD=1`.
    pub fn from_env() -> Self {
        Self {
            extra_ca: std::env::var_os("CODITECT_EXTRA_CA").map(PathBuf::from),
            fetch_in_build: std::env::var("CODITECT_FETCH_IN_BUILD").as_deref() == Ok("1"),
            tag_suffix: None,
            overrides: Image::ALL
                .into_iter()
                .filter_map(|image| {
                    let var = image.override_var()?;
                    std::env::var(var)
                        .ok()
                        .filter(|v| !v.is_empty())
                        .map(|reference| (image, (var, reference)))
                })
                .collect(),
        }
    }
}

/// The images under test: overrides as named, the rest built (or found up to date).
pub async fn ensure_all(docker: &Docker, options: &BuildOptions) -> Result<ImageSet> {
    let mut images = Vec::new();
    let mut to_build = Vec::new();
    for image in Image::ALL {
        match options.overrides.get(&image).cloned() {
            Some((var, reference)) => {
                let inspected = docker
                    .inspect_image(&reference)
                    .await
                    .map_err(|e| HarnessError::ImageMissing {
                        reference: reference.clone(),
                        origin: var.to_owned(),
                        detail: e.to_string(),
                    })?;
                images.push(ImageRef {
                    image,
                    reference,
                    id: inspected.id.unwrap_or_default(),
                    origin: Origin::Override { var },
                });
            }
            None => to_build.push(image),
        }
    }
    if !to_build.is_empty() {
        let _lock = build_lock().await?;
        let base_override = images
            .iter()
            .find(|r| r.image == Image::Base)
            .map(|r| (r.reference.clone(), r.id.clone()));
        images.extend(build_images(docker, &to_build, base_override, options).await?);
    }
    images.sort_by_key(|r| r.image);
    Ok(ImageSet { images })
}

/// The build request of `image` as far as it needs no engine: its context (with, for the base, the
/// entrypoint binary, the framework and its manifest, the pinned artifacts and the extra CA), its
/// `VERSION` argument and its labels. `coditect-conformance context` writes it for other builders.
pub async fn assemble(image: Image, options: &BuildOptions) -> Result<build::Request> {
    let root = repo_root();
    let mut request = build::Request {
        args: BTreeMap::from([("VERSION".to_owned(), crate::VERSION.to_owned())]),
        labels: BTreeMap::from([
            ("org.opencontainers.image.version".to_owned(), crate::VERSION.to_owned()),
            (
                "org.opencontainers.image.source".to_owned(),
                env!("CARGO_PKG_REPOSITORY").to_owned(),
            ),
        ]),
        ..Default::default()
    };
    request.context.add_tree("", &root.join("images").join(image.dir()))?;
    if image == Image::Base {
        add_base_inputs(&mut request, &root, &cache_dir(), options).await?;
    }
    Ok(request)
}

/// Builds one image (and nothing it depends on) with `options`, e.g. a base variant under a suffixed tag.
pub async fn build_one(
    docker: &Docker,
    image: Image,
    base: Option<(String, String)>,
    options: &BuildOptions,
) -> Result<ImageRef> {
    let _lock = build_lock().await?;
    let mut built = build_images(docker, &[image], base, options).await?;
    built.pop().ok_or_else(|| HarnessError::BuildFailed {
        image: image.to_string(),
        message: "nothing was built".into(),
    })
}

async fn build_images(
    docker: &Docker,
    which: &[Image],
    base_override: Option<(String, String)>,
    options: &BuildOptions,
) -> Result<Vec<ImageRef>> {
    let root = repo_root();
    let cache = cache_dir();
    let volatile_labels = BTreeMap::from([
        (
            "org.opencontainers.image.created".to_owned(),
            humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
        ),
        (
            "org.opencontainers.image.revision".to_owned(),
            git_revision(&root).await,
        ),
    ]);
    let mut built = Vec::new();
    // Derived images hash their base's ID: an overridden base counts with its own ID.
    let (mut base_ref, mut base_id) = match base_override {
        Some((reference, id)) => (Some(reference), id),
        None => (None, String::new()),
    };
    for &image in which {
        let mut request = assemble(image, options).await?;
        request.volatile_labels = volatile_labels.clone();
        if image == Image::Base {
            let base_os = base_os::ensure(docker, &cache).await?;
            let os_id = docker
                .inspect_image(&base_os)
                .await
                .map_err(HarnessError::docker(format!("inspect {base_os}")))?
                .id;
            request.args.insert("BASE_OS".into(), base_os);
            request.args.insert("BASE_OS_ID".into(), os_id.unwrap_or_default());
        } else {
            let base = base_ref.clone().ok_or_else(|| HarnessError::BuildFailed {
                image: image.to_string(),
                message: "no base image to build on; build coditect-base first or set CODITECT_IMAGE_BASE".into(),
            })?;
            request.args.insert("BASE_IMAGE".into(), base);
            request.args.insert("BASE_IMAGE_ID".into(), base_id.clone());
        }
        let tag = match &options.tag_suffix {
            Some(suffix) => format!("{}-{suffix}", image.tag()),
            None => image.tag(),
        };
        let result = build::build(docker, &tag, &request).await?;
        if image == Image::Base {
            base_ref = Some(tag.clone());
            base_id = result.id.clone();
        }
        built.push(ImageRef {
            image,
            reference: tag,
            id: result.id,
            origin: Origin::Built {
                skipped: result.skipped,
                elapsed: result.elapsed,
            },
        });
    }
    Ok(built)
}

/// The base image's generated inputs, laid out as the Dockerfile copies them: `rootfs/` gains the
/// entrypoint and the framework (files 0444, directories 0555, with its manifest), `home/` is the
/// skeleton again for the developer, `artifacts/` holds the pinned wheels, `extra-ca.pem` the optional CA.
async fn add_base_inputs(
    request: &mut build::Request,
    root: &Path,
    cache: &Path,
    options: &BuildOptions,
) -> Result<()> {
    let context = &mut request.context;
    let manifest_key = manifest_key::load(cache)?;
    let entrypoint = entrypoint_bin::build(root, &manifest_key.public_key().to_pem()).await?;
    for dir in ["rootfs/opt", "rootfs/usr", "rootfs/usr/local", "rootfs/usr/local/bin"] {
        context.add_dir(dir);
    }
    context.add_file("rootfs/usr/local/bin/coditect-entrypoint", &entrypoint, None)?;
    context.set_mode("rootfs/usr/local/bin/coditect-entrypoint", 0o755);
    let framework = root.join("images/framework");
    context.add_dir_mode("rootfs/opt/coditect", 0o555);
    context.add_tree_with_modes("rootfs/opt/coditect", &framework, Some((0o444, 0o555)))?;
    let manifest = coditect_runtime::integrity::manifest(&framework).map_err(|e| HarnessError::BuildFailed {
        image: "coditect-base".into(),
        message: e.to_string(),
    })?;
    let signature = manifest_key::sign(&manifest_key, manifest.as_bytes());
    context.add_bytes("rootfs/opt/coditect/MANIFEST.sha256", manifest.into_bytes(), 0o444);
    context.add_bytes("rootfs/opt/coditect/MANIFEST.sha256.sig", signature, 0o444);
    context.add_tree("home", &root.join("images/base/rootfs/etc/coditect/skel"))?;
    let version_path = framework.join("VERSION");
    let version = std::fs::read_to_string(&version_path).map_err(HarnessError::io("read", &version_path))?;
    request
        .labels
        .insert("ai.coditect.framework.version".into(), version.trim().to_owned());
    let lock_path = root.join("images/base/artifacts.lock");
    let lock = std::fs::read_to_string(&lock_path).map_err(HarnessError::io("read", &lock_path))?;
    let pinned = artifacts::parse_lock(&lock).map_err(|detail| HarnessError::Artifact {
        file: lock_path.display().to_string(),
        detail,
    })?;
    context.add_dir("artifacts");
    if !options.fetch_in_build {
        for artifact in &pinned {
            let path = artifacts::ensure(artifact, &cache.join("artifacts")).await?;
            context.add_file(&format!("artifacts/{}", artifact.file), &path, Some(&artifact.sha256))?;
        }
    }
    match &options.extra_ca {
        Some(ca) => context.add_file("extra-ca.pem", ca, None)?,
        None => context.add_bytes("extra-ca.pem", Vec::new(), 0o644),
    }
    Ok(())
}

async fn git_revision(root: &Path) -> String {
    let out = tokio::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(root)
        .output()
        .await;
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// One build at a time on this machine, whatever the checkout: an exclusive lock on a file in the
/// temporary directory (the tags it builds are machine-wide too).
async fn build_lock() -> Result<std::fs::File> {
    let path = std::env::temp_dir().join("coditect-conformance-build.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(HarnessError::io("open", &path))?;
    tokio::task::spawn_blocking(move || file.lock().map(|()| file))
        .await
        .map_err(|e| HarnessError::Tool {
            tool: "lock".into(),
            detail: e.to_string(),
        })?
        .map_err(HarnessError::io("lock", path))
}
