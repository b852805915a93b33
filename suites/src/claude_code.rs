//! Claude Code access (ADR-193 `test_claude_code.sh`, 28 checks): the developer has the pinned tools,
//! a home and a workspace of their own, reads every part of the framework through `~/.coditect`, Claude
//! Code finds the framework from `~/.claude`, and the framework's scripts and hooks run from the
//! read-only tree without writing into it.

use bollard::Docker;

use crate::catalog::{Check, Suite};
use crate::probe::{config, dev, listed, root, shown};
use crate::verdict::{Verdict, expect};

/// The Claude Code version the image pins (images/base/Dockerfile, fetch stage).
pub const CLAUDE_CODE: &str = "2.1.332";
/// The Node.js version the image pins (images/base/artifacts.lock).
pub const NODE: &str = "20.18.0";

macro_rules! checks {
    ($($id:literal => $title:literal, $req:literal;)*) => {
        /// The suite's checks.
        pub const CHECKS: &[Check] = &[$(Check { id: $id, suite: Suite::ClaudeCode, title: $title, requirement: $req }),*];
    };
}

checks! {
    "CC-01" => "`claude --version` as the developer prints the pinned Claude Code 2.1.332", "ADR-193 base: Claude Code pre-installed";
    "CC-02" => "`node --version` as the developer prints Node.js 20 (the pinned 20.18.0)", "ADR-193 base: Node.js 20";
    "CC-03" => "`python3 --version` as the developer prints Python 3.11", "ADR-193 base: Python 3.11";
    "CC-04" => "npm runs as the developer", "ADR-193 base: Node.js 20 toolchain (npm) for Claude Code and framework scripts";
    "CC-05" => "git runs as the developer", "ADR-193 base: a developer workstation (git for Claude Code's work)";
    "CC-06" => "the developer's HOME is /home/developer", "ADR-193 Protection Model: Symlink Discovery from /home/developer";
    "CC-07" => "the image's working directory is /workspace", "ADR-193 Consequences: customers work beside, not in, the framework";
    "CC-08" => "/workspace is owned by the developer", "ADR-193 base: the developer's workspace";
    "CC-09" => "the developer can create and remove files in /workspace", "ADR-193 base: the developer's workspace is writable";
    "CC-10" => "~/.coditect resolves to /opt/coditect", "ADR-193 Protection Model: Symlink Discovery";
    "CC-11" => "every framework file is readable by the developer", "ADR-193 Protection Model: Read-Only Files (444: readable by all)";
    "CC-12" => "every framework directory is listable and traversable by the developer", "ADR-193 Protection Model: Executable Dirs (555)";
    "CC-13" => "~/.claude is the developer's and writable, where Claude Code keeps its state", "Claude Code configuration lives in ~/.claude";
    "CC-14" => "~/.claude/settings.json is the developer's and valid JSON", "Claude Code settings: framework env and hooks";
    "CC-15" => "every hook in settings.json runs a script inside ~/.coditect that exists", "Claude Code settings: hooks point at the framework";
    "CC-16" => "~/.claude/CLAUDE.md resolves to the framework's CLAUDE.md", "Claude Code memory: the framework's CLAUDE.md is loaded";
    "CC-17" => "~/.claude/agents resolves to the framework's agents and lists them", "Claude Code subagents come from the framework";
    "CC-18" => "~/.claude/commands resolves to the framework's commands and lists them", "Claude Code slash commands come from the framework";
    "CC-19" => "~/.claude/skills resolves to the framework's skills and lists them", "Claude Code skills come from the framework";
    "CC-20" => "the framework's Python script runs as the developer and finds the tree intact", "ADR-193 test_claude_code.sh: framework access";
    "CC-21" => "the framework's Node script runs as the developer", "ADR-193 test_claude_code.sh: framework access";
    "CC-22" => "the SessionStart hook prints JSON naming the framework version", "Claude Code hooks: SessionStart context from the framework";
    "CC-23" => "running the framework's scripts writes nothing into the tree", "ADR-193 Protection Model: scripts run from a read-only tree";
    "CC-24" => "PYTHONDONTWRITEBYTECODE=1 is set for the developer", "Framework Python runs without bytecode writes";
    "CC-25" => "the framework's VERSION agrees with the image label ai.coditect.framework.version", "Images issue: the VERSION file agrees with the image label";
    "CC-26" => "the claude and node binaries are root's and not writable by the developer", "ADR-193 base: Claude Code pre-installed, not replaceable by the user";
    "CC-27" => "npm works offline in the workspace (`npm init -y`)", "ADR-193 base: Node.js toolchain usable in /workspace";
    "CC-28" => "the framework's PreToolUse hook refuses an edit of the framework and allows one in /workspace", "ADR-193 Protection Model, enforced in Claude Code too";
}

