//! The Docker engine: one connection, checked once, with an error that says how to get one.

use std::time::Duration;

use bollard::Docker;

use crate::error::{HarnessError, Result};

/// The oldest engine API the harness uses (Docker Engine 20.10).
pub const MIN_API: &str = "1.41";

/// Where the engine is expected: `DOCKER_HOST`, or the default local socket.
pub fn host() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_owned())
}

/// Connects (honouring `DOCKER_HOST`) and checks that the engine answers and is recent enough; the
/// first connection of a process prints the engine's version and API on stderr.
pub async fn connect() -> Result<Docker> {
    connect_to(&host()).await
}

/// Connects to the engine at `host` (`unix://…`, `tcp://…` or `http://…`) and checks it.
pub async fn connect_to(host: &str) -> Result<Docker> {
    let unreachable = |detail: String| HarnessError::EngineUnreachable {
        host: host.to_owned(),
        detail,
    };
    let docker = match host.strip_prefix("unix://") {
        Some(socket) => Docker::connect_with_socket(socket, 120, bollard::API_DEFAULT_VERSION),
        None => Docker::connect_with_http(host, 120, bollard::API_DEFAULT_VERSION),
    }
    .map_err(|e| unreachable(e.to_string()))?;
    let version = tokio::time::timeout(Duration::from_secs(15), docker.version())
        .await
        .map_err(|_| unreachable("no answer within 15 s".to_owned()))?
        .map_err(|e| unreachable(e.to_string()))?;
    let api = version.api_version.clone().unwrap_or_default();
    if !api_at_least(&api, MIN_API) {
        return Err(HarnessError::EngineTooOld {
            host: host.to_owned(),
            found: api,
            wanted: MIN_API,
        });
    }
    Ok(docker)
}

/// Compares dotted API versions numerically (`1.41` < `1.9` is false).
pub fn api_at_least(found: &str, wanted: &str) -> bool {
    let parse = |v: &str| v.split('.').map(|p| p.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    parse(found) >= parse(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_engine_is_one_error_naming_the_host_and_the_remedy() {
        let error = connect_to("unix:///nonexistent/docker.sock")
            .await
            .expect_err("no engine there");
        let text = error.to_string();
        assert!(matches!(error, HarnessError::EngineUnreachable { .. }), "{text}");
        assert!(
            text.contains("unix:///nonexistent/docker.sock") && text.contains("DOCKER_HOST"),
            "{text}"
        );
    }

    #[test]
    fn api_versions_compare_as_numbers() {
        assert!(api_at_least("1.41", "1.41"));
        assert!(api_at_least("1.50", "1.41"));
        assert!(!api_at_least("1.40", "1.41"));
        assert!(!api_at_least("1.9", "1.41"));
        assert!(!api_at_least("", "1.41"));
    }
}
