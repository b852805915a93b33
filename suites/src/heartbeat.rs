//! Heartbeat (ADR-193 `test_heartbeat.sh`, 17 checks): beats start only after a valid answer, come one
//! interval apart on monotonic deadlines without drift, carry the session and a rising sequence, honour
//! the configured and the server's interval, survive transient failures within the grace, end the session
//! on revocation or past the grace, and the session end is sent on stop and on the command's exit. Every
//! timing is measured from the mock's journal, never from sleeps in the check; tolerances are in titles.

use std::time::Duration;

use bollard::Docker;
use coditect_harness::mock::{Mock, license::session_id};

use crate::catalog::{Check, Suite};
use crate::flow::{self, ended};
use crate::verdict::{Verdict, expect, harness};

macro_rules! checks {
    ($($id:literal => $title:literal, $req:literal;)*) => {
        /// The suite's checks.
        pub const CHECKS: &[Check] = &[$(Check { id: $id, suite: Suite::Heartbeat, title: $title, requirement: $req }),*];
    };
}

checks! {
    "HB-01" => "no heartbeat reaches the API before the validation was accepted", "ADR-193 License Validation Flow: Valid -> Start Heartbeat";
    "HB-02" => "no heartbeat follows a refusal (3 s observed)", "ADR-193 License Validation Flow: Invalid -> exit, no heartbeat";
    "HB-03" => "the first beat comes one interval after the validation (1 s, ±150 ms)", "ADR-193 Background Heartbeat: every interval after start";
    "HB-04" => "consecutive beats are one interval apart (1 s, ±100 ms) over 8 beats", "ADR-193 Background Heartbeat: every CODITECT_HEARTBEAT_INTERVAL seconds";
    "HB-05" => "beats do not drift: beat n lands n intervals after the first (±150 ms) over 8 beats", "Runtime issue: schedule by monotonic deadlines so beats do not drift";
    "HB-06" => "every beat carries the session ID from the validate answer", "license-api.md POST /api/v1/sessions/heartbeat: session_id";
    "HB-07" => "sequence numbers start at 1 and rise by one per beat", "license-api.md heartbeat: sequence starts at 1, rises by one per beat";
    "HB-08" => "with no interval configured the interval is 300 s (no beat within 3 s, and the entrypoint says 300)", "ADR-193 CODITECT_HEARTBEAT_INTERVAL default 300";
    "HB-09" => "a bad interval (abc, 0, -5, 86401) fails with exit 78 naming the variable, nothing sent", "license-api.md CODITECT_HEARTBEAT_INTERVAL: whole seconds 1-86400; exit 78";
    "HB-10" => "the API's shorter heartbeat_interval (1 s) wins over the configured 300 s (±150 ms)", "license-api.md: heartbeat_interval, when shorter than the configured interval, wins";
    "HB-11" => "a failed beat is retried within its interval with the same sequence number and the session goes on", "license-api.md heartbeat 429/5xx: transient, retry within the interval; a retried beat keeps its number";
    "HB-12" => "a revocation mid-session stops the container with exit 77 and ends the session as revoked", "license-api.md 410 SESSION_REVOKED: end the session; exit 77";
    "HB-13" => "failures past the offline grace end the session with exit 77, reason offline", "license-api.md CODITECT_OFFLINE_GRACE; exit 77 past the grace";
    "HB-14" => "docker stop ends the session (reason shutdown) and the container exits with the command's status", "Runtime issue: on SIGTERM, POST /api/v1/sessions/end, exit with the child's status";
    "HB-15" => "the command's own exit ends the session with reason child_exit and its exit code, which the container returns", "license-api.md POST /api/v1/sessions/end reason child_exit; exit code: the child's";
    "HB-16" => "beats keep their rhythm (1 s, ±150 ms) while the command keeps both CPUs busy", "ADR-193 Background Heartbeat: independent of the developer's workload";
    "HB-17" => "the healthcheck answers 0 while the session is live and 1 once beats fail (never 2)", "license-api.md: coditect-entrypoint healthcheck exits 0 while the session is live, 1 otherwise";
}

/// The checks that measure timing: each must run with no other check beside it (HB-16 keeps both CPUs
/// busy on purpose, and the others have tolerances of 100-150 ms).
pub const TIMED: &[&str] = &["HB-03", "HB-04", "HB-05", "HB-10", "HB-11", "HB-16"];

const SECOND: Duration = Duration::from_secs(1);

fn within(value: Duration, want: Duration, tolerance: Duration) -> bool {
    value.abs_diff(want) <= tolerance
}

