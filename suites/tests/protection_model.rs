//! The protection model suite (`suites/src/protection_model.rs`): every check on the real base image,
//! and deliberately broken variants that must make the right checks fail.

mod common;

use coditect_harness::images::{Image, variant};
use common::setup;
use rstest::rstest;

on_the_real_image! {
    pm_01_every_entry_is_root_owned => "PM-01";
    pm_02_every_file_is_0444 => "PM-02";
    pm_03_every_directory_is_0555 => "PM-03";
    pm_04_no_special_bits_in_the_tree => "PM-04";
    pm_05_no_link_leads_out_of_the_tree => "PM-05";
    pm_06_the_manifest_matches_every_file => "PM-06";
    pm_07_the_developer_is_uid_and_gid_1000 => "PM-07";
    pm_08_the_developer_has_no_privileged_group => "PM-08";
    pm_09_there_is_no_sudo => "PM-09";
    pm_10_su_fails => "PM-10";
    pm_11_roots_password_is_locked => "PM-11";
    pm_12_no_setuid_or_setgid_binary => "PM-12";
    pm_13_the_image_runs_as_the_developer => "PM-13";
    pm_14_the_home_link_points_at_the_tree => "PM-14";
    pm_15_write_is_refused => "PM-15";
    pm_16_append_is_refused => "PM-16";
    pm_17_truncate_is_refused => "PM-17";
    pm_18_create_is_refused => "PM-18";
    pm_19_delete_is_refused => "PM-19";
    pm_20_rename_is_refused => "PM-20";
    pm_21_chmod_is_refused => "PM-21";
    pm_22_chown_is_refused => "PM-22";
    pm_23_mkdir_is_refused => "PM-23";
    pm_24_hard_link_is_refused => "PM-24";
    pm_25_replace_through_the_link_is_refused => "PM-25";
}

const AS_ROOT: &str = "USER root";
const BACK: &str = "USER developer";

#[rstest]
#[case::file_0644("pm-file-0644", "RUN chmod 0644 /opt/coditect/CLAUDE.md", &["PM-02"])]
#[case::dir_owned_by_developer("pm-dir-owned-by-developer", "RUN chown developer /opt/coditect/agents", &["PM-01"])]
#[case::developer_in_sudo("pm-developer-in-sudo", "RUN usermod -aG sudo developer", &["PM-08"])]
#[case::home_link_removed("pm-no-home-link", "RUN rm /home/developer/.coditect", &["PM-14"])]
#[case::setuid_shell("pm-setuid-shell", "RUN cp /bin/bash /usr/local/bin/rootsh && chmod 4755 /usr/local/bin/rootsh", &["PM-12"])]
#[case::world_writable_file("pm-world-writable-file", "RUN chmod 0666 /opt/coditect/CLAUDE.md", &["PM-02", "PM-15", "PM-16", "PM-17"])]
#[case::writable_dir("pm-writable-dir", "RUN chmod 0777 /opt/coditect/agents", &["PM-03", "PM-18", "PM-19"])]
#[case::root_password_removed("pm-root-unlocked", "RUN passwd -d root", &["PM-11"])]
#[case::tampered_file("pm-tampered-file", "RUN chmod 0644 /opt/coditect/CLAUDE.md && echo x >> /opt/coditect/CLAUDE.md && chmod 0444 /opt/coditect/CLAUDE.md", &["PM-06"])]
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_variant_fails_the_right_checks(#[case] name: &str, #[case] change: &str, #[case] failing: &[&str]) {
    let (docker, images) = setup().await;
    let base = images.get(Image::Base).expect("base image").reference.clone();
    let broken = variant(&docker, &base, name, &format!("{AS_ROOT}\n{change}\n{BACK}"))
        .await
        .expect("variant builds");
    common::fail_on(&docker, &broken, failing).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_image_that_runs_as_root_fails_pm_13() {
    let (docker, images) = setup().await;
    let base = images.get(Image::Base).expect("base image").reference.clone();
    let broken = variant(&docker, &base, "pm-runs-as-root", AS_ROOT)
        .await
        .expect("variant builds");
    common::fail_on(&docker, &broken, &["PM-13"]).await;
}

/// `coditect-entrypoint verify`, the in-container self-check, reaches the same verdict as the suite on
/// every static check, on the real image and on broken variants alike.
#[rstest]
#[case::real_image(None)]
#[case::file_0644(Some(("pm-file-0644", "RUN chmod 0644 /opt/coditect/CLAUDE.md")))]
#[case::dir_owned_by_developer(Some(("pm-dir-owned-by-developer", "RUN chown developer /opt/coditect/agents")))]
#[case::developer_in_sudo(Some(("pm-developer-in-sudo", "RUN usermod -aG sudo developer")))]
#[case::home_link_removed(Some(("pm-no-home-link", "RUN rm /home/developer/.coditect")))]
#[case::setuid_shell(Some(("pm-setuid-shell", "RUN cp /bin/bash /usr/local/bin/rootsh && chmod 4755 /usr/local/bin/rootsh")))]
#[case::tampered_file(Some(("pm-tampered-file", "RUN chmod 0644 /opt/coditect/CLAUDE.md && echo x >> /opt/coditect/CLAUDE.md && chmod 0444 /opt/coditect/CLAUDE.md")))]
#[tokio::test(flavor = "multi_thread")]
async fn the_in_container_self_check_agrees_with_the_suite(#[case] broken: Option<(&str, &str)>) {
    use coditect_suites::protection_model::{SELF_CHECKED, self_check};
    let (docker, images) = setup().await;
    let base = images.get(Image::Base).expect("base image").reference.clone();
    let image = match broken {
        None => base,
        Some((name, change)) => variant(&docker, &base, name, &format!("{AS_ROOT}\n{change}\n{BACK}"))
            .await
            .expect("variant builds"),
    };
    let own = self_check(&docker, &image).await.expect("the self-check runs");
    let mut all_hold = true;
    for id in SELF_CHECKED {
        let suite = coditect_suites::runner::run_check(coditect_suites::catalog::check(id), &docker, &image)
            .await
            .is_ok();
        all_hold &= suite;
        let its = own.held.iter().any(|h| h == id);
        assert!(
            its || own.failed.iter().any(|f| f == id),
            "{id} missing from the self-check's report:\n{}",
            own.output
        );
        assert_eq!(
            its, suite,
            "{id} on {image}: suite says {suite}, the self-check says {its}:\n{}",
            own.output
        );
    }
    assert_eq!(own.code == 0, all_hold, "exit {} on {image}:\n{}", own.code, own.output);
    assert!(
        own.output.lines().last().is_some_and(|l| l.starts_with("verdict: ")),
        "{}",
        own.output
    );
}
