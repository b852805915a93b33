//! The example suite: a short tour of the harness in the style every suite follows — checks declared
//! once with an ID, a title and the requirement they prove; each check's logic a function over the
//! image under test; read-only checks on a shared container, flows on a fresh one with its own mock;
//! and a deliberately broken variant per check that makes it fail.

use std::time::Duration;

use bollard::Docker;
use coditect_harness::mock::{Mock, license::EXPIRED_ON};
use coditect_harness::{Launch, TEST_KEY, shared};

use crate::catalog::{Check, Suite};
use crate::verdict::{Verdict, expect, harness};

/// The example suite's checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "EX-01",
        suite: Suite::Example,
        title: "the developer reads the framework's VERSION through ~/.coditect",
        requirement: "ADR-193 Protection Model: symlink discovery /home/developer/.coditect -> /opt/coditect",
    },
    Check {
        id: "EX-02",
        suite: Suite::Example,
        title: "a valid license starts the container and its command runs as the developer",
        requirement: "ADR-193 License Validation Flow: valid -> start; license-api.md 200 accepted",
    },
    Check {
        id: "EX-03",
        suite: Suite::Example,
        title: "an expired license stops the container with exit 77 and shows the expiry date",
        requirement: "ADR-193 License Validation Flow: invalid -> exit with error message; license-api.md LICENSE_EXPIRED, exit 77",
    },
];

const WAIT: Duration = Duration::from_secs(60);

/// EX-01 on `image` (a base-derived image).
pub async fn ex_01(docker: &Docker, image: &str) -> Verdict {
    let container = shared::container(docker, image).await.map_err(|e| harness(e, image))?;
    let out = container
        .exec_dev(&["cat", "/home/developer/.coditect/VERSION"])
        .await
        .map_err(|e| harness(e, image))?;
    let found = format!("exit {}: {}{}", out.code, out.stdout.trim(), out.stderr.trim());
    expect(
        out.success() && out.stdout.trim() == "2.3.1",
        "exit 0 and \"2.3.1\"",
        found,
        image,
    )
}

/// EX-02 on `image` (a licensed docker image).
pub async fn ex_02(docker: &Docker, image: &str) -> Verdict {
    let launch = Launch::image(image)
        .with_env("CODITECT_LICENSE_KEY", TEST_KEY)
        .with_license(Mock::valid())
        .with_cmd(["id", "-un"]);
    let running = launch.start(docker).await.map_err(|e| harness(e, image))?;
    let exit = running.wait_exit(WAIT).await.map_err(|e| harness(e, image))?;
    let found = format!("exit {}, output {:?}", exit.code, exit.output().trim());
    expect(
        exit.code == 0 && exit.stdout.trim() == "developer",
        "exit 0 and \"developer\"",
        found,
        image,
    )
}

/// EX-03 on `image` (a licensed docker image).
pub async fn ex_03(docker: &Docker, image: &str) -> Verdict {
    let launch = Launch::image(image)
        .with_env("CODITECT_LICENSE_KEY", TEST_KEY)
        .with_license(Mock::expired());
    let running = launch.start(docker).await.map_err(|e| harness(e, image))?;
    let exit = running.wait_exit(WAIT).await.map_err(|e| harness(e, image))?;
    let found = format!("exit {}: {}", exit.code, exit.output().trim());
    expect(
        exit.code == 77 && exit.output().contains(EXPIRED_ON),
        format!("exit 77 naming {EXPIRED_ON}"),
        found,
        image,
    )
}
