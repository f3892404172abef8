//! `octopus-emulator`: run the Octopus Deploy API emulator as a standalone server.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use octopus_emulator::{Emulator, EmulatorConfig};

/// An emulator of the Octopus Deploy REST API subset octofleet uses, for tests and demos.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The API key clients must send (`API-` followed by upper-case letters and digits).
    #[arg(long, env = "OCTOPUS_EMULATOR_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Delay before handling every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Probability (0..1) of answering a request with 500, 503 or 429 instead.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// State file: loaded at start when it exists, saved after every committed write.
    #[arg(long)]
    state: Option<PathBuf>,
    /// Check that Config-as-Code repository URLs answer `info/refs` before converting.
    #[arg(long)]
    check_git_urls: bool,
    /// Act like a server before 2025.2: only the legacy tenant variables API.
    #[arg(long)]
    legacy_tenant_variables: bool,
    /// Act like a server before 2024.1.1085: `VersioningStrategy.Template: null` keeps the template.
    #[arg(long)]
    keeps_template_on_null: bool,
}

async fn terminated() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if !(0.0..=1.0).contains(&args.fault_rate) {
        eprintln!("error: --fault-rate must be between 0 and 1");
        return std::process::ExitCode::from(2);
    }
    let config = EmulatorConfig {
        api_key: args.api_key,
        listen: args.listen,
        latency: Duration::from_millis(args.latency_ms),
        fault_rate: args.fault_rate,
        seed: args.seed,
        state_file: args.state,
        check_git_urls: args.check_git_urls,
        legacy_tenant_variables: args.legacy_tenant_variables,
        keeps_template_on_null: args.keeps_template_on_null,
    };
    let emulator = match Emulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: cannot start the emulator: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // The first stdout line is the contract with whoever started us (tests, the sandbox).
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", emulator.url());
    let _ = stdout.flush();
    terminated().await;
    emulator.shutdown().await;
    std::process::ExitCode::SUCCESS
}
