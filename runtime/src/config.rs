//! The entrypoint's configuration: read once from the environment, checked before anything is sent.
//!
//! Every variable is declared in [`vars`]; [`Config::from_lookup`] turns a lookup function into a typed
//! [`Config`] or a [`ConfigError`] that names the variable, the value (a key's value is never shown) and
//! what would be accepted. Tests pass a map instead of the process environment.

pub mod key;
pub mod vars;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Url;

pub use key::LicenseKey;
use vars::Var;

/// Which license flow the container runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerType {
    /// A license key checked against the license API.
    Docker,
    /// A GCP identity token from the metadata server.
    Workstation,
}

impl ContainerType {
    /// The contract's spelling, as sent in `container_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Workstation => "workstation",
        }
    }
}

/// How log lines look on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Human,
    /// One JSON object per event.
    Json,
}

/// The typed configuration of `coditect-entrypoint run`.
#[derive(Debug, Clone)]
pub struct Config {
    /// docker or workstation.
    pub container_type: ContainerType,
    /// The license key (docker only).
    pub license_key: Option<LicenseKey>,
    /// Base URL of the license API, without a trailing slash in its path.
    pub api_url: Url,
    /// The configured heartbeat interval.
    pub heartbeat_interval: Duration,
    /// Consecutive failed heartbeat intervals tolerated.
    pub offline_grace: u32,
    /// host[:port] of the metadata server.
    pub metadata_host: String,
    /// The workstation user's e-mail, when configured.
    pub user_email: Option<String>,
    /// Time-out of one request.
    pub api_timeout: Duration,
    /// Deadline of the start-up validation.
    pub api_deadline: Duration,
    /// Grace between SIGTERM and SIGKILL.
    pub stop_grace: Duration,
    /// Bound of the session-end request.
    pub end_timeout: Duration,
    /// The protected framework tree.
    pub framework_dir: PathBuf,
    /// Where the session state file lives.
    pub state_dir: PathBuf,
    /// The image's version.
    pub image_version: String,
    /// Log format.
    pub log_format: LogFormat,
    /// The user the command runs as, when it is not the entrypoint's own.
    pub run_as: Option<RunAs>,
    /// The home wiring's skeleton.
    pub home_skel: PathBuf,
}

/// A user to run the command as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    /// Login name.
    pub name: String,
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Home directory.
    pub home: PathBuf,
}

