//! The forge emulator as the fork and merge tests set it up (the organization, the upstream, the
//! tenant's names), and `octofleet fork`/`merge` run against it with the step's environment.

use super::harness::{octofleet, Run};
use forge_emulator::{ForgeConfig, ForgeEmulator, Platform, UpstreamSpec};
use std::collections::BTreeMap;

/// The forge user's password (a token on GitHub and GitLab).
pub const PASSWORD: &str = "forge-Secret-Value-9f3a";
/// The organization holding the upstream and the forks.
pub const ORG: &str = "octopuscac";
/// The template project's repository.
pub const UPSTREAM: &str = "hello_world_cac";
/// The template project (`Octopus.Project.Name`).
pub const PROJECT: &str = "Hello World CaC";
/// The tenant (`Octopus.Deployment.Tenant.Name`).
pub const TENANT: &str = "Team A";
/// `<tenant>_<project>`, sanitized.
pub const NEW_REPO: &str = "team_a_hello_world_cac";

/// A forge with the organization, no platform's rules (all three APIs answer).
pub async fn forge() -> ForgeEmulator {
    forge_with_password(PASSWORD).await
}

/// [`forge`] whose user has `password`.
pub async fn forge_with_password(password: &str) -> ForgeEmulator {
    start_forge(password, None).await
}

/// A forge with the organization, playing `platform` when given.
async fn start_forge(password: &str, platform: Option<Platform>) -> ForgeEmulator {
    let forge = ForgeEmulator::start(ForgeConfig {
        username: "octopus".to_owned(),
        password: password.to_owned(),
        platform,
        ..ForgeConfig::default()
    })
    .await
    .expect("the forge emulator starts");
    forge.create_org(ORG);
    forge
}

/// A forge playing `platform` (`gitea`, `github`, `gitlab`): its API only, its auth schemes,
/// its naming, GitLab's protected default branch.
pub async fn forge_on(platform: &str) -> ForgeEmulator {
    start_forge(
        PASSWORD,
        Some(Platform::parse(platform).expect("a platform")),
    )
    .await
}

/// A forge with the org and the upstream (3 commits on main).
pub async fn forge_with_upstream() -> ForgeEmulator {
    let forge = forge().await;
    forge.create_upstream(ORG, UPSTREAM, &UpstreamSpec::main_line("main", 3));
    forge
}

/// [`forge_with_upstream`] playing `platform`.
pub async fn forge_with_upstream_on(platform: &str) -> ForgeEmulator {
    let forge = forge_on(platform).await;
    forge.create_upstream(ORG, UPSTREAM, &UpstreamSpec::main_line("main", 3));
    forge
}

/// The password of a second forge holding the upstream (another origin).
pub const UPSTREAM_PASSWORD: &str = "forge-Other-Secret";

/// The environment a step would export for `platform`, plus `extra` (which wins). GitHub and
/// GitLab get a token and no username, as their users give them, so octofleet's default token
/// usernames (`x-access-token`, `oauth2`) are what the forge sees.
pub fn fork_env(
    forge: &ForgeEmulator,
    platform: &str,
    extra: &[(&str, &str)],
) -> Vec<(String, String)> {
    let username = (platform == "gitea").then(|| "octopus".to_owned());
    let mut env: BTreeMap<String, String> = [
        ("GIT_PLATFORM", platform.to_owned()),
        ("GIT_URL_PROTOCOL", "http".to_owned()),
        ("GIT_URL_HOST", forge.host()),
        ("GIT_URL_ORGANIZATION", ORG.to_owned()),
        ("GIT_CREDENTIALS_PASSWORD", PASSWORD.to_owned()),
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", TENANT.to_owned()),
        ("OCTOPUS_PROJECT_NAME", PROJECT.to_owned()),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value))
    .collect();
    if let Some(username) = username {
        env.insert("GIT_CREDENTIALS_USERNAME".to_owned(), username);
    }
    for (key, value) in extra {
        env.insert(key.to_string(), value.to_string());
    }
    env.into_iter().collect()
}

/// One `octofleet <action>` run (fork, merge) with the step's environment and its own TMPDIR,
/// which must be empty afterwards; no password printed.
pub async fn run_action(
    forge: &ForgeEmulator,
    action: &str,
    platform: &str,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let tmp_path = tmp.path().to_string_lossy().into_owned();
    let mut env = fork_env(forge, platform, extra_env);
    env.push(("TMPDIR".to_owned(), tmp_path));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all_args = vec![action];
    all_args.extend_from_slice(args);
    let run = octofleet(&all_args, &env).await;
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
    for secret in [PASSWORD, UPSTREAM_PASSWORD] {
        assert!(
            !run.all_output().contains(secret),
            "a password was printed:\n{}",
            run.all_output()
        );
    }
    run
}

/// Pushes that reached `git-receive-pack`.
pub fn pushes(forge: &ForgeEmulator) -> usize {
    forge
        .requests()
        .iter()
        .filter(|request| request.is_receive_pack())
        .count()
}

/// Writes through the REST API, as `METHOD path`.
pub fn api_writes(forge: &ForgeEmulator) -> Vec<String> {
    forge
        .requests()
        .iter()
        .filter(|request| request.is_api_write())
        .map(|request| format!("{} {}", request.method, request.path))
        .collect()
}

/// The tenant and upstream each add a file of their own: a clean merge. The tenant's commit.
pub fn separate_edits(forge: &ForgeEmulator) -> String {
    let tenant = forge.commit_files(
        ORG,
        NEW_REPO,
        "main",
        "Tenant",
        &[("tenant.txt", Some("mine\n"))],
    );
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream",
        &[("upstream.txt", Some("theirs\n"))],
    );
    tenant
}
