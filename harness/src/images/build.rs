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
    // The engine's `labels` option makes one LABEL step per label, each a commit of the whole image
    // (about 3 s here on fuse-overlayfs); one LABEL instruction appended to the Dockerfile is one step.
    let mut context = request.context.clone();
    let dockerfile = context.read("Dockerfile")?.ok_or_else(|| HarnessError::BuildFailed {
        image: tag.to_owned(),
        message: "the build context holds no Dockerfile".to_owned(),
    })?;
    context.add_bytes("Dockerfile", with_labels(dockerfile, &labels), 0o644);
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(tag.to_owned()),
        rm: true,
        forcerm: true,
        buildargs: Some(request.args.clone().into_iter().collect()),
        ..Default::default()
    };
    let tar = context.tar()?;
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

/// `dockerfile` with one `LABEL` instruction for every label appended (sorted, so equal labels give equal
/// bytes), each key and value double-quoted with `\`, `"` and `$` escaped and line breaks made spaces.
fn with_labels(mut dockerfile: Vec<u8>, labels: &HashMap<String, String>) -> Vec<u8> {
    if labels.is_empty() {
        return dockerfile;
    }
    let quote = |s: &str| {
        let mut quoted = String::with_capacity(s.len() + 2);
        quoted.push('"');
        for c in s.chars() {
            match c {
                '\\' | '"' | '$' => {
                    quoted.push('\\');
                    quoted.push(c);
                }
                '\n' | '\r' => quoted.push(' '),
                c => quoted.push(c),
            }
        }
        quoted.push('"');
        quoted
    };
    let sorted: BTreeMap<&String, &String> = labels.iter().collect();
    let pairs: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
        .collect();
    if !dockerfile.ends_with(b"\n") {
        dockerfile.push(b'\n');
    }
    dockerfile.extend_from_slice(format!("LABEL {}\n", pairs.join(" \\\n      ")).as_bytes());
    dockerfile
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_become_one_instruction_sorted_and_quoted() {
        let labels = HashMap::from([
            ("b.version".to_owned(), "1.0.0".to_owned()),
            ("a.note".to_owned(), "say \"hi\" to $USER\\".to_owned()),
        ]);
        let out = String::from_utf8(with_labels(b"FROM x".to_vec(), &labels)).expect("utf-8");
        assert_eq!(
            out,
            "FROM x\nLABEL \"a.note\"=\"say \\\"hi\\\" to \\$USER\\\\\" \\\n      \"b.version\"=\"1.0.0\"\n"
        );
        assert_eq!(out.matches("LABEL").count(), 1);
    }

    #[test]
    fn no_labels_leave_the_dockerfile_alone() {
        assert_eq!(with_labels(b"FROM x\n".to_vec(), &HashMap::new()), b"FROM x\n");
    }
}