/// A configuration value that is missing or not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("read configuration: {var} is not set; expected {accepted}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// What would be accepted.
        accepted: &'static str,
    },
    /// A variable holds a value that is not accepted.
    #[error("read configuration: {var}={shown} is not accepted; expected {accepted}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// The value as it may be shown (quoted, or a description for secrets).
        shown: String,
        /// What would be accepted.
        accepted: &'static str,
    },
    /// The key was set in a workstation container, where a GCP identity is used instead.
    #[error(
        "read configuration: CODITECT_LICENSE_KEY is set but CODITECT_CONTAINER_TYPE=workstation; \
         expected no key in a workstation (it authenticates with the metadata server's identity token)"
    )]
    KeyInWorkstation,
    /// A user to switch to, but no privilege to switch with.
    #[error(
        "read configuration: CODITECT_RUN_AS={user:?} needs the entrypoint to start as root, but it runs as uid {uid}; \
         expected no CODITECT_RUN_AS, or the image's USER root"
    )]
    RunAsNeedsRoot {
        /// The user asked for.
        user: String,
        /// The entrypoint's uid.
        uid: u32,
    },
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var_os(name).map(|v| v.to_string_lossy().into_owned()))
    }

    /// Reads the configuration through `lookup`, which returns a variable's value or `None` when unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &Var| lookup(var.name).filter(|v| !v.is_empty());
        let key_raw = get(&vars::LICENSE_KEY);
        let metadata_set = get(&vars::METADATA_HOST).is_some();
        let container_type = match get(&vars::CONTAINER_TYPE).as_deref() {
            Some("docker") => ContainerType::Docker,
            Some("workstation") => ContainerType::Workstation,
            Some(other) => return Err(invalid(&vars::CONTAINER_TYPE, other)),
            None if key_raw.is_none() && metadata_set => ContainerType::Workstation,
            None => ContainerType::Docker,
        };
        let license_key = match (container_type, key_raw) {
            (ContainerType::Docker, None) => return Err(missing(&vars::LICENSE_KEY)),
            (ContainerType::Docker, Some(raw)) => Some(LicenseKey::parse(&raw).map_err(|p| ConfigError::Invalid {
                var: vars::LICENSE_KEY.name,
                shown: format!("({p})"),
                accepted: vars::LICENSE_KEY.accepted,
            })?),
            (ContainerType::Workstation, Some(_)) => return Err(ConfigError::KeyInWorkstation),
            (ContainerType::Workstation, None) => None,
        };
        let allow_insecure = match get(&vars::ALLOW_INSECURE_API).as_deref() {
            None | Some("0") => false,
            Some("1") => true,
            Some(other) => return Err(invalid(&vars::ALLOW_INSECURE_API, other)),
        };
        let api_url = parse_api_url(&value_or_default(&get, &vars::API_URL), allow_insecure)?;
        let heartbeat_interval = Duration::from_secs(parse_whole(&get, &vars::HEARTBEAT_INTERVAL, 1, 86_400)?);
        let offline_grace = u32::try_from(parse_whole(&get, &vars::OFFLINE_GRACE, 0, 1000)?)
            .map_err(|_| invalid(&vars::OFFLINE_GRACE, "out of range"))?;
        let metadata_host = parse_host_port(&value_or_default(&get, &vars::METADATA_HOST))?;
        let user_email = match get(&vars::USER_EMAIL) {
            None => None,
            Some(email) if is_email(&email) => Some(email),
            Some(other) => return Err(invalid(&vars::USER_EMAIL, &other)),
        };
        let ms = Duration::from_millis;
        let secs = Duration::from_secs;
        Ok(Self {
            container_type,
            license_key,
            api_url,
            heartbeat_interval,
            offline_grace,
            metadata_host,
            user_email,
            api_timeout: parse_duration(&get, &vars::API_TIMEOUT, ms(100), secs(300))?,
            api_deadline: parse_duration(&get, &vars::API_DEADLINE, secs(1), secs(3600))?,
            stop_grace: parse_duration(&get, &vars::STOP_GRACE, secs(0), secs(60))?,
            end_timeout: parse_duration(&get, &vars::END_TIMEOUT, ms(100), secs(10))?,
            framework_dir: parse_abs_path(&get, &vars::FRAMEWORK_DIR)?,
            state_dir: parse_abs_path(&get, &vars::STATE_DIR)?,
            image_version: parse_version(&value_or_default(&get, &vars::IMAGE_VERSION))?,
            log_format: match value_or_default(&get, &vars::LOG_FORMAT).as_str() {
                "human" => LogFormat::Human,
                "json" => LogFormat::Json,
                other => return Err(invalid(&vars::LOG_FORMAT, other)),
            },
            run_as: match get(&vars::RUN_AS) {
                None => None,
                Some(name) => resolve_user(&name)?,
            },
            home_skel: parse_abs_path(&get, &vars::HOME_SKEL)?,
        })
    }

    /// The URL of one license API endpoint, e.g. `sessions/validate`.
    pub fn endpoint(&self, path: &str) -> Url {
        let mut url = self.api_url.clone();
        let joined = format!("{}/api/v1/{path}", self.api_url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }
}

/// Reads the log format alone, for subcommands that must log before (or without) the full configuration.
pub fn log_format_from_env() -> LogFormat {
    match std::env::var(vars::LOG_FORMAT.name).as_deref() {
        Ok("json") => LogFormat::Json,
        _ => LogFormat::Human,
    }
}

