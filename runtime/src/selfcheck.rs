//! `coditect-entrypoint verify`: the static part of the protection model, checked from inside a running
//! container by a customer or an auditor who has only `docker exec` — what ADR-193's
//! `/opt/coditect-scripts/test_protection_model.sh` did. One line per check, with the protection suite's
//! ID so that the suites can compare verdicts, then the verdict; exit 0 only when every check holds.

use std::fmt::Write as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::integrity;

/// The developer account the checks are about.
pub const DEVELOPER: &str = "developer";

/// Groups that grant root, directly or through a daemon.
const PRIVILEGED_GROUPS: &[&str] = &["sudo", "wheel", "admin", "root", "docker"];

/// Where the checks look: the framework tree and the system files (a test points them at a fake root).
#[derive(Debug, Clone)]
pub struct Places {
    /// The framework tree, `/opt/coditect`.
    pub framework: PathBuf,
    /// The filesystem root the account files and the setuid scan are read from, `/`.
    pub root: PathBuf,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The protection suite's ID.
    pub id: &'static str,
    /// What is checked.
    pub title: &'static str,
    /// `None` when it holds, else the first offending thing.
    pub fault: Option<String>,
}

/// Runs every check.
pub fn run(places: &Places) -> Vec<Line> {
    let tree = walk(&places.framework);
    let line = |id, title, fault| Line { id, title, fault };
    let first = |pred: &dyn Fn(&Entry) -> Option<String>| match &tree {
        Ok(entries) => entries.iter().find_map(pred),
        Err(e) => Some(e.clone()),
    };
    let framework = places.framework.clone();
    let passwd = std::fs::read_to_string(places.root.join("etc/passwd")).unwrap_or_default();
    let group = std::fs::read_to_string(places.root.join("etc/group")).unwrap_or_default();
    let account = passwd.lines().find(|l| l.split(':').next() == Some(DEVELOPER));
    let home = account.and_then(|a| a.split(':').nth(5)).unwrap_or("/home/developer");
    vec![
        line(
            "PM-01",
            "every entry under the framework is owned by root:root",
            first(&|e| (e.uid != 0 || e.gid != 0).then(|| format!("{} is {}:{}", e.path.display(), e.uid, e.gid))),
        ),
        line(
            "PM-02",
            "every framework file has mode 0444",
            first(&|e| {
                (e.kind == Kind::File && e.mode & 0o777 != 0o444)
                    .then(|| format!("{} has mode {:04o}", e.path.display(), e.mode & 0o7777))
            }),
        ),
        line(
            "PM-03",
            "every framework directory has mode 0555",
            first(&|e| {
                (e.kind == Kind::Dir && e.mode & 0o777 != 0o555)
                    .then(|| format!("{} has mode {:04o}", e.path.display(), e.mode & 0o7777))
            }),
        ),
        line(
            "PM-04",
            "no framework entry carries setuid, setgid or sticky bits",
            first(&|e| {
                (e.kind != Kind::Link && e.mode & 0o7000 != 0)
                    .then(|| format!("{} has mode {:04o}", e.path.display(), e.mode & 0o7777))
            }),
        ),
        line(
            "PM-05",
            "no symbolic link leads out of the framework",
            first(&|e| {
                (e.kind == Kind::Link && !leads_inside(&e.path, &framework))
                    .then(|| format!("{} leads outside", e.path.display()))
            }),
        ),
        manifest(places),
        line(
            "PM-07",
            "the developer is uid 1000 and gid 1000",
            match account.map(|a| a.split(':').collect::<Vec<_>>()) {
                Some(f) if f.get(2) == Some(&"1000") && f.get(3) == Some(&"1000") => None,
                Some(f) => Some(format!(
                    "{DEVELOPER} is {}:{}",
                    f.get(2).unwrap_or(&"?"),
                    f.get(3).unwrap_or(&"?")
                )),
                None => Some(format!("no {DEVELOPER} account in /etc/passwd")),
            },
        ),
        line(
            "PM-08",
            "the developer is in no sudo, wheel, admin, root or docker group",
            group.lines().find_map(|l| {
                let fields: Vec<&str> = l.split(':').collect();
                let name = *fields.first()?;
                let members = fields.get(3)?;
                (PRIVILEGED_GROUPS.contains(&name) && members.split(',').any(|m| m == DEVELOPER))
                    .then(|| format!("{DEVELOPER} is in {name}"))
            }),
        ),
        line(
            "PM-09",
            "no sudo command exists",
            [
                "usr/bin/sudo",
                "usr/sbin/sudo",
                "bin/sudo",
                "sbin/sudo",
                "usr/local/bin/sudo",
            ]
            .iter()
            .map(|p| places.root.join(p))
            .find(|p| p.symlink_metadata().is_ok())
            .map(|p| format!("{} exists", p.display())),
        ),
        line(
            "PM-12",
            "no setuid or setgid executable exists in the image",
            setuid_file(&places.root),
        ),
        line("PM-14", "~/.coditect is a symbolic link to the framework", {
            let link = places.root.join(home.trim_start_matches('/')).join(".coditect");
            match std::fs::read_link(&link) {
                Ok(target) if target == Path::new("/opt/coditect") || target == places.framework => None,
                Ok(target) => Some(format!("{} points to {}", link.display(), target.display())),
                Err(e) => Some(format!("{} is not a link: {e}", link.display())),
            }
        }),
    ]
}

