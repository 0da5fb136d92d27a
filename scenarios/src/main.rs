//! The redsim CLI (temporary: serve only, while the runner lands).
use redsim_scenarios::serve;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port = args.iter().position(|a| a == "--port").and_then(|i| args.get(i + 1)).and_then(|p| p.parse().ok()).unwrap_or(6379);
    let config = redsim_engine::Config::default();
    if let Err(e) = serve::serve("127.0.0.1", port, config) {
        eprintln!("redsim serve: {}", e);
        std::process::exit(2);
    }
}
