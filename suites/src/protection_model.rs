//! Protection model (ADR-193 `test_protection_model.sh`, 25 checks): the framework tree is root's and
//! read-only in every entry, the developer has no way to raise privileges, and every tamper attempt the
//! developer can make against the tree — directly or through `~/.coditect` — fails with a permission
//! error and leaves the file's manifest digest as it was.

use bollard::Docker;
use coditect_harness::exec::Kind;

use crate::catalog::{Check, Suite};
use crate::probe::{config, dev, listed, root, shown, tree};
use crate::verdict::{Verdict, expect};

const TREE: &str = "/opt/coditect";

macro_rules! checks {
    ($($id:literal => $title:literal, $req:literal;)*) => {
        /// The suite's checks.
        pub const CHECKS: &[Check] = &[$(Check { id: $id, suite: Suite::ProtectionModel, title: $title, requirement: $req }),*];
    };
}

checks! {
    "PM-01" => "every entry under /opt/coditect is owned by root:root", "ADR-193 Protection Model: Root-Owned Framework, /opt/coditect owned by root:root";
    "PM-02" => "every file under /opt/coditect has mode 0444", "ADR-193 Protection Model: Read-Only Files, all files chmod 444";
    "PM-03" => "every directory under /opt/coditect, itself included, has mode 0555", "ADR-193 Protection Model: Executable Dirs, all dirs chmod 555";
    "PM-04" => "no entry under /opt/coditect carries setuid, setgid or sticky bits", "ADR-193 Protection Model: 444/555 exactly, no special bits";
    "PM-05" => "no symbolic link under /opt/coditect leads out of the tree", "ADR-193 Protection Model: Root-Owned Framework cannot be redirected elsewhere";
    "PM-06" => "every file matches MANIFEST.sha256 and the manifest lists every file", "ADR-193 Context 1: protect the framework source code from modification";
    "PM-07" => "the developer is uid 1000 and gid 1000", "ADR-193 base: Developer user (uid 1000, no sudo)";
    "PM-08" => "the developer belongs to no sudo, wheel, admin, root or docker group", "ADR-193 Protection Model: No Sudo Access, not in sudo/wheel/admin groups";
    "PM-09" => "no sudo command exists in the image", "ADR-193 Protection Model: No Sudo Access";
    "PM-10" => "su to root fails for the developer", "ADR-193 Protection Model: No Sudo Access (no other way to root)";
    "PM-11" => "root's password is locked", "ADR-193 Protection Model: No Sudo Access (no root login)";
    "PM-12" => "no setuid or setgid executable exists anywhere in the image", "ADR-193 Protection Model: no privilege escalation from the developer";
    "PM-13" => "the image runs as the developer (USER developer)", "ADR-193 base: Developer user; the framework is never writable by the running user";
    "PM-14" => "/home/developer/.coditect is a symbolic link to /opt/coditect", "ADR-193 Protection Model: Symlink Discovery";
    "PM-15" => "writing a framework file fails with permission denied, its digest unchanged", "ADR-193 Protection Model: Read-Only Files (real write attempt)";
    "PM-16" => "appending to a framework file fails with permission denied, its digest unchanged", "ADR-193 Protection Model: Read-Only Files (append attempt)";
    "PM-17" => "truncating a framework file fails with permission denied, its digest unchanged", "ADR-193 Protection Model: Read-Only Files (truncate attempt)";
    "PM-18" => "creating a file in the framework tree fails with permission denied", "ADR-193 Protection Model: Executable Dirs 555 (create attempt)";
    "PM-19" => "deleting a framework file fails with permission denied, the file still there", "ADR-193 Protection Model: Executable Dirs 555 (delete attempt)";
    "PM-20" => "renaming a framework file fails with permission denied, the file still there", "ADR-193 Protection Model: Executable Dirs 555 (rename attempt)";
    "PM-21" => "chmod of a framework file fails and its mode stays 0444", "ADR-193 Protection Model: Root-Owned Framework (chmod attempt)";
    "PM-22" => "chown of a framework file fails and it stays root:root", "ADR-193 Protection Model: Root-Owned Framework (chown attempt)";
    "PM-23" => "creating a directory in the framework tree fails with permission denied", "ADR-193 Protection Model: Executable Dirs 555 (mkdir attempt)";
    "PM-24" => "hard-linking a framework file inside the tree fails with permission denied", "ADR-193 Protection Model: Executable Dirs 555 (hard link attempt)";
    "PM-25" => "replacing a framework file through ~/.coditect fails, its digest unchanged", "ADR-193 Protection Model: Symlink Discovery gives no write path";
}

/// Files the tamper checks aim at.
const TARGET: &str = "CLAUDE.md";

