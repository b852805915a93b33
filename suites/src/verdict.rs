//! What a check concludes: passed, or what was expected, what was found, and where.

use crate::catalog::Check;

/// Why a check failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What the requirement demands.
    pub expected: String,
    /// What the image did.
    pub found: String,
    /// The image (or path) it was found on.
    pub place: String,
}

/// A check's outcome; errors of the harness itself (no engine, no image) are failures too, never passes.
pub type Verdict = Result<(), Failure>;

/// Passes when `ok`, else fails with the three parts.
pub fn expect(ok: bool, expected: impl Into<String>, found: impl Into<String>, place: impl Into<String>) -> Verdict {
    if ok {
        Ok(())
    } else {
        Err(Failure {
            expected: expected.into(),
            found: found.into(),
            place: place.into(),
        })
    }
}

/// A harness error as a failure of the check that hit it.
pub fn harness(error: coditect_harness::HarnessError, place: &str) -> Failure {
    Failure {
        expected: "the harness to reach the image".into(),
        found: format!("failed to {error}"),
        place: place.into(),
    }
}

/// Panics with the auditor's message unless `verdict` passed: how `cargo test` reports a check.
pub fn assert_passes(check: &Check, verdict: Verdict) {
    if let Err(f) = verdict {
        panic!("{}", check.failure(&f.expected, &f.found, &f.place));
    }
}

/// Panics unless `verdict` failed: how a negative control proves that its check can fail.
pub fn assert_fails(check: &Check, verdict: Verdict) {
    assert!(
        verdict.is_err(),
        "{} passed on a deliberately broken variant: the check cannot fail",
        check.id
    );
}
