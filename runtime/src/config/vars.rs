//! Every environment variable the entrypoint reads, declared once: name, default, what is accepted, why.
//!
//! The first seven are fixed by the license API contract; the others tune time-outs, paths and logs.

/// One environment variable of the entrypoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Var {
    /// The variable's name.
    pub name: &'static str,
    /// The value used when the variable is unset, as a user would write it (`None`: no default).
    pub default: Option<&'static str>,
    /// What is accepted, phrased to follow "expected".
    pub accepted: &'static str,
    /// What the variable is for.
    pub doc: &'static str,
}

/// The customer's license key (docker images only).
pub const LICENSE_KEY: Var = Var {
    name: "CODITECT_LICENSE_KEY",
    default: None,
    accepted: "16-128 printable ASCII characters without whitespace",
    doc: "The customer's license key; required in docker containers, never printed.",
};
/// Where the license API lives.
pub const API_URL: Var = Var {
    name: "CODITECT_API_URL",
    default: Some("https://api.coditect.ai"),
    accepted: "an absolute https:// URL (http:// only for loopback hosts or with CODITECT_ALLOW_INSECURE_API=1)",
    doc: "Base URL of the license API.",
};
/// Opt-in to plain HTTP towards a non-loopback API (containers under test reach a mock on the host).
pub const ALLOW_INSECURE_API: Var = Var {
    name: "CODITECT_ALLOW_INSECURE_API",
    default: Some("0"),
    accepted: "0 or 1",
    doc: "1 lets CODITECT_API_URL use http:// towards a non-loopback host (test rigs only).",
};
/// The configured heartbeat interval.
pub const HEARTBEAT_INTERVAL: Var = Var {
    name: "CODITECT_HEARTBEAT_INTERVAL",
    default: Some("300"),
    accepted: "whole seconds from 1 to 86400",
    doc: "Seconds between heartbeats; a shorter interval from the license API wins.",
};
/// docker or workstation.
pub const CONTAINER_TYPE: Var = Var {
    name: "CODITECT_CONTAINER_TYPE",
    default: None,
    accepted: "docker or workstation",
    doc: "Which license flow to use; detected when unset (workstation when GCE_METADATA_HOST is set and no key is).",
};
/// How many failed heartbeat intervals in a row are tolerated.
pub const OFFLINE_GRACE: Var = Var {
    name: "CODITECT_OFFLINE_GRACE",
    default: Some("3"),
    accepted: "a whole number from 0 to 1000",
    doc: "Consecutive failed heartbeat intervals tolerated before the session ends.",
};
/// The GCP metadata server.
pub const METADATA_HOST: Var = Var {
    name: "GCE_METADATA_HOST",
    default: Some("metadata.google.internal"),
    accepted: "host[:port] without scheme or path",
    doc: "The GCP metadata server (workstation only).",
};
/// The workstation user's e-mail.
pub const USER_EMAIL: Var = Var {
    name: "CODITECT_USER_EMAIL",
    default: None,
    accepted: "an e-mail address (local@domain, no whitespace)",
    doc: "The workstation user's e-mail; else the service account's e-mail from the metadata server.",
};
/// Per-request time-out.
pub const API_TIMEOUT: Var = Var {
    name: "CODITECT_API_TIMEOUT",
    default: Some("10s"),
    accepted: "a duration from 100ms to 300s (`10`, `10s`, `500ms`)",
    doc: "Time-out of one request to the license API or the metadata server.",
};
/// Deadline of the start-up validation, retries included.
pub const API_DEADLINE: Var = Var {
    name: "CODITECT_API_DEADLINE",
    default: Some("60s"),
    accepted: "a duration from 1s to 3600s",
    doc: "How long the start-up license check keeps retrying before it gives up (exit 69).",
};
/// Time between SIGTERM and SIGKILL when the entrypoint stops its processes.
pub const STOP_GRACE: Var = Var {
    name: "CODITECT_STOP_GRACE",
    default: Some("5s"),
    accepted: "a duration from 0s to 60s",
    doc: "Grace between SIGTERM and SIGKILL when processes are stopped; keep it under Docker's 10 s stop time-out.",
};
/// Bound of the session-end request.
pub const END_TIMEOUT: Var = Var {
    name: "CODITECT_END_TIMEOUT",
    default: Some("2s"),
    accepted: "a duration from 100ms to 10s",
    doc: "Upper bound of the best-effort session-end request.",
};
/// The protected framework tree.
pub const FRAMEWORK_DIR: Var = Var {
    name: "CODITECT_FRAMEWORK_DIR",
    default: Some("/opt/coditect"),
    accepted: "an absolute path to a directory",
    doc: "The framework tree whose manifest is checked at start.",
};
/// Where the live session's state is kept for `healthcheck` and `welcome`.
pub const STATE_DIR: Var = Var {
    name: "CODITECT_STATE_DIR",
    default: Some("/run/coditect"),
    accepted: "an absolute path",
    doc: "Directory of the session state file read by `healthcheck` and `welcome`.",
};
/// The image version sent with the validation.
pub const IMAGE_VERSION: Var = Var {
    name: "CODITECT_IMAGE_VERSION",
    default: Some(env!("CARGO_PKG_VERSION")),
    accepted: "1-64 characters of [0-9A-Za-z.+-]",
    doc: "The image's version, set by the image build.",
};
/// The user the command runs as, when the entrypoint starts as root.
pub const RUN_AS: Var = Var {
    name: "CODITECT_RUN_AS",
    default: None,
    accepted: "the name of a user in /etc/passwd (the entrypoint must then run as root)",
    doc: "Become this user right after reading the configuration (the entrypoint and the command alike), having handed it its home and the state directory; then wire the home from CODITECT_HOME_SKEL as that user (workstation images). Needs CAP_CHOWN, CAP_SETUID and CAP_SETGID, and keeps none.",
};
/// The skeleton of a user's home wiring.
pub const HOME_SKEL: Var = Var {
    name: "CODITECT_HOME_SKEL",
    default: Some("/etc/coditect/skel"),
    accepted: "an absolute path",
    doc: "Links and files recreated in CODITECT_RUN_AS's home at start when missing (~/.coditect, ~/.claude).",
};
/// Log format.
pub const LOG_FORMAT: Var = Var {
    name: "CODITECT_LOG_FORMAT",
    default: Some("human"),
    accepted: "human or json",
    doc: "One line per event on stderr, for people or for log collectors.",
};