/// The static checks that `coditect-entrypoint verify` also runs from inside a container (issue: an
/// in-container self-check for customers and auditors who only have `docker exec`).
pub const SELF_CHECKED: &[&str] = &[
    "PM-01", "PM-02", "PM-03", "PM-04", "PM-05", "PM-06", "PM-07", "PM-08", "PM-09", "PM-12", "PM-14",
];

/// What `coditect-entrypoint verify`, run as the developer in `image`, concluded.
#[derive(Debug, Clone)]
pub struct SelfCheck {
    /// Its exit code: 0 only when every check held.
    pub code: i64,
    /// The IDs it reported as holding.
    pub held: Vec<String>,
    /// The IDs it reported as failing.
    pub failed: Vec<String>,
    /// Its whole output.
    pub output: String,
}

/// Runs `coditect-entrypoint verify` as the developer in `image`'s shared container.
pub async fn self_check(docker: &Docker, image: &str) -> Result<SelfCheck, crate::verdict::Failure> {
    let out = dev(docker, image, "coditect-entrypoint verify").await?;
    let ids = |prefix: &str| -> Vec<String> {
        out.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    Ok(SelfCheck {
        code: out.code,
        held: ids("ok   "),
        failed: ids("FAIL "),
        output: out.stdout.clone(),
    })
}

/// PM-01.
pub async fn pm_01(docker: &Docker, image: &str) -> Verdict {
    let bad: Vec<String> = tree(docker, image, TREE)
        .await?
        .into_iter()
        .filter(|e| e.uid != 0 || e.gid != 0)
        .map(|e| format!("{} {}:{}", e.path, e.uid, e.gid))
        .collect();
    expect(
        bad.is_empty(),
        "every entry root:root (0:0)",
        listed(&bad),
        format!("{image}:{TREE}"),
    )
}

/// PM-02.
pub async fn pm_02(docker: &Docker, image: &str) -> Verdict {
    let entries = tree(docker, image, TREE).await?;
    let files = entries.iter().filter(|e| e.kind == Kind::File).count();
    let bad: Vec<String> = entries
        .iter()
        .filter(|e| e.kind == Kind::File && e.mode != 0o444)
        .map(|e| format!("{} {:o}", e.path, e.mode))
        .collect();
    expect(
        bad.is_empty() && files > 0,
        format!("all {files} files 0444"),
        listed(&bad),
        format!("{image}:{TREE}"),
    )
}

/// PM-03.
pub async fn pm_03(docker: &Docker, image: &str) -> Verdict {
    let bad: Vec<String> = tree(docker, image, TREE)
        .await?
        .into_iter()
        .filter(|e| e.kind == Kind::Dir && e.mode != 0o555)
        .map(|e| format!("{} {:o}", e.path, e.mode))
        .collect();
    expect(
        bad.is_empty(),
        "every directory 0555",
        listed(&bad),
        format!("{image}:{TREE}"),
    )
}

/// PM-04.
pub async fn pm_04(docker: &Docker, image: &str) -> Verdict {
    let bad: Vec<String> = tree(docker, image, TREE)
        .await?
        .into_iter()
        .filter(|e| e.mode & 0o7000 != 0)
        .map(|e| format!("{} {:o}", e.path, e.mode))
        .collect();
    expect(
        bad.is_empty(),
        "no setuid/setgid/sticky bit",
        listed(&bad),
        format!("{image}:{TREE}"),
    )
}

/// PM-05.
pub async fn pm_05(docker: &Docker, image: &str) -> Verdict {
    let out = root(docker, image, "find /opt/coditect -type l -exec sh -c 'for l; do t=$(readlink -f \"$l\"); case \"$t\" in /opt/coditect|/opt/coditect/*) ;; *) echo \"$l -> $t\";; esac; done' sh {} +").await?;
    let bad: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    expect(
        out.success() && bad.is_empty(),
        "no link resolving outside /opt/coditect",
        listed(&bad),
        format!("{image}:{TREE}"),
    )
}

/// PM-06.
pub async fn pm_06(docker: &Docker, image: &str) -> Verdict {
    let script = "cd /opt/coditect && sha256sum --quiet -c MANIFEST.sha256 && \
                  find . -type f ! -name MANIFEST.sha256 ! -name MANIFEST.sha256.sig | sed 's|^\\./||' | sort > /tmp/pm06.files && \
                  sed 's/^[0-9a-f]*  //' MANIFEST.sha256 | sort | diff /tmp/pm06.files - && echo intact";
    let out = root(docker, image, script).await?;
    expect(
        out.success() && out.stdout.contains("intact"),
        "every digest matching and no unlisted file",
        shown(&out),
        format!("{image}:{TREE}/MANIFEST.sha256"),
    )
}

/// PM-07.
pub async fn pm_07(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "echo $(id -u) $(id -g)").await?;
    expect(
        out.stdout.trim() == "1000 1000",
        "uid 1000, gid 1000",
        shown(&out),
        format!("{image}: id developer"),
    )
}

