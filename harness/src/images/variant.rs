//! Deliberately broken variants of an image, for negative controls: `FROM` the image under test plus a
//! few Dockerfile lines (and files for them to `COPY`), tagged `coditect-variant:<name>` and skipped when
//! unchanged like any build.

use bollard::Docker;

use super::build::{self, Request};
use crate::error::Result;

/// Builds `FROM {from}` followed by `lines` as `coditect-variant:{name}`; returns the tag.
pub async fn variant(docker: &Docker, from: &str, name: &str, lines: &str) -> Result<String> {
    variant_with_files(docker, from, name, lines, &[]).await
}

/// Like [`variant`], with extra files in the build context (e.g. a fake entrypoint to `COPY`).
pub async fn variant_with_files(
    docker: &Docker,
    from: &str,
    name: &str,
    lines: &str,
    files: &[(&str, &[u8])],
) -> Result<String> {
    let from_id = docker
        .inspect_image(from)
        .await
        .ok()
        .and_then(|i| i.id)
        .unwrap_or_default();
    let mut request = Request::default();
    request
        .context
        .add_bytes("Dockerfile", format!("FROM {from}\n{lines}\n").into_bytes(), 0o644);
    for (path, bytes) in files {
        request.context.add_bytes(path, bytes.to_vec(), 0o755);
    }
    request.args.insert("FROM_ID".into(), from_id);
    let tag = format!("coditect-variant:{name}");
    build::build(docker, &tag, &request).await?;
    Ok(tag)
}