async fn prints(docker: &Docker, image: &str, script: &str, want: &str) -> Verdict {
    let out = dev(docker, image, script).await?;
    expect(
        out.success() && out.stdout.contains(want),
        format!("exit 0 printing {want:?}"),
        shown(&out),
        format!("{image}: `{script}` as developer"),
    )
}

/// CC-01.
pub async fn cc_01(docker: &Docker, image: &str) -> Verdict {
    prints(
        docker,
        image,
        "claude --version",
        &format!("{CLAUDE_CODE} (Claude Code)"),
    )
    .await
}

/// CC-02.
pub async fn cc_02(docker: &Docker, image: &str) -> Verdict {
    prints(docker, image, "node --version", &format!("v{NODE}")).await
}

/// CC-03.
pub async fn cc_03(docker: &Docker, image: &str) -> Verdict {
    prints(docker, image, "python3 --version", "Python 3.11.").await
}

/// CC-04.
pub async fn cc_04(docker: &Docker, image: &str) -> Verdict {
    prints(docker, image, "npm --version", "10.").await
}

/// CC-05.
pub async fn cc_05(docker: &Docker, image: &str) -> Verdict {
    prints(docker, image, "git --version", "git version 2.").await
}

/// CC-06.
pub async fn cc_06(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "echo $HOME; getent passwd developer | cut -d: -f6").await?;
    expect(
        out.stdout.lines().all(|l| l == "/home/developer"),
        "/home/developer twice",
        shown(&out),
        image,
    )
}

/// CC-07.
pub async fn cc_07(docker: &Docker, image: &str) -> Verdict {
    let dir = config(docker, image).await?.working_dir.unwrap_or_default();
    expect(
        dir == "/workspace",
        "WORKDIR /workspace",
        format!("WORKDIR {dir:?}"),
        image,
    )
}

/// CC-08.
pub async fn cc_08(docker: &Docker, image: &str) -> Verdict {
    let out = root(docker, image, "stat -c %U /workspace").await?;
    expect(
        out.stdout.trim() == "developer",
        "owner developer",
        shown(&out),
        format!("{image}:/workspace"),
    )
}

/// CC-09.
pub async fn cc_09(docker: &Docker, image: &str) -> Verdict {
    let out = dev(
        docker,
        image,
        "f=/workspace/.cc09.$$ && echo ok > $f && cat $f && rm $f",
    )
    .await?;
    expect(
        out.success() && out.stdout.trim() == "ok",
        "a file written, read and removed",
        shown(&out),
        format!("{image}:/workspace"),
    )
}

/// CC-10.
pub async fn cc_10(docker: &Docker, image: &str) -> Verdict {
    prints(docker, image, "readlink -f ~/.coditect", "/opt/coditect").await
}

/// CC-11.
pub async fn cc_11(docker: &Docker, image: &str) -> Verdict {
    let out = dev(
        docker,
        image,
        "find -L ~/.coditect -type f ! -readable 2>&1; find -L ~/.coditect -type f | wc -l",
    )
    .await?;
    let lines: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    let (count, bad) = lines
        .split_last()
        .map_or((0, &[][..]), |(c, rest)| (c.trim().parse().unwrap_or(0), rest));
    expect(
        bad.is_empty() && count > 10,
        format!("all {count} files readable"),
        listed(bad),
        format!("{image}:~/.coditect"),
    )
}

/// CC-12.
pub async fn cc_12(docker: &Docker, image: &str) -> Verdict {
    let out = dev(
        docker,
        image,
        "find -L ~/.coditect -type d \\( ! -readable -o ! -executable \\) 2>&1",
    )
    .await?;
    let bad: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    expect(
        bad.is_empty(),
        "every directory readable and traversable",
        listed(&bad),
        format!("{image}:~/.coditect"),
    )
}

/// CC-13.
pub async fn cc_13(docker: &Docker, image: &str) -> Verdict {
    let out = dev(
        docker,
        image,
        "test \"$(stat -c %U ~/.claude)\" = developer && touch ~/.claude/.cc13 && rm ~/.claude/.cc13 && echo ok",
    )
    .await?;
    expect(
        out.stdout.trim() == "ok",
        "~/.claude owned by and writable for the developer",
        shown(&out),
        format!("{image}:~/.claude"),
    )
}

