//! The heartbeat suite (`suites/src/heartbeat.rs`): every check on the real docker image, and flawed
//! entrypoints (drifting, never ending the session, beating early, ignoring refusals) that must make the
//! right checks fail.

mod common;

use common::{fake_entrypoint, setup};
use rstest::rstest;

/// Checks that measure timing run one at a time: HB-16 keeps both CPUs busy on purpose, and the test
/// runner would otherwise run it beside another timing check.
static TIMING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
use coditect_suites::heartbeat::TIMED;

async fn passes(id: &str) {
    let _serial = if TIMED.contains(&id) {
        Some(TIMING.lock().await)
    } else {
        None
    };
    common::passes(id).await;
}

macro_rules! on_the_real_image {
    ($($name:ident => $id:literal;)*) => {$(
        #[tokio::test(flavor = "multi_thread")]
        async fn $name() {
            passes($id).await;
        }
    )*};
}

on_the_real_image! {
    hb_01_no_beat_before_validation => "HB-01";
    hb_02_no_beat_after_a_refusal => "HB-02";
    hb_03_the_first_beat_comes_one_interval_after_validation => "HB-03";
    hb_04_beats_are_one_interval_apart => "HB-04";
    hb_05_beats_do_not_drift => "HB-05";
    hb_06_beats_carry_the_session => "HB-06";
    hb_07_sequence_rises_from_1 => "HB-07";
    hb_08_the_default_interval_is_300_s => "HB-08";
    hb_09_a_bad_interval_is_refused => "HB-09";
    hb_10_the_servers_shorter_interval_wins => "HB-10";
    hb_11_a_failed_beat_is_retried => "HB-11";
    hb_12_revocation_stops_the_container => "HB-12";
    hb_13_the_offline_grace_ends_the_session => "HB-13";
    hb_14_docker_stop_ends_the_session => "HB-14";
    hb_15_the_commands_exit_ends_the_session => "HB-15";
    hb_16_beats_keep_their_rhythm_under_load => "HB-16";
    hb_17_the_healthcheck_follows_the_beats => "HB-17";
}

#[rstest]
#[case::drifting("drift", &["HB-04", "HB-05"])]
#[case::never_ends_the_session("no-end", &["HB-15"])]
#[case::beats_before_validating("beat-first", &["HB-01"])]
#[case::beats_after_a_refusal("ignore-refusal", &["HB-02"])]
#[case::no_config_checks_or_state("", &["HB-08", "HB-09", "HB-17"])]
#[tokio::test(flavor = "multi_thread")]
async fn a_flawed_entrypoint_fails_the_right_checks(#[case] flaws: &str, #[case] failing: &[&str]) {
    let _serial = if failing.iter().any(|id| TIMED.contains(id)) {
        Some(TIMING.lock().await)
    } else {
        None
    };
    let (docker, images) = setup().await;
    let broken = fake_entrypoint(&docker, &images, flaws).await;
    common::fail_on(&docker, &broken, failing).await;
}
