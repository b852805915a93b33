//! Running checks outside `cargo test`: the CLI's `run`. Each check runs on the image its suite is
//! about, two at a time, and its outcome is kept with its duration for the reports.

use std::time::{Duration, Instant};

use bollard::Docker;
use coditect_harness::images::{Image, ImageRef, ImageSet};

use crate::catalog::{Check, Suite};
use crate::verdict::{Failure, Verdict};
use crate::{claude_code, example, hardening, heartbeat, license_validation, protection_model, signature_verification};

/// A check's outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The check.
    pub check: &'static Check,
    /// The image it ran on.
    pub image: ImageRef,
    /// What it concluded.
    pub verdict: Verdict,
    /// How long it took.
    pub took: Duration,
}

/// The image a check runs on.
pub fn image_for(check: &Check) -> Image {
    match check.suite {
        Suite::ProtectionModel | Suite::ClaudeCode => Image::Base,
        Suite::LicenseValidation => license_validation::image_for(check.id),
        Suite::Hardening => hardening::image_for(check.id),
        Suite::Heartbeat | Suite::SignatureVerification => Image::Docker,
        Suite::Example if check.id == "EX-01" => Image::Base,
        Suite::Example => Image::Docker,
    }
}

/// Runs one check on `image`.
pub async fn run_check(check: &Check, docker: &Docker, image: &str) -> Verdict {
    let verdict = match check.suite {
        Suite::ProtectionModel => protection_model::run(check.id, docker, image).await,
        Suite::ClaudeCode => claude_code::run(check.id, docker, image).await,
        Suite::LicenseValidation => license_validation::run(check.id, docker, image).await,
        Suite::Heartbeat => heartbeat::run(check.id, docker, image).await,
        Suite::SignatureVerification => signature_verification::run(check.id, docker, image).await,
        Suite::Hardening => hardening::run(check.id, docker, image).await,
        Suite::Example => Some(match check.id {
            "EX-01" => example::ex_01(docker, image).await,
            "EX-02" => example::ex_02(docker, image).await,
            _ => example::ex_03(docker, image).await,
        }),
    };
    verdict.unwrap_or_else(|| {
        Err(Failure {
            expected: format!("{} to be implemented", check.id),
            found: "no such check".into(),
            place: image.into(),
        })
    })
}

/// Held for writing by a timing check, for reading by every other one.
static ALONE: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Runs `checks` on `images`; `progress` hears each outcome as it comes. Checks that only `docker exec`
/// into the shared container of their image (the protection model and Claude Code suites) run first,
/// four at a time: the engine's exec latency bounds them, not the CPU. The others, which start
/// containers of their own, then run two at a time, a timing check alone.
pub async fn run_all(
    docker: &Docker,
    images: &ImageSet,
    checks: &[&'static Check],
    mut progress: impl FnMut(&Outcome),
) -> Vec<Outcome> {
    let (exec_only, starting): (Vec<&'static Check>, Vec<&'static Check>) = checks
        .iter()
        .partition(|c| matches!(c.suite, Suite::ProtectionModel | Suite::ClaudeCode));
    let mut outcomes = run_some(docker, images, &exec_only, 4, &mut progress).await;
    outcomes.extend(run_some(docker, images, &starting, 2, &mut progress).await);
    outcomes.sort_by_key(|o| (o.check.suite, o.check.id));
    outcomes
}

/// Runs `checks`, `slots` at a time, a timing check alone.
async fn run_some(
    docker: &Docker,
    images: &ImageSet,
    checks: &[&'static Check],
    slots: usize,
    progress: &mut impl FnMut(&Outcome),
) -> Vec<Outcome> {
    use futures_util::StreamExt as _;
    futures_util::stream::iter(checks.iter().copied())
        .map(|check| async move {
            let image = images.get(image_for(check)).cloned().unwrap_or_else(|| ImageRef {
                image: image_for(check),
                reference: image_for(check).tag(),
                id: String::new(),
                origin: coditect_harness::images::Origin::Override { var: "none" },
            });
            // A timing check runs alone; the others share the slots.
            let (_alone, _shared) = if heartbeat::TIMED.contains(&check.id) {
                (Some(ALONE.write().await), None)
            } else {
                (None, Some(ALONE.read().await))
            };
            let started = Instant::now();
            let verdict = run_check(check, docker, &image.reference).await;
            Outcome {
                check,
                image,
                verdict,
                took: started.elapsed(),
            }
        })
        .buffer_unordered(slots)
        .inspect(|outcome| progress(outcome))
        .collect()
        .await
}
