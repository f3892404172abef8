//! `octofleet-sandbox`: the whole workflow on one machine (see [`octofleet_sandbox::demo`]).
//!
//! The demo needs the real `octofleet` binary, and this binary already holds all of it (the
//! sandbox links the octofleet library): started under the name `octofleet` (through a link, as
//! busybox does), it runs `octofleet::entry_point::main`, the binary's whole flow. So the README's
//! `cargo run -p octofleet-sandbox` compiles every crate once, where a second
//! `cargo build -p octofleet` would build the dependencies again with other features (cargo unifies
//! features per build) and link the binary under another profile. The name travels in argv[0],
//! which survives the emptied environment the demo and the emulator's executor give the binary,
//! and makes clap's usage lines say `octofleet`.

use octofleet_sandbox::demo::{self, Log};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The name this binary answers to as octofleet (argv[0]'s file stem, so `octofleet.exe` too).
const OCTOFLEET: &str = "octofleet";

fn main() -> ExitCode {
    let invoked_as = std::env::args_os().next().map(PathBuf::from);
    if invoked_as
        .as_deref()
        .and_then(Path::file_stem)
        .is_some_and(|stem| stem == OCTOFLEET)
    {
        return octofleet::entry_point::main();
    }
    // The demo runs octofleet with an action argument: should it ever reach this binary under
    // its own name, it must stop here rather than start another demo (and so on).
    if let Some(argument) = std::env::args_os().nth(1) {
        eprintln!(
            "octofleet-sandbox takes no arguments (got {}); run under the name `octofleet` \
             (a link to this binary) it is octofleet",
            argument.to_string_lossy()
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("sandbox failed: cannot start the tokio runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run_demo()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sandbox failed: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_demo() -> Result<(), String> {
    let reports = reports_dir()?;
    // The link's directory lives as long as the demo runs, and goes with it.
    let (octofleet, _link_dir) = octofleet_binary()?;
    demo::run(&octofleet, &reports, &Log::printing()).await
}

/// Where the runs' reports go: a new directory kept after the demo, to open in a browser.
fn reports_dir() -> Result<PathBuf, String> {
    tempfile::Builder::new()
        .prefix("octofleet-sandbox-reports-")
        .tempdir()
        .map(|dir| dir.keep())
        .map_err(|error| format!("cannot make the reports directory: {error}"))
}

/// The `octofleet` the demo runs: `OCTOFLEET_BIN` when set (e.g. a dist build), else this very
/// binary through a link named `octofleet` in a new temporary directory (returned with it).
fn octofleet_binary() -> Result<(PathBuf, Option<tempfile::TempDir>), String> {
    if let Some(path) = std::env::var_os("OCTOFLEET_BIN") {
        return Ok((PathBuf::from(path), None));
    }
    let this = std::env::current_exe()
        .map_err(|error| format!("cannot find the sandbox binary to run as octofleet: {error}"))?;
    let dir = tempfile::Builder::new()
        .prefix("octofleet-sandbox-bin-")
        .tempdir()
        .map_err(|error| format!("cannot make a directory for the octofleet link: {error}"))?;
    let link = dir
        .path()
        .join(OCTOFLEET)
        .with_extension(std::env::consts::EXE_EXTENSION);
    link_to(&this, &link).map_err(|error| {
        format!(
            "cannot link {} to {}: {error}; set OCTOFLEET_BIN to an octofleet binary instead",
            link.display(),
            this.display()
        )
    })?;
    Ok((link, Some(dir)))
}

#[cfg(unix)]
fn link_to(target: &Path, link: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

/// Symbolic links need a privilege on Windows: a hard link, or a copy across volumes.
#[cfg(not(unix))]
fn link_to(target: &Path, link: &Path) -> std::io::Result<()> {
    std::fs::hard_link(target, link).or_else(|_| std::fs::copy(target, link).map(|_| ()))
}