fn missing(var: &Var) -> ConfigError {
    ConfigError::Missing {
        var: var.name,
        accepted: var.accepted,
    }
}

fn invalid(var: &Var, value: &str) -> ConfigError {
    // Values are shown quoted and cut, so that a stray secret pasted into the wrong variable stays short.
    let shown: String = value.chars().take(80).collect();
    ConfigError::Invalid {
        var: var.name,
        shown: format!("{shown:?}"),
        accepted: var.accepted,
    }
}

fn value_or_default(get: &impl Fn(&Var) -> Option<String>, var: &Var) -> String {
    get(var).unwrap_or_else(|| var.default.unwrap_or_default().to_owned())
}

fn parse_whole(get: &impl Fn(&Var) -> Option<String>, var: &Var, min: u64, max: u64) -> Result<u64, ConfigError> {
    let raw = value_or_default(get, var);
    // Digits only: `+5`, ` 5` and `5.0` are refused rather than guessed at.
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(var, &raw));
    }
    match raw.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(var, &raw)),
    }
}

fn parse_duration(
    get: &impl Fn(&Var) -> Option<String>,
    var: &Var,
    min: Duration,
    max: Duration,
) -> Result<Duration, ConfigError> {
    let raw = value_or_default(get, var);
    let parsed = if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        raw.parse::<u64>().ok().map(Duration::from_secs)
    } else {
        humantime::parse_duration(&raw).ok()
    };
    match parsed {
        Some(d) if d >= min && d <= max => Ok(d),
        _ => Err(invalid(var, &raw)),
    }
}

fn parse_abs_path(get: &impl Fn(&Var) -> Option<String>, var: &Var) -> Result<PathBuf, ConfigError> {
    let raw = value_or_default(get, var);
    let path = PathBuf::from(&raw);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(invalid(var, &raw))
    }
}

fn parse_version(raw: &str) -> Result<String, ConfigError> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(&vars::IMAGE_VERSION, raw))
    }
}

fn parse_api_url(raw: &str, allow_insecure: bool) -> Result<Url, ConfigError> {
    let var = &vars::API_URL;
    let url = Url::parse(raw).map_err(|_| invalid(var, raw))?;
    let Some(host) = url.host_str() else {
        return Err(invalid(var, raw));
    };
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid(var, raw));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure || is_loopback(host) => Ok(url),
        _ => Err(invalid(var, raw)),
    }
}

/// True for `localhost` and addresses in 127.0.0.0/8 or `::1`.
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn parse_host_port(raw: &str) -> Result<String, ConfigError> {
    let var = &vars::METADATA_HOST;
    let url = Url::parse(&format!("http://{raw}/")).map_err(|_| invalid(var, raw))?;
    let plain = url.path() == "/" && url.query().is_none() && url.username().is_empty() && !raw.contains('/');
    if plain && url.host_str().is_some() {
        Ok(raw.to_owned())
    } else {
        Err(invalid(var, raw))
    }
}

/// Looks the user up; `None` when it is the entrypoint's own user (nothing to drop).
fn resolve_user(name: &str) -> Result<Option<RunAs>, ConfigError> {
    let var = &vars::RUN_AS;
    let user = match nix::unistd::User::from_name(name) {
        Ok(Some(user)) => user,
        _ => return Err(invalid(var, name)),
    };
    let me = nix::unistd::geteuid();
    if user.uid == me {
        return Ok(None);
    }
    if !me.is_root() {
        return Err(ConfigError::RunAsNeedsRoot {
            user: name.to_owned(),
            uid: me.as_raw(),
        });
    }
    Ok(Some(RunAs {
        name: user.name,
        uid: user.uid.as_raw(),
        gid: user.gid.as_raw(),
        home: user.dir,
    }))
}

