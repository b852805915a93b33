//! The entrypoint as PID 1 (here: a child subreaper on the host): signal forwarding, stop on SIGTERM
//! with a session end, zombie reaping, leftover processes, and signals during the start-up back-off.

mod common;

use std::time::Duration;

use common::*;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use wiremock::ResponseTemplate;

/// Sends `signal` to the entrypoint and waits for it to exit: its output, and the time from the signal
/// to the exit.
async fn signal_and_wait(child: std::process::Child, signal: Signal) -> (std::process::Output, Duration) {
    let sent = std::time::Instant::now();
    kill(Pid::from_raw(child.id() as i32), signal).expect("signal the entrypoint");
    let out = wait(child).await;
    (out, sent.elapsed())
}

/// Waits until the entrypoint has started its command, then 200 ms more for the command's shell to set
/// its traps.
async fn command_started(child: &std::process::Child) {
    let pid = child.id();
    assert!(eventually(Duration::from_secs(3), || !children_of(pid).is_empty()).await);
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// The entrypoint's children, with their state letter (Z for a zombie).
fn children_of(pid: u32) -> Vec<(i32, char)> {
    std::fs::read_dir("/proc")
        .expect("/proc")
        .filter_map(|e| {
            let e = e.ok()?;
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            let after = &stat[stat.rfind(')')? + 1..];
            let mut fields = after.split_whitespace();
            let state = fields.next()?.chars().next()?;
            let ppid: u32 = fields.next()?.parse().ok()?;
            let child: i32 = e.file_name().to_str()?.parse().ok()?;
            (ppid == pid).then_some((child, state))
        })
        .collect()
}

#[tokio::test]
async fn sigterm_is_forwarded_and_the_session_ends_as_shutdown() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let child = rig
        .run(
            &api.uri(),
            &[
                "sh",
                "-c",
                "trap 'echo stopping; exit 0' TERM; while :; do sleep 0.1; done",
            ],
        )
        .spawn()
        .expect("spawn");
    command_started(&child).await;
    let (out, _) = signal_and_wait(child, Signal::SIGTERM).await;
    assert_eq!(code(&out), 0, "the command's own code is returned: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("stopping"));
    let end = &api.journal.on("/end")[0];
    assert_eq!(end.body["reason"], "shutdown");
    assert_eq!(end.body["exit_code"], 0);
}

#[tokio::test]
async fn a_command_killed_by_a_signal_gives_128_plus_n() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["sh", "-c", "kill -KILL $$"])).await;
    assert_eq!(code(&out), 137, "{}", text(&out));
    assert_eq!(api.journal.on("/end")[0].body["exit_code"], 137);
}

#[tokio::test]
async fn a_command_that_ignores_sigterm_is_killed_after_the_grace() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]);
    cmd.env("CODITECT_STOP_GRACE", "1s");
    let child = cmd.spawn().expect("spawn");
    command_started(&child).await;
    let (out, took) = signal_and_wait(child, Signal::SIGTERM).await;
    assert_eq!(code(&out), 137, "{}", text(&out));
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "stopped after {took:?}"
    );
    assert_eq!(api.journal.on("/end")[0].body["reason"], "shutdown");
}

#[tokio::test]
async fn other_signals_are_forwarded_to_the_command() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let child = rig
        .run(
            &api.uri(),
            &[
                "sh",
                "-c",
                "trap 'echo got USR1; exit 5' USR1; while :; do sleep 0.1; done",
            ],
        )
        .spawn()
        .expect("spawn");
    command_started(&child).await;
    let (out, _) = signal_and_wait(child, Signal::SIGUSR1).await;
    assert_eq!(code(&out), 5, "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("got USR1"));
}

#[tokio::test]
async fn orphans_are_reaped_and_leave_no_zombies() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    // Each subshell exits at once, orphaning its `sleep`, which is reparented to the entrypoint.
    let script = "for i in 1 2 3 4 5; do (sleep 0.2 &) ; done; sleep 2";
    let child = rig.run(&api.uri(), &["sh", "-c", script]).spawn().expect("spawn");
    let pid = child.id();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let zombies: Vec<_> = children_of(pid).into_iter().filter(|(_, s)| *s == 'Z').collect();
    let out = wait(child).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(zombies.is_empty(), "zombies left unreaped: {zombies:?}");
}

#[tokio::test]
async fn processes_left_behind_are_stopped_when_the_command_exits() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let marker = rig.dir.path().join("left.pid");
    let script = format!("sleep 300 & echo $! > {}; exit 4", marker.display());
    let (out, took) = finish(rig.run(&api.uri(), &["sh", "-c", &script])).await;
    assert_eq!(code(&out), 4, "{}", text(&out));
    assert!(took < Duration::from_secs(4), "took {took:?}");
    let left: i32 = std::fs::read_to_string(&marker)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    assert!(
        !std::path::Path::new(&format!("/proc/{left}")).exists(),
        "sleep {left} survived the entrypoint"
    );
}

