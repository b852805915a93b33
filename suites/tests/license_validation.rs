//! The license validation suite (`suites/src/license_validation.rs`): every check on the real images,
//! and flawed entrypoints and images that must make the right checks fail.

mod common;

use coditect_harness::images::{Image, variant};
use common::{fake_entrypoint, reference, setup};
use rstest::rstest;

on_the_real_image! {
    lv_01_a_valid_key_runs_the_command => "LV-01";
    lv_02_the_request_is_the_contracts => "LV-02";
    lv_03_an_unknown_key_exits_77_masked => "LV-03";
    lv_04_an_expired_license_shows_the_date => "LV-04";
    lv_05_suspended_and_seat_limit_exit_77 => "LV-05";
    lv_06_a_missing_or_malformed_key_sends_nothing => "LV-06";
    lv_07_an_unreachable_api_exits_69 => "LV-07";
    lv_08_transient_answers_recover => "LV-08";
    lv_09_malformed_json_exits_76 => "LV-09";
    lv_10_the_key_is_never_shown => "LV-10";
    lv_11_the_workstation_sends_its_identity_token => "LV-11";
    lv_12_workstation_failures_are_clear => "LV-12";
    lv_13_two_users_get_two_sessions => "LV-13";
}

#[rstest]
#[case::ignores_refusal("ignore-refusal", &["LV-03", "LV-04"])]
#[case::leaks_the_key("leak-key", &["LV-10"])]
#[case::gives_up_on_5xx("no-retry", &["LV-08"])]
#[case::checks_nothing_itself("", &["LV-06", "LV-09"])]
#[tokio::test(flavor = "multi_thread")]
async fn a_flawed_entrypoint_fails_the_right_checks(#[case] flaws: &str, #[case] failing: &[&str]) {
    let (docker, images) = setup().await;
    let broken = fake_entrypoint(&docker, &images, flaws).await;
    common::fail_on(&docker, &broken, failing).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_whose_shells_keep_the_key_fails_lv_10() {
    let (docker, images) = setup().await;
    let lines = "USER root\nRUN rm /etc/profile.d/00-coditect-env.sh /home/developer/.bashrc\nUSER developer";
    let broken = variant(
        &docker,
        &reference(&images, Image::Docker),
        "lv-shells-keep-the-key",
        lines,
    )
    .await
    .expect("variant");
    common::fail_on(&docker, &broken, &["LV-10"]).await;
}
