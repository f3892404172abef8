//! `octofleet-sandbox`: the whole workflow on one machine (see [`octofleet_sandbox::demo`]).

use octofleet_sandbox::demo::{self, Log};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

#[tokio::main]
async fn main() -> ExitCode {
    let result = match (octofleet_binary(), reports_dir()) {
        (Ok(octofleet), Ok(reports)) => demo::run(&octofleet, &reports, &Log::printing()).await,
        (Err(error), _) | (_, Err(error)) => Err(error),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sandbox failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Where the runs' reports go: a new directory kept after the demo, to open in a browser.
fn reports_dir() -> Result<PathBuf, String> {
    tempfile::Builder::new()
        .prefix("octofleet-sandbox-reports-")
        .tempdir()
        .map(|dir| dir.keep())
        .map_err(|error| format!("cannot make the reports directory: {error}"))
}

/// The `octofleet` binary beside this one (same cargo profile), built first when missing;
/// `OCTOFLEET_BIN` overrides.
fn octofleet_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("OCTOFLEET_BIN") {
        return Ok(PathBuf::from(path));
    }
    let here = std::env::current_exe().map_err(|error| error.to_string())?;
    let dir = here.parent().ok_or("no directory for the sandbox binary")?;
    let candidate = dir.join("octofleet");
    let release = dir.file_name().is_some_and(|name| name == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "--quiet", "-p", "octofleet", "--bin", "octofleet"]);
    if release {
        build.arg("--release");
    }
    // Always ask cargo: it is a no-op when the binary is current, and a rebuild when it is stale.
    match build.status() {
        Ok(status) if status.success() => {}
        _ if candidate.is_file() => {}
        _ => {
            return Err(format!(
                "cannot build the octofleet binary; build it or set OCTOFLEET_BIN (looked for {})",
                candidate.display()
            ))
        }
    }
    Ok(candidate)
}
