//! Hardening beyond ADR-193 (`HD-xx`, counted apart from the 93): what a security reviewer asks of the
//! licensed docker image. The framework's manifest is signed and checked before the license, so a
//! derived image that rewrites it cannot start; the license key is in no layer, no history, no env or
//! label, and out of the developer's reach in the running container; the entrypoint cannot be inspected
//! or traced by the developer; the image runs with every capability dropped and no new privileges, and
//! the workstation image with three capabilities back, none of them kept after start (HD-14); and CIS
//! Docker Benchmark section 4 (images) holds item by item.
//!
//! What stops a developer from killing the heartbeat: it is a thread of PID 1, which runs the command.
//! Inside the container the kernel ignores SIGKILL and SIGSTOP sent to PID 1 from its own namespace;
//! SIGTERM ends the session cleanly (reason `shutdown`), as `docker stop` does. A container killed from
//! outside stops beating, and the license API sees the session's heartbeats stop and expires it after
//! its own timeout; the next start needs a fresh validation.

use std::time::Duration;

use bollard::Docker;
use coditect_harness::images::{Image, variant};
use coditect_harness::mock::{Metadata, Mock};
use futures_util::StreamExt as _;

use crate::catalog::{Check, Suite};
use crate::flow::{self, ended};
use crate::probe::{config, dev, root, shown};
use crate::verdict::{Failure, Verdict, expect, harness};

macro_rules! checks {
    ($($id:literal => $title:literal, $req:literal;)*) => {
        /// The suite's checks.
        pub const CHECKS: &[Check] = &[$(Check { id: $id, suite: Suite::Hardening, title: $title, requirement: $req }),*];
    };
}

checks! {
    "HD-01" => "a derived image that changes a framework file and rewrites the manifest to match does not start: exit 65 on the manifest's signature, nothing sent", "Issue: the manifest is signed at build time and verified before the license";
    "HD-02" => "a volume mounted over /opt/coditect with a changed tree does not start: exit 65, nothing sent", "Issue: refuse to start when a mounted volume changed /opt/coditect";
    "HD-03" => "the license key is in no image layer, no history entry, no env and no label", "Issue: the key is in no image layer and no docker history";
    "HD-04" => "the developer cannot read the entrypoint's environment (/proc/1/environ) while the key is in it", "Issue: the key is not readable through /proc/1/environ by the developer";
    "HD-05" => "the developer cannot inspect or trace the entrypoint: /proc/1/maps, /proc/1/mem and ptrace attach are refused", "Issue: the developer cannot ptrace the entrypoint";
    "HD-06" => "no setuid or setgid file exists in the image (the allowlist is empty)", "CIS Docker 4.8: setuid and setgid permissions removed";
    "HD-07" => "the image validates, beats and runs its command with --cap-drop ALL and no-new-privileges", "Issue: run correctly with --cap-drop ALL --security-opt no-new-privileges";
    "HD-08" => "the image's user is not root (USER developer)", "CIS Docker 4.1: create a user for the container";
    "HD-09" => "the image declares a HEALTHCHECK", "CIS Docker 4.6: add HEALTHCHECK instructions";
    "HD-10" => "no package manager cache is left (apt lists and archives, pip and npm caches)", "CIS Docker 4.3/4.7: no unnecessary content, no cached update data";
    "HD-11" => "no layer was made by ADD (which fetches URLs; its history shows a hash, never the URL)", "CIS Docker 4.9: use COPY instead of ADD";
    "HD-12" => "no env variable or label of the image carries a secret (key, token, secret, password, credential)", "CIS Docker 4.10: secrets are not stored in Dockerfiles";
    "HD-13" => "no compiler, debugger, tracer, network tool or remote-login daemon is installed", "CIS Docker 4.3: do not install unnecessary packages";
    "HD-14" => "the workstation image validates, beats, wires an empty /home and runs its command with --cap-drop ALL, only CHOWN, SETUID and SETGID added back, and no-new-privileges; after start PID 1 and the command are uid 1000 with no effective capability", "Issue: run correctly with --cap-drop ALL --security-opt no-new-privileges (the workstation's documented allowlist)";
}

/// The capabilities the workstation image needs back after `--cap-drop ALL`, and why: its entrypoint
/// starts as root to give the developer a fresh `/home` volume and the state directory (CHOWN), then
/// becomes the developer for good (SETGID, SETUID) and keeps none of them.
pub const WORKSTATION_CAPABILITIES: &[&str] = &["CHOWN", "SETUID", "SETGID"];

