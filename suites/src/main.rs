//! `coditect-conformance`: build the images, list the checks, run them and write the reports.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use coditect_harness::images::{self, BuildOptions, Origin};
use coditect_suites::signing;

/// Builds CODITECT's licensed images and checks them against ADR-193. Exit codes: 0 every check passed
/// (or the image verified), 1 a check failed (or the image was rejected), 2 the command could not run (no
/// engine, no image, a build failed, a bad key or reference, an unreachable registry).
#[derive(Debug, Parser)]
#[command(name = "coditect-conformance", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every check: ID, suite, title and the requirement it proves.
    List,
    /// Run the checks on the images (built, or named by CODITECT_IMAGE_*) and write the reports.
    Run {
        /// Only these suites (protection_model, claude_code, license_validation, heartbeat, example).
        #[arg(long)]
        suite: Vec<String>,
        /// Only these checks, by ID.
        #[arg(long)]
        check: Vec<String>,
        /// Where the JUnit files and the summary go.
        #[arg(long, default_value = "reports")]
        reports: std::path::PathBuf,
    },
    /// Build (or find up to date) every image: base, docker, workstation, local-dev.
    Images,
    /// Make a P-384 signing key (PKCS#8 PEM, mode 0600) and its public half beside it (`KEY.pub`).
    Keygen {
        /// Where to write the private key.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Sign an image in a registry by digest, in cosign's format (appends to its `.sig` manifest).
    Sign {
        /// REGISTRY/REPOSITORY:TAG or @sha256:DIGEST.
        image: String,
        /// A P-384 private key (PKCS#8 or SEC1 PEM); default: $CODITECT_SIGNING_KEY.
        #[arg(long, conflicts_with = "kms")]
        key: Option<std::path::PathBuf>,
        /// A Cloud KMS key version, gcpkms://projects/…/cryptoKeyVersions/N (token from
        /// $GOOGLE_OAUTH_ACCESS_TOKEN or the metadata server).
        #[arg(long)]
        kms: Option<String>,
        /// KEY=VALUE recorded in the signed payload, e.g. version=1.0.0.
        #[arg(short = 'a', long = "annotation")]
        annotations: Vec<String>,
    },
    /// Verify an image like `cosign verify --key`: one signature must hold the key, the digest and every
    /// annotation. Prints the digest to pin; exit 1 when rejected.
    Verify {
        /// REGISTRY/REPOSITORY:TAG or @sha256:DIGEST.
        image: String,
        /// The public key (SPKI PEM, as `cosign public-key` or KMS getPublicKey give it).
        #[arg(long)]
        key: std::path::PathBuf,
        /// KEY=VALUE the signature must carry, e.g. version=1.0.0.
        #[arg(short = 'a', long = "annotation")]
        annotations: Vec<String>,
    },
    /// Start a local registry on 127.0.0.1, push the built images to it, and serve until interrupted.
    Registry {
        /// The port.
        #[arg(long, default_value_t = 5000)]
        port: u16,
    },
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
    if let Some(outcome) = signing_command(&cli.command).await {
        return match outcome {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("coditect-conformance: failed to {}", error.message);
                ExitCode::from(error.code)
            }
        };
    }
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
            return Ok(true);
        }
        if let Command::List = &cli.command {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            for check in coditect_suites::catalog::all() {
                let line = format!("{}\t{}\t{}\t{}", check.id, check.suite.name(), check.title, check.requirement);
                // A closed pipe (`| head`) ends the listing quietly.
                if writeln!(out, "{line}").is_err() {
                    break;
                }
            }
            return Ok(true);
        }
        let docker = coditect_harness::docker::connect().await?;
        match cli.command {
            Command::Context { .. } | Command::List | Command::Keygen { .. } | Command::Sign { .. } | Command::Verify { .. } => {}
            Command::Registry { port } => {
                let set = images::ensure_all(&docker, &BuildOptions::from_env()).await?;
                let registry = coditect_harness::registry::LocalRegistry::start_on(Some(port)).await?;
                for image in set.images.iter().filter(|i| i.image != images::Image::LocalDev) {
                    let name = image.image.repository().trim_start_matches("coditect-");
                    let pushed = registry
                        .push(&docker, &image.reference, &format!("coditect/{name}"), coditect_harness::VERSION)
                        .await?;
                    println!("{pushed}");
                }
                eprintln!("registry on http://{}; Ctrl-C stops it and removes its storage", registry.host());
                let _ = tokio::signal::ctrl_c().await;
            }
            Command::Run { suite, check, reports } => {
                let started = std::time::SystemTime::now();
                let selected: Vec<_> = coditect_suites::catalog::all()
                    .into_iter()
                    .filter(|c| suite.is_empty() || suite.iter().any(|s| s == c.suite.name()))
                    .filter(|c| check.is_empty() || check.iter().any(|id| id == c.id))
                    .collect();
                if selected.is_empty() {
                    return Err(coditect_harness::HarnessError::Tool {
                        tool: "coditect-conformance run".into(),
                        detail: format!("no check matches --suite {suite:?} --check {check:?}; `coditect-conformance list` shows them"),
                    });
                }
                let _ = coditect_harness::launch::clean_leftovers(&docker, false).await;
                let set = images::ensure_all(&docker, &BuildOptions::from_env()).await?;
                eprintln!("running {} checks", selected.len());
                let outcomes = coditect_suites::runner::run_all(&docker, &set, &selected, |o| {
                    let mark = if o.verdict.is_ok() { "pass" } else { "FAIL" };
                    eprintln!("{mark} {} {} ({:.1?})", o.check.id, o.check.title, o.took);
                })
                .await;
                let files = coditect_suites::report::write(&reports, &outcomes, started)
                    .map_err(coditect_harness::HarnessError::io("write the reports to", &reports))?;
                let failed: Vec<_> = outcomes.iter().filter(|o| o.verdict.is_err()).collect();
                println!("{:<24} {:>6} {:>6}", "suite", "passed", "failed");
                let mut suites: Vec<_> = outcomes.iter().map(|o| o.check.suite).collect();
                suites.dedup();
                for s in suites {
                    let of = outcomes.iter().filter(|o| o.check.suite == s);
                    let (ok, bad) = of.fold((0, 0), |(ok, bad), o| if o.verdict.is_ok() { (ok + 1, bad) } else { (ok, bad + 1) });
                    println!("{:<24} {ok:>6} {bad:>6}", s.name());
                }
                for o in &failed {
                    if let Err(f) = &o.verdict {
                        println!("\n{}", o.check.failure(&f.expected, &f.found, &f.place));
                    }
                }
                println!("\n{} passed, {} failed; reports: {}", outcomes.len() - failed.len(), failed.len(), files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", "));
                return Ok(failed.is_empty());
            }
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
        Ok::<bool, coditect_harness::HarnessError>(true)
    }
    .await;
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(error) => {
            eprintln!("coditect-conformance: failed to {error}");
            ExitCode::from(2)
        }
    }
}

