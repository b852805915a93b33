//! `docs/checks.md` is the catalog, rendered: a stale copy fails here.

#[test]
fn docs_checks_md_is_generated_from_the_catalog() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/checks.md");
    let rendered = coditect_suites::catalog::markdown();
    if std::env::var("UPDATE_DOCS").as_deref() == Ok("1") {
        std::fs::write(&path, &rendered).expect("write docs/checks.md");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "docs/checks.md is stale; run UPDATE_DOCS=1 cargo test -p coditect-suites --test catalog"
    );
}
