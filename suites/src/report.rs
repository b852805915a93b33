//! The reports an auditor files: one JUnit XML per suite (the Ant schema, `shared/junit/JUnit.xsd`) and a
//! Markdown summary of every check with the images' digests.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::catalog::Suite;
use crate::runner::Outcome;

/// Writes `<dir>/<suite>.xml` for every suite in `outcomes` and `<dir>/summary.md`; returns the files.
pub fn write(dir: &Path, outcomes: &[Outcome], started: std::time::SystemTime) -> io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let mut suites: Vec<Suite> = outcomes.iter().map(|o| o.check.suite).collect();
    suites.dedup();
    for suite in suites {
        let of_suite: Vec<&Outcome> = outcomes.iter().filter(|o| o.check.suite == suite).collect();
        let path = dir.join(format!("{}.xml", suite.name()));
        std::fs::write(&path, junit(suite, &of_suite, started)?)?;
        written.push(path);
    }
    let path = dir.join("summary.md");
    std::fs::write(&path, markdown(outcomes, started))?;
    written.push(path);
    Ok(written)
}

/// One suite as a JUnit `<testsuite>`. The schema allows no properties on a testcase, so each check's
/// requirement, image and digest are suite properties named after the check (`PM-01.requirement`).
pub fn junit(suite: Suite, outcomes: &[&Outcome], started: std::time::SystemTime) -> io::Result<Vec<u8>> {
    let failures = outcomes.iter().filter(|o| o.verdict.is_err()).count();
    let time: f64 = outcomes.iter().map(|o| o.took.as_secs_f64()).sum();
    // The schema's timestamp has no zone designator: UTC, seconds, without the trailing `Z`.
    let timestamp = humantime::format_rfc3339_seconds(started)
        .to_string()
        .trim_end_matches('Z')
        .to_owned();
    let hostname = nix_hostname();
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(|e| io::Error::other(e.to_string()))?;
    w.create_element("testsuite")
        .with_attributes([
            ("name", suite.name()),
            ("timestamp", timestamp.as_str()),
            ("hostname", hostname.as_str()),
            ("tests", outcomes.len().to_string().as_str()),
            ("failures", failures.to_string().as_str()),
            ("errors", "0"),
            ("skipped", "0"),
            ("time", format!("{time:.3}").as_str()),
        ])
        .write_inner_content(|w| {
            w.create_element("properties").write_inner_content(|w| {
                let mut property = |name: String, value: &str| {
                    w.create_element("property")
                        .with_attributes([("name", name.as_str()), ("value", value)])
                        .write_empty()
                        .map(|_| ())
                };
                property("tool.version".into(), env!("CARGO_PKG_VERSION"))?;
                for o in outcomes {
                    property(format!("{}.requirement", o.check.id), o.check.requirement)?;
                    property(format!("{}.image", o.check.id), &o.image.reference)?;
                    property(format!("{}.digest", o.check.id), &o.image.id)?;
                }
                Ok(())
            })?;
            for o in outcomes {
                let name = format!("{} {}", o.check.id, o.check.title);
                let case = w.create_element("testcase").with_attributes([
                    ("name", name.as_str()),
                    ("classname", suite.name()),
                    ("time", format!("{:.3}", o.took.as_secs_f64()).as_str()),
                ]);
                match &o.verdict {
                    Ok(()) => {
                        case.write_empty()?;
                    }
                    Err(f) => {
                        let text = format!(
                            "expected: {}\nfound: {}\nwhere: {}\nrequirement: {}",
                            f.expected, f.found, f.place, o.check.requirement
                        );
                        case.write_inner_content(|w| {
                            w.create_element("failure")
                                .with_attributes([
                                    ("message", format!("{}: expected {}", o.check.id, f.expected).as_str()),
                                    ("type", "CheckFailed"),
                                ])
                                .write_text_content(BytesText::new(&text))
                                .map(|_| ())
                        })?;
                    }
                }
            }
            w.create_element("system-out").write_empty()?;
            w.create_element("system-err").write_empty()?;
            Ok(())
        })?;
    Ok(w.into_inner())
}

/// The human summary: every check with its result, the images' digests, the date and the tool version.
pub fn markdown(outcomes: &[Outcome], started: std::time::SystemTime) -> String {
    let passed = outcomes.iter().filter(|o| o.verdict.is_ok()).count();
    let mut out = format!(
        "# Conformance summary\n\n- date: {}\n- tool: coditect-conformance {}\n- result: {passed} of {} checks passed\n\n## Images\n\n| image | reference | digest |\n|---|---|---|\n",
        humantime::format_rfc3339_seconds(started),
        env!("CARGO_PKG_VERSION"),
        outcomes.len()
    );
    let mut images: Vec<_> = outcomes
        .iter()
        .map(|o| (&o.image.image, &o.image.reference, &o.image.id))
        .collect();
    images.sort();
    images.dedup();
    for (image, reference, id) in images {
        let _ = writeln!(out, "| {image} | `{reference}` | `{id}` |");
    }
    out.push_str("\n## Checks\n\n| ID | suite | check | result | time |\n|---|---|---|---|---|\n");
    for o in outcomes {
        let result = match &o.verdict {
            Ok(()) => "pass".to_owned(),
            Err(f) => format!("**FAIL**: expected {}, found {}", f.expected, f.found)
                .replace('|', "\\|")
                .replace('\n', " "),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {result} | {:.1} s |",
            o.check.id,
            o.check.suite.name(),
            o.check.title,
            o.took.as_secs_f64()
        );
    }
    out
}

fn nix_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}
