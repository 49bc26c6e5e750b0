use std::process::ExitCode;

use clap::Parser;
use fanctl::{cli::Cli, commands, spec::SpecError};

/// Exit statuses: 0 success, 1 error, 2 bad command line (clap's own too).
const EXIT_ERROR: u8 = 1;
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("fanctl: error: {err:#}");
            if err.downcast_ref::<SpecError>().is_some() {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::from(EXIT_ERROR)
            }
        }
    }
}
