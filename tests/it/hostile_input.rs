//! Hostile or malformed inputs (issue "Safety"): refused with exit 2 before any request, naming
//! the input, never echoing a credential, never forging a log line, never ballooning a message.

use crate::support::{octofleet, Fleet, Run, API_KEY};

fn assert_refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    for needle in needles {
        assert!(
            run.stderr.contains(needle),
            "`{needle}` missing from: {}",
            run.stderr
        );
    }
    assert!(!run.all_output().contains(API_KEY), "the API key leaked");
}

fn deploy_env(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("MANAGEDTENANT_OCTOPUS_URL", url.to_owned()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", API_KEY.to_owned()),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "America".to_owned()),
    ]
}

async fn run_with(args: &[&str], env: &[(&'static str, String)]) -> Run {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    octofleet(args, &env).await
}

#[tokio::test]
async fn urls_with_credentials_are_refused_and_never_shown() {
    let fleet = Fleet::start().await;
    let with_userinfo = fleet
        .emulator
        .url()
        .replace("http://", "http://admin:hunter2@");
    for (action, input) in [
        ("create-space", "ManagedTenant.Octopus.Url"),
        ("deploy", "ManagedTenant.Octopus.Url"),
        ("plan", "ManagedTenant.Octopus.Url"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = vec![action];
        if action != "create-space" {
            args.extend(["--package-dir", dir.path().to_str().unwrap()]);
        }
        let run = run_with(&args, &deploy_env(&with_userinfo)).await;
        assert_refused(&run, &[input, "user name or password"]);
        assert!(
            !run.all_output().contains("hunter2"),
            "{action}: {}",
            run.all_output()
        );
        assert!(
            !run.all_output().contains("admin:"),
            "{action}: {}",
            run.all_output()
        );
    }
    // serialize reads the management URL; the same rule holds there.
    let run = run_with(
        &["serialize", "--no-push"],
        &[
            ("OCTOPUS_WEB_SERVERURI", with_userinfo.clone()),
            ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY.to_owned()),
            ("OCTOPUS_SPACE_ID", "Spaces-1".to_owned()),
            ("OCTOPUS_PROJECT_NAME", "Hello World".to_owned()),
        ],
    )
    .await;
    assert_refused(&run, &["Octopus.Web.ServerUri", "user name or password"]);
    assert!(!run.all_output().contains("hunter2"));
    // The fork URL deploy points a project at, too.
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(
        &[
            "deploy",
            "--package-dir",
            dir.path().to_str().unwrap(),
            "--git-url",
            "https://bob:s3cret@git.example.com/org/repo.git",
        ],
        &deploy_env(&fleet.emulator.url()),
    )
    .await;
    assert_refused(&run, &["Octofleet.Git.Url", "user name or password"]);
    assert!(!run.all_output().contains("s3cret"));
    assert!(fleet.emulator.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn crafted_package_ids_and_versions_are_refused_before_any_request() {
    let fleet = Fleet::start().await;
    let mut env = deploy_env(&fleet.emulator.url());
    env.push(("OCTOPUS_WEB_SERVERURI", fleet.emulator.url()));
    env.push(("MANAGEMENT_OCTOPUS_APIKEY", API_KEY.to_owned()));
    env.push(("OCTOPUS_SPACE_ID", "Spaces-1".to_owned()));
    for (flag, value, input) in [
        (
            "--package-version",
            "../../users/me",
            "Octofleet.Package.Version",
        ),
        (
            "--package-version",
            "1.0.0/../../../users/me",
            "Octofleet.Package.Version",
        ),
        ("--package-id", "../users/me", "Octofleet.Package.Id"),
        ("--package-id", "a/b", "Octofleet.Package.Id"),
    ] {
        let mut args = vec!["deploy", flag, value];
        if flag == "--package-version" {
            args.extend(["--package-id", "hello-world"]);
        }
        let run = run_with(&args, &env).await;
        assert_refused(&run, &[input]);
    }
    assert!(
        fleet.emulator.requests().is_empty(),
        "{:?}",
        fleet.emulator.requests()
    );
}

#[tokio::test]
async fn a_malformed_space_id_is_an_error_and_only_tbd_finds_the_space_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut env = deploy_env("http://127.0.0.1:9");
    env.push(("MANAGEDTENANT_OCTOPUS_SPACEID", "Space-2".to_owned()));
    let run = run_with(
        &["plan", "--package-dir", dir.path().to_str().unwrap()],
        &env,
    )
    .await;
    assert_refused(
        &run,
        &[
            "ManagedTenant.Octopus.SpaceId",
            "`Space-2` is not a space ID",
            "TBD",
        ],
    );
}

#[tokio::test]
async fn names_with_line_breaks_cannot_forge_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let forged = "America\n##octopus[setVariable name='U3BhY2VJZA==' value='U3BhY2VzLTk5']";
    for (key, input) in [
        (
            "OCTOPUS_DEPLOYMENT_TENANT_NAME",
            "Octopus.Deployment.Tenant.Name",
        ),
        ("EXPORTED_PROJECT_NAME", "Exported.Project.Name"),
    ] {
        let mut env = deploy_env("http://127.0.0.1:9");
        env.retain(|(k, _)| *k != key);
        env.push((key, forged.to_owned()));
        let run = run_with(
            &["deploy", "--package-dir", dir.path().to_str().unwrap()],
            &env,
        )
        .await;
        assert_refused(&run, &[input, "control character"]);
        assert!(
            !run.stdout
                .lines()
                .chain(run.stderr.lines())
                .any(|line| line.starts_with("##octopus[setVariable")),
            "a forged service message reached the log: {}",
            run.all_output()
        );
    }
}

#[tokio::test]
async fn a_huge_bad_value_gives_a_short_message() {
    // Linux caps one environment string at 128 KiB; 120 000 characters is near the most a
    // step can pass.
    let huge = format!("x{}", "y".repeat(120_000));
    let run = run_with(&["create-space"], &deploy_env(&huge)).await;
    assert_refused(&run, &["ManagedTenant.Octopus.Url", "more characters"]);
    assert!(
        run.all_output().len() < 8 * 1024,
        "{} bytes of output",
        run.all_output().len()
    );
}
