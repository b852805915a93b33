//! Progress lines of long steps (builds, downloads), written straight to stderr: the test runner
//! captures `eprintln!` inside tests, and a CI log should show a 3-minute build as it happens.

/// Writes one progress line to stderr, bypassing the test runner's output capture.
pub fn line(text: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = err.write_fmt(text);
    let _ = err.write_all(b"\n");
}

/// `progress!("[{tag}] built")`: a progress line on stderr, visible under `cargo test` too.
#[macro_export]
macro_rules! progress {
    ($($arg:tt)*) => { $crate::progress::line(format_args!($($arg)*)) };
}