/// All variables, in the order the documentation lists them.
pub const ALL: &[Var] = &[
    LICENSE_KEY,
    API_URL,
    ALLOW_INSECURE_API,
    HEARTBEAT_INTERVAL,
    CONTAINER_TYPE,
    OFFLINE_GRACE,
    METADATA_HOST,
    USER_EMAIL,
    API_TIMEOUT,
    API_DEADLINE,
    STOP_GRACE,
    END_TIMEOUT,
    FRAMEWORK_DIR,
    STATE_DIR,
    IMAGE_VERSION,
    RUN_AS,
    HOME_SKEL,
    LOG_FORMAT,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_is_listed_once() {
        let mut names: Vec<_> = ALL.iter().map(|v| v.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn the_runtime_doc_lists_every_variable() {
        let doc = include_str!("../../../docs/runtime.md");
        for var in ALL {
            assert!(
                doc.contains(&format!("| `{}` |", var.name)),
                "docs/runtime.md does not list {}",
                var.name
            );
        }
    }

    #[test]
    fn contract_defaults_are_the_documented_ones() {
        assert_eq!(API_URL.default, Some("https://api.coditect.ai"));
        assert_eq!(HEARTBEAT_INTERVAL.default, Some("300"));
        assert_eq!(OFFLINE_GRACE.default, Some("3"));
        assert_eq!(METADATA_HOST.default, Some("metadata.google.internal"));
    }
}