#[tokio::test]
async fn sigterm_during_the_start_up_back_off_exits_at_once() {
    let api = Api::start().await;
    api.on("validate", vec![ResponseTemplate::new(503)]).await;
    let rig = Rig::new();
    let mut cmd = rig.run(&api.uri(), &["true"]);
    cmd.env("CODITECT_API_DEADLINE", "60s");
    let child = cmd.spawn().expect("spawn");
    let api_journal = api.journal.clone();
    assert!(eventually(Duration::from_secs(3), || api_journal.on("/validate").len() >= 2).await);
    let (out, took) = signal_and_wait(child, Signal::SIGTERM).await;
    assert_eq!(code(&out), 143, "{}", text(&out));
    assert!(took < Duration::from_secs(1), "took {took:?}");
}

#[tokio::test]
async fn sigterm_while_heartbeats_are_retried_stops_the_command_and_ends_the_session() {
    let api = Api::start().await;
    api.on("validate", vec![accepted(Some(1))]).await;
    api.on("heartbeat", vec![ResponseTemplate::new(503)]).await;
    api.on("end", vec![ResponseTemplate::new(204)]).await;
    let rig = Rig::new();
    let mut cmd = rig.run(
        &api.uri(),
        &[
            "sh",
            "-c",
            "trap 'echo stopping; exit 0' TERM; while :; do sleep 0.1; done",
        ],
    );
    cmd.env("CODITECT_OFFLINE_GRACE", "100");
    let child = cmd.spawn().expect("spawn");
    let api_journal = api.journal.clone();
    // Two attempts at a beat: the entrypoint is inside its retry back-off when the signal lands.
    assert!(eventually(Duration::from_secs(4), || api_journal.on("/heartbeat").len() >= 2).await);
    let (out, took) = signal_and_wait(child, Signal::SIGTERM).await;
    assert_eq!(code(&out), 0, "the command's own code is returned: {}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("stopping"),
        "{}",
        text(&out)
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let end = api.journal.on("/end");
    assert_eq!(end.len(), 1, "one session end: {end:?}");
    assert_eq!(end[0].body["reason"], "shutdown");
}

#[tokio::test]
async fn the_command_starts_with_no_blocked_or_ignored_signals() {
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    let (out, _) = finish(rig.run(&api.uri(), &["grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"])).await;
    assert_eq!(code(&out), 0, "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    // Signals 1-31 only: 32 and up include glibc's internal real-time signals, which no program sets.
    let standard = |field: &str| {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("{field} missing: {stdout}"));
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap_or_default(), 16).expect("hex mask") & 0x7fff_ffff
    };
    assert_eq!(standard("SigBlk"), 0, "the command inherited a signal mask: {stdout}");
    assert_eq!(standard("SigIgn"), 0, "the command inherited ignored signals: {stdout}");
}

#[tokio::test]
async fn run_as_makes_the_entrypoint_and_the_command_that_user_or_is_refused_without_root() {
    use std::os::unix::fs::PermissionsExt as _;
    let api = Api::accepting(None).await;
    let rig = Rig::new();
    // The entrypoint reads the framework as `nobody` once it has become that user.
    std::fs::set_permissions(rig.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    // The command reports its own IDs, then its parent's (the entrypoint's) IDs and effective capabilities.
    let mut cmd = rig.run(
        &api.uri(),
        &[
            "sh",
            "-c",
            "echo uid=$(id -u) gid=$(id -g) groups=$(id -G) home=$HOME; \
             awk '/^(Uid|Gid|CapEff):/ {print \"entrypoint\", $1, $2, $3, $4}' /proc/$PPID/status",
        ],
    );
    cmd.env("CODITECT_RUN_AS", "nobody")
        .env("CODITECT_HOME_SKEL", rig.dir.path().join("no-skel"));
    let (out, _) = finish(cmd).await;
    if nix::unistd::geteuid().is_root() {
        assert_eq!(code(&out), 0, "{}", text(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains("uid=65534 gid=65534 groups=65534 home=/nonexistent"),
            "{stdout}"
        );
        for line in [
            "entrypoint Uid: 65534 65534 65534",
            "entrypoint Gid: 65534 65534 65534",
            "entrypoint CapEff: 0000000000000000",
        ] {
            assert!(stdout.contains(line), "expected {line:?}: {stdout}");
        }
        let state = std::fs::metadata(rig.state()).expect("state dir");
        assert_eq!(
            std::os::unix::fs::MetadataExt::uid(&state),
            65534,
            "the state dir is the user's"
        );
        assert_eq!(api.journal.on("/validate")[0].body["user"], "nobody");
    } else {
        assert_eq!(code(&out), 78, "{}", text(&out));
        assert!(
            text(&out).contains("needs the entrypoint to start as root"),
            "{}",
            text(&out)
        );
    }
}