/// PM-08.
pub async fn pm_08(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "id -Gn").await?;
    let privileged: Vec<String> = out
        .stdout
        .split_whitespace()
        .filter(|g| ["sudo", "wheel", "admin", "root", "docker", "adm", "staff"].contains(g))
        .map(str::to_owned)
        .collect();
    expect(
        out.success() && privileged.is_empty(),
        "no privileged group",
        format!("groups: {}", out.stdout.trim()),
        format!("{image}: id -Gn developer"),
    )
}

/// PM-09.
pub async fn pm_09(docker: &Docker, image: &str) -> Verdict {
    let out = root(
        docker,
        image,
        "command -v sudo; ls /usr/bin/sudo /usr/sbin/sudo /bin/sudo 2>/dev/null; exit 0",
    )
    .await?;
    expect(out.stdout.trim().is_empty(), "no sudo anywhere", shown(&out), image)
}

/// PM-10.
pub async fn pm_10(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "su -c 'id -u' root < /dev/null 2>&1; echo \"exit=$?\"").await?;
    let became_root = out.stdout.lines().any(|l| l.trim() == "0");
    expect(
        !became_root && !out.stdout.contains("exit=0"),
        "su failing",
        shown(&out),
        format!("{image}: su as developer"),
    )
}

/// PM-11.
pub async fn pm_11(docker: &Docker, image: &str) -> Verdict {
    let out = root(docker, image, "passwd --status root").await?;
    expect(
        out.stdout.split_whitespace().nth(1) == Some("L"),
        "status L (locked)",
        shown(&out),
        format!("{image}: passwd --status root"),
    )
}

/// PM-12.
pub async fn pm_12(docker: &Docker, image: &str) -> Verdict {
    let out = root(docker, image, "find / -xdev -type f -perm /6000 2>/dev/null; exit 0").await?;
    let bad: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    expect(bad.is_empty(), "no setuid/setgid file", listed(&bad), image)
}

/// PM-13.
pub async fn pm_13(docker: &Docker, image: &str) -> Verdict {
    let user = config(docker, image).await?.user.unwrap_or_default();
    expect(
        user == "developer" || user == "1000",
        "USER developer",
        format!("USER {user:?}"),
        image,
    )
}

/// PM-14.
pub async fn pm_14(docker: &Docker, image: &str) -> Verdict {
    let out = root(docker, image, "readlink /home/developer/.coditect").await?;
    expect(
        out.success() && out.stdout.trim() == TREE,
        "a link to /opt/coditect",
        shown(&out),
        format!("{image}:/home/developer/.coditect"),
    )
}

/// A tamper attempt as the developer: it must fail with a permission error, and `target` (relative to the
/// tree) must still match its manifest digest afterwards.
async fn tamper(docker: &Docker, image: &str, attempt: &str, target: &str, check_digest: bool) -> Verdict {
    let out = dev(docker, image, &format!("{attempt} 2>&1; echo \"exit=$?\"")).await?;
    // A failed redirection is reported by the shell itself, on its own stderr: read both streams.
    let said = format!("{}{}", out.stdout, out.stderr);
    let refused = !out.stdout.contains("exit=0")
        && ["Permission denied", "Operation not permitted", "Read-only file system"]
            .iter()
            .any(|e| said.contains(e));
    let place = format!("{image}: `{attempt}` as developer");
    expect(
        refused,
        "the attempt refused with a permission error",
        shown(&out),
        &place,
    )?;
    if check_digest {
        let digest = root(
            docker,
            image,
            &format!("cd {TREE} && grep '  {target}$' MANIFEST.sha256 | sha256sum --quiet -c - && echo same"),
        )
        .await?;
        expect(
            digest.stdout.contains("same"),
            format!("{target} matching its manifest digest afterwards"),
            shown(&digest),
            &place,
        )?;
    }
    Ok(())
}

/// PM-15.
pub async fn pm_15(docker: &Docker, image: &str) -> Verdict {
    tamper(docker, image, &format!("echo tampered > {TREE}/{TARGET}"), TARGET, true).await
}

/// PM-16.
pub async fn pm_16(docker: &Docker, image: &str) -> Verdict {
    tamper(
        docker,
        image,
        &format!("echo tampered >> {TREE}/{TARGET}"),
        TARGET,
        true,
    )
    .await
}

