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

/// Removes every `coditect-variant:*` image and the dangling images multi-stage builds leave behind (the
/// engine-wide `docker image prune`); returns how many variants went and the bytes reclaimed.
pub async fn clean(docker: &Docker) -> Result<(usize, u64)> {
    use bollard::query_parameters::{ListImagesOptions, PruneImagesOptions, RemoveImageOptions};
    let filters = std::collections::HashMap::from([("reference".to_owned(), vec!["coditect-variant".to_owned()])]);
    let listed = docker
        .list_images(Some(ListImagesOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .map_err(crate::HarnessError::docker("list the variant images"))?;
    let mut removed = 0;
    for image in listed {
        for tag in image.repo_tags {
            let options = RemoveImageOptions {
                force: true,
                ..Default::default()
            };
            docker
                .remove_image(&tag, Some(options), None)
                .await
                .map_err(crate::HarnessError::docker(format!("remove {tag}")))?;
            removed += 1;
        }
    }
    let dangling = std::collections::HashMap::from([("dangling".to_owned(), vec!["true".to_owned()])]);
    let pruned = docker
        .prune_images(Some(PruneImagesOptions {
            filters: Some(dangling),
        }))
        .await
        .map_err(crate::HarnessError::docker("prune dangling images"))?;
    Ok((removed, u64::try_from(pruned.space_reclaimed.unwrap_or(0)).unwrap_or(0)))
}