/// CC-14.
pub async fn cc_14(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "test \"$(stat -c %U ~/.claude/settings.json)\" = developer && python3 -m json.tool ~/.claude/settings.json > /dev/null && echo valid").await?;
    expect(
        out.stdout.trim() == "valid",
        "owned by the developer and valid JSON",
        shown(&out),
        format!("{image}:~/.claude/settings.json"),
    )
}

/// CC-15.
pub async fn cc_15(docker: &Docker, image: &str) -> Verdict {
    let script = r#"python3 -B - <<'PY'
import json, os, shlex
s = json.load(open(os.path.expanduser("~/.claude/settings.json")))
cmds = [h["command"] for groups in s.get("hooks", {}).values() for g in groups for h in g.get("hooks", [])]
bad = [c for c in cmds if not any(a.startswith("/home/developer/.coditect/") and os.path.isfile(a) for a in shlex.split(c))]
print(f"{len(cmds)} hooks"); [print("bad:", c) for c in bad]
PY"#;
    let out = dev(docker, image, script).await?;
    let ok = out.success() && !out.stdout.contains("bad:") && !out.stdout.starts_with("0 hooks");
    expect(
        ok,
        "at least one hook, each running a framework script that exists",
        shown(&out),
        format!("{image}:~/.claude/settings.json"),
    )
}

async fn resolves(docker: &Docker, image: &str, name: &str, listing: bool) -> Verdict {
    let script = if listing {
        format!("readlink -f ~/.claude/{name} && ls ~/.claude/{name}/ | head -3")
    } else {
        format!("readlink -f ~/.claude/{name} && head -c 40 ~/.claude/{name}")
    };
    let out = dev(docker, image, &script).await?;
    let first = out.stdout.lines().next().unwrap_or_default();
    let ok = out.success() && first == format!("/opt/coditect/{name}") && out.stdout.lines().count() > 1;
    expect(
        ok,
        format!("resolving to /opt/coditect/{name}, with content"),
        shown(&out),
        format!("{image}:~/.claude/{name}"),
    )
}

/// CC-16.
pub async fn cc_16(docker: &Docker, image: &str) -> Verdict {
    resolves(docker, image, "CLAUDE.md", false).await
}

/// CC-17.
pub async fn cc_17(docker: &Docker, image: &str) -> Verdict {
    resolves(docker, image, "agents", true).await
}

/// CC-18.
pub async fn cc_18(docker: &Docker, image: &str) -> Verdict {
    resolves(docker, image, "commands", true).await
}

/// CC-19.
pub async fn cc_19(docker: &Docker, image: &str) -> Verdict {
    resolves(docker, image, "skills", true).await
}

/// CC-20.
pub async fn cc_20(docker: &Docker, image: &str) -> Verdict {
    prints(
        docker,
        image,
        "cd /workspace && python3 ~/.coditect/scripts/python/coditect_info.py",
        "intact",
    )
    .await
}

/// CC-21.
pub async fn cc_21(docker: &Docker, image: &str) -> Verdict {
    prints(
        docker,
        image,
        "cd /workspace && node ~/.coditect/scripts/node/coditect-info.js",
        &format!("(node {NODE})"),
    )
    .await
}

/// CC-22.
pub async fn cc_22(docker: &Docker, image: &str) -> Verdict {
    let version = root(docker, image, "cat /opt/coditect/VERSION")
        .await?
        .stdout
        .trim()
        .to_owned();
    let out = dev(docker, image, "python3 -B ~/.coditect/hooks/session_start.py | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"hookSpecificOutput\"][\"additionalContext\"])'").await?;
    expect(
        out.success() && out.stdout.contains(&format!("framework {version}")),
        format!("context naming framework {version}"),
        shown(&out),
        image,
    )
}

/// CC-23.
pub async fn cc_23(docker: &Docker, image: &str) -> Verdict {
    let script = "touch /tmp/cc23.mark && sleep 1 && python3 ~/.coditect/scripts/python/coditect_info.py >/dev/null && \
                  node ~/.coditect/scripts/node/coditect-info.js >/dev/null && python3 ~/.coditect/hooks/session_start.py >/dev/null; \
                  find /opt/coditect -newer /tmp/cc23.mark -o -name __pycache__ -o -name '*.pyc'";
    let out = dev(docker, image, script).await?;
    let written: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    expect(
        written.is_empty(),
        "nothing new under /opt/coditect",
        listed(&written),
        image,
    )
}

