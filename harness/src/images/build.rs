//! One image build through the engine's API, skipped when its inputs have not changed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt as _;

use super::context::Context;
use crate::error::{HarnessError, Result};

/// The label holding the hash of an image's inputs (Dockerfile, context files, base, build arguments).
pub const INPUTS_LABEL: &str = "ai.coditect.inputs";

/// What a build produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The tag.
    pub tag: String,
    /// The image ID (`sha256:…`).
    pub id: String,
    /// True when the image was up to date and no build ran.
    pub skipped: bool,
    /// Time spent.
    pub elapsed: Duration,
}

/// What to build: the context, its build arguments and its labels.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The files.
    pub context: Context,
    /// Build arguments; they enter the inputs hash.
    pub args: BTreeMap<String, String>,
    /// Labels that enter the inputs hash (version, source).
    pub labels: BTreeMap<String, String>,
    /// Labels that do not (creation time, revision): an image whose inputs did not change keeps the
    /// ones of the build that made it.
    pub volatile_labels: BTreeMap<String, String>,
}

/// Builds `request` as `tag`, unless the image under `tag` already carries the same inputs hash.
pub async fn build(docker: &Docker, tag: &str, request: &Request) -> Result<Built> {
    let started = Instant::now();
    let settings: BTreeMap<String, String> = request
        .args
        .iter()
        .map(|(k, v)| (format!("arg:{k}"), v.clone()))
        .chain(request.labels.iter().map(|(k, v)| (format!("label:{k}"), v.clone())))
        .collect();
    let hash = request.context.inputs_hash(&settings);
    if let Ok(existing) = docker.inspect_image(tag).await {
        let labels = existing.config.as_ref().and_then(|c| c.labels.as_ref());
        if labels.and_then(|l| l.get(INPUTS_LABEL)) == Some(&hash) {
            crate::progress!("[{tag}] up to date (inputs {})", &hash[..12]);
            return Ok(Built {
                tag: tag.to_owned(),
                id: existing.id.unwrap_or_default(),
                skipped: true,
                elapsed: started.elapsed(),
            });
        }
    }
    crate::progress!("[{tag}] building (inputs {})", &hash[..12]);
    let mut labels: HashMap<String, String> = request
        .labels
        .iter()
        .chain(&request.volatile_labels)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    labels.insert(INPUTS_LABEL.to_owned(), hash);
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(tag.to_owned()),
        rm: true,
        forcerm: true,
        buildargs: Some(request.args.clone().into_iter().collect()),
        labels: Some(labels),
        ..Default::default()
    };
    let tar = request.context.tar()?;
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(tar.into())));
    let mut tail: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| HarnessError::BuildFailed {
            image: tag.to_owned(),
            message: format!("{e}; last output:\n{}", tail.join("\n")),
        })?;
        if let Some(text) = info.stream.as_deref() {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                if line.starts_with("Step ") {
                    crate::progress!("[{tag}] {:>6.1}s {line}", started.elapsed().as_secs_f64());
                } else if line.contains("Using cache") {
                    // Which steps a rebuild took from the cache is what tells a payload change's cost.
                    crate::progress!("[{tag}] {:>6.1}s   (from the cache)", started.elapsed().as_secs_f64());
                }
                tail.push(line.to_owned());
                if tail.len() > 30 {
                    tail.remove(0);
                }
            }
        }
        if let Some(error) = info.error_detail.and_then(|d| d.message) {
            return Err(HarnessError::BuildFailed {
                image: tag.to_owned(),
                message: format!("{error}; last output:\n{}", tail.join("\n")),
            });
        }
    }
    let id = docker
        .inspect_image(tag)
        .await
        .map_err(HarnessError::docker(format!("inspect {tag} after its build")))?
        .id
        .unwrap_or_default();
    crate::progress!("[{tag}] built in {:.1?}", started.elapsed());
    Ok(Built {
        tag: tag.to_owned(),
        id,
        skipped: false,
        elapsed: started.elapsed(),
    })
}