/// The image a check of this suite runs on: the workstation's for HD-14, the licensed docker image's otherwise.
pub fn image_for(id: &str) -> Image {
    if id == "HD-14" {
        Image::Workstation
    } else {
        Image::Docker
    }
}

/// The variable that must never be baked into an image.
const KEY_VAR: &str = "CODITECT_LICENSE_KEY";

/// A name safe for a variant tag, from an image reference.
fn tag_safe(image: &str) -> String {
    image
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}

/// Starts `image` (with `mock`) and waits for its exit: the code, the output and how many requests
/// the license API received.
async fn start_and_wait(
    docker: &Docker,
    launch: coditect_harness::Launch,
    image: &str,
) -> Result<(coditect_harness::Exit, usize), Failure> {
    let (exit, journal) = flow::run(docker, launch, image).await?;
    Ok((exit, journal.all().len()))
}

/// HD-01.
pub async fn hd_01(docker: &Docker, image: &str) -> Verdict {
    // Root rewrites a file and regenerates a manifest that matches; only the signature can tell.
    let lines = "USER root\n\
        RUN echo '# injected' >> /opt/coditect/CLAUDE.md && cd /opt/coditect && \
            find . -type f ! -name 'MANIFEST.sha256*' | sed 's|^\\./||' | sort | \
            while read -r f; do sha256sum \"$f\"; done > MANIFEST.sha256\n\
        USER developer";
    let derived = variant(docker, image, &format!("hd-01-{}", tag_safe(image)), lines)
        .await
        .map_err(|e| harness(e, image))?;
    let (exit, requests) = start_and_wait(
        docker,
        flow::docker(&derived, Mock::valid()).with_cmd(["true"]),
        &derived,
    )
    .await?;
    expect(
        exit.code == 65 && exit.output().contains("signature") && requests == 0,
        "exit 65 naming the manifest's signature, no request to the license API",
        format!("{}; {requests} request(s)", ended(&exit)),
        &derived,
    )
}

/// HD-02.
pub async fn hd_02(docker: &Docker, image: &str) -> Verdict {
    // The container's own tree, copied out, changed, its manifest rewritten, and mounted back over it.
    let dir = tempfile::tempdir().map_err(|e| Failure {
        expected: "a temporary directory".into(),
        found: e.to_string(),
        place: image.into(),
    })?;
    let tree = dir.path().join("coditect");
    let extracted = extract_framework(docker, image, &tree).await?;
    if !extracted {
        return Err(Failure {
            expected: "the framework copied out of the image".into(),
            found: "nothing copied".into(),
            place: image.into(),
        });
    }
    let claude = tree.join("CLAUDE.md");
    let set_writable = |p: &std::path::Path, mode| {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode))
    };
    let change = (|| -> std::io::Result<()> {
        set_writable(&tree, 0o755)?;
        set_writable(&claude, 0o644)?;
        let mut text = std::fs::read_to_string(&claude)?;
        text.push_str("\n# injected\n");
        std::fs::write(&claude, text)?;
        set_writable(&tree.join(coditect_runtime::integrity::MANIFEST), 0o644)?;
        coditect_runtime::integrity::write_manifest(&tree).map_err(std::io::Error::other)?;
        Ok(())
    })();
    change.map_err(|e| Failure {
        expected: "the copied tree changed".into(),
        found: e.to_string(),
        place: tree.display().to_string(),
    })?;
    let launch = flow::docker(image, Mock::valid())
        .with_cmd(["true"])
        .with_bind(&tree.display().to_string(), "/opt/coditect");
    let (exit, requests) = start_and_wait(docker, launch, image).await?;
    expect(
        exit.code == 65 && requests == 0,
        "exit 65 on the changed tree, no request to the license API",
        format!("{}; {requests} request(s)", ended(&exit)),
        format!("{image} with {} mounted on /opt/coditect", tree.display()),
    )
}

/// Copies `/opt/coditect` out of `image` into `to` (through the engine's archive API).
async fn extract_framework(docker: &Docker, image: &str, to: &std::path::Path) -> Result<bool, Failure> {
    let container = crate::probe::container(docker, image).await?;
    let mut stream = docker.download_from_container(
        container.id(),
        Some(bollard::query_parameters::DownloadFromContainerOptions {
            path: "/opt/coditect".into(),
        }),
    );
    let mut tar = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            harness(
                coditect_harness::HarnessError::docker("copy /opt/coditect out")(e),
                image,
            )
        })?;
        tar.extend_from_slice(&chunk);
    }
    let parent = to.parent().unwrap_or(to);
    tar::Archive::new(tar.as_slice()).unpack(parent).map_err(|e| Failure {
        expected: "the framework's archive unpacked".into(),
        found: e.to_string(),
        place: parent.display().to_string(),
    })?;
    Ok(to.join("MANIFEST.sha256").is_file())
}

