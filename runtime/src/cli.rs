//! The command line: `run`, `healthcheck`, `welcome`, `verify`.

use clap::{Parser, Subcommand};

use crate::config::vars;
use crate::{exit, selfcheck, session, state, welcome};

/// The licensed container's entrypoint (PID 1).
#[derive(Debug, Parser)]
#[command(name = "coditect-entrypoint", version, about, after_help = env_help())]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check the framework and the license, run COMMAND as PID 1 with heartbeats, end the session when it stops.
    Run {
        /// The command and its arguments, after `--`.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
    /// Exit 0 while the session is live, 1 otherwise (for Docker's HEALTHCHECK).
    Healthcheck,
    /// Print the login banner: framework version, license status, masked session.
    Welcome,
    /// Check the protection model from inside the container (ownership, modes, no sudo, no setuid, the
    /// ~/.coditect link, the manifest digests): one line per check, then the verdict; exit 0 only when all hold.
    Verify {
        /// Only the framework: the manifest's signature and every file's digest (what the start checks).
        #[arg(long)]
        manifest_only: bool,
    },
}

fn env_help() -> String {
    let mut text = String::from("Environment:\n");
    for var in vars::ALL {
        text.push_str(&format!(
            "  {:<28} {} [default: {}]\n",
            var.name,
            var.doc,
            var.default.unwrap_or("none")
        ));
    }
    text
}

fn framework_dir() -> std::path::PathBuf {
    std::env::var_os(vars::FRAMEWORK_DIR.name)
        .map_or_else(|| std::path::PathBuf::from("/opt/coditect"), std::path::PathBuf::from)
}

/// Parses the arguments and runs the subcommand; returns the exit code.
pub fn main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            // Usage errors are configuration errors; never 2, which Docker reserves for healthchecks.
            return if error.use_stderr() { exit::CONFIG } else { 0 };
        }
    };
    match cli.command {
        Command::Run { command } => session::run(command),
        Command::Healthcheck => state::healthcheck(&state::dir_from_env()),
        Command::Welcome => {
            print!("{}", welcome::banner(&framework_dir(), &state::dir_from_env()));
            0
        }
        Command::Verify { manifest_only } => {
            let places = selfcheck::Places {
                framework: framework_dir(),
                root: std::path::PathBuf::from("/"),
            };
            let lines = if manifest_only {
                vec![selfcheck::manifest(&places)]
            } else {
                selfcheck::run(&places)
            };
            let (text, code) = selfcheck::report(&lines);
            print!("{text}");
            code
        }
    }
}
