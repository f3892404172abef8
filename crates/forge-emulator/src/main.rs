//! `forge-emulator`: run the Gitea/GitHub/GitLab emulator with real git as a standalone server.

use std::io::Write;
use std::net::SocketAddr;

use clap::Parser;
use forge_emulator::{ForgeConfig, ForgeEmulator, Platform};

/// An emulator of the Gitea API v1 (plus GitHub's `/api/v3` and GitLab's `/api/v4` repository
/// routes) serving real git over `git http-backend`, for tests and demos. Repositories live in a
/// temporary directory removed at exit.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The one user's name.
    #[arg(long, default_value = "octopus")]
    username: String,
    /// The user's password, also accepted as its token.
    #[arg(long, env = "FORGE_EMULATOR_PASSWORD", hide_env_values = true)]
    password: String,
    /// Play one platform (`gitea`, `github`, `gitlab`): only its API answers, with its auth
    /// schemes and rules; default: all three APIs, every scheme.
    #[arg(long, value_parser = parse_platform)]
    platform: Option<Platform>,
    /// Organizations to create at start, comma separated.
    #[arg(long, value_delimiter = ',')]
    org: Vec<String>,
}

fn parse_platform(text: &str) -> Result<Platform, String> {
    Platform::parse(text).ok_or_else(|| format!("`{text}` is not gitea, github or gitlab"))
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
    let config = ForgeConfig {
        listen: args.listen,
        username: args.username,
        password: args.password,
        platform: args.platform,
    };
    let emulator = match ForgeEmulator::start(config).await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("error: cannot start the forge emulator: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    for org in args.org.iter().filter(|org| !org.is_empty()) {
        emulator.create_org(org);
    }
    // The first stdout line is the contract with whoever started us (tests, the sandbox).
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "listening on {}", emulator.url());
    let _ = stdout.flush();
    terminated().await;
    emulator.shutdown().await;
    std::process::ExitCode::SUCCESS
}