/// HD-03.
pub async fn hd_03(docker: &Docker, image: &str) -> Verdict {
    let config = config(docker, image).await?;
    let in_config: Vec<String> = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.starts_with(&format!("{KEY_VAR}=")))
        .chain(
            config
                .labels
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, v)| k.contains(KEY_VAR) || v.contains(KEY_VAR))
                .map(|(k, v)| format!("label {k}={v}")),
        )
        .collect();
    if !in_config.is_empty() {
        return Err(Failure {
            expected: format!("no {KEY_VAR} in the image's env or labels"),
            found: in_config.join(", "),
            place: image.into(),
        });
    }
    let history = docker.image_history(image).await.map_err(|e| {
        harness(
            coditect_harness::HarnessError::docker(format!("read the history of {image}"))(e),
            image,
        )
    })?;
    if let Some(step) = history.iter().find(|h| assigns_key(h.created_by.as_bytes())) {
        return Err(Failure {
            expected: format!("no history entry assigning {KEY_VAR}"),
            found: step.created_by.clone(),
            place: image.into(),
        });
    }
    // Every byte of every layer, as `docker save` gives them: a key written and deleted in a later
    // layer is still in the earlier one.
    let mut saved = docker.export_image(image);
    let (mut tail, mut bytes) = (Vec::new(), 0usize);
    while let Some(chunk) = saved.next().await {
        let chunk = chunk.map_err(|e| {
            harness(
                coditect_harness::HarnessError::docker(format!("export {image}"))(e),
                image,
            )
        })?;
        bytes += chunk.len();
        let mut window = std::mem::take(&mut tail);
        window.extend_from_slice(&chunk);
        if assigns_key(&window) {
            return Err(Failure {
                expected: format!("no layer assigning {KEY_VAR} a value"),
                found: "an assignment in the exported layers".into(),
                place: image.into(),
            });
        }
        tail = window[window.len().saturating_sub(256)..].to_vec();
    }
    expect(
        bytes > 10_000_000,
        "the whole image exported and scanned",
        format!("{bytes} bytes"),
        image,
    )
}

/// Whether `bytes` hold `CODITECT_LICENSE_KEY=<16+ printable characters>` (or `:`), a value rather than
/// a reference (`$…`) or an `unset`.
pub fn assigns_key(bytes: &[u8]) -> bool {
    let needle = KEY_VAR.as_bytes();
    bytes.windows(needle.len()).enumerate().any(|(at, w)| {
        if w != needle {
            return false;
        }
        let rest = &bytes[at + needle.len()..];
        let rest = rest.strip_prefix(b"\"").unwrap_or(rest);
        let Some(value) = rest.strip_prefix(b"=").or_else(|| rest.strip_prefix(b": ")) else {
            return false;
        };
        let value = value
            .strip_prefix(b"\"")
            .or_else(|| value.strip_prefix(b"'"))
            .unwrap_or(value);
        let printable = value
            .iter()
            .take_while(|b| b.is_ascii_graphic() && !b"\"'$;`".contains(b))
            .count();
        printable >= 16
    })
}

