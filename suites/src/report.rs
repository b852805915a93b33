//! The reports an auditor files: one JUnit XML per suite (the Ant schema, `docs/junit/JUnit.xsd`), and a
//! summary of every check with the images' digests and signature status, as Markdown and as a standalone
//! HTML page.

use std::fmt::Write as _;
use std::io;
use std::path::Path;

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};

use crate::catalog::Suite;
use crate::runner::Outcome;

/// An image's signature as the signature suite left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The local image.
    pub image: String,
    /// Where it was pushed and signed, pinned by digest.
    pub signed: String,
    /// Whether SV-01 verified it.
    pub verified: bool,
}

/// The signature status of each image the signature suite signed in this run.
pub fn signatures(outcomes: &[Outcome]) -> Vec<Signature> {
    let verified = outcomes.iter().any(|o| o.check.id == "SV-01" && o.verdict.is_ok());
    crate::signature_verification::signed()
        .into_iter()
        .map(|(image, signed)| Signature {
            image,
            signed,
            verified,
        })
        .collect()
}

/// Writes `<dir>/<suite>.xml` for every suite in `outcomes`, `<dir>/summary.md` and `<dir>/summary.html`;
/// returns the files.
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
    let signatures = signatures(outcomes);
    let path = dir.join("summary.md");
    std::fs::write(&path, markdown(outcomes, &signatures, started))?;
    written.push(path);
    let path = dir.join("summary.html");
    std::fs::write(&path, html(outcomes, &signatures, started))?;
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
pub fn markdown(outcomes: &[Outcome], signatures: &[Signature], started: std::time::SystemTime) -> String {
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
    out.push_str("\n## Signatures\n\n");
    if signatures.is_empty() {
        out.push_str("Not checked: the signature suite did not run.\n");
    }
    for s in signatures {
        let status = if s.verified {
            "signed and verified (SV-01)"
        } else {
            "**not verified**"
        };
        let _ = writeln!(out, "- `{}`: {status} as `{}`", s.image, s.signed);
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

/// The summary as one standalone HTML page (inline style, no script, nothing fetched), for filing.
pub fn html(outcomes: &[Outcome], signatures: &[Signature], started: std::time::SystemTime) -> String {
    let passed = outcomes.iter().filter(|o| o.verdict.is_ok()).count();
    let verdict = if passed == outcomes.len() { "pass" } else { "fail" };
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>CODITECT conformance summary</title>\n<style>{STYLE}</style></head><body>\n\
         <h1>CODITECT conformance summary</h1>\n<p class=\"verdict {verdict}\">{passed} of {} checks passed</p>\n\
         <dl><dt>date</dt><dd>{}</dd><dt>tool</dt><dd>coditect-conformance {}</dd><dt>host</dt><dd>{}</dd></dl>\n",
        outcomes.len(),
        humantime::format_rfc3339_seconds(started),
        env!("CARGO_PKG_VERSION"),
        escape(&nix_hostname()),
    );
    out.push_str("<h2>Images</h2>\n<table><tr><th>image</th><th>reference</th><th>image ID</th></tr>\n");
    let mut images: Vec<_> = outcomes
        .iter()
        .map(|o| (o.image.image.to_string(), &o.image.reference, &o.image.id))
        .collect();
    images.sort();
    images.dedup();
    for (image, reference, id) in images {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            escape(&image),
            escape(reference),
            escape(id)
        );
    }
    out.push_str("</table>\n<h2>Signatures</h2>\n<ul>\n");
    if signatures.is_empty() {
        out.push_str("<li>Not checked: the signature suite did not run.</li>\n");
    }
    for s in signatures {
        let (class, status) = if s.verified {
            ("pass", "signed and verified (SV-01)")
        } else {
            ("fail", "not verified")
        };
        let _ = writeln!(
            out,
            "<li><code>{}</code>: <span class=\"{class}\">{status}</span> as <code>{}</code></li>",
            escape(&s.image),
            escape(&s.signed)
        );
    }
    out.push_str("</ul>\n<h2>Suites</h2>\n<table><tr><th>suite</th><th>passed</th><th>failed</th></tr>\n");
    let mut suites: Vec<Suite> = outcomes.iter().map(|o| o.check.suite).collect();
    suites.dedup();
    for suite in &suites {
        let ok = outcomes
            .iter()
            .filter(|o| o.check.suite == *suite && o.verdict.is_ok())
            .count();
        let all = outcomes.iter().filter(|o| o.check.suite == *suite).count();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{ok}</td><td>{}</td></tr>",
            suite.name(),
            all - ok
        );
    }
    out.push_str("</table>\n<h2>Checks</h2>\n<table><tr><th>ID</th><th>check</th><th>requirement</th><th>result</th><th>time</th></tr>\n");
    for o in outcomes {
        let result = match &o.verdict {
            Ok(()) => "<span class=\"pass\">pass</span>".to_owned(),
            Err(f) => format!(
                "<span class=\"fail\">FAIL</span><br>expected: {}<br>found: {}<br>where: {}",
                escape(&f.expected),
                escape(&f.found),
                escape(&f.place)
            ),
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{result}</td><td>{:.1}&nbsp;s</td></tr>",
            o.check.id,
            escape(o.check.title),
            escape(o.check.requirement),
            o.took.as_secs_f64()
        );
    }
    out.push_str("</table>\n</body></html>\n");
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:75em}\
table{border-collapse:collapse;width:100%;margin-bottom:1.5em;font-size:.9em}\
th,td{border:1px solid #ccc;padding:.3em .5em;text-align:left;vertical-align:top}th{background:#f3f3f3}\
code{font-size:.85em;word-break:break-all}.pass{color:#176f2c;font-weight:600}.fail{color:#b00020;font-weight:600}\
td:first-child{white-space:nowrap}.verdict{font-size:1.3em}dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:600}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn nix_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "localhost".into())
}
