//! The README's first command as users run it: the `octofleet-sandbox` binary alone, which runs
//! itself as `octofleet` for every action (nothing else is built), and that binary under the
//! name `octofleet` behaving as octofleet.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

const SANDBOX: &str = env!("CARGO_BIN_EXE_octofleet-sandbox");

/// Run `program` with `args` and only PATH and `TMPDIR` in its environment (no OCTOFLEET_BIN), with
/// a deadline.
async fn run(program: &Path, args: &[&str], tmp: &Path) -> Output {
    let mut command = tokio::process::Command::new(program);
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("TMPDIR", tmp)
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(300), command.output())
        .await
        .unwrap_or_else(|_| panic!("{} did not finish within 5 minutes", program.display()))
        .unwrap_or_else(|error| panic!("{} did not start: {error}", program.display()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_binary_runs_the_whole_demo_with_itself_as_octofleet() {
    let tmp = tempfile::tempdir().unwrap();
    let output = run(Path::new(SANDBOX), &[], tmp.path()).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Every kind of action ran to its expected outcome through the re-executed binary.
    for needle in [
        "output variable SpaceId = Spaces-2",
        "merged (exit 0)",
        "conflicts: a person resolves the pull request (exit 3)",
        "fleet report: ",
    ] {
        assert!(stdout.contains(needle), "no `{needle}` in:\n{stdout}");
    }
    // The link's directory went with the demo; only the reports directory stays.
    let left: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.len() == 1 && left[0].starts_with("octofleet-sandbox-reports-"),
        "{left:?}"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn under_the_name_octofleet_the_sandbox_binary_is_octofleet() {
    let tmp = tempfile::tempdir().unwrap();
    let link = tmp.path().join("octofleet");
    std::os::unix::fs::symlink(SANDBOX, &link).unwrap();

    let version = run(&link, &["--version"], tmp.path()).await;
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("octofleet {}", env!("CARGO_PKG_VERSION"))
    );

    // Bad input: octofleet's one clear error and exit code 2, its usage line under its name.
    let bad = run(&link, &["create-space", "--no-such-flag"], tmp.path()).await;
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("Usage: octofleet create-space"), "{stderr}");
    let missing = run(&link, &["create-space"], tmp.path()).await;
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("MANAGEDTENANT_OCTOPUS_URL"), "{stderr}");
}

/// Under its own name with an action, the binary refuses instead of starting a second demo:
/// a demo that reached it by mistake ends at once.
#[tokio::test]
async fn under_its_own_name_the_sandbox_binary_takes_no_action() {
    let tmp = tempfile::tempdir().unwrap();
    let output = run(Path::new(SANDBOX), &["create-space"], tmp.path()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("takes no arguments"), "{stderr}");
    assert!(output.stdout.is_empty());
}