/// HB-01.
pub async fn hb_01(docker: &Docker, image: &str) -> Verdict {
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, Mock::valid())
            .with_heartbeat(1)
            .with_cmd(["sleep", "2.5"]),
        image,
    )
    .await?;
    let order: Vec<String> = journal
        .all()
        .iter()
        .map(|s| s.path.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    let first_validate = order.iter().position(|p| p == "validate");
    let first_beat = order.iter().position(|p| p == "heartbeat");
    let ok = exit.code == 0 && first_validate.is_some() && first_beat.is_some_and(|b| Some(b) > first_validate);
    expect(
        ok,
        "validate first, heartbeats only after it",
        format!("{}; requests {order:?}", ended(&exit)),
        image,
    )
}

/// HB-02.
pub async fn hb_02(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(
        docker,
        flow::docker(image, Mock::invalid())
            .with_heartbeat(1)
            .with_cmd(["sleep", "30"]),
        image,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let journal = running.license().map(|l| l.journal().clone()).unwrap_or_default();
    let beats = journal.on("/heartbeat").len();
    expect(
        beats == 0,
        "no heartbeat",
        format!("{beats} heartbeat(s) after the refusal"),
        image,
    )
}

/// Runs a 1 s heartbeat session for `seconds` and returns the journal's beats and validation.
async fn session(
    docker: &Docker,
    image: &str,
    mock: Mock,
    seconds: &str,
    configured: Option<u64>,
) -> Result<coditect_harness::mock::Journal, crate::verdict::Failure> {
    let mut launch = flow::docker(image, mock).with_cmd(["sleep", seconds]);
    if let Some(interval) = configured {
        launch = launch.with_heartbeat(interval);
    }
    let (exit, journal) = flow::run(docker, launch, image).await?;
    expect(
        exit.code == 0,
        "the session runs to the command's end",
        ended(&exit),
        image,
    )?;
    Ok(journal)
}

/// HB-03.
pub async fn hb_03(docker: &Docker, image: &str) -> Verdict {
    let journal = session(docker, image, Mock::valid(), "2.5", Some(1)).await?;
    let (Some(validate), Some(beat)) = (
        journal.on("/validate").first().map(|s| s.at),
        journal.on("/heartbeat").first().map(|s| s.at),
    ) else {
        return expect(false, "a validation and a beat", "missing", image);
    };
    let after = beat - validate;
    expect(
        within(after, SECOND, Duration::from_millis(150)),
        "the first beat 1 s ± 150 ms after the validation",
        format!("{after:.3?}"),
        image,
    )
}

/// HB-04 and HB-05 share one 9-beat session.
async fn rhythm(docker: &Docker, image: &str, busy: bool) -> Result<Vec<Duration>, crate::verdict::Failure> {
    let cmd: Vec<String> = if busy {
        vec![
            "sh".into(),
            "-c".into(),
            "for i in 1 2; do (while :; do :; done) & done; sleep 9.5".into(),
        ]
    } else {
        vec!["sleep".into(), "9.5".into()]
    };
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, Mock::valid()).with_heartbeat(1).with_cmd(cmd),
        image,
    )
    .await?;
    expect(
        exit.code == 0,
        "the session runs to the command's end",
        ended(&exit),
        image,
    )?;
    let beats = journal.on("/heartbeat");
    let first = beats.first().map(|b| b.at);
    Ok(first
        .map(|f| beats.iter().map(|b| b.at - f).collect())
        .unwrap_or_default())
}

/// HB-04.
pub async fn hb_04(docker: &Docker, image: &str) -> Verdict {
    let offsets = rhythm(docker, image, false).await?;
    let gaps: Vec<Duration> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    let ok = gaps.len() >= 7 && gaps.iter().all(|g| within(*g, SECOND, Duration::from_millis(100)));
    expect(ok, "at least 7 gaps of 1 s ± 100 ms", format!("gaps {gaps:.3?}"), image)
}

/// HB-05.
pub async fn hb_05(docker: &Docker, image: &str) -> Verdict {
    let offsets = rhythm(docker, image, false).await?;
    let drift: Vec<Duration> = offsets
        .iter()
        .enumerate()
        .map(|(n, o)| o.abs_diff(SECOND * n as u32))
        .collect();
    let ok = offsets.len() >= 8 && drift.iter().all(|d| *d <= Duration::from_millis(150));
    expect(
        ok,
        "8 or more beats, each within 150 ms of its slot",
        format!("offsets from their slots {drift:.3?}"),
        image,
    )
}

/// HB-06 and HB-07 read one session's beats.
async fn beats(docker: &Docker, image: &str) -> Result<Vec<serde_json::Value>, crate::verdict::Failure> {
    Ok(session(docker, image, Mock::valid(), "4.5", Some(1))
        .await?
        .on("/heartbeat")
        .into_iter()
        .map(|s| s.body)
        .collect())
}

