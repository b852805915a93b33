//! `coditect-conformance`: build the images, and (later) list and run the conformance checks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use coditect_harness::images::{self, BuildOptions, Origin};

/// Builds CODITECT's licensed images and checks them against ADR-193.
#[derive(Debug, Parser)]
#[command(name = "coditect-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build (or find up to date) every image: base, docker, workstation, local-dev.
    Images,
    /// Build the Debian bookworm base OS from Debian's archive and import it (when no registry answers).
    BootstrapBase,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = async {
        let docker = coditect_harness::docker::connect().await?;
        match cli.command {
            Command::Images => {
                let set = images::ensure_all(&docker, &BuildOptions::from_env()).await?;
                for image in &set.images {
                    let how = match &image.origin {
                        Origin::Built { skipped: true, elapsed } => format!("up to date ({elapsed:.1?})"),
                        Origin::Built {
                            skipped: false,
                            elapsed,
                        } => format!("built in {elapsed:.1?}"),
                        Origin::Override { var } => format!("from {var}"),
                    };
                    println!("{:<34} {}  {how}", image.reference, &image.id);
                }
            }
            Command::BootstrapBase => images::base_os::bootstrap(&docker, &images::cache_dir()).await?,
        }
        Ok::<(), coditect_harness::HarnessError>(())
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("coditect-conformance: failed to {error}");
            ExitCode::from(1)
        }
    }
}
