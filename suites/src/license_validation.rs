//! License validation (ADR-193 `test_license_validation.sh`, 13 checks): the licensed images start only on
//! a valid answer, send the request `license-api.md` fixes, stop on every refusal with its own code and
//! message, retry what is transient, fail clearly on what breaks the contract, never show the key, and
//! in a workstation authenticate with the metadata server's identity token, one session per user.

use std::time::Duration;

use bollard::Docker;
use coditect_harness::images::Image;
use coditect_harness::mock::{Metadata, Mock, license::EXPIRED_ON};
use coditect_harness::{Launch, TEST_KEY};

use crate::catalog::{Check, Suite};
use crate::flow::{self, ended};
use crate::verdict::{Verdict, expect, harness};

macro_rules! checks {
    ($($id:literal => $title:literal, $req:literal;)*) => {
        /// The suite's checks.
        pub const CHECKS: &[Check] = &[$(Check { id: $id, suite: Suite::LicenseValidation, title: $title, requirement: $req }),*];
    };
}

checks! {
    "LV-01" => "a valid key starts the container and its command runs", "ADR-193 License Validation Flow: Valid -> start; license-api.md 200";
    "LV-02" => "the validate request carries the key, type, container, versions and user, as JSON with the entrypoint's User-Agent", "license-api.md POST /api/v1/sessions/validate request (docker)";
    "LV-03" => "an unknown key stops the container with exit 77 naming LICENSE_INVALID and only the key's last 4 characters", "license-api.md 403 LICENSE_INVALID; exit 77; the key is never printed";
    "LV-04" => "an expired license stops the container with exit 77 and shows the expiry date", "license-api.md 403 LICENSE_EXPIRED (show the date); exit 77";
    "LV-05" => "a suspended license and a full seat count each stop the container with exit 77 and their own message", "license-api.md 403 LICENSE_SUSPENDED and SEAT_LIMIT_REACHED; exit 77";
    "LV-06" => "a missing or malformed key fails with exit 78 before any request reaches the API", "license-api.md CODITECT_LICENSE_KEY required, 16-128 printable ASCII; exit 78, nothing sent";
    "LV-07" => "an unreachable API is retried, then the container exits 69 within the deadline", "license-api.md exit 69: the license API could not be reached before the deadline";
    "LV-08" => "5xx then OK recovers, and 429 is retried no sooner than its Retry-After (1 s)", "license-api.md 5xx transient: retry; 429 retry after Retry-After";
    "LV-09" => "a malformed JSON answer fails with exit 76 and says so", "license-api.md exit 76: an answer that breaks the contract";
    "LV-10" => "the key appears in no log line, not in the command's environment, not in the developer's shells", "license-api.md: the license key is never printed";
    "LV-11" => "in a workstation, the metadata server's identity token reaches the API as a Bearer token, with the instance and e-mail", "ADR-193 licensed-workstation: GCP OAuth via the metadata service; license-api.md workstation request";
    "LV-12" => "in a workstation, a failing metadata server exits 69 and a refused token exits 77, each saying why", "license-api.md 401 TOKEN_INVALID -> 77; metadata unreachable -> 69";
    "LV-13" => "two workstation users get two sessions", "ADR-193 licensed-workstation: multi-user support, one session per user";
}

/// The image a check of this suite runs on.
pub fn image_for(id: &str) -> Image {
    if matches!(id, "LV-11" | "LV-12" | "LV-13") {
        Image::Workstation
    } else {
        Image::Docker
    }
}

/// LV-01.
pub async fn lv_01(docker: &Docker, image: &str) -> Verdict {
    let (exit, _) = flow::run(
        docker,
        flow::docker(image, Mock::valid()).with_cmd(["echo", "command ran"]),
        image,
    )
    .await?;
    expect(
        exit.code == 0 && exit.stdout.contains("command ran"),
        "exit 0 after the command printed \"command ran\"",
        ended(&exit),
        image,
    )
}

