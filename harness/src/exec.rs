//! Commands inside a running container, as any user, and the file metadata the suites check.
//!
//! testcontainers' own `exec` runs as the container's user; suites need root and the developer both, so
//! this goes through bollard's exec API with an explicit user. Output is read to its end before the exit
//! code is asked for. A whole tree's metadata comes from one `find -printf`, never one exec per file.

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use futures_util::StreamExt as _;

use crate::error::{HarnessError, Result};

/// What a command printed and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit code.
    pub code: i64,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl ExecOutput {
    /// True when the command exited 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }
}

/// Runs `cmd` in `container` as `user` (a name or uid[:gid]).
pub async fn exec(docker: &Docker, container: &str, user: &str, cmd: &[&str]) -> Result<ExecOutput> {
    let what = || {
        format!(
            "run {cmd:?} as {user} in container {}",
            &container[..container.len().min(12)]
        )
    };
    let config = ExecConfig {
        cmd: Some(cmd.iter().map(|s| (*s).to_owned()).collect()),
        user: Some(user.to_owned()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let created = docker
        .create_exec(container, config)
        .await
        .map_err(HarnessError::docker(what()))?;
    let options = StartExecOptions {
        output_capacity: Some(1 << 20),
        ..Default::default()
    };
    let started = docker
        .start_exec(&created.id, Some(options))
        .await
        .map_err(HarnessError::docker(what()))?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let StartExecResults::Attached { mut output, .. } = started {
        while let Some(chunk) = output.next().await {
            match chunk.map_err(HarnessError::docker(what()))? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => stdout.extend_from_slice(&message),
                LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(HarnessError::docker(what()))?;
    Ok(ExecOutput {
        code: inspect.exit_code.unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

/// The kind of a file-system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link.
    Link,
    /// Anything else (device, socket, fifo).
    Other,
}

/// One entry's metadata, as `find -printf` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Absolute path.
    pub path: String,
    /// Kind.
    pub kind: Kind,
    /// Owner uid.
    pub uid: u32,
    /// Owner gid.
    pub gid: u32,
    /// Mode bits, including setuid (0o4000), setgid (0o2000) and sticky (0o1000).
    pub mode: u32,
    /// Link target, for links.
    pub target: Option<String>,
}

/// The `find -printf` format the parser reads: kind, uid, gid, mode, target, path, tab-separated
/// (find itself turns `\\t` and `\\n` into a tab and a newline).
pub const FIND_FORMAT: &str = "%y\\t%U\\t%G\\t%m\\t%l\\t%p\\n";

/// Parses `find -printf FIND_FORMAT` output.
pub fn parse_find(text: &str) -> std::result::Result<Vec<Entry>, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.splitn(6, '\t').collect();
            let [kind, uid, gid, mode, target, path] = fields[..] else {
                return Err(format!("unexpected find output line {line:?}"));
            };
            let number = |s: &str, radix| u32::from_str_radix(s, radix).map_err(|e| format!("{s:?} in {line:?}: {e}"));
            Ok(Entry {
                path: path.to_owned(),
                kind: match kind {
                    "f" => Kind::File,
                    "d" => Kind::Dir,
                    "l" => Kind::Link,
                    _ => Kind::Other,
                },
                uid: number(uid, 10)?,
                gid: number(gid, 10)?,
                mode: number(mode, 8)?,
                target: (!target.is_empty()).then(|| target.to_owned()),
            })
        })
        .collect()
}

/// Every entry under `root` (itself included), in one exec as root.
pub async fn tree(docker: &Docker, container: &str, root: &str) -> Result<Vec<Entry>> {
    let out = exec(docker, container, "0", &["find", root, "-printf", FIND_FORMAT]).await?;
    if !out.success() {
        return Err(HarnessError::Tool {
            tool: format!("find {root}"),
            detail: out.stderr,
        });
    }
    parse_find(&out.stdout).map_err(|detail| HarnessError::Tool {
        tool: format!("find {root}"),
        detail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_output_parses_with_special_bits_and_spaces() {
        let text = "d\t0\t0\t555\t\t/opt/coditect\nf\t0\t0\t4755\t\t/usr/bin/su\nl\t1000\t1000\t777\t/opt/coditect\t/home/developer/.coditect\nf\t0\t0\t444\t\t/opt/a b.md\n";
        let entries = parse_find(text).expect("parses");
        assert_eq!(entries[0].kind, Kind::Dir);
        assert_eq!(entries[0].mode, 0o555);
        assert_eq!(entries[1].mode, 0o4755);
        assert_eq!(entries[2].target.as_deref(), Some("/opt/coditect"));
        assert_eq!(entries[3].path, "/opt/a b.md");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(parse_find("x\ty\n").is_err());
        assert!(parse_find("f\tzero\t0\t444\t\t/p\n").is_err());
    }
}