/// HD-04.
pub async fn hd_04(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(
        docker,
        flow::docker(image, Mock::valid()).with_cmd(["sleep", "30"]),
        image,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out = running
        .sh("developer", "tr '\\0' '\\n' < /proc/1/environ")
        .await
        .map_err(|e| harness(e, image))?;
    expect(
        !out.success() && !out.stdout.contains(KEY_VAR),
        "reading /proc/1/environ refused to the developer",
        shown(&out).replace(coditect_harness::TEST_KEY, "<the key>"),
        format!("{image}: /proc/1/environ as developer"),
    )
}

/// HD-05.
pub async fn hd_05(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(
        docker,
        flow::docker(image, Mock::valid()).with_cmd(["sleep", "30"]),
        image,
    )
    .await?;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // ptrace(PTRACE_ATTACH = 16, 1) through libc, as a debugger would start.
    let script = "cat /proc/1/maps >/dev/null 2>&1 && echo maps-readable; \
                  head -c1 /proc/1/mem >/dev/null 2>&1 && echo mem-readable; \
                  python3 -c 'import ctypes,sys; l=ctypes.CDLL(None,use_errno=True); \
                  sys.exit(0 if l.ptrace(16,1,0,0)==0 else 1)' && echo ptrace-attached; true";
    let out = running.sh("developer", script).await.map_err(|e| harness(e, image))?;
    let reached: Vec<&str> = out.stdout.split_whitespace().collect();
    expect(
        reached.is_empty(),
        "maps, mem and ptrace all refused",
        format!("the developer got: {}", reached.join(", ")),
        format!("{image}: PID 1 as developer"),
    )
}

/// HD-06.
pub async fn hd_06(docker: &Docker, image: &str) -> Verdict {
    let out = root(
        docker,
        image,
        "find / -xdev \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -type f -perm /6000 -print",
    )
    .await?;
    let found: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    expect(
        found.is_empty(),
        "no setuid or setgid file (the allowlist is empty)",
        found.join(", "),
        image,
    )
}

/// HD-07.
pub async fn hd_07(docker: &Docker, image: &str) -> Verdict {
    let launch = flow::docker(image, Mock::valid())
        .with_heartbeat(1)
        .with_cap_drop_all()
        .with_no_new_privileges()
        .with_cmd(["sh", "-c", "sleep 2.5; echo ran-as-$(id -u)"]);
    let (exit, journal) = flow::run(docker, launch, image).await?;
    let beats = journal.on("/heartbeat").len();
    expect(
        exit.code == 0 && exit.output().contains("ran-as-1000") && beats >= 1 && !journal.on("/end").is_empty(),
        "exit 0, the command run as uid 1000, beats sent and the session ended",
        format!("{}; {beats} beat(s)", ended(&exit)),
        format!("{image} --cap-drop ALL --security-opt no-new-privileges"),
    )
}

/// HD-08.
pub async fn hd_08(docker: &Docker, image: &str) -> Verdict {
    let user = config(docker, image).await?.user.unwrap_or_default();
    expect(
        !user.is_empty() && user != "root" && user != "0" && !user.starts_with("0:"),
        "a non-root USER",
        format!("USER {user:?}"),
        image,
    )
}

/// HD-09.
pub async fn hd_09(docker: &Docker, image: &str) -> Verdict {
    let test = config(docker, image)
        .await?
        .healthcheck
        .and_then(|h| h.test)
        .unwrap_or_default();
    expect(
        !test.is_empty() && test.first().map(String::as_str) != Some("NONE"),
        "a HEALTHCHECK",
        format!("{test:?}"),
        image,
    )
}

/// HD-10.
pub async fn hd_10(docker: &Docker, image: &str) -> Verdict {
    let script = "for p in /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/cache/apt/*.bin \
                  /root/.cache/pip /home/*/.cache/pip /root/.npm/_cacache /home/*/.npm/_cacache; do \
                  case \"$p\" in */lock|*/partial|*'*'*) ;; *) [ -e \"$p\" ] && echo \"$p\";; esac; done; true";
    let out = root(docker, image, script).await?;
    let found: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    expect(found.is_empty(), "no package cache", found.join(", "), image)
}

/// HD-11.
pub async fn hd_11(docker: &Docker, image: &str) -> Verdict {
    let history = docker.image_history(image).await.map_err(|e| {
        harness(
            coditect_harness::HarnessError::docker(format!("read the history of {image}"))(e),
            image,
        )
    })?;
    // The classic builder records `#(nop) ADD <content hash> in <dest>` for a URL and a file alike, so
    // a URL cannot be told apart from the history: every ADD counts.
    let added: Vec<String> = history
        .into_iter()
        .map(|h| h.created_by)
        .filter(|c| c.contains("#(nop) ADD ") || c.starts_with("ADD "))
        .collect();
    expect(added.is_empty(), "no ADD step (COPY only)", added.join(" | "), image)
}

/// HD-12.
pub async fn hd_12(docker: &Docker, image: &str) -> Verdict {
    let config = config(docker, image).await?;
    let secret_name = |name: &str| {
        let upper = name.to_ascii_uppercase();
        ["KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"]
            .iter()
            .any(|word| upper.contains(word))
    };
    let found: Vec<String> = config
        .env
        .unwrap_or_default()
        .into_iter()
        .filter_map(|e| {
            let (name, value) = e.split_once('=')?;
            (secret_name(name) && !value.is_empty()).then(|| format!("env {name}"))
        })
        .chain(
            config
                .labels
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, v)| secret_name(k) && !v.is_empty())
                .map(|(k, _)| format!("label {k}")),
        )
        .collect();
    expect(
        found.is_empty(),
        "no secret-named env or label with a value",
        found.join(", "),
        image,
    )
}