/// LV-02.
pub async fn lv_02(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(docker, flow::docker(image, Mock::valid()).with_cmd(["true"]), image).await?;
    running.wait_exit(flow::WAIT).await.map_err(|e| harness(e, image))?;
    let journal = running.license().map(|l| l.journal().clone()).unwrap_or_default();
    let Some(seen) = journal.on("/validate").into_iter().next() else {
        return expect(false, "one validate request", "none", image);
    };
    let body = &seen.body;
    let version = docker
        .inspect_image(image)
        .await
        .ok()
        .and_then(|i| i.config)
        .and_then(|c| c.labels)
        .and_then(|l| l.get("org.opencontainers.image.version").cloned())
        .unwrap_or_default();
    let short_id = &running.id()[..12];
    let checks = [
        ("license_key", body["license_key"] == TEST_KEY),
        ("container_type docker", body["container_type"] == "docker"),
        (
            "container_id = the container's short ID",
            body["container_id"] == short_id,
        ),
        (
            "image_version = the image's version label",
            body["image_version"] == version.as_str(),
        ),
        ("framework_version 2.3.1", body["framework_version"] == "2.3.1"),
        ("user developer", body["user"] == "developer"),
        (
            "Content-Type application/json",
            seen.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
        ),
        (
            "User-Agent coditect-entrypoint/…",
            seen.header("user-agent")
                .is_some_and(|u| u.starts_with("coditect-entrypoint/")),
        ),
        ("POST", seen.method == "POST"),
    ];
    let wrong: Vec<&str> = checks.iter().filter(|(_, ok)| !ok).map(|(what, _)| *what).collect();
    let shown = format!(
        "body {body}, user-agent {:?}; wrong: {}",
        seen.header("user-agent"),
        wrong.join(", ")
    )
    .replace(TEST_KEY, "<test key>");
    expect(
        wrong.is_empty(),
        "every field and header as license-api.md fixes them",
        shown,
        image,
    )
}

async fn refused(docker: &Docker, image: &str, mock: Mock, says: &[&str]) -> Verdict {
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, mock).with_cmd(["echo", "must not run"]),
        image,
    )
    .await?;
    let output = exit.output();
    let ok = exit.code == 77
        && says.iter().all(|s| output.contains(s))
        && !output.contains("must not run")
        && journal.on("/validate").len() == 1;
    expect(
        ok,
        format!("exit 77, once asked, saying {says:?}, the command never run"),
        ended(&exit),
        image,
    )
}

/// LV-03.
pub async fn lv_03(docker: &Docker, image: &str) -> Verdict {
    let masked = format!("…{}", &TEST_KEY[TEST_KEY.len() - 4..]);
    refused(docker, image, Mock::invalid(), &["LICENSE_INVALID", &masked]).await?;
    let (exit, _) = flow::run(docker, flow::docker(image, Mock::invalid()), image).await?;
    expect(
        !exit.output().contains(TEST_KEY),
        "the key never printed whole",
        "the whole key in the output",
        image,
    )
}

/// LV-04.
pub async fn lv_04(docker: &Docker, image: &str) -> Verdict {
    refused(docker, image, Mock::expired(), &["LICENSE_EXPIRED", EXPIRED_ON]).await
}

/// LV-05.
pub async fn lv_05(docker: &Docker, image: &str) -> Verdict {
    refused(docker, image, Mock::suspended(), &["LICENSE_SUSPENDED", "suspended"]).await?;
    refused(
        docker,
        image,
        Mock::seat_limit(5),
        &["SEAT_LIMIT_REACHED", "all 5 seats"],
    )
    .await
}

/// LV-06.
pub async fn lv_06(docker: &Docker, image: &str) -> Verdict {
    for (case, launch) in [
        (
            "missing",
            flow::docker(image, Mock::valid()).without_env("CODITECT_LICENSE_KEY"),
        ),
        (
            "malformed",
            flow::docker(image, Mock::valid()).with_env("CODITECT_LICENSE_KEY", "CDT BAD-KEY-WITH-SPACE"),
        ),
    ] {
        let (exit, journal) = flow::run(docker, launch, image).await?;
        let ok = exit.code == 78
            && exit.output().contains("CODITECT_LICENSE_KEY")
            && journal.all().is_empty()
            && !exit.output().contains("BAD-KEY");
        expect(
            ok,
            format!("{case} key: exit 78 naming CODITECT_LICENSE_KEY, no request, no key value"),
            format!("{}; {} request(s)", ended(&exit), journal.all().len()),
            image,
        )?;
    }
    Ok(())
}