/// Runs the commands that need no Docker engine: keygen, sign and verify.
async fn signing_command(command: &Command) -> Option<Result<(), signing::CommandError>> {
    Some(match command {
        Command::Keygen { out } => signing::keygen(out).map(|public| {
            println!("wrote {} (private, 0600) and {}", out.display(), public.display());
        }),
        Command::Sign {
            image,
            key,
            kms,
            annotations,
        } => match signing::annotations(annotations) {
            Ok(annotations) => signing::sign(image, key.clone(), kms.clone(), &annotations)
                .await
                .map(|signed| {
                    let how = if signed.appended {
                        "signed"
                    } else {
                        "already signed with this key"
                    };
                    println!(
                        "{how}: {} ({} signature(s) under :{})",
                        signed.image, signed.layers, signed.tag
                    );
                }),
            Err(e) => Err(e),
        },
        Command::Verify {
            image,
            key,
            annotations,
        } => match signing::annotations(annotations) {
            Ok(annotations) => signing::verify(image, key, &annotations).await.map(|verified| {
                println!("verified: {}", verified.pinned);
                println!(
                    "  signature {} of {} holds the key, the digest and {} annotation(s); pin this digest from now on",
                    verified.layer + 1,
                    verified.signatures,
                    annotations.len()
                );
            }),
            Err(e) => Err(e),
        },
        _ => return None,
    })
}