/// Tools a shipped developer image must not carry: they turn a foothold into a toolkit, or open a door.
const UNWANTED: &[&str] = &[
    "gcc", "cc", "g++", "clang", "make", "gdb", "strace", "ltrace", "nc", "netcat", "ncat", "nmap", "socat", "telnet",
    "tcpdump", "sshd", "sudo", "doas",
];

/// HD-13.
pub async fn hd_13(docker: &Docker, image: &str) -> Verdict {
    let script = format!(
        "for t in {}; do command -v \"$t\" >/dev/null 2>&1 && echo \"$t\"; done; \
         dpkg-query -W -f '${{Package}}\\n' 2>/dev/null | grep -x -e build-essential -e openssh-server -e gcc -e make; true",
        UNWANTED.join(" ")
    );
    let out = dev(docker, image, &script).await?;
    let found: Vec<&str> = out.stdout.lines().filter(|l| !l.is_empty()).collect();
    expect(
        found.is_empty(),
        "none of the unwanted tools or packages",
        found.join(", "),
        image,
    )
}

/// HD-14.
pub async fn hd_14(docker: &Docker, image: &str) -> Verdict {
    let report = "sleep 2.5; echo ran-as-$(id -u); test -L ~/.coditect && echo home-wired; \
                  awk '/^(Uid|CapEff):/ {print \"pid1\", $1, $2}' /proc/1/status; \
                  awk '/^CapEff:/ {print \"command\", $1, $2}' /proc/self/status";
    let mut launch = flow::workstation(
        image,
        Mock::valid(),
        Metadata::workstation("ws-hd-14", "sa@acme.iam.gserviceaccount.com"),
    )
    .with_heartbeat(1)
    .with_empty_home()
    .with_cap_drop_all()
    .with_no_new_privileges()
    .with_cmd(["sh", "-c", report]);
    for capability in WORKSTATION_CAPABILITIES {
        launch = launch.with_cap_add(*capability);
    }
    let (exit, journal) = flow::run(docker, launch, image).await?;
    let output = exit.output();
    let beats = journal.on("/heartbeat").len();
    let wanted = [
        "ran-as-1000",
        "home-wired",
        "pid1 Uid: 1000",
        "pid1 CapEff: 0000000000000000",
        "command CapEff: 0000000000000000",
    ];
    let missing: Vec<&str> = wanted.into_iter().filter(|w| !output.contains(w)).collect();
    expect(
        exit.code == 0 && missing.is_empty() && beats >= 1 && !journal.on("/end").is_empty(),
        "exit 0; home wired; PID 1 and the command uid 1000 with CapEff 0; beats sent; the session ended",
        format!("{}; {beats} beat(s); missing: {}", ended(&exit), missing.join(", ")),
        format!(
            "{image} --cap-drop ALL --cap-add {} --security-opt no-new-privileges",
            WORKSTATION_CAPABILITIES.join(",")
        ),
    )
}

/// Runs the check `id` of this suite on `image`; `None` when the suite has no such check.
pub async fn run(id: &str, docker: &Docker, image: &str) -> Option<Verdict> {
    Some(match id {
        "HD-01" => hd_01(docker, image).await,
        "HD-02" => hd_02(docker, image).await,
        "HD-03" => hd_03(docker, image).await,
        "HD-04" => hd_04(docker, image).await,
        "HD-05" => hd_05(docker, image).await,
        "HD-06" => hd_06(docker, image).await,
        "HD-07" => hd_07(docker, image).await,
        "HD-08" => hd_08(docker, image).await,
        "HD-09" => hd_09(docker, image).await,
        "HD-10" => hd_10(docker, image).await,
        "HD-11" => hd_11(docker, image).await,
        "HD-12" => hd_12(docker, image).await,
        "HD-13" => hd_13(docker, image).await,
        "HD-14" => hd_14(docker, image).await,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_assignments_are_found_and_references_are_not() {
        assert!(assigns_key(b"ENV CODITECT_LICENSE_KEY=abcdefghijklmnop0123"));
        assert!(assigns_key(b"export CODITECT_LICENSE_KEY=\"abcdefghijklmnop0123\""));
        assert!(assigns_key(b"{\"CODITECT_LICENSE_KEY\": \"abcdefghijklmnop0123\"}"));
        assert!(!assigns_key(b"unset CODITECT_LICENSE_KEY"));
        assert!(!assigns_key(b"CODITECT_LICENSE_KEY=${CODITECT_LICENSE_KEY}"));
        assert!(!assigns_key(b"CODITECT_LICENSE_KEY=short"));
    }
}