/// LV-07.
pub async fn lv_07(docker: &Docker, image: &str) -> Verdict {
    // Port 9 of the Docker bridge's gateway: nothing listens, so every attempt is refused.
    let launch = flow::docker(image, Mock::valid())
        .with_env("CODITECT_API_URL", "http://host.docker.internal:9")
        .with_env("CODITECT_API_DEADLINE", "4s");
    let started = std::time::Instant::now();
    let (exit, _) = flow::run(docker, launch, image).await?;
    let took = started.elapsed();
    let retried = exit.output().matches("retrying").count() >= 2;
    let ok = exit.code == 69 && exit.output().contains("unreachable") && retried && took < Duration::from_secs(15);
    expect(
        ok,
        "retries, then exit 69 saying unreachable, within the 4 s deadline (15 s with the container's start)",
        format!("{} after {took:.1?}", ended(&exit)),
        image,
    )
}

/// LV-08.
pub async fn lv_08(docker: &Docker, image: &str) -> Verdict {
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, Mock::server_errors_then_valid(2)).with_cmd(["true"]),
        image,
    )
    .await?;
    let attempts = journal.on("/validate").len();
    expect(
        exit.code == 0 && attempts == 3,
        "two 503s retried, then exit 0",
        format!("{} after {attempts} attempts", ended(&exit)),
        image,
    )?;
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, Mock::too_many_requests(1)).with_cmd(["true"]),
        image,
    )
    .await?;
    let gap = journal.gaps("/validate").first().copied().unwrap_or_default();
    let ok = exit.code == 0 && gap >= Duration::from_millis(950);
    expect(
        ok,
        "429 retried after at least its Retry-After of 1 s, then exit 0",
        format!("{} retried after {gap:.2?}", ended(&exit)),
        image,
    )
}

/// LV-09.
pub async fn lv_09(docker: &Docker, image: &str) -> Verdict {
    let (exit, journal) = flow::run(docker, flow::docker(image, Mock::malformed_json()), image).await?;
    let ok = exit.code == 76 && exit.output().contains("not the expected JSON") && journal.on("/validate").len() == 1;
    expect(
        ok,
        "exit 76 saying the answer is not the expected JSON, not retried",
        ended(&exit),
        image,
    )
}

/// LV-10.
pub async fn lv_10(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(
        docker,
        flow::docker(image, Mock::valid()).with_cmd(["sleep", "30"]),
        image,
    )
    .await?;
    let h = |e| harness(e, image);
    tokio::time::sleep(Duration::from_secs(2)).await;
    // The command's processes are PID 1's children; `docker exec` processes (this probe among them) have
    // no parent in the container and carry the container's configured environment, so they are left out.
    let child = running
        .sh("developer", "for p in $(ps -o pid= --ppid 1); do tr '\\0' '\\n' < /proc/$p/environ; done | grep -c '^CODITECT_LICENSE_KEY=' ; true")
        .await
        .map_err(h)?;
    let login = running.exec_as("developer", &["bash", "-lc", "env"]).await.map_err(h)?;
    let interactive = running.exec_as("developer", &["bash", "-ic", "env"]).await.map_err(h)?;
    let (stdout, stderr) = running.logs().await.map_err(h)?;
    let in_processes = child.stdout.trim().parse::<u32>().unwrap_or(0);
    let findings = [
        ("the container's log", format!("{stdout}{stderr}").contains(TEST_KEY)),
        ("a login shell's env", login.stdout.contains(TEST_KEY)),
        ("an interactive shell's env", interactive.stdout.contains(TEST_KEY)),
        ("the command's /proc/PID/environ", in_processes > 0),
    ];
    let leaks: Vec<&str> = findings.iter().filter(|(_, leaked)| *leaked).map(|(w, _)| *w).collect();
    expect(
        leaks.is_empty(),
        "the key nowhere",
        format!("the key in: {}", leaks.join(", ")),
        image,
    )
}

/// LV-11.
pub async fn lv_11(docker: &Docker, image: &str) -> Verdict {
    let launch = flow::workstation(
        image,
        Mock::valid(),
        Metadata::workstation("ws-alice-01", "sa@acme.iam.gserviceaccount.com"),
    )
    .with_env("CODITECT_USER_EMAIL", "alice@acme.example")
    .with_cmd(["true"]);
    let running = flow::start(docker, launch, image).await?;
    let exit = running.wait_exit(flow::WAIT).await.map_err(|e| harness(e, image))?;
    let journal = running.license().map(|l| l.journal().clone()).unwrap_or_default();
    let Some(seen) = journal.on("/validate").into_iter().next() else {
        return expect(false, "one validate request", ended(&exit), image);
    };
    let token_ok = seen
        .header("authorization")
        .is_some_and(|a| a.starts_with("Bearer ") && a.matches('.').count() == 2);
    let body = &seen.body;
    let ok = exit.code == 0
        && token_ok
        && body.get("license_key").is_none()
        && body["container_type"] == "workstation"
        && body["workstation_id"] == "ws-alice-01"
        && body["user_email"] == "alice@acme.example";
    expect(
        ok,
        "exit 0; Bearer JWT; no key; workstation, ws-alice-01, alice@acme.example",
        format!(
            "{}; authorization {:?}; body {body}",
            ended(&exit),
            seen.header("authorization").map(|a| &a[..a.len().min(20)])
        ),
        image,
    )
}

