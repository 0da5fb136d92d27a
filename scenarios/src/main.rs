//! The redsim binary.
use clap::Parser;

fn main() -> std::process::ExitCode {
    redsim_scenarios::cli::main_with(redsim_scenarios::cli::Cli::parse())
}