/// PM-17.
pub async fn pm_17(docker: &Docker, image: &str) -> Verdict {
    tamper(docker, image, &format!("truncate -s 0 {TREE}/{TARGET}"), TARGET, true).await
}

/// PM-18.
pub async fn pm_18(docker: &Docker, image: &str) -> Verdict {
    tamper(
        docker,
        image,
        &format!("touch {TREE}/agents/injected.md"),
        "agents/code-reviewer.md",
        false,
    )
    .await?;
    let out = root(
        docker,
        image,
        &format!("test ! -e {TREE}/agents/injected.md && echo absent"),
    )
    .await?;
    expect(out.stdout.contains("absent"), "no new file", shown(&out), image)
}

/// PM-19.
pub async fn pm_19(docker: &Docker, image: &str) -> Verdict {
    tamper(
        docker,
        image,
        &format!("rm -f {TREE}/agents/code-reviewer.md"),
        "agents/code-reviewer.md",
        true,
    )
    .await
}

/// PM-20.
pub async fn pm_20(docker: &Docker, image: &str) -> Verdict {
    tamper(
        docker,
        image,
        &format!("mv {TREE}/commands/ship.md {TREE}/commands/ship.bak"),
        "commands/ship.md",
        true,
    )
    .await
}

/// PM-21.
pub async fn pm_21(docker: &Docker, image: &str) -> Verdict {
    tamper(docker, image, &format!("chmod 0666 {TREE}/{TARGET}"), TARGET, false).await?;
    let out = root(docker, image, &format!("stat -c %a {TREE}/{TARGET}")).await?;
    expect(
        out.stdout.trim() == "444",
        "mode 444",
        shown(&out),
        format!("{image}:{TREE}/{TARGET}"),
    )
}

/// PM-22.
pub async fn pm_22(docker: &Docker, image: &str) -> Verdict {
    tamper(
        docker,
        image,
        &format!("chown developer {TREE}/{TARGET}"),
        TARGET,
        false,
    )
    .await?;
    let out = root(docker, image, &format!("stat -c %u:%g {TREE}/{TARGET}")).await?;
    expect(
        out.stdout.trim() == "0:0",
        "owner 0:0",
        shown(&out),
        format!("{image}:{TREE}/{TARGET}"),
    )
}

/// PM-23.
pub async fn pm_23(docker: &Docker, image: &str) -> Verdict {
    tamper(docker, image, &format!("mkdir {TREE}/skills/injected"), TARGET, false).await
}

/// PM-24.
pub async fn pm_24(docker: &Docker, image: &str) -> Verdict {
    tamper(
        docker,
        image,
        &format!("ln {TREE}/{TARGET} {TREE}/agents/linked.md"),
        TARGET,
        true,
    )
    .await
}

/// PM-25.
pub async fn pm_25(docker: &Docker, image: &str) -> Verdict {
    let attempt =
        format!("echo evil > /tmp/evil && cp /tmp/evil ~/.coditect/{TARGET} || mv -f /tmp/evil ~/.coditect/{TARGET}");
    tamper(docker, image, &attempt, TARGET, true).await
}

/// Runs the check `id` of this suite on `image`; `None` when the suite has no such check.
pub async fn run(id: &str, docker: &Docker, image: &str) -> Option<Verdict> {
    Some(match id {
        "PM-01" => pm_01(docker, image).await,
        "PM-02" => pm_02(docker, image).await,
        "PM-03" => pm_03(docker, image).await,
        "PM-04" => pm_04(docker, image).await,
        "PM-05" => pm_05(docker, image).await,
        "PM-06" => pm_06(docker, image).await,
        "PM-07" => pm_07(docker, image).await,
        "PM-08" => pm_08(docker, image).await,
        "PM-09" => pm_09(docker, image).await,
        "PM-10" => pm_10(docker, image).await,
        "PM-11" => pm_11(docker, image).await,
        "PM-12" => pm_12(docker, image).await,
        "PM-13" => pm_13(docker, image).await,
        "PM-14" => pm_14(docker, image).await,
        "PM-15" => pm_15(docker, image).await,
        "PM-16" => pm_16(docker, image).await,
        "PM-17" => pm_17(docker, image).await,
        "PM-18" => pm_18(docker, image).await,
        "PM-19" => pm_19(docker, image).await,
        "PM-20" => pm_20(docker, image).await,
        "PM-21" => pm_21(docker, image).await,
        "PM-22" => pm_22(docker, image).await,
        "PM-23" => pm_23(docker, image).await,
        "PM-24" => pm_24(docker, image).await,
        "PM-25" => pm_25(docker, image).await,
        _ => return None,
    })
}
