//! The developer's home wiring, recreated at start when `/home` is a fresh volume (Cloud Workstations
//! mount a persistent disk over the image's `/home`, hiding what the image baked there).
//!
//! Every entry of the skeleton (`/etc/coditect/skel`: `~/.coditect`, `~/.claude/settings.json`, the links
//! into the framework) that is missing from the home is created, owned by the user. Links that exist but
//! point elsewhere are put back, since they are how the framework is found; files the user changed stay.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt as _, symlink};
use std::path::{Path, PathBuf};

use nix::unistd::{Gid, Uid, chown};

use crate::config::RunAs;

/// The home could not be wired.
#[derive(Debug, thiserror::Error)]
#[error("wire the home of {user} at {path}: {source}; expected a writable home (is /home mounted read-only?)")]
pub struct HomeError {
    /// The user.
    pub user: String,
    /// The path being created.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// As root, before the entrypoint becomes `user`: creates the home if it is missing and gives the
/// home itself (not what is inside, which may be the user's own links) to the user. This is all root
/// does in a home; the wiring runs as the user, so no link the user planted can steer root's writes.
pub fn hand_over(user: &RunAs) -> Result<(), HomeError> {
    let fail = |source: io::Error| HomeError {
        user: user.name.clone(),
        path: user.home.clone(),
        source,
    };
    if fs::symlink_metadata(&user.home).is_err() {
        fs::create_dir_all(&user.home).map_err(fail)?;
    }
    chown_nofollow(&user.home, user.uid, user.gid).map_err(fail)
}

/// Creates `user`'s home if needed and wires it from `skel`; returns how many entries were (re)created.
/// Runs as `user` in the images (after [`hand_over`]); as root it also gives each entry to the user.
pub fn wire(skel: &Path, user: &RunAs) -> Result<usize, HomeError> {
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        let user = user.name.clone();
        move |source: io::Error| HomeError { user, path, source }
    };
    let owner = |path: &Path| chown_nofollow(path, user.uid, user.gid).map_err(fail(path));
    if !skel.is_dir() {
        return Ok(0);
    }
    let mut created = 0;
    if !user.home.exists() {
        fs::create_dir_all(&user.home).map_err(fail(&user.home))?;
        created += 1;
    }
    owner(&user.home)?;
    for entry in walkdir::WalkDir::new(skel)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
    {
        let entry = entry.map_err(|e| fail(skel)(e.into()))?;
        let relative = entry.path().strip_prefix(skel).unwrap_or(entry.path());
        let target = user.home.join(relative);
        let existing = fs::symlink_metadata(&target).ok();
        if entry.file_type().is_symlink() {
            let wanted = fs::read_link(entry.path()).map_err(fail(entry.path()))?;
            match existing {
                Some(m) if m.file_type().is_symlink() && fs::read_link(&target).ok().as_ref() == Some(&wanted) => {
                    continue;
                }
                Some(m) if m.is_dir() => fs::remove_dir_all(&target).map_err(fail(&target))?,
                Some(_) => fs::remove_file(&target).map_err(fail(&target))?,
                None => {}
            }
            symlink(&wanted, &target).map_err(fail(&target))?;
        } else if entry.file_type().is_dir() {
            if existing.is_some() {
                continue;
            }
            fs::create_dir(&target).map_err(fail(&target))?;
        } else {
            if existing.is_some() {
                continue;
            }
            fs::copy(entry.path(), &target).map_err(fail(&target))?;
        }
        owner(&target)?;
        created += 1;
    }
    Ok(created)
}

fn chown_nofollow(path: &Path, uid: u32, gid: u32) -> io::Result<()> {
    let meta = fs::symlink_metadata(path)?;
    if meta.uid() == uid && meta.gid() == gid {
        return Ok(());
    }
    if meta.file_type().is_symlink() {
        nix::unistd::fchownat(
            nix::fcntl::AT_FDCWD,
            path,
            Some(Uid::from_raw(uid)),
            Some(Gid::from_raw(gid)),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )?;
    } else {
        chown(path, Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me(home: PathBuf) -> RunAs {
        RunAs {
            name: "me".into(),
            uid: nix::unistd::getuid().as_raw(),
            gid: nix::unistd::getgid().as_raw(),
            home,
        }
    }

    fn skel(root: &Path) -> PathBuf {
        let skel = root.join("skel");
        fs::create_dir_all(skel.join(".claude")).expect("mkdir");
        fs::write(skel.join(".claude/settings.json"), "{}").expect("write");
        symlink("/opt/coditect", skel.join(".coditect")).expect("link");
        symlink("../.coditect/agents", skel.join(".claude/agents")).expect("link");
        skel
    }

    #[test]
    fn hand_over_creates_a_missing_home() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home/developer");
        hand_over(&me(home.clone())).expect("handed over");
        assert!(home.is_dir());
    }

    #[test]
    fn hand_over_gives_a_planted_link_itself_never_its_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("etc");
        fs::create_dir(&target).expect("mkdir");
        let home = dir.path().join("developer");
        symlink(&target, &home).expect("link");
        let owner_before = fs::metadata(&target).expect("stat").uid();
        let nobody = RunAs {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
            home: home.clone(),
        };
        let handed = hand_over(&nobody);
        if nix::unistd::geteuid().is_root() {
            handed.expect("root hands the link over");
            assert_eq!(fs::symlink_metadata(&home).expect("lstat").uid(), 65534);
        } else {
            assert!(handed.is_err(), "only root can give a path away");
        }
        assert_eq!(
            fs::metadata(&target).expect("stat").uid(),
            owner_before,
            "the link's target changed owner"
        );
    }

    #[test]
    fn an_empty_home_is_wired_from_the_skeleton() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home/developer");
        let n = wire(&skel(dir.path()), &me(home.clone())).expect("wired");
        assert_eq!(n, 5, "home, .claude, settings.json and two links");
        assert_eq!(
            fs::read_link(home.join(".coditect")).expect("link"),
            PathBuf::from("/opt/coditect")
        );
        assert_eq!(
            fs::read_link(home.join(".claude/agents")).expect("link"),
            PathBuf::from("../.coditect/agents")
        );
        assert_eq!(
            fs::read_to_string(home.join(".claude/settings.json")).expect("file"),
            "{}"
        );
    }

    #[test]
    fn user_files_stay_and_a_redirected_link_is_put_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        let skel = skel(dir.path());
        wire(&skel, &me(home.clone())).expect("wired");
        fs::write(home.join(".claude/settings.json"), "{\"mine\":1}").expect("write");
        fs::remove_file(home.join(".coditect")).expect("rm");
        symlink("/tmp", home.join(".coditect")).expect("link");
        assert_eq!(wire(&skel, &me(home.clone())).expect("wired"), 1);
        assert_eq!(
            fs::read_link(home.join(".coditect")).expect("link"),
            PathBuf::from("/opt/coditect")
        );
        assert_eq!(
            fs::read_to_string(home.join(".claude/settings.json")).expect("file"),
            "{\"mine\":1}"
        );
    }
}
