//! The Claude Code access suite (`suites/src/claude_code.rs`): every check on the real base image, and
//! deliberately broken variants that must make the right checks fail.

mod common;

use coditect_harness::images::{Image, variant};
use common::setup;
use rstest::rstest;

on_the_real_image! {
    cc_01_claude_is_the_pinned_version => "CC-01";
    cc_02_node_is_20 => "CC-02";
    cc_03_python_is_3_11 => "CC-03";
    cc_04_npm_runs => "CC-04";
    cc_05_git_runs => "CC-05";
    cc_06_home_is_the_developers => "CC-06";
    cc_07_workdir_is_the_workspace => "CC-07";
    cc_08_the_workspace_is_the_developers => "CC-08";
    cc_09_the_workspace_is_writable => "CC-09";
    cc_10_the_home_link_resolves_to_the_tree => "CC-10";
    cc_11_every_framework_file_is_readable => "CC-11";
    cc_12_every_framework_directory_is_traversable => "CC-12";
    cc_13_the_claude_folder_is_writable => "CC-13";
    cc_14_settings_are_valid_json => "CC-14";
    cc_15_hooks_run_framework_scripts => "CC-15";
    cc_16_claude_md_comes_from_the_framework => "CC-16";
    cc_17_agents_come_from_the_framework => "CC-17";
    cc_18_commands_come_from_the_framework => "CC-18";
    cc_19_skills_come_from_the_framework => "CC-19";
    cc_20_the_python_script_runs => "CC-20";
    cc_21_the_node_script_runs => "CC-21";
    cc_22_the_session_start_hook_names_the_version => "CC-22";
    cc_23_scripts_write_nothing_into_the_tree => "CC-23";
    cc_24_no_bytecode_is_written => "CC-24";
    cc_25_version_agrees_with_the_label => "CC-25";
    cc_26_the_tools_are_roots => "CC-26";
    cc_27_npm_works_in_the_workspace => "CC-27";
    cc_28_the_hook_refuses_framework_edits => "CC-28";
}

#[rstest]
#[case::node_18(
    "cc-node-18",
    "RUN rm /usr/local/bin/node && printf '#!/bin/sh\\necho v18.20.0\\n' > /usr/local/bin/node && chmod 0755 /usr/local/bin/node",
    &["CC-02"]
)]
#[case::no_settings("cc-no-settings", "RUN rm /home/developer/.claude/settings.json", &["CC-14", "CC-15"])]
#[case::workspace_roots("cc-workspace-roots", "RUN chown root:root /workspace && chmod 0755 /workspace", &["CC-08", "CC-09"])]
#[case::unreadable_agent("cc-unreadable-agent", "RUN chmod 0400 /opt/coditect/agents/code-reviewer.md", &["CC-11"])]
#[case::agents_link_removed("cc-no-agents-link", "RUN rm /home/developer/.claude/agents", &["CC-17"])]
#[case::bytecode_on("cc-bytecode-on", "ENV PYTHONDONTWRITEBYTECODE=", &["CC-24"])]
#[case::version_label_mismatch("cc-version-mismatch", "LABEL ai.coditect.framework.version=9.9.9", &["CC-25"])]
#[case::claude_writable("cc-claude-writable", "RUN chmod 0777 /usr/local/bin/claude", &["CC-26"])]
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_variant_fails_the_right_checks(#[case] name: &str, #[case] change: &str, #[case] failing: &[&str]) {
    let (docker, images) = setup().await;
    let base = images.get(Image::Base).expect("base image").reference.clone();
    let broken = variant(&docker, &base, name, &format!("USER root\n{change}\nUSER developer"))
        .await
        .expect("variant builds");
    common::fail_on(&docker, &broken, failing).await;
}
