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
    /// Remove every container the harness started (including those of running test binaries), the
    /// broken variants built for negative controls, and dangling images left by multi-stage builds.
    Clean,
    /// Write an image's assembled build context as a tar, for another builder (`docker build - < FILE`).
    Context {
        /// base, docker, workstation or local-dev.
        image: String,
        /// Where to write the tar.
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = async {
        if let Command::Context { image, out } = &cli.command {
            let which = images::Image::ALL
                .into_iter()
                .find(|i| i.dir().ends_with(image.as_str()) || i.repository().ends_with(image.as_str()));
            let which = which.ok_or_else(|| coditect_harness::HarnessError::ImageMissing {
                reference: image.clone(),
                origin: "the command line".into(),
                detail: "not one of this project's images (base, docker, workstation, local-dev)".into(),
            })?;
            let request = images::assemble(which, &BuildOptions::from_env()).await?;
            let tar = request.context.tar()?;
            std::fs::write(out, tar).map_err(coditect_harness::HarnessError::io("write the context to", out))?;
            println!(
                "{}: context written to {} (build arguments: {:?})",
                which,
                out.display(),
                request.args
            );
            return Ok(());
        }
        let docker = coditect_harness::docker::connect().await?;
        match cli.command {
            Command::Context { .. } => {}
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
            Command::Clean => {
                let removed = coditect_harness::launch::clean_leftovers(&docker, true).await?;
                println!(
                    "removed {removed} container(s) labelled {}",
                    coditect_harness::launch::LABEL
                );
                let (variants, reclaimed) = images::variant::clean(&docker).await?;
                println!(
                    "removed {variants} variant image(s) and {:.0} MB of dangling images",
                    reclaimed as f64 / 1e6
                );
            }
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
