//! `octofleet fork` through the real binary against the forge emulator (real git behind
//! `git http-backend`), on Gitea, GitHub and GitLab; and its step template run the Calamari way.

use crate::support::calamari::{binary_dir, result_message, run_like_calamari, template};
use crate::support::forge::{
    api_writes, forge, forge_on, forge_with_password, forge_with_upstream, forge_with_upstream_on,
    pushes, run_action, NEW_REPO, ORG, PASSWORD, PROJECT, TENANT, UPSTREAM, UPSTREAM_PASSWORD,
};
use crate::support::{http_response, octofleet, request_path, Run, TinyServer};
use forge_emulator::{CredentialsSeen, ForgeEmulator, UpstreamSpec};
use std::collections::BTreeMap;
use std::path::Path;

/// One `octofleet fork` run with its own TMPDIR, which must be empty afterwards.
struct ForkRun {
    run: Run,
}

impl std::ops::Deref for ForkRun {
    type Target = Run;
    fn deref(&self) -> &Run {
        &self.run
    }
}

async fn fork(
    forge: &ForgeEmulator,
    platform: &str,
    args: &[&str],
    extra_env: &[(&str, &str)],
) -> ForkRun {
    ForkRun {
        run: run_action(forge, "fork", platform, args, extra_env).await,
    }
}

/// No file under `dir` holds `secret` (so no `.git/config` carries credentials).
fn assert_not_on_disk(dir: &Path, secret: &str) {
    for entry in walk(dir) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the password",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn upstream_main(forge: &ForgeEmulator) -> String {
    forge.rev_parse(ORG, UPSTREAM, "refs/heads/main").unwrap()
}

fn downstream_main(forge: &ForgeEmulator) -> Option<String> {
    forge.rev_parse(ORG, NEW_REPO, "refs/heads/main")
}

/// Object transfers out of the forge (a fetch's pack negotiation and download).
fn fetches(forge: &ForgeEmulator) -> usize {
    forge
        .requests()
        .iter()
        .filter(|request| request.method == "POST" && request.path.ends_with("/git-upload-pack"))
        .count()
}

/// How each platform was spoken to: the API's scheme and git's (with octofleet's default token
/// username on GitHub and GitLab).
fn schemes_for(platform: &str) -> (&'static str, &'static str) {
    match platform {
        "gitea" => ("Basic octopus", "Basic octopus"),
        "github" => ("Bearer", "Basic x-access-token"),
        _ => ("PRIVATE-TOKEN", "Basic oauth2"),
    }
}