/// HB-06.
pub async fn hb_06(docker: &Docker, image: &str) -> Verdict {
    let bodies = beats(docker, image).await?;
    let want = session_id(1);
    let wrong: Vec<String> = bodies
        .iter()
        .filter(|b| b["session_id"] != want.as_str())
        .map(|b| b.to_string())
        .collect();
    expect(
        bodies.len() >= 3 && wrong.is_empty(),
        format!("3 or more beats, all for {want}"),
        format!("{} beats; wrong: {wrong:?}", bodies.len()),
        image,
    )
}

/// HB-07.
pub async fn hb_07(docker: &Docker, image: &str) -> Verdict {
    let bodies = beats(docker, image).await?;
    let sequence: Vec<i64> = bodies.iter().map(|b| b["sequence"].as_i64().unwrap_or(-1)).collect();
    let ok = sequence.len() >= 3 && sequence.iter().enumerate().all(|(i, s)| *s == i as i64 + 1);
    expect(ok, "1, 2, 3, …", format!("{sequence:?}"), image)
}

/// HB-08.
pub async fn hb_08(docker: &Docker, image: &str) -> Verdict {
    let launch = flow::docker(image, Mock::valid())
        .without_env("CODITECT_HEARTBEAT_INTERVAL")
        .with_cmd(["sleep", "3"]);
    let (exit, journal) = flow::run(docker, launch, image).await?;
    let beats = journal.on("/heartbeat").len();
    let ok = exit.code == 0 && beats == 0 && exit.output().contains("heartbeat_interval_s=300");
    expect(
        ok,
        "no beat in 3 s and the log saying heartbeat_interval_s=300",
        format!("{beats} beats; {}", ended(&exit)),
        image,
    )
}

/// HB-09.
pub async fn hb_09(docker: &Docker, image: &str) -> Verdict {
    for bad in ["abc", "0", "-5", "86401"] {
        let (exit, journal) = flow::run(
            docker,
            flow::docker(image, Mock::valid()).with_env("CODITECT_HEARTBEAT_INTERVAL", bad),
            image,
        )
        .await?;
        let ok = exit.code == 78 && exit.output().contains("CODITECT_HEARTBEAT_INTERVAL") && journal.all().is_empty();
        expect(
            ok,
            format!("{bad:?}: exit 78 naming CODITECT_HEARTBEAT_INTERVAL, nothing sent"),
            format!("{}; {} request(s)", ended(&exit), journal.all().len()),
            image,
        )?;
    }
    Ok(())
}

/// HB-10.
pub async fn hb_10(docker: &Docker, image: &str) -> Verdict {
    let journal = session(
        docker,
        image,
        Mock::valid().with_heartbeat_interval(1),
        "3.5",
        Some(300),
    )
    .await?;
    let gaps = journal.gaps("/heartbeat");
    let ok = gaps.len() >= 2 && gaps.iter().all(|g| within(*g, SECOND, Duration::from_millis(150)));
    expect(
        ok,
        "beats 1 s ± 150 ms apart although 300 s is configured",
        format!("{} beats, gaps {gaps:.3?}", journal.on("/heartbeat").len()),
        image,
    )
}

/// HB-11.
pub async fn hb_11(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(
        docker,
        flow::docker(image, Mock::flaky_beats(2))
            .with_heartbeat(2)
            .with_cmd(["sleep", "30"]),
        image,
    )
    .await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let alive = running.exec_root(&["true"]).await.is_ok_and(|o| o.success());
    let journal = running.license().map(|l| l.journal().clone()).unwrap_or_default();
    let sequence: Vec<i64> = journal
        .on("/heartbeat")
        .iter()
        .map(|s| s.body["sequence"].as_i64().unwrap_or(-1))
        .collect();
    let ok = alive && sequence.len() >= 3 && sequence[..3] == [1, 1, 1];
    expect(
        ok,
        "beat 1 sent three times (two 503s, then OK), the container still running",
        format!("sequences {sequence:?}, running {alive}"),
        image,
    )
}

/// HB-12.
pub async fn hb_12(docker: &Docker, image: &str) -> Verdict {
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, Mock::revoked_after(2))
            .with_heartbeat(1)
            .with_cmd(["sleep", "60"]),
        image,
    )
    .await?;
    let end = journal.first_body("/end");
    let ok = exit.code == 77 && exit.output().contains("SESSION_REVOKED") && end["reason"] == "revoked";
    expect(
        ok,
        "exit 77 naming SESSION_REVOKED, end reason revoked",
        format!("{}; end {end}", ended(&exit)),
        image,
    )
}