/// PM-06 alone: the manifest's signature and every file's digest, as the start checks them.
pub fn manifest(places: &Places) -> Line {
    Line {
        id: "PM-06",
        title: "the manifest's signature holds and every framework file matches it",
        fault: integrity::trusted_key()
            .and_then(|key| integrity::check(&places.framework, key.as_ref()))
            .err()
            .map(|e| e.to_string()),
    }
}

/// The report: one line per check, then the verdict; and the exit code (0 only when all hold).
pub fn report(lines: &[Line]) -> (String, u8) {
    let mut out = String::new();
    for l in lines {
        match &l.fault {
            None => {
                let _ = writeln!(out, "ok   {} {}", l.id, l.title);
            }
            Some(fault) => {
                let _ = writeln!(out, "FAIL {} {}: {fault}", l.id, l.title);
            }
        }
    }
    let failed = lines.iter().filter(|l| l.fault.is_some()).count();
    let verdict = if failed == 0 { "pass" } else { "fail" };
    let _ = writeln!(
        out,
        "verdict: {verdict} ({} of {} checks hold)",
        lines.len() - failed,
        lines.len()
    );
    (out, u8::from(failed != 0))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Link,
}

#[derive(Debug)]
struct Entry {
    path: PathBuf,
    kind: Kind,
    mode: u32,
    uid: u32,
    gid: u32,
}

fn walk(root: &Path) -> Result<Vec<Entry>, String> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|entry| {
            let entry = entry.map_err(|e| format!("cannot read the framework: {e}"))?;
            let meta = entry
                .path()
                .symlink_metadata()
                .map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
            let kind = if meta.file_type().is_symlink() {
                Kind::Link
            } else if meta.is_dir() {
                Kind::Dir
            } else {
                Kind::File
            };
            Ok(Entry {
                path: entry.path().to_path_buf(),
                kind,
                mode: meta.permissions().mode(),
                uid: meta.uid(),
                gid: meta.gid(),
            })
        })
        .collect()
}

fn leads_inside(link: &Path, root: &Path) -> bool {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    link.canonicalize().is_ok_and(|target| target.starts_with(&root))
}