fn is_email(raw: &str) -> bool {
    match raw.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && raw.chars().all(|c| c.is_ascii_graphic())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use rstest::rstest;

    use super::*;

    const KEY: &str = "CDT-7Q2M9-XK4PA-33HRT-W8ZN1";

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_key_is_set() {
        let c = config(&[("CODITECT_LICENSE_KEY", KEY)]).expect("valid");
        assert_eq!(c.container_type, ContainerType::Docker);
        assert_eq!(c.api_url.as_str(), "https://api.coditect.ai/");
        assert_eq!(c.heartbeat_interval, Duration::from_secs(300));
        assert_eq!(c.offline_grace, 3);
        assert_eq!(c.metadata_host, "metadata.google.internal");
        assert_eq!(c.framework_dir, PathBuf::from("/opt/coditect"));
        assert_eq!(
            c.endpoint("sessions/validate").as_str(),
            "https://api.coditect.ai/api/v1/sessions/validate"
        );
    }

    #[test]
    fn missing_key_in_docker_is_refused() {
        let err = config(&[]).expect_err("no key");
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "CODITECT_LICENSE_KEY",
                ..
            }
        ));
        let err = config(&[("CODITECT_LICENSE_KEY", "")]).expect_err("empty key");
        assert!(matches!(
            err,
            ConfigError::Missing {
                var: "CODITECT_LICENSE_KEY",
                ..
            }
        ));
    }

    #[test]
    fn malformed_key_error_hides_the_value() {
        let err = config(&[("CODITECT_LICENSE_KEY", "CDT SECRETVALUE-1234")]).expect_err("space");
        let text = err.to_string();
        assert!(text.contains("CODITECT_LICENSE_KEY"), "{text}");
        assert!(!text.contains("SECRETVALUE"), "{text}");
    }

    #[rstest]
    #[case::word("abc")]
    #[case::zero("0")]
    #[case::negative("-5")]
    #[case::plus("+5")]
    #[case::fraction("1.5")]
    #[case::too_large("86401")]
    #[case::overflow("99999999999999999999999")]
    fn bad_interval_is_refused(#[case] value: &str) {
        let err =
            config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_HEARTBEAT_INTERVAL", value)]).expect_err("bad interval");
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: "CODITECT_HEARTBEAT_INTERVAL",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("1 to 86400"), "{err}");
    }

    #[rstest]
    #[case::one("1", 1)]
    #[case::day("86400", 86_400)]
    fn good_interval_is_accepted(#[case] value: &str, #[case] secs: u64) {
        let c = config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_HEARTBEAT_INTERVAL", value)]).expect("valid");
        assert_eq!(c.heartbeat_interval, Duration::from_secs(secs));
    }

    #[rstest]
    #[case::not_a_url("not a url")]
    #[case::ftp("ftp://api.coditect.ai")]
    #[case::plain_http_remote("http://api.coditect.ai")]
    #[case::no_host("https://")]
    #[case::query("https://api.coditect.ai/?x=1")]
    #[case::credentials("https://user:pw@api.coditect.ai")]
    fn bad_api_url_is_refused(#[case] value: &str) {
        let err = config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_API_URL", value)]).expect_err("bad url");
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: "CODITECT_API_URL",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[rstest]
    #[case::https(
        "https://licensing.example.com/base",
        "https://licensing.example.com/base/api/v1/sessions/end"
    )]
    #[case::loopback("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v1/sessions/end")]
    #[case::localhost("http://localhost:9/", "http://localhost:9/api/v1/sessions/end")]
    #[case::ipv6("http://[::1]:9", "http://[::1]:9/api/v1/sessions/end")]
    fn good_api_url_is_accepted(#[case] value: &str, #[case] end: &str) {
        let c = config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_API_URL", value)]).expect("valid");
        assert_eq!(c.endpoint("sessions/end").as_str(), end);
    }

    #[test]
    fn plain_http_remote_needs_the_explicit_opt_in() {
        let pairs = [
            ("CODITECT_LICENSE_KEY", KEY),
            ("CODITECT_API_URL", "http://host.docker.internal:8080"),
            ("CODITECT_ALLOW_INSECURE_API", "1"),
        ];
        assert!(config(&pairs).is_ok());
        let err = config(&[pairs[0], pairs[1], ("CODITECT_ALLOW_INSECURE_API", "yes")]).expect_err("yes");
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "CODITECT_ALLOW_INSECURE_API",
                ..
            }
        ));
    }

    #[test]
    fn unknown_container_type_is_refused() {
        let err = config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_CONTAINER_TYPE", "kubernetes")]).expect_err("");
        assert!(matches!(
            err,
            ConfigError::Invalid {
                var: "CODITECT_CONTAINER_TYPE",
                ..
            }
        ));
    }

    #[test]
    fn workstation_is_detected_from_the_metadata_host_and_needs_no_key() {
        let c = config(&[("GCE_METADATA_HOST", "127.0.0.1:8081")]).expect("valid");
        assert_eq!(c.container_type, ContainerType::Workstation);
        assert!(c.license_key.is_none());
    }

    #[test]
    fn key_in_a_workstation_is_refused() {
        let err = config(&[
            ("CODITECT_CONTAINER_TYPE", "workstation"),
            ("CODITECT_LICENSE_KEY", KEY),
        ])
        .expect_err("");
        assert!(matches!(err, ConfigError::KeyInWorkstation));
    }

    #[rstest]
    #[case::grace("CODITECT_OFFLINE_GRACE", "1001")]
    #[case::grace_word("CODITECT_OFFLINE_GRACE", "many")]
    #[case::metadata_scheme("GCE_METADATA_HOST", "http://metadata")]
    #[case::metadata_path("GCE_METADATA_HOST", "metadata/x")]
    #[case::email("CODITECT_USER_EMAIL", "not-an-email")]
    #[case::timeout_small("CODITECT_API_TIMEOUT", "10ms")]
    #[case::timeout_word("CODITECT_API_TIMEOUT", "soon")]
    #[case::deadline("CODITECT_API_DEADLINE", "2h")]
    #[case::grace_long("CODITECT_STOP_GRACE", "61s")]
    #[case::relative_dir("CODITECT_FRAMEWORK_DIR", "opt/coditect")]
    #[case::version("CODITECT_IMAGE_VERSION", "1.0 beta")]
    #[case::log("CODITECT_LOG_FORMAT", "xml")]
    fn other_bad_values_are_refused_naming_their_variable(#[case] var: &str, #[case] value: &str) {
        let err = config(&[("CODITECT_LICENSE_KEY", KEY), (var, value)]).expect_err("bad value");
        match err {
            ConfigError::Invalid { var: named, .. } => assert_eq!(named, var),
            other => panic!("expected Invalid for {var}, got {other:?}"),
        }
    }

    #[test]
    fn run_as_an_unknown_user_is_refused() {
        let err = config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_RUN_AS", "no-such-user-xyz")]).expect_err("");
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    var: "CODITECT_RUN_AS",
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn run_as_oneself_needs_no_switch() {
        let me = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .expect("current user");
        let c = config(&[("CODITECT_LICENSE_KEY", KEY), ("CODITECT_RUN_AS", &me.name)]).expect("valid");
        assert_eq!(c.run_as, None);
    }

    #[test]
    fn durations_take_bare_seconds_or_units() {
        let c = config(&[
            ("CODITECT_LICENSE_KEY", KEY),
            ("CODITECT_API_TIMEOUT", "500ms"),
            ("CODITECT_API_DEADLINE", "3"),
        ])
        .expect("valid");
        assert_eq!(c.api_timeout, Duration::from_millis(500));
        assert_eq!(c.api_deadline, Duration::from_secs(3));
    }
}