/// CC-24.
pub async fn cc_24(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "echo \"$PYTHONDONTWRITEBYTECODE\"").await?;
    expect(
        out.stdout.trim() == "1",
        "PYTHONDONTWRITEBYTECODE=1",
        shown(&out),
        image,
    )
}

/// CC-25.
pub async fn cc_25(docker: &Docker, image: &str) -> Verdict {
    let label = config(docker, image)
        .await?
        .labels
        .unwrap_or_default()
        .get("ai.coditect.framework.version")
        .cloned()
        .unwrap_or_default();
    let out = root(docker, image, "cat /opt/coditect/VERSION").await?;
    let file = out.stdout.trim();
    expect(
        !file.is_empty() && file == label,
        format!("VERSION {file:?} equal to the label"),
        format!("label {label:?}"),
        image,
    )
}

/// CC-26.
pub async fn cc_26(docker: &Docker, image: &str) -> Verdict {
    let script = "for f in $(readlink -f $(command -v claude) $(command -v node)); do \
                  [ \"$(stat -c %u $f)\" = 0 ] && [ ! -w $f ] && [ ! -w $(dirname $f) ] || echo \"$f $(stat -c '%U %a' $f)\"; done";
    let out = dev(docker, image, script).await?;
    let bad: Vec<String> = out.stdout.lines().map(str::to_owned).collect();
    expect(
        out.success() && bad.is_empty(),
        "root-owned and read-only for the developer",
        listed(&bad),
        image,
    )
}

/// CC-27.
pub async fn cc_27(docker: &Docker, image: &str) -> Verdict {
    let out = dev(docker, image, "d=/workspace/cc27.$$ && mkdir $d && cd $d && npm init -y --offline >/dev/null && node -e 'console.log(require(\"./package.json\").name)'; r=$?; rm -rf $d; exit $r").await?;
    expect(
        out.success() && out.stdout.trim().starts_with("cc27"),
        "a package.json named after the folder",
        shown(&out),
        format!("{image}:/workspace"),
    )
}

/// CC-28.
pub async fn cc_28(docker: &Docker, image: &str) -> Verdict {
    let hook = "python3 -B ~/.coditect/hooks/protect_framework.py";
    let script = format!(
        "echo '{{\"tool_input\":{{\"file_path\":\"~/.coditect/CLAUDE.md\"}}}}' | {hook}; echo framework=$?; \
         echo '{{\"tool_input\":{{\"file_path\":\"/workspace/app.py\"}}}}' | {hook}; echo workspace=$?"
    );
    let out = dev(docker, image, &script).await?;
    let ok = out.stdout.contains("framework=2") && out.stdout.contains("workspace=0");
    expect(ok, "exit 2 for the framework, 0 for /workspace", shown(&out), image)
}

/// Runs the check `id` of this suite on `image`; `None` when the suite has no such check.
pub async fn run(id: &str, docker: &Docker, image: &str) -> Option<Verdict> {
    Some(match id {
        "CC-01" => cc_01(docker, image).await,
        "CC-02" => cc_02(docker, image).await,
        "CC-03" => cc_03(docker, image).await,
        "CC-04" => cc_04(docker, image).await,
        "CC-05" => cc_05(docker, image).await,
        "CC-06" => cc_06(docker, image).await,
        "CC-07" => cc_07(docker, image).await,
        "CC-08" => cc_08(docker, image).await,
        "CC-09" => cc_09(docker, image).await,
        "CC-10" => cc_10(docker, image).await,
        "CC-11" => cc_11(docker, image).await,
        "CC-12" => cc_12(docker, image).await,
        "CC-13" => cc_13(docker, image).await,
        "CC-14" => cc_14(docker, image).await,
        "CC-15" => cc_15(docker, image).await,
        "CC-16" => cc_16(docker, image).await,
        "CC-17" => cc_17(docker, image).await,
        "CC-18" => cc_18(docker, image).await,
        "CC-19" => cc_19(docker, image).await,
        "CC-20" => cc_20(docker, image).await,
        "CC-21" => cc_21(docker, image).await,
        "CC-22" => cc_22(docker, image).await,
        "CC-23" => cc_23(docker, image).await,
        "CC-24" => cc_24(docker, image).await,
        "CC-25" => cc_25(docker, image).await,
        "CC-26" => cc_26(docker, image).await,
        "CC-27" => cc_27(docker, image).await,
        "CC-28" => cc_28(docker, image).await,
        _ => return None,
    })
}