/// The first setuid or setgid regular file on `root`'s filesystem, skipping the kernel's ones.
fn setuid_file(root: &Path) -> Option<String> {
    let device = root.metadata().ok()?.dev();
    walkdir::WalkDir::new(root)
        .same_file_system(true)
        .into_iter()
        .filter_entry(|e| !["proc", "sys", "dev"].iter().any(|skip| e.path() == root.join(skip)))
        .filter_map(Result::ok)
        .find_map(|e| {
            let meta = e.path().symlink_metadata().ok()?;
            (meta.is_file() && meta.dev() == device && meta.permissions().mode() & 0o6000 != 0).then(|| {
                format!(
                    "{} has mode {:04o}",
                    e.path().display(),
                    meta.permissions().mode() & 0o7777
                )
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tree shaped like the image's, in a temp dir, with `tweak` applied; ownership cannot be root's
    /// here, so PM-01 is judged apart.
    fn fake(tweak: impl FnOnce(&Path)) -> (tempfile::TempDir, Vec<Line>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        let framework = root.join("opt/coditect");
        std::fs::create_dir_all(framework.join("agents")).expect("mkdir");
        std::fs::write(framework.join("VERSION"), "2.3.1\n").expect("write");
        std::fs::write(framework.join("agents/a.md"), "agent\n").expect("write");
        integrity::write_manifest(&framework).expect("manifest");
        std::fs::create_dir_all(root.join("etc")).expect("mkdir");
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0::/root:/bin/bash\ndeveloper:x:1000:1000::/home/developer:/bin/bash\n",
        )
        .expect("write");
        std::fs::write(root.join("etc/group"), "sudo:x:27:\ndeveloper:x:1000:\n").expect("write");
        std::fs::create_dir_all(root.join("home/developer")).expect("mkdir");
        std::os::unix::fs::symlink("/opt/coditect", root.join("home/developer/.coditect")).expect("link");
        tweak(root);
        for entry in walkdir::WalkDir::new(&framework).contents_first(true) {
            let entry = entry.expect("entry");
            let mode = if entry.file_type().is_dir() { 0o555 } else { 0o444 };
            if !entry.path_is_symlink() {
                let _ = std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode));
            }
        }
        let lines = run(&Places {
            framework,
            root: root.to_path_buf(),
        });
        (dir, lines)
    }

    fn faults(lines: &[Line]) -> Vec<&str> {
        lines
            .iter()
            .filter(|l| l.fault.is_some() && l.id != "PM-01")
            .map(|l| l.id)
            .collect()
    }

    #[test]
    fn a_well_formed_tree_passes_every_check_but_ownership() {
        let (_dir, lines) = fake(|_| {});
        assert_eq!(faults(&lines), Vec::<&str>::new(), "{lines:?}");
    }

    #[test]
    fn each_flaw_fails_its_own_check() {
        let (_d, lines) =
            fake(|root| std::fs::write(root.join("opt/coditect/agents/a.md"), "tampered\n").expect("write"));
        assert_eq!(faults(&lines), vec!["PM-06"]);
        let (_d, lines) = fake(|root| std::fs::write(root.join("etc/group"), "sudo:x:27:developer\n").expect("write"));
        assert_eq!(faults(&lines), vec!["PM-08"]);
        let (_d, lines) = fake(|root| {
            std::fs::create_dir_all(root.join("usr/bin")).expect("mkdir");
            std::fs::write(root.join("usr/bin/sudo"), "").expect("write");
        });
        assert_eq!(faults(&lines), vec!["PM-09"]);
        let (_d, lines) = fake(|root| {
            let bash = root.join("bash");
            std::fs::write(&bash, "").expect("write");
            std::fs::set_permissions(&bash, std::fs::Permissions::from_mode(0o4755)).expect("chmod");
        });
        assert_eq!(faults(&lines), vec!["PM-12"]);
        let (_d, lines) = fake(|root| {
            std::fs::remove_file(root.join("home/developer/.coditect")).expect("rm");
        });
        assert_eq!(faults(&lines), vec!["PM-14"]);
        let (_d, lines) = fake(|root| {
            std::fs::write(
                root.join("etc/passwd"),
                "developer:x:1001:1001::/home/developer:/bin/sh\n",
            )
            .expect("write")
        });
        assert_eq!(faults(&lines), vec!["PM-07"]);
    }

    #[test]
    fn the_report_ends_with_the_verdict_and_exits_1_on_a_fault() {
        let lines = [
            Line {
                id: "PM-02",
                title: "files 0444",
                fault: None,
            },
            Line {
                id: "PM-06",
                title: "manifest",
                fault: Some("x was modified".into()),
            },
        ];
        let (text, code) = report(&lines);
        assert_eq!(code, 1);
        assert_eq!(
            text,
            "ok   PM-02 files 0444\nFAIL PM-06 manifest: x was modified\nverdict: fail (1 of 2 checks hold)\n"
        );
        assert_eq!(report(&lines[..1]).1, 0);
    }
}
