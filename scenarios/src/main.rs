//! The redsim binary.
use clap::Parser;

/// mimalloc instead of glibc's malloc: a run allocates and frees many small buffers (network
/// messages, replies, history entries), where glibc spent ~20% of a Sentinel scenario's CPU
/// (malloc_consolidate, unlink_chunk); BENCHMARKS.md has the numbers. Allocation never
/// reaches the simulation's results, so traces do not change.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    redsim_scenarios::cli::main_with(redsim_scenarios::cli::Cli::parse())
}