/// The whole life of a tenant repository on one platform, against a forge playing it.
async fn fork_lifecycle(platform: &str) {
    let forge = forge_with_upstream_on(platform).await;

    // 1. Missing downstream: created empty, the main line pushed, default branch main.
    let run = fork(&forge, platform, &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (api_scheme, git_scheme) = schemes_for(platform);
    for request in forge.requests() {
        let expected = if request.path.starts_with("/api/") {
            api_scheme
        } else {
            git_scheme
        };
        // git offers the credential with each request to the forge's origin: no 401 challenge
        // first (octofleet's git transport, forge/git_http.rs).
        assert_eq!(request.scheme.as_deref(), Some(expected), "{request:?}");
        assert_ne!(request.status, 401, "{request:?}");
    }
    let expected_url = format!("{}/{ORG}/{NEW_REPO}.git", forge.url());
    assert_eq!(
        run.output_variable("RepositoryUrl").as_deref(),
        Some(expected_url.as_str())
    );
    assert_eq!(downstream_main(&forge), Some(upstream_main(&forge)));
    assert_eq!(forge.default_branch(ORG, NEW_REPO).as_deref(), Some("main"));
    assert_eq!(pushes(&forge), 1);
    assert_not_on_disk(forge.root(), PASSWORD);

    // 2. Re-run with nothing changed: no push, no API write, the same commit.
    forge.clear_requests();
    let before = forge.refs(ORG, NEW_REPO);
    let run = fork(&forge, platform, &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(pushes(&forge), 0, "{:#?}", forge.requests());
    assert_eq!(fetches(&forge), 0, "the ref advertisements settle it");
    assert_eq!(api_writes(&forge), Vec::<String>::new());
    assert_eq!(forge.refs(ORG, NEW_REPO), before);
    assert_eq!(
        run.output_variable("RepositoryUrl").as_deref(),
        Some(expected_url.as_str())
    );

    // 3. Upstream moved on: fast-forward.
    let moved = forge.commit(ORG, UPSTREAM, "main", "Upstream: new step");
    forge.clear_requests();
    let run = fork(&forge, platform, &[], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(downstream_main(&forge), Some(moved.clone()));
    assert_eq!(pushes(&forge), 1);

    // 4. The tenant committed and upstream moved on too: refused, naming both commits.
    let tenant = forge.commit(ORG, NEW_REPO, "main", "Tenant: local change");
    let upstream = forge.commit(ORG, UPSTREAM, "main", "Upstream: another step");
    let run = fork(&forge, platform, &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&tenant), "{}", run.stderr);
    assert!(run.stderr.contains(&upstream), "{}", run.stderr);
    assert!(run.stderr.contains("--force"), "{}", run.stderr);
    assert!(
        result_message(&run.stdout).is_some_and(|message| message.contains("tenant committed")),
        "{}",
        run.stdout
    );
    assert_eq!(downstream_main(&forge), Some(tenant.clone()), "untouched");

    // 5. --force resets it to upstream; on GitLab only once force pushes to the protected
    // default branch are allowed: until then the refusal names the protection.
    if platform == "gitlab" {
        let run = fork(&forge, platform, &["--force"], &[]).await;
        assert_eq!(run.code, 1, "{}", run.stderr);
        for expected in [
            "refused refs/heads/main",
            "You are not allowed to force push code to a protected branch on this project.",
            "protected branch",
            "Allowed to force push",
        ] {
            assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
        }
        assert_eq!(downstream_main(&forge), Some(tenant.clone()), "untouched");
        forge.allow_force_push(ORG, NEW_REPO);
    }
    let run = fork(&forge, platform, &["--force"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(downstream_main(&forge), Some(upstream.clone()));

    // 6. --all-branches: every branch and tag, annotated tags as tag objects.
    let upstream_path = forge.repo_path(ORG, UPSTREAM).unwrap();
    for branch in ["feature/a", "release-1"] {
        forge.commit(ORG, UPSTREAM, branch, &format!("Work on {branch}"));
    }
    git(
        &upstream_path,
        &["tag", "-a", "-m", "Release 1", "v1.0.0", "main"],
    );
    git(&upstream_path, &["tag", "light", "main"]);
    let run = fork(&forge, platform, &["--all-branches"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(forge.refs(ORG, NEW_REPO), forge.refs(ORG, UPSTREAM));
    assert_eq!(
        forge.rev_parse(ORG, NEW_REPO, "v1.0.0^{tag}"),
        forge.rev_parse(ORG, UPSTREAM, "v1.0.0^{tag}")
    );
    assert_eq!(forge.default_branch(ORG, NEW_REPO).as_deref(), Some("main"));

    // ... and its re-run pushes nothing.
    forge.clear_requests();
    let run = fork(&forge, platform, &["--all-branches"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(pushes(&forge), 0);
    assert_eq!(fetches(&forge), 0);
    assert_not_on_disk(forge.root(), PASSWORD);
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir)
        .args(args)
        .env("GIT_COMMITTER_NAME", "Upstream")
        .env("GIT_COMMITTER_EMAIL", "upstream@example.com")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitea_create_mirror_rerun_fast_forward_diverge_force_all_branches() {
    fork_lifecycle("gitea").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_create_mirror_rerun_fast_forward_diverge_force_all_branches() {
    fork_lifecycle("github").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_create_mirror_rerun_fast_forward_diverge_force_all_branches() {
    fork_lifecycle("gitlab").await;
}

/// The tenant built on upstream, which did not move: the tenant's commits are kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_downstream_ahead_of_upstream_is_kept() {
    let forge = forge_with_upstream().await;
    assert_eq!(fork(&forge, "gitea", &[], &[]).await.code, 0);
    let tenant = forge.commit(ORG, NEW_REPO, "main", "Tenant: local change");
    forge.clear_requests();
    let run = fork(&forge, "gitea", &["--output", "json"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(downstream_main(&forge), Some(tenant));
    assert_eq!(pushes(&forge), 0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["refs"][0]["action"], "kept_ahead");
    assert_eq!(report["created"], false);
    assert_eq!(report["pushed_refs"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_summarises_the_fork() {
    let forge = forge_with_upstream().await;
    let run = fork(
        &forge,
        "gitea",
        &["--output", "json"],
        &[("GIT_URL_NEWREPO", "custom-repo.name")],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["platform"], "gitea");
    assert_eq!(report["repository"], format!("{ORG}/custom-repo.name"));
    assert_eq!(
        report["repository_url"],
        format!("{}/{ORG}/custom-repo.name.git", forge.url())
    );
    assert_eq!(
        report["upstream_url"],
        format!("http://{}/{ORG}/{UPSTREAM}.git", forge.host())
    );
    assert_eq!(report["created"], true);
    assert_eq!(report["refs"][0]["name"], "refs/heads/main");
    assert_eq!(report["refs"][0]["action"], "created");
    assert!(report["bytes_pushed"].as_u64().unwrap() > 0);
    assert_eq!(
        forge.rev_parse(ORG, "custom-repo.name", "main"),
        Some(upstream_main(&forge))
    );
}

/// `--report-dir`: `octofleet-fork-<tenant>.html` and `.json`, attached as artifacts: the
/// repository linked, the upstream, what happened to each ref. Valid, self-contained, and
/// rendered in headless Chromium without one request; no credential in either file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fork_report_lists_each_ref() {
    use crate::support::reports::{assert_renders, assert_self_contained, chromium};
    let forge = forge_with_upstream().await;
    let reports = tempfile::tempdir().unwrap();
    let dir = reports.path().join("reports");
    let run = fork(
        &forge,
        "gitea",
        &["--report-dir", dir.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let artifacts = crate::support::calamari::service_messages(&run.stdout, "createArtifact");
    let names: Vec<&str> = artifacts.iter().map(|a| a["name"].as_str()).collect();
    assert_eq!(
        names,
        ["octofleet-fork-Team-A.html", "octofleet-fork-Team-A.json"]
    );
    let page = dir.join("octofleet-fork-Team-A.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let data: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("octofleet-fork-Team-A.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(data["refs"][0]["action"], "created");
    for expected in [
        format!("<a href=\"{}/{ORG}/{NEW_REPO}\"", forge.url()),
        "refs/heads/main".to_owned(),
        format!("{ORG}/{UPSTREAM}.git"),
        "created".to_owned(),
    ] {
        assert!(html.contains(&expected), "{expected}: {html}");
    }
    assert_self_contained(&html);
    assert_not_on_disk(&dir, PASSWORD);
    if let Some(chromium) = chromium() {
        let rendered = assert_renders(&chromium, &page, "fork-report").await;
        assert!(rendered.dom.contains("refs/heads/main"), "{}", rendered.dom);
    }

    // A re-run says nothing was pushed.
    let run = fork(
        &forge,
        "gitea",
        &["--report-dir", dir.to_str().unwrap()],
        &[],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains("found octopuscac/team_a_hello_world_cac: 0 of 1 refs pushed"),
        "{html}"
    );
}

/// Spaces, capitals and punctuation in the tenant and project names become `_`; the
/// exported project name wins over the project name; a given template name is used as is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_are_sanitized() {
    let forge = forge().await;
    forge.create_upstream(ORG, "Shared-Template", &UpstreamSpec::main_line("main", 2));
    let run = fork(
        &forge,
        "gitea",
        &[],
        &[
            ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "ACME Corp. (EU)"),
            ("EXPORTED_PROJECT_NAME", "Web App: Blue/Green!"),
            ("GIT_URL_TEMPLATE", "Shared-Template"),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let name = "acme_corp___eu__web_app__blue_green_";
    assert!(forge.repo_path(ORG, name).is_some(), "{}", run.stderr);
    assert_eq!(
        run.output_variable("RepositoryUrl"),
        Some(format!("{}/{ORG}/{name}.git", forge.url()))
    );

    // The upstream's default name is the project name, sanitized.
    forge.create_upstream(ORG, "hello_world__2_", &UpstreamSpec::main_line("main", 1));
    let run = fork(
        &forge,
        "gitea",
        &[],
        &[("OCTOPUS_PROJECT_NAME", "Hello World (2)")],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(forge.repo_path(ORG, "team_a_hello_world__2_").is_some());
}

/// GitLab refuses a project path with two special characters in a row or one at either end,
/// so the default `<tenant>_<project>` name is fitted to that rule there, and a given name that
/// breaks it is an input error naming Git.Url.NewRepo (a name with a space is one everywhere,
/// so GitHub never renames it behind our back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_default_names_are_project_paths_and_given_ones_are_checked() {
    let forge = forge_with_upstream_on("gitlab").await;
    let names = [
        ("OCTOPUS_DEPLOYMENT_TENANT_NAME", "ACME Corp. (EU)"),
        ("EXPORTED_PROJECT_NAME", "Web App: Blue/Green!"),
        (
            "GIT_URL_UPSTREAM",
            &format!("{}/{ORG}/{UPSTREAM}.git", forge.url()),
        ),
    ];
    let run = fork(&forge, "gitlab", &[], &names).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let name = "acme_corp_eu_web_app_blue_green";
    assert_eq!(
        forge.rev_parse(ORG, name, "refs/heads/main"),
        Some(upstream_main(&forge))
    );
    assert_eq!(
        run.output_variable("RepositoryUrl"),
        Some(format!("{}/{ORG}/{name}.git", forge.url()))
    );

    for (platform, given) in [
        ("gitlab", "team__a"),
        ("gitlab", "team_a_"),
        ("github", "My Repo"),
    ] {
        forge.clear_requests();
        let run = fork(&forge, platform, &[], &[("GIT_URL_NEWREPO", given)]).await;
        assert_eq!(run.code, 2, "{platform} {given}: {}", run.stderr);
        assert!(
            run.stderr.contains("Git.Url.NewRepo") && run.stderr.contains(given),
            "{}",
            run.stderr
        );
        assert_eq!(forge.requests(), Vec::new());
    }
}

/// A main line other than the platform's default: Gitea takes it as HEAD on create, GitHub and
/// GitLab ignore it there, and the first push (the main line, pushed first) plus fork's
/// default-branch step make it the default everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_main_line_other_than_main_becomes_the_default_branch_on_every_platform() {
    for platform in ["gitea", "github", "gitlab"] {
        let forge = forge_on(platform).await;
        forge.create_upstream(
            ORG,
            UPSTREAM,
            &UpstreamSpec {
                branch: "master".to_owned(),
                commits: 2,
                branches: vec!["develop".to_owned(), "alpha".to_owned()],
                tags: Vec::new(),
            },
        );
        let run = fork(
            &forge,
            platform,
            &["--all-branches"],
            &[("GIT_BRANCH_MAINLINE", "master")],
        )
        .await;
        assert_eq!(run.code, 0, "{platform}: {}", run.stderr);
        assert_eq!(
            forge.default_branch(ORG, NEW_REPO).as_deref(),
            Some("master"),
            "{platform}"
        );
        assert_eq!(
            forge.refs(ORG, NEW_REPO),
            forge.refs(ORG, UPSTREAM),
            "{platform}"
        );
    }
}

/// The user's own account as the "organization" (Gitea and GitHub create it under /user/repos).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_organization_may_be_the_users_own_account() {
    for platform in ["gitea", "github", "gitlab"] {
        let forge = forge().await;
        forge.create_upstream("octopus", UPSTREAM, &UpstreamSpec::main_line("main", 2));
        let run = fork(
            &forge,
            platform,
            &[],
            &[("GIT_URL_ORGANIZATION", "octopus")],
        )
        .await;
        assert_eq!(run.code, 0, "{platform}: {}", run.stderr);
        assert_eq!(
            forge.rev_parse("octopus", NEW_REPO, "main"),
            forge.rev_parse("octopus", UPSTREAM, "main"),
            "{platform}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_clear_error_and_never_printed() {
    for platform in ["gitea", "github", "gitlab"] {
        let forge = forge_with_upstream().await;
        let run = fork(
            &forge,
            platform,
            &[],
            &[("GIT_CREDENTIALS_PASSWORD", "forge-Other-Secret")],
        )
        .await;
        assert_eq!(run.code, 1, "{platform}: {}", run.stderr);
        assert!(run.stderr.contains("401"), "{platform}: {}", run.stderr);
        assert!(
            run.stderr.contains("Git.Credentials.Password"),
            "{platform}: {}",
            run.stderr
        );
        assert!(forge.repo_path(ORG, NEW_REPO).is_none());
    }
}

/// Requests to `forge` that carried credentials other than its own user's: someone else's
/// credential was sent there.
fn foreign_credentials(forge: &ForgeEmulator) -> Vec<String> {
    forge
        .requests()
        .iter()
        .filter(|request| request.credentials == CredentialsSeen::Rejected)
        .map(|request| format!("{} {}", request.method, request.path))
        .collect()
}

/// A second forge (another port, so another origin) holding the upstream, with its own password.
async fn upstream_elsewhere() -> (ForgeEmulator, String) {
    let other = forge_with_password(UPSTREAM_PASSWORD).await;
    other.create_upstream(ORG, UPSTREAM, &UpstreamSpec::main_line("main", 2));
    let upstream_url = format!("{}/{ORG}/{UPSTREAM}.git", other.url());
    (other, upstream_url)
}

/// Git.Credentials.* go only to Git.Url.Host: an upstream on another origin that asks for
/// credentials gets none, and the error says which inputs to set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forge_credential_never_goes_to_an_upstream_elsewhere() {
    let forge = forge().await;
    let (other, upstream_url) = upstream_elsewhere().await;
    let run = fork(
        &forge,
        "gitea",
        &[],
        &[("GIT_URL_UPSTREAM", upstream_url.as_str())],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&upstream_url)
            && run.stderr.contains("Git.Upstream.Credentials.Username")
            && run.stderr.contains("Git.Upstream.Credentials.Password"),
        "{}",
        run.stderr
    );
    let upstream_requests = other.requests();
    assert!(
        upstream_requests
            .iter()
            .any(|request| request.status == 401),
        "the upstream challenged: {upstream_requests:#?}"
    );
    assert!(
        upstream_requests
            .iter()
            .all(|request| request.credentials == CredentialsSeen::None),
        "credentials reached the upstream's server: {upstream_requests:#?}"
    );
    assert_eq!(pushes(&forge), 0);
    assert_not_on_disk(other.root(), PASSWORD);
}

/// Git.Upstream.Credentials.* reach the upstream, and only it; the forge keeps getting its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_credential_goes_only_to_the_upstream() {
    let forge = forge().await;
    let (other, upstream_url) = upstream_elsewhere().await;
    let with_upstream_credential = [
        ("GIT_URL_UPSTREAM", upstream_url.as_str()),
        ("GIT_UPSTREAM_CREDENTIALS_USERNAME", "octopus"),
        ("GIT_UPSTREAM_CREDENTIALS_PASSWORD", UPSTREAM_PASSWORD),
    ];
    let run = fork(&forge, "gitea", &[], &with_upstream_credential).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        downstream_main(&forge),
        other.rev_parse(ORG, UPSTREAM, "refs/heads/main")
    );
    assert_eq!(foreign_credentials(&other), Vec::<String>::new());
    assert_eq!(foreign_credentials(&forge), Vec::<String>::new());
    assert_not_on_disk(forge.root(), UPSTREAM_PASSWORD);

    // A wrong upstream credential: the refusal names the upstream's inputs, not the forge's.
    let mut wrong = with_upstream_credential.to_vec();
    wrong[2] = ("GIT_UPSTREAM_CREDENTIALS_PASSWORD", "forge-Wrong-Upstream");
    other.commit(ORG, UPSTREAM, "main", "Upstream: moved on");
    let run = fork(&forge, "gitea", &[], &wrong).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused the credentials")
            && run.stderr.contains("Git.Upstream.Credentials.Password"),
        "{}",
        run.stderr
    );
    assert!(!run.all_output().contains("forge-Wrong-Upstream"));

    // One of the pair alone is an input error, before anything is written.
    forge.clear_requests();
    let run = fork(
        &forge,
        "gitea",
        &[],
        &[
            ("GIT_URL_UPSTREAM", upstream_url.as_str()),
            ("GIT_UPSTREAM_CREDENTIALS_PASSWORD", UPSTREAM_PASSWORD),
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Git.Upstream.Credentials.Username"),
        "{}",
        run.stderr
    );
    assert_eq!(forge.requests(), Vec::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_upstream_is_a_clear_error() {
    let forge = forge().await;
    let run = fork(&forge, "gitea", &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("upstream repository")
            && run.stderr.contains("not found")
            && run.stderr.contains(&format!("/{ORG}/{UPSTREAM}.git")),
        "{}",
        run.stderr
    );

    // An upstream without the main line.
    forge.create_upstream(ORG, UPSTREAM, &UpstreamSpec::main_line("master", 1));
    let run = fork(&forge, "gitea", &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no branch `main`") && run.stderr.contains("Git.Branch.MainLine"),
        "{}",
        run.stderr
    );
    let run = fork(&forge, "gitea", &[], &[("GIT_BRANCH_MAINLINE", "master")]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        forge.default_branch(ORG, NEW_REPO).as_deref(),
        Some("master")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_organization_is_a_clear_error() {
    for platform in ["gitea", "github", "gitlab"] {
        let forge = forge_with_upstream().await;
        let upstream_url = format!("{}/{ORG}/{UPSTREAM}.git", forge.url());
        let run = fork(
            &forge,
            platform,
            &[],
            &[
                ("GIT_URL_ORGANIZATION", "no-such-org"),
                ("GIT_URL_UPSTREAM", upstream_url.as_str()),
            ],
        )
        .await;
        assert_eq!(run.code, 1, "{platform}: {}", run.stderr);
        assert!(
            run.stderr.contains("no organization `no-such-org`")
                && run.stderr.contains("Git.Url.Organization"),
            "{platform}: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ref_refused_by_the_server_is_a_clear_error() {
    let forge = forge_with_upstream().await;
    forge.create_repo(ORG, NEW_REPO);
    forge.refuse_pushes(ORG, NEW_REPO, "pushes are frozen for the audit");
    let run = fork(&forge, "gitea", &[], &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused refs/heads/main")
            && run.stderr.contains("pushes are frozen for the audit"),
        "{}",
        run.stderr
    );
    assert_eq!(downstream_main(&forge), None);
}

#[tokio::test]
async fn invalid_inputs_are_reported_together_with_exit_code_2() {
    let run = octofleet(
        &["fork"],
        &[
            ("GIT_PLATFORM", "bitbucket"),
            ("GIT_URL_PROTOCOL", "ftp"),
            ("GIT_URL_NEWREPO", "Team A repo"),
            (
                "GIT_URL_UPSTREAM",
                "https://octopus:hunter2-secret@gitea.example.com/org/repo.git",
            ),
        ],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    for expected in [
        "Git.Platform",
        "Git.Url.Protocol",
        "Git.Url.Host",
        "Git.Url.Organization",
        "Git.Url.NewRepo",
        "team_a_repo",
        "Git.Url.Upstream",
        "Git.Credentials.Password",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert!(!run.all_output().contains("hunter2-secret"));
}

/// The step template, run under bash the way Calamari runs it, with the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_template_runs_like_calamari_runs_it() {
    let forge = forge_with_upstream().await;
    let template = template("octofleet-fork-repository.json");
    let variables = BTreeMap::from([
        ("Git.Url.Protocol", "http".to_owned()),
        ("Git.Url.Host", forge.host()),
        ("Git.Url.Organization", ORG.to_owned()),
        ("Git.Credentials.Username", "octopus".to_owned()),
        ("Git.Credentials.Password", PASSWORD.to_owned()),
        ("Octopus.Deployment.Tenant.Name", TENANT.to_owned()),
        ("Octopus.Project.Name", PROJECT.to_owned()),
    ]);
    // Git.Url.Template, Git.Url.NewRepo, Git.Branch.MainLine and Exported.Project.Name are not
    // defined: their `#{…}` defaults stay as written and octofleet uses its own defaults.
    let parameters = template.bind(&variables, &[]);
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("RepositoryUrl"),
        Some(format!("{}/{ORG}/{NEW_REPO}.git", forge.url()))
    );
    assert_eq!(downstream_main(&forge), Some(upstream_main(&forge)));
    assert!(!run.all_output().contains(PASSWORD));

    // Without a host: exit 2, the unsubstituted variable named.
    let parameters = template.bind(
        &BTreeMap::from([("Git.Credentials.Password", PASSWORD.to_owned())]),
        &[],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("#{Git.Url.Host}"), "{}", run.stderr);
    assert!(result_message(&run.stdout).is_some());
}

/// With management inputs, the upstream is the template project's own Config-as-Code repository,
/// even when its name is not the sanitized project name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_defaults_to_the_template_projects_repository() {
    let forge = forge().await;
    forge.create_upstream(ORG, "cac_templates", &UpstreamSpec::main_line("main", 2));
    let fleet = crate::support::Fleet::start().await;
    let upstream = format!("{}/{ORG}/cac_templates.git", forge.url());
    octofleet_sandbox::seed_template_projects(&fleet.emulator, &fleet.management, &upstream);
    let url = fleet.emulator.url();
    let management = [
        ("OCTOPUS_WEB_SERVERURI", url.as_str()),
        ("MANAGEMENT_OCTOPUS_APIKEY", crate::support::API_KEY),
        ("OCTOPUS_SPACE_ID", "Spaces-1"),
    ];
    let run = fork(&forge, "gitea", &["--output", "json"], &management).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["upstream_url"], serde_json::json!(upstream));
    assert_eq!(
        downstream_main(&forge),
        forge.rev_parse(ORG, "cac_templates", "refs/heads/main")
    );

    // A database project has no repository to fork: a clear input error.
    let mut not_cac = management.to_vec();
    not_cac.push(("OCTOPUS_PROJECT_NAME", "Hello World"));
    let run = fork(&forge, "gitea", &[], &not_cac).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a Config-as-Code project"),
        "{}",
        run.stderr
    );
}

/// The template with the management API key bound: the upstream comes from the template
/// project's Config-as-Code settings, whatever the repository is called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_template_reads_the_upstream_from_the_template_project() {
    let forge = forge().await;
    forge.create_upstream(ORG, "cac_templates", &UpstreamSpec::main_line("main", 2));
    let fleet = crate::support::Fleet::start().await;
    let upstream = format!("{}/{ORG}/cac_templates.git", forge.url());
    octofleet_sandbox::seed_template_projects(&fleet.emulator, &fleet.management, &upstream);
    let template = template("octofleet-fork-repository.json");
    let variables = BTreeMap::from([
        ("Git.Url.Protocol", "http".to_owned()),
        ("Git.Url.Host", forge.host()),
        ("Git.Url.Organization", ORG.to_owned()),
        ("Git.Credentials.Username", "octopus".to_owned()),
        ("Git.Credentials.Password", PASSWORD.to_owned()),
        ("Octopus.Deployment.Tenant.Name", TENANT.to_owned()),
        ("Octopus.Project.Name", PROJECT.to_owned()),
        ("Octopus.Web.ServerUri", fleet.emulator.url()),
        ("Octopus.Space.Id", "Spaces-1".to_owned()),
    ]);
    let parameters = template.bind(
        &variables,
        &[("Octofleet.Management.ApiKey", crate::support::API_KEY)],
    );
    let run = run_like_calamari(template.script_body(), &parameters, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains(&format!("forking {upstream}")),
        "the log is on stdout in a step: {}",
        run.stdout
    );
    assert_eq!(
        downstream_main(&forge),
        forge.rev_parse(ORG, "cac_templates", "refs/heads/main")
    );
    assert!(
        !run.all_output().contains(crate::support::API_KEY) && !run.all_output().contains(PASSWORD)
    );
}

/// A template project whose Config-as-Code URL carries credentials, or is not http(s): refused
/// as input (exit 2) before anything is written, the userinfo never printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_provided_upstream_with_credentials_or_another_scheme_is_refused() {
    let forge = forge().await;
    forge.create_upstream(ORG, "cac_templates", &UpstreamSpec::main_line("main", 2));
    let with_userinfo = format!(
        "http://octopus:{PASSWORD}@{}/{ORG}/cac_templates.git",
        forge.host()
    );
    let not_http = format!("ssh://{}/{ORG}/cac_templates.git", forge.host());
    for (upstream, expected) in [
        (with_userinfo.as_str(), "has credentials in it"),
        (not_http.as_str(), "not an http(s) URL"),
    ] {
        let fleet = crate::support::Fleet::start().await;
        octofleet_sandbox::seed_template_projects(&fleet.emulator, &fleet.management, upstream);
        let url = fleet.emulator.url();
        forge.clear_requests();
        let run = fork(
            &forge,
            "gitea",
            &[],
            &[
                ("OCTOPUS_WEB_SERVERURI", url.as_str()),
                ("MANAGEMENT_OCTOPUS_APIKEY", crate::support::API_KEY),
                ("OCTOPUS_SPACE_ID", "Spaces-1"),
            ],
        )
        .await;
        assert_eq!(run.code, 2, "{upstream}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected)
                && run
                    .stderr
                    .contains(&format!("{}/{ORG}/cac_templates.git", forge.host()))
                && run.stderr.contains(PROJECT),
            "{}",
            run.stderr
        );
        assert!(
            !run.all_output().contains("octopus:"),
            "{}",
            run.all_output()
        );
        assert_eq!(
            forge.requests(),
            Vec::new(),
            "nothing was sent to the forge"
        );
    }
}

/// The platform API answers with a 307 to another origin: the token stays home, and fork stops
/// naming the refused redirect. (GitLab's PRIVATE-TOKEN is a custom header that reqwest would
/// carry along; Gitea's and GitHub's Authorization it strips, but the hop is refused all the same.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_redirect_to_another_origin_is_not_followed() {
    let elsewhere = TinyServer::start(|_| {
        Some(http_response(
            "200 OK",
            &[("Content-Type", "application/json")],
            "{}",
        ))
    })
    .await;
    let target = elsewhere.url.clone();
    let api_server = TinyServer::start(move |head| {
        let location = format!("{target}{}", request_path(head));
        Some(http_response(
            "307 Temporary Redirect",
            &[("Location", &location)],
            "",
        ))
    })
    .await;
    let api = api_server.url.trim_start_matches("http://").to_owned();
    for platform in ["gitea", "github", "gitlab"] {
        let tmp = tempfile::tempdir().unwrap();
        let run = octofleet(
            &["fork"],
            &[
                ("GIT_PLATFORM", platform),
                ("GIT_URL_PROTOCOL", "http"),
                ("GIT_URL_HOST", api.as_str()),
                ("GIT_URL_ORGANIZATION", ORG),
                ("GIT_CREDENTIALS_USERNAME", "octopus"),
                ("GIT_CREDENTIALS_PASSWORD", PASSWORD),
                ("OCTOPUS_DEPLOYMENT_TENANT_NAME", TENANT),
                ("OCTOPUS_PROJECT_NAME", PROJECT),
                ("TMPDIR", tmp.path().to_str().unwrap()),
            ],
        )
        .await;
        assert_eq!(run.code, 1, "{platform}: {}", run.stderr);
        assert!(
            run.stderr.contains("refused to follow a redirect")
                && run.stderr.contains(&elsewhere.url)
                && run.stderr.contains("Git.Url.Host"),
            "{platform}: {}",
            run.stderr
        );
        assert!(!run.all_output().contains(PASSWORD));
        assert!(api_server.accepted() > 0, "{platform}: the API was called");
    }
    let leaked = elsewhere.heads();
    assert!(
        leaked.is_empty(),
        "the redirect was followed:\n{}",
        leaked.join("\n")
    );
}

/// fork takes Octofleet.CaCertificateFile: a file that holds no certificate is an input error
/// before anything is written (before this, fork had no such input and ignored the variable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ca_certificate_input_is_checked_before_anything_is_written() {
    let forge = forge_with_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("ca.pem");
    std::fs::write(&not_pem, "this is not a certificate\n").unwrap();
    let run = fork(
        &forge,
        "gitea",
        &[],
        &[("OCTOFLEET_CACERTIFICATEFILE", not_pem.to_str().unwrap())],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Octofleet.CaCertificateFile")
            && run.stderr.contains(not_pem.to_str().unwrap())
            && run.stderr.contains("no usable PEM certificate"),
        "{}",
        run.stderr
    );
    assert_eq!(api_writes(&forge), Vec::<String>::new());
    assert!(forge.repo_path(ORG, NEW_REPO).is_none());

    let run = fork(
        &forge,
        "gitea",
        &["--ca-certificate", "/nonexistent/ca.pem"],
        &[],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Octofleet.CaCertificateFile")
            && run.stderr.contains("not a readable file"),
        "{}",
        run.stderr
    );
}

/// The create request of each platform and the status it answers when the name is taken.
fn create_request(platform: &str) -> (&'static str, u16) {
    match platform {
        "gitea" => ("/api/v1/orgs/octopuscac/repos", 409),
        "github" => ("/api/v3/orgs/octopuscac/repos", 422),
        _ => ("/api/v4/projects", 400),
    }
}

/// Two fork runs for one tenant at once: each looks the downstream repository up, finds none and
/// creates it; the second create meets the repository the first made meanwhile ("exists":
/// Gitea 409, GitHub 422, GitLab 400). Then both push `main` into the new repository at once, and
/// the push that comes second is refused because the other run pushed the same commit first. Both
/// end correct: exit 0, one repository, main equal to upstream. The forge holds the creates until
/// both have arrived, then the pushes likewise, so the two runs race at both points every time.
async fn a_repository_created_meanwhile_counts_as_found(platform: &str) {
    let forge = forge_with_upstream().await;
    let (create_path, exists) = create_request(platform);
    let within = std::time::Duration::from_secs(30);
    forge.gather("POST", create_path, 2, within);
    forge.gather("POST", "/git-receive-pack", 2, within);
    let repo = "race";
    let env = [("GIT_URL_NEWREPO", repo)];
    forge.clear_requests();
    let (first, second) = tokio::join!(
        fork(&forge, platform, &[], &env),
        fork(&forge, platform, &[], &env)
    );
    assert_eq!(first.code, 0, "{platform}: {}", first.stderr);
    assert_eq!(second.code, 0, "{platform}: {}", second.stderr);
    crate::support::fault_rules::assert_every_forge_rule_fired(&forge);
    assert_eq!(
        forge.rev_parse(ORG, repo, "refs/heads/main"),
        Some(upstream_main(&forge)),
        "{platform}"
    );
    assert_eq!(forge.default_branch(ORG, repo).as_deref(), Some("main"));
    let requests = forge.requests();
    let mut creates: Vec<u16> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path == create_path)
        .map(|r| r.status)
        .collect();
    creates.sort_unstable();
    let mut expected = vec![201, exists];
    expected.sort_unstable();
    assert_eq!(
        creates, expected,
        "{platform}: one repository created, the other create met it"
    );
    let pushes = requests.iter().filter(|r| r.is_receive_pack()).count();
    assert_eq!(pushes, 2, "{platform}: both runs pushed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_fork_runs_at_once_both_end_correct_on_every_platform() {
    for platform in ["gitea", "github", "gitlab"] {
        a_repository_created_meanwhile_counts_as_found(platform).await;
    }
}

/// A tag that moved upstream is refused, as a diverged branch is (actions.md, fork, step 3):
/// exit 1 naming the tag and both commits, nothing pushed; `--force` moves it to upstream's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tag_moved_upstream_is_refused_until_forced() {
    let forge = forge_with_upstream().await;
    let upstream_path = forge.repo_path(ORG, UPSTREAM).unwrap();
    git(&upstream_path, &["tag", "light", "main"]);
    git(
        &upstream_path,
        &["tag", "-a", "-m", "Release 1", "v1.0.0", "main"],
    );
    let run = fork(&forge, "gitea", &["--all-branches"], &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut before = forge.refs(ORG, NEW_REPO);
    assert_eq!(before, forge.refs(ORG, UPSTREAM));

    for tag in ["light", "v1.0.0"] {
        // What the ref points at: a commit for `light`, a tag object for the annotated `v1.0.0`.
        let old = forge
            .rev_parse(ORG, NEW_REPO, &format!("refs/tags/{tag}"))
            .unwrap();
        let moved = forge.commit(
            ORG,
            UPSTREAM,
            "main",
            &format!("Upstream: before {tag} moves"),
        );
        match tag {
            "light" => git(&upstream_path, &["tag", "-f", "light", "main"]),
            _ => git(
                &upstream_path,
                &[
                    "tag",
                    "-f",
                    "-a",
                    "-m",
                    "Release 1, again",
                    "v1.0.0",
                    "main",
                ],
            ),
        };
        let new = forge
            .rev_parse(ORG, UPSTREAM, &format!("refs/tags/{tag}"))
            .unwrap();
        forge.clear_requests();
        let run = fork(&forge, "gitea", &["--all-branches"], &[]).await;
        assert_eq!(run.code, 1, "{tag}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("refs/tags/{tag}"))
                && run.stderr.contains(&old)
                && run.stderr.contains(&new),
            "{tag}: names the tag and both commits: {}",
            run.stderr
        );
        assert_eq!(pushes(&forge), 0, "{tag}: nothing pushed");
        assert_eq!(forge.refs(ORG, NEW_REPO), before, "{tag}: untouched");

        let run = fork(&forge, "gitea", &["--all-branches", "--force"], &[]).await;
        assert_eq!(run.code, 0, "{tag}: {}", run.stderr);
        assert_eq!(
            forge.refs(ORG, NEW_REPO),
            forge.refs(ORG, UPSTREAM),
            "{tag}"
        );
        assert_eq!(
            forge.rev_parse(ORG, NEW_REPO, &format!("refs/tags/{tag}^{{commit}}")),
            Some(moved)
        );
        before = forge.refs(ORG, NEW_REPO);
    }
}
