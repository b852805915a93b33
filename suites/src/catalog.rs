//! One catalog of checks, declared once and read by `cargo test`, the CLI, the reports and `docs/checks.md`.

use std::fmt::Write as _;

/// A suite of checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suite {
    /// ADR-193 `test_protection_model.sh`: 25 checks.
    ProtectionModel,
    /// ADR-193 `test_claude_code.sh`: 28 checks.
    ClaudeCode,
    /// ADR-193 `test_license_validation.sh`: 13 checks.
    LicenseValidation,
    /// ADR-193 `test_heartbeat.sh`: 17 checks.
    Heartbeat,
    /// ADR-193 `test_signature_verification.sh`: 10 checks.
    SignatureVerification,
    /// Hardening beyond ADR-193 (counted apart from its 93).
    Hardening,
    /// The harness's example suite: the style every suite follows.
    Example,
}

impl Suite {
    /// The suite's name, as reports name their files.
    pub fn name(self) -> &'static str {
        match self {
            Self::ProtectionModel => "protection_model",
            Self::ClaudeCode => "claude_code",
            Self::LicenseValidation => "license_validation",
            Self::Heartbeat => "heartbeat",
            Self::SignatureVerification => "signature_verification",
            Self::Hardening => "hardening",
            Self::Example => "example",
        }
    }

    /// What the suite proves, in one line.
    pub fn about(self) -> &'static str {
        match self {
            Self::ProtectionModel => {
                "the framework tree is root's and read-only in every entry, the developer cannot raise privileges, \
                 and every tamper attempt fails leaving the manifest digests unchanged"
            }
            Self::ClaudeCode => {
                "the developer has the pinned tools, a home and a workspace, reads the whole framework through \
                 ~/.coditect, Claude Code finds it from ~/.claude, and its scripts run without writing into the tree"
            }
            Self::LicenseValidation => {
                "the licensed images start only on a valid answer, send the request the contract fixes, stop on every \
                 refusal with its own code and message, retry what is transient, never show the key, and authenticate \
                 workstations with the metadata server's token, one session per user"
            }
            Self::Heartbeat => {
                "beats start only after a valid answer, come one interval apart without drift, carry the session and a \
                 rising sequence, survive transient failures within the grace, and the session ends on revocation, past \
                 the grace, on stop and on the command's exit"
            }
            Self::SignatureVerification => {
                "the licensed image, signed by digest in cosign's format with a P-384 key in a real OCI registry, \
                 verifies; unsigned images, other keys, moved tags, corrupted signatures and payloads, payloads for \
                 other images and rollbacks are each rejected for their own reason"
            }
            Self::Hardening => {
                "beyond ADR-193: the signed manifest stops derived images and swapped volumes, the key is in no layer \
                 and out of the developer's reach, the entrypoint cannot be traced, the images run without \
                 capabilities (the workstation's with three, kept by no process), and CIS Docker Benchmark section 4 holds"
            }
            Self::Example => {
                "a short tour of the harness: the framework is readable, a valid license runs, an expired one stops"
            }
        }
    }
}

/// One check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    /// Stable ID, e.g. `PM-01`.
    pub id: &'static str,
    /// Its suite.
    pub suite: Suite,
    /// What it checks, in one line.
    pub title: &'static str,
    /// The requirement it proves, with its source.
    pub requirement: &'static str,
}

impl Check {
    /// A failure message for an auditor: the check, what was expected, what was found, and where.
    pub fn failure(&self, expected: impl std::fmt::Display, found: impl std::fmt::Display, place: &str) -> String {
        format!(
            "{} {}\n  expected: {expected}\n  found:    {found}\n  where:    {place}\n  requirement: {}",
            self.id, self.title, self.requirement
        )
    }
}

/// Every check of every suite, in suite and ID order.
pub fn all() -> Vec<&'static Check> {
    let mut checks: Vec<&'static Check> = crate::protection_model::CHECKS
        .iter()
        .chain(crate::claude_code::CHECKS)
        .chain(crate::license_validation::CHECKS)
        .chain(crate::heartbeat::CHECKS)
        .chain(crate::signature_verification::CHECKS)
        .chain(crate::hardening::CHECKS)
        .chain(crate::example::CHECKS)
        .collect();
    checks.sort_by_key(|c| (c.suite, c.id));
    checks
}

/// The check with this ID; panics naming it when there is none (a typo in a test is a defect).
pub fn check(id: &str) -> &'static Check {
    all()
        .into_iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no check {id} in the catalog"))
}

/// `docs/checks.md`, rendered from the catalog.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Conformance checks\n\nGenerated from `suites/src/catalog.rs` and the suites' declarations; do not edit by hand\n(`UPDATE_DOCS=1 cargo test -p coditect-suites --test catalog` rewrites it).\n",
    );
    let checks = all();
    let mut suites: Vec<Suite> = checks.iter().map(|c| c.suite).collect();
    suites.dedup();
    for suite in suites {
        let of_suite: Vec<_> = checks.iter().filter(|c| c.suite == suite).collect();
        let _ = write!(
            out,
            "\n## {} ({} checks)\n\n{}\n\n| ID | check | requirement |\n|---|---|---|\n",
            suite.name(),
            of_suite.len(),
            suite.about()
        );
        for check in of_suite {
            let _ = writeln!(out, "| {} | {} | {} |", check.id, check.title, check.requirement);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adr_suites_keep_their_counts() {
        let count = |suite| all().iter().filter(|c| c.suite == suite).count();
        assert_eq!(count(Suite::ProtectionModel), 25);
        assert_eq!(count(Suite::ClaudeCode), 28);
        assert_eq!(count(Suite::LicenseValidation), 13);
        assert_eq!(count(Suite::Heartbeat), 17);
        assert_eq!(count(Suite::SignatureVerification), 10);
    }

    #[test]
    fn ids_are_unique_and_follow_their_suites_prefix() {
        let checks = all();
        let mut ids: Vec<_> = checks.iter().map(|c| c.id).collect();
        ids.dedup();
        assert_eq!(ids.len(), checks.len(), "duplicate check IDs");
        for c in checks {
            let (prefix, number) = c.id.split_once('-').expect("ID shaped XX-NN");
            assert!(
                prefix.len() == 2 && number.len() == 2 && number.parse::<u32>().is_ok(),
                "{}",
                c.id
            );
        }
    }
}