/// LV-12.
pub async fn lv_12(docker: &Docker, image: &str) -> Verdict {
    let metadata_down = flow::workstation(
        image,
        Mock::valid(),
        Metadata::workstation("ws-1", "a@b.example").failing(503),
    )
    .with_cmd(["true"]);
    let (exit, journal) = flow::run(docker, metadata_down, image).await?;
    let ok = exit.code == 69 && exit.output().contains("metadata server") && journal.all().is_empty();
    expect(
        ok,
        "metadata 503: exit 69 naming the metadata server, nothing sent to the API",
        ended(&exit),
        image,
    )?;
    let refused = flow::workstation(
        image,
        Mock::token_invalid(),
        Metadata::workstation("ws-1", "a@b.example"),
    )
    .with_cmd(["true"]);
    let (exit, _) = flow::run(docker, refused, image).await?;
    let ok = exit.code == 77 && exit.output().contains("TOKEN_INVALID");
    expect(ok, "token refused: exit 77 naming TOKEN_INVALID", ended(&exit), image)
}

/// LV-13.
pub async fn lv_13(docker: &Docker, image: &str) -> Verdict {
    let api = std::sync::Arc::new(
        Mock::valid()
            .with_heartbeat_interval(1)
            .start(docker)
            .await
            .map_err(|e| harness(e, image))?,
    );
    let mut running = Vec::new();
    for user in ["alice", "bob"] {
        let launch = Launch::image(image)
            .with_license_api(api.clone())
            .with_metadata(Metadata::workstation(
                &format!("ws-{user}"),
                "sa@acme.iam.gserviceaccount.com",
            ))
            .with_env("CODITECT_USER_EMAIL", format!("{user}@acme.example"))
            .with_cmd(["sleep", "2.5"]);
        running.push(flow::start(docker, launch, image).await?);
    }
    for container in &running {
        let exit = container.wait_exit(flow::WAIT).await.map_err(|e| harness(e, image))?;
        expect(exit.code == 0, "both users' containers exit 0", ended(&exit), image)?;
    }
    let journal = api.journal();
    let emails: Vec<String> = journal
        .on("/validate")
        .iter()
        .map(|s| s.body["user_email"].to_string())
        .collect();
    let mut sessions: Vec<String> = journal
        .on("/heartbeat")
        .iter()
        .map(|s| s.body["session_id"].to_string())
        .collect();
    sessions.sort();
    sessions.dedup();
    let ok = emails.len() == 2
        && emails.iter().any(|e| e.contains("alice"))
        && emails.iter().any(|e| e.contains("bob"))
        && sessions.len() == 2;
    expect(
        ok,
        "two validations (alice, bob) and heartbeats from two distinct sessions",
        format!("validations {emails:?}, sessions beating {sessions:?}"),
        image,
    )
}

/// Runs the check `id` of this suite on `image`; `None` when the suite has no such check.
pub async fn run(id: &str, docker: &Docker, image: &str) -> Option<Verdict> {
    Some(match id {
        "LV-01" => lv_01(docker, image).await,
        "LV-02" => lv_02(docker, image).await,
        "LV-03" => lv_03(docker, image).await,
        "LV-04" => lv_04(docker, image).await,
        "LV-05" => lv_05(docker, image).await,
        "LV-06" => lv_06(docker, image).await,
        "LV-07" => lv_07(docker, image).await,
        "LV-08" => lv_08(docker, image).await,
        "LV-09" => lv_09(docker, image).await,
        "LV-10" => lv_10(docker, image).await,
        "LV-11" => lv_11(docker, image).await,
        "LV-12" => lv_12(docker, image).await,
        "LV-13" => lv_13(docker, image).await,
        _ => return None,
    })
}
