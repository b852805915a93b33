//! `coditect-entrypoint welcome`: the banner a login shell prints.

use std::path::Path;

use crate::state::{self, Status};

/// The banner for the framework in `framework_dir` and the session state in `state_dir`.
pub fn banner(framework_dir: &Path, state_dir: &Path) -> String {
    let version = std::fs::read_to_string(framework_dir.join("VERSION"))
        .map_or_else(|_| "unknown (VERSION unreadable)".to_owned(), |v| v.trim().to_owned());
    let license = match state::read(state_dir) {
        Ok(s) if s.status == Status::Ended => format!("session {} has ended", s.session),
        Ok(s) => format!(
            "{} for {}, expires {}, session {} ({}, heartbeat every {} s)",
            if state::is_healthy(&s, state::now_unix()) {
                "active"
            } else {
                "degraded"
            },
            s.customer,
            s.expires_at,
            s.session,
            s.container_type,
            s.heartbeat_interval
        ),
        Err(_) => "no active session".to_owned(),
    };
    format!(
        "CODITECT framework {version}\n  framework: {} (read-only, also at ~/.coditect)\n  license:   {license}\n  workspace: /workspace\n",
        framework_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banner_without_a_session_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("VERSION"), "2.3.1\n").expect("write");
        let text = banner(dir.path(), dir.path());
        assert!(text.contains("CODITECT framework 2.3.1"), "{text}");
        assert!(text.contains("no active session"), "{text}");
    }
}
