//! `coditect-entrypoint`: see the library's documentation.

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(coditect_runtime::cli::main())
}