/// HB-13.
pub async fn hb_13(docker: &Docker, image: &str) -> Verdict {
    let launch = flow::docker(image, Mock::heartbeats_failing())
        .with_heartbeat(1)
        .with_env("CODITECT_OFFLINE_GRACE", "1")
        .with_cmd(["sleep", "60"]);
    let (exit, journal) = flow::run(docker, launch, image).await?;
    let end = journal.first_body("/end");
    let ok = exit.code == 77 && exit.output().contains("offline grace") && end["reason"] == "offline";
    expect(
        ok,
        "exit 77 saying offline grace, end reason offline",
        format!("{}; end {end}", ended(&exit)),
        image,
    )
}

/// HB-14.
pub async fn hb_14(docker: &Docker, image: &str) -> Verdict {
    let running = flow::start(docker, flow::docker(image, Mock::valid()).with_heartbeat(1), image).await?;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let exit = running
        .stop(Duration::from_secs(10))
        .await
        .map_err(|e| harness(e, image))?;
    let journal = running.license().map(|l| l.journal().clone()).unwrap_or_default();
    let end = journal.first_body("/end");
    // `sleep infinity` dies of the forwarded SIGTERM: 128 + 15.
    let ok = exit.code == 143 && end["reason"] == "shutdown" && end["exit_code"] == 143;
    expect(
        ok,
        "exit 143 and an end with reason shutdown, exit_code 143",
        format!("{}; end {end}", ended(&exit)),
        image,
    )
}

/// HB-15.
pub async fn hb_15(docker: &Docker, image: &str) -> Verdict {
    let (exit, journal) = flow::run(
        docker,
        flow::docker(image, Mock::valid())
            .with_heartbeat(1)
            .with_cmd(["sh", "-c", "sleep 1.5; exit 3"]),
        image,
    )
    .await?;
    let end = journal.first_body("/end");
    let ok = exit.code == 3 && end["reason"] == "child_exit" && end["exit_code"] == 3;
    expect(
        ok,
        "exit 3 and an end with reason child_exit, exit_code 3",
        format!("{}; end {end}", ended(&exit)),
        image,
    )
}

/// HB-16.
pub async fn hb_16(docker: &Docker, image: &str) -> Verdict {
    let offsets = rhythm(docker, image, true).await?;
    let gaps: Vec<Duration> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    let ok = gaps.len() >= 7 && gaps.iter().all(|g| within(*g, SECOND, Duration::from_millis(150)));
    expect(
        ok,
        "at least 7 gaps of 1 s ± 150 ms under load",
        format!("gaps {gaps:.3?}"),
        image,
    )
}

/// HB-17.
pub async fn hb_17(docker: &Docker, image: &str) -> Verdict {
    // Beats every 2 s, all failing: the healthcheck is polled (not sampled after fixed sleeps, which a
    // loaded machine outruns) until it says 0 after the validation, then until it says 1 after a failed
    // beat; every answer on the way must be 0 or 1.
    let launch = flow::docker(image, Mock::heartbeats_failing())
        .with_heartbeat(2)
        .with_env("CODITECT_OFFLINE_GRACE", "100")
        .with_cmd(["sleep", "60"]);
    let running = flow::start(docker, launch, image).await?;
    let health = || async {
        running
            .exec_as("developer", &["coditect-entrypoint", "healthcheck"])
            .await
            .map(|o| o.code)
            .unwrap_or(-1)
    };
    let mut seen = Vec::new();
    for want in [0, 1] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let code = health().await;
            if seen.last() != Some(&code) {
                seen.push(code);
            }
            if code == want || tokio::time::Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let live_then_failing = seen.windows(2).any(|w| w == [0, 1]);
    expect(
        live_then_failing && seen.iter().all(|c| *c == 0 || *c == 1),
        "0 after the validation, then 1 after a failed beat, never anything else",
        format!("answers in order: {seen:?}"),
        image,
    )
}

/// Runs the check `id` of this suite on `image`; `None` when the suite has no such check.
pub async fn run(id: &str, docker: &Docker, image: &str) -> Option<Verdict> {
    Some(match id {
        "HB-01" => hb_01(docker, image).await,
        "HB-02" => hb_02(docker, image).await,
        "HB-03" => hb_03(docker, image).await,
        "HB-04" => hb_04(docker, image).await,
        "HB-05" => hb_05(docker, image).await,
        "HB-06" => hb_06(docker, image).await,
        "HB-07" => hb_07(docker, image).await,
        "HB-08" => hb_08(docker, image).await,
        "HB-09" => hb_09(docker, image).await,
        "HB-10" => hb_10(docker, image).await,
        "HB-11" => hb_11(docker, image).await,
        "HB-12" => hb_12(docker, image).await,
        "HB-13" => hb_13(docker, image).await,
        "HB-14" => hb_14(docker, image).await,
        "HB-15" => hb_15(docker, image).await,
        "HB-16" => hb_16(docker, image).await,
        "HB-17" => hb_17(docker, image).await,
        _ => return None,
    })
}
