//! `octofleet merge` through the real binary against the forge emulator (real git behind
//! `git http-backend`), on Gitea, GitHub and GitLab: behind, ahead, a clean divergence, a
//! conflict with its pull request, re-runs, `--check`; and its step template run the Calamari way.

use crate::support::calamari::{
    binary_dir, result_message, run_like_calamari, service_messages, template,
};
use crate::support::forge::{
    api_writes, forge_with_upstream, forge_with_upstream_on, pushes, run_action as invoke,
    separate_edits, NEW_REPO, ORG, PASSWORD, PROJECT, TENANT, UPSTREAM,
};
use crate::support::reports::{assert_renders, assert_self_contained, chromium};
use crate::support::Run;
use forge_emulator::ForgeEmulator;
use serde_json::Value;
use std::collections::BTreeMap;
const PROCESS: &str = ".octopus/deployment_process.ocl";
const SETTINGS: &str = ".octopus/deployment_settings.ocl";

const PROCESS_V1: &str = "step \"Deploy\" {\n  action_type = \"Octopus.Script\"\n  timeout = 10\n  retries = 1\n  run_on = \"worker\"\n  window = \"always\"\n}\n\nstep \"Notify\" {\n  channel = \"#ops\"\n}\n";

/// fork's upstream, with a process and settings both sides can change.
async fn forge() -> ForgeEmulator {
    with_process(forge_with_upstream().await)
}

/// [`forge`] playing `platform` (its API, auth schemes and GitLab's protected default branch).
async fn forge_on(platform: &str) -> ForgeEmulator {
    with_process(forge_with_upstream_on(platform).await)
}

fn with_process(forge: ForgeEmulator) -> ForgeEmulator {
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: the process and its settings",
        &[
            (PROCESS, Some(PROCESS_V1)),
            (SETTINGS, Some("connectivity_policy {\n  allow = true\n}\n")),
        ],
    );
    forge
}

async fn merge(forge: &ForgeEmulator, platform: &str, args: &[&str]) -> Run {
    invoke(forge, "merge", platform, args, &[]).await
}

/// The JSON summary of a `--output json` run.
async fn merge_json(forge: &ForgeEmulator, platform: &str, args: &[&str]) -> (Run, Value) {
    let mut all_args = vec!["--output", "json"];
    all_args.extend_from_slice(args);
    let run = merge(forge, platform, &all_args).await;
    let report = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", run.stdout, run.stderr));
    (run, report)
}

/// A forge playing `platform` with the upstream and the tenant's fork of it (made by
/// `octofleet fork`).
async fn forked(platform: &str) -> ForgeEmulator {
    let forge = forge_on(platform).await;
    let fork = invoke(&forge, "fork", platform, &[], &[]).await;
    assert_eq!(fork.code, 0, "{}", fork.stderr);
    forge.clear_requests();
    forge
}

fn downstream_main(forge: &ForgeEmulator) -> String {
    forge.rev_parse(ORG, NEW_REPO, "refs/heads/main").unwrap()
}

/// Object transfers out of `repo` (a fetch's negotiation and pack).
fn fetches_from(forge: &ForgeEmulator, repo: &str) -> usize {
    forge
        .requests()
        .iter()
        .filter(|request| {
            request.method == "POST" && request.path == format!("/{ORG}/{repo}.git/git-upload-pack")
        })
        .count()
}

fn downstream_file(forge: &ForgeEmulator, path: &str) -> String {
    forge
        .file_at(ORG, NEW_REPO, "main", path)
        .unwrap_or_default()
}

/// The process with `timeout` changed (line 3), for a change on one side.
fn with_timeout(timeout: u32) -> String {
    PROCESS_V1.replace("timeout = 10", &format!("timeout = {timeout}"))
}

/// The tenant and upstream both change the Deploy step's timeout (line 3): a conflict.
fn conflicting_edits(forge: &ForgeEmulator) {
    let edit = |repo: &str, timeout: u32| {
        forge.commit_files(
            ORG,
            repo,
            "main",
            "Timeout",
            &[(PROCESS, Some(&with_timeout(timeout)))],
        )
    };
    edit(NEW_REPO, 30);
    edit(UPSTREAM, 5);
}

/// Every case in order on one platform.
async fn merge_lifecycle(platform: &str) {
    let forge = forked(platform).await;

    // 1. Up to date: nothing fetched, nothing pushed, exit 0.
    let run = merge(&forge, platform, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("up-to-date")
    );
    assert_eq!(run.output_variable("ConflictCount").as_deref(), Some("0"));
    assert_eq!(run.output_variable("PullRequestUrl"), None);
    assert_eq!(pushes(&forge), 0);
    assert_eq!(
        fetches_from(&forge, UPSTREAM) + fetches_from(&forge, NEW_REPO),
        0
    );

    // 2. Behind: --check says so and writes nothing; merge fast-forwards.
    let moved = forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: settings",
        &[(
            SETTINGS,
            Some("connectivity_policy {\n  allow = false\n}\n"),
        )],
    );
    forge.clear_requests();
    let (run, report) = merge_json(&forge, platform, &["--check"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(report["outcome"], "behind");
    assert_eq!(report["branches"][0]["behind"], 1);
    assert_eq!(report["branches"][0]["ahead"], 0);
    assert_eq!(pushes(&forge), 0);
    assert_eq!(api_writes(&forge), Vec::<String>::new());
    assert_ne!(downstream_main(&forge), moved);
    let run = merge(&forge, platform, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("behind")
    );
    assert_eq!(downstream_main(&forge), moved);

    // 3. Ahead: the tenant's commit is kept, nothing pushed.
    let tenant = forge.commit_files(
        ORG,
        NEW_REPO,
        "main",
        "Tenant: a longer timeout",
        &[(PROCESS, Some(&with_timeout(30)))],
    );
    forge.clear_requests();
    let run = merge(&forge, platform, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("ahead")
    );
    assert_eq!(downstream_main(&forge), tenant);
    assert_eq!(pushes(&forge), 0);

    // 4. Diverged, clean: upstream changed another part of the process (the Notify step) and
    // the settings; a merge commit with both parents keeps both edits.
    let upstream = forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: notify another channel",
        &[(PROCESS, Some(&PROCESS_V1.replace("#ops", "#deployments")))],
    );
    forge.clear_requests();
    let (run, report) = merge_json(&forge, platform, &["--check"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(report["outcome"], "diverged-clean");
    assert_eq!(report["branches"][0]["behind"], 1);
    assert_eq!(report["branches"][0]["ahead"], 1);
    assert_eq!(pushes(&forge), 0, "--check pushes nothing");
    assert_eq!(api_writes(&forge), Vec::<String>::new());
    assert_eq!(downstream_main(&forge), tenant);

    let run = merge(&forge, platform, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("diverged-clean")
    );
    let merged = downstream_main(&forge);
    assert_eq!(
        forge.parents(ORG, NEW_REPO, &merged),
        vec![tenant.clone(), upstream.clone()]
    );
    let process = downstream_file(&forge, PROCESS);
    assert!(
        process.contains("timeout = 30"),
        "the tenant's edit: {process}"
    );
    assert!(
        process.contains("#deployments"),
        "upstream's edit: {process}"
    );
    let message = git_log(&forge, NEW_REPO, "%an <%ae>|%cn|%B", &merged);
    assert!(
        message.starts_with("Octofleet <octofleet@localhost>|Octofleet|"),
        "{message}"
    );
    assert!(
        message.contains(&upstream),
        "the message names the upstream commit: {message}"
    );

    // 5. Re-run after the clean merge: nothing from upstream, nothing pushed, no API write.
    forge.clear_requests();
    let run = merge(&forge, platform, &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("ahead")
    );
    assert_eq!(pushes(&forge), 0);
    assert_eq!(
        fetches_from(&forge, UPSTREAM),
        0,
        "upstream's commit is already downstream"
    );
    assert_eq!(api_writes(&forge), Vec::<String>::new());
    assert_eq!(downstream_main(&forge), merged);

    // 6. Conflict: both changed the Deploy step's timeout. Nothing on the main line; upstream's
    // commit on a branch of its own, one pull request, exit 3.
    let upstream = forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: a shorter timeout",
        &[(
            PROCESS,
            Some(&with_timeout(5).replace("#ops", "#deployments")),
        )],
    );
    let short = &upstream[..7];
    let branch = format!("octofleet/upstream-{short}");
    forge.clear_requests();
    let (run, report) = merge_json(&forge, platform, &["--check"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(report["outcome"], "diverged-conflicts");
    assert_eq!(report["conflict_count"], 1);
    assert_eq!(report["branches"][0]["conflicts"][0]["path"], PROCESS);
    assert!(report["pull_requests"].as_array().unwrap().is_empty());
    assert_eq!(pushes(&forge), 0, "--check pushes nothing");
    assert_eq!(
        api_writes(&forge),
        Vec::<String>::new(),
        "--check opens nothing"
    );
    assert!(forge.pull_requests(ORG, NEW_REPO).is_empty());
    assert_eq!(
        forge.rev_parse(ORG, NEW_REPO, &format!("refs/heads/{branch}")),
        None
    );

    let run = merge(&forge, platform, &[]).await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("diverged-conflicts")
    );
    assert_eq!(run.output_variable("ConflictCount").as_deref(), Some("1"));
    assert_eq!(
        downstream_main(&forge),
        merged,
        "the main line is untouched"
    );
    assert_eq!(
        forge
            .rev_parse(ORG, NEW_REPO, &format!("refs/heads/{branch}"))
            .as_deref(),
        Some(upstream.as_str())
    );
    let pulls = forge.pull_requests(ORG, NEW_REPO);
    assert_eq!(pulls.len(), 1, "{pulls:?}");
    assert_eq!(
        (pulls[0].head.as_str(), pulls[0].base.as_str()),
        (branch.as_str(), "main")
    );
    assert!(pulls[0].body.contains(PROCESS), "{}", pulls[0].body);
    let url = run
        .output_variable("PullRequestUrl")
        .expect("PullRequestUrl");
    assert!(url.ends_with(&format!("/{}", pulls[0].number)), "{url}");
    // The log names the path, the conflicting lines on each side, and the pull request.
    let log = run.all_output();
    assert!(
        log.contains(PROCESS) && log.contains("downstream line 3 vs upstream line 3"),
        "{log}"
    );
    assert!(log.contains(&url), "{log}");

    // 7. Re-run: the same branch and pull request, nothing pushed, nothing opened.
    forge.clear_requests();
    let (run, report) = merge_json(&forge, platform, &[]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(report["pull_requests"][0]["url"], url.as_str());
    assert_eq!(report["pull_requests"][0]["created"], false);
    assert_eq!(report["branches"][0]["conflict_branch"], branch.as_str());
    assert_eq!(pushes(&forge), 0);
    assert_eq!(api_writes(&forge), Vec::<String>::new());
    assert_eq!(forge.pull_requests(ORG, NEW_REPO).len(), 1);
    assert_eq!(downstream_main(&forge), merged);
}

fn git_log(forge: &ForgeEmulator, repo: &str, format: &str, rev: &str) -> String {
    let output = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(forge.repo_path(ORG, repo).unwrap())
        .args(["log", "-1", &format!("--format={format}"), rev])
        .output()
        .expect("git runs");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitea_up_to_date_behind_ahead_clean_conflict_rerun_check() {
    merge_lifecycle("gitea").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_up_to_date_behind_ahead_clean_conflict_rerun_check() {
    merge_lifecycle("github").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_up_to_date_behind_ahead_clean_conflict_rerun_check() {
    merge_lifecycle("gitlab").await;
}

/// The JSON summary names each conflicted path with the conflicting hunks' line ranges on each
/// side; several hunks in one file are each listed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_list_paths_and_line_ranges() {
    let forge = forked("gitea").await;
    forge.commit_files(
        ORG,
        NEW_REPO,
        "main",
        "Tenant: timeout and channel",
        &[
            (PROCESS, Some(&with_timeout(30).replace("#ops", "#tenant"))),
            (SETTINGS, Some("tenant\n")),
        ],
    );
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: timeout and channel",
        &[
            (PROCESS, Some(&with_timeout(5).replace("#ops", "#upstream"))),
            (SETTINGS, Some("upstream\n")),
        ],
    );
    let (run, report) = merge_json(&forge, "gitea", &[]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(report["conflict_count"], 2);
    assert!(report["bytes_fetched"].as_u64().unwrap() > 0, "{report}");
    let conflicts = &report["branches"][0]["conflicts"];
    assert_eq!(conflicts[0]["path"], PROCESS);
    assert_eq!(conflicts[0]["kind"], "content");
    assert_eq!(
        conflicts[0]["hunks"],
        serde_json::json!([
            {"downstream": {"start": 3, "count": 1}, "upstream": {"start": 3, "count": 1},
             "downstream_text": "  timeout = 30", "upstream_text": "  timeout = 5"},
            {"downstream": {"start": 10, "count": 1}, "upstream": {"start": 10, "count": 1},
             "downstream_text": "  channel = \"#tenant\"", "upstream_text": "  channel = \"#upstream\""},
        ])
    );
    assert_eq!(conflicts[1]["path"], SETTINGS);
    assert_eq!(
        conflicts[1]["hunks"],
        serde_json::json!([{"downstream": {"start": 1, "count": 1}, "upstream": {"start": 1, "count": 1},
                            "downstream_text": "tenant", "upstream_text": "upstream"}])
    );
    assert_eq!(report["pull_requests"][0]["number"], 1);
    assert_eq!(
        report["pull_requests"][0]["url"],
        format!("{}/{ORG}/{NEW_REPO}/pulls/1", forge.url())
    );
}

/// A line ending or trailing whitespace changed on one side is no conflict with a real change
/// of the same line on the other: git resolves it, and merge merges.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whitespace_at_line_ends_is_no_conflict() {
    let forge = forked("gitea").await;
    forge.commit_files(
        ORG,
        NEW_REPO,
        "main",
        "Tenant: timeout",
        &[(PROCESS, Some(&with_timeout(30)))],
    );
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: CRLF and trailing spaces",
        &[(
            PROCESS,
            Some(&PROCESS_V1.replace("timeout = 10\n", "timeout = 10   \r\n")),
        )],
    );
    let (run, report) = merge_json(&forge, "gitea", &[]).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(report["outcome"], "diverged-clean");
    assert!(downstream_file(&forge, PROCESS).contains("timeout = 30"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_input_signs_merge_commits() {
    let forge = forked("gitea").await;
    separate_edits(&forge);
    let run = invoke(
        &forge,
        "merge",
        "gitea",
        &[],
        &[("OCTOFLEET_GIT_AUTHOR", "Fleet Bot <fleet@example.com>")],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let merged = downstream_main(&forge);
    assert_eq!(
        git_log(&forge, NEW_REPO, "%an <%ae>|%cn <%ce>", &merged),
        "Fleet Bot <fleet@example.com>|Fleet Bot <fleet@example.com>"
    );

    let bad = invoke(
        &forge,
        "merge",
        "gitea",
        &[],
        &[("OCTOFLEET_GIT_AUTHOR", "fleet@example.com")],
    )
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("Octofleet.Git.Author"),
        "{}",
        bad.stderr
    );
}

/// A protected main line refuses the merge commit: exit 1 with the server's reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protected_branch_refusing_the_push_is_reported() {
    let forge = forked("gitea").await;
    let tenant = separate_edits(&forge);
    forge.refuse_pushes(
        ORG,
        NEW_REPO,
        "branch main is protected: pushes need a review",
    );
    let run = merge(&forge, "gitea", &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("refused refs/heads/main")
            && run.stderr.contains("branch main is protected"),
        "{}",
        run.stderr
    );
    assert!(result_message(&run.stdout).is_some_and(|message| message.contains("protected")));
    assert_eq!(downstream_main(&forge), tenant);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_are_a_clear_error_and_never_printed() {
    for platform in ["gitea", "github", "gitlab"] {
        let forge = forked(platform).await;
        let run = invoke(
            &forge,
            "merge",
            platform,
            &[],
            &[("GIT_CREDENTIALS_PASSWORD", "wrong-Secret-Value-1")],
        )
        .await;
        assert_eq!(run.code, 1, "{platform}: {}", run.stderr);
        assert!(run.stderr.contains("401"), "{platform}: {}", run.stderr);
        assert!(!run.all_output().contains("wrong-Secret-Value-1"));
        assert!(forge.pull_requests(ORG, NEW_REPO).is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_fork_or_upstream_is_a_clear_error() {
    let forge = forge().await;
    for platform in ["gitea", "github", "gitlab"] {
        let run = merge(&forge, platform, &[]).await;
        assert_eq!(run.code, 1, "{platform}: {}", run.stderr);
        assert!(
            run.stderr
                .contains(&format!("{ORG}/{NEW_REPO} does not exist"))
                && run.stderr.contains("fork it first"),
            "{platform}: {}",
            run.stderr
        );
    }
    // The fork exists but is still empty.
    forge.create_repo(ORG, NEW_REPO);
    let run = merge(&forge, "gitea", &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("has no branch `main`"),
        "{}",
        run.stderr
    );

    let forge = forked("gitea").await;
    let run = invoke(
        &forge,
        "merge",
        "gitea",
        &[],
        &[("GIT_URL_TEMPLATE", "no_such_template")],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("upstream repository") && run.stderr.contains("404"),
        "{}",
        run.stderr
    );
}

/// `--all-branches`: every branch both have is merged; a branch only upstream has is left alone
/// (fork brings it), as are our own conflict branches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_branches_merges_each_branch_both_have() {
    let forge = forked("gitea").await;
    forge.commit_files(
        ORG,
        UPSTREAM,
        "release",
        "Upstream: release",
        &[("release.txt", Some("1\n"))],
    );
    assert_eq!(
        invoke(&forge, "fork", "gitea", &["--all-branches"], &[])
            .await
            .code,
        0
    );
    forge.commit_files(
        ORG,
        UPSTREAM,
        "release",
        "Upstream: release 2",
        &[("release.txt", Some("2\n"))],
    );
    forge.commit_files(
        ORG,
        UPSTREAM,
        "only-upstream",
        "Upstream: new",
        &[("new.txt", Some("new\n"))],
    );
    forge.commit_files(
        ORG,
        NEW_REPO,
        "release",
        "Tenant: release",
        &[("tenant.txt", Some("t\n"))],
    );
    let (run, report) = merge_json(&forge, "gitea", &["--all-branches"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let names: Vec<&str> = report["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["branch"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["main", "release"]);
    assert_eq!(report["branches"][1]["outcome"], "diverged-clean");
    assert_eq!(
        forge
            .file_at(ORG, NEW_REPO, "release", "release.txt")
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        forge.rev_parse(ORG, NEW_REPO, "refs/heads/only-upstream"),
        None
    );
}

/// The step template, run under bash the way Calamari runs it, with the real binary: a conflict
/// fails the step naming the pull request; with Only check the step succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_template_runs_like_calamari_runs_it() {
    let forge = forked("gitea").await;
    let template = template("octofleet-merge-upstream-changes.json");
    let variables = BTreeMap::from([
        ("Git.Url.Protocol", "http".to_owned()),
        ("Git.Url.Host", forge.host()),
        ("Git.Url.Organization", ORG.to_owned()),
        ("Git.Credentials.Username", "octopus".to_owned()),
        ("Git.Credentials.Password", PASSWORD.to_owned()),
        ("Octopus.Deployment.Tenant.Name", TENANT.to_owned()),
        ("Octopus.Project.Name", PROJECT.to_owned()),
    ]);
    let parameters = template.bind(&variables, &[]);
    let calamari = || run_like_calamari(template.script_body(), &parameters, Some(binary_dir()));
    let run = calamari().await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("up-to-date")
    );
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    conflicting_edits(&forge);
    let run = calamari().await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("diverged-conflicts")
    );
    // The report, in the working directory by default, attached to the task.
    let artifacts = service_messages(&run.stdout, "createArtifact");
    assert_eq!(artifacts.len(), 2, "the page and its JSON: {}", run.stdout);
    assert!(artifacts[0]["path"].ends_with("/octofleet-merge-Team-A.html"));
    assert!(artifacts[1]["path"].ends_with("/octofleet-merge-Team-A.json"));
    assert!(
        run.output_variable("PullRequestUrl").is_some(),
        "{}",
        run.stdout
    );
    assert!(
        result_message(&run.stdout).is_some_and(|message| message.contains("pull request")),
        "{}",
        run.stdout
    );
    assert!(!run.all_output().contains(PASSWORD));

    let checking = template.bind(&variables, &[("Octofleet.Merge.Check", "True")]);
    let run = run_like_calamari(template.script_body(), &checking, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.output_variable("MergeOutcome").as_deref(),
        Some("diverged-conflicts")
    );
    assert_eq!(forge.pull_requests(ORG, NEW_REPO).len(), 1);

    // Git object cache directory: the fetched objects are kept there.
    let cache = tempfile::tempdir().unwrap();
    let caching = template.bind(
        &variables,
        &[
            ("Octofleet.Merge.Check", "True"),
            ("Octofleet.Git.CacheDir", cache.path().to_str().unwrap()),
        ],
    );
    let run = run_like_calamari(template.script_body(), &caching, Some(binary_dir())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let packs = files_under(cache.path())
        .into_iter()
        .filter(|file| file.extension().is_some_and(|ext| ext == "pack"))
        .count();
    assert!(packs > 0, "the fetched objects are kept in the cache");
}

/// `--report-dir`: a self-contained HTML report (nothing loaded from anywhere, no script) with
/// the conflicts and a link to the pull request, and its JSON twin, attached to the task with
/// `createArtifact`, named after the tenant. It renders in headless Chromium with no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_is_written_and_attached_as_an_artifact() {
    let forge = forked("github").await;
    conflicting_edits(&forge);
    let reports = tempfile::tempdir().unwrap();
    let dir = reports.path().join("reports");
    let run = merge(&forge, "github", &["--report-dir", dir.to_str().unwrap()]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let file = dir.join("octofleet-merge-Team-A.html");
    let html = std::fs::read_to_string(&file).expect("the report is written");
    let artifacts = service_messages(&run.stdout, "createArtifact");
    assert_eq!(artifacts.len(), 2, "{}", run.stdout);
    assert_eq!(artifacts[0]["path"], file.to_string_lossy());
    assert_eq!(artifacts[0]["name"], "octofleet-merge-Team-A.html");
    let data: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("octofleet-merge-Team-A.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(data["outcome"], "diverged-conflicts");
    assert_eq!(data["conflict_count"], 1);
    assert_eq!(artifacts[0]["length"], html.len().to_string());
    let url = run.output_variable("PullRequestUrl").unwrap();
    for expected in [
        "diverged-conflicts",
        PROCESS,
        "line 3",
        "<pre>  timeout = 30</pre>",
        "<pre>  timeout = 5</pre>",
        url.as_str(),
        "octofleet/upstream-",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(
        html.contains(&format!("<a href=\"{url}\"")),
        "the PR is linked: {html}"
    );
    assert_self_contained(&html);
    assert!(!html.contains(PASSWORD));
    if let Some(chromium) = chromium() {
        let rendered = assert_renders(&chromium, &file, "merge-report").await;
        assert!(
            rendered.dom.contains("Conflicts on main"),
            "{}",
            rendered.dom
        );
    }

    // --check writes one too, and says nothing was pushed.
    let run = merge(
        &forge,
        "github",
        &["--check", "--report-dir", dir.to_str().unwrap()],
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(html.contains("check only"), "{html}");
}

/// A merge's JSON summary with extra environment (another downstream repository, say).
async fn merge_json_with(forge: &ForgeEmulator, args: &[&str], env: &[(&str, &str)]) -> Value {
    let mut all_args = vec!["--output", "json"];
    all_args.extend_from_slice(args);
    let run = invoke(forge, "merge", "gitea", &all_args, env).await;
    assert!(
        run.code == 0 || run.code == 3,
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}\n{}", run.stdout, run.stderr))
}

/// Every file under `dir`.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn bytes_fetched(report: &Value) -> u64 {
    report["bytes_fetched"].as_u64().expect("bytes_fetched")
}

/// `--git-cache-dir`: the first merge fills the cache, a re-run fetches and pushes nothing,
/// deleting the cache changes what travels but not the outcome, and a later upstream change
/// brings only its own objects. No credential ever reaches the cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_run_with_the_object_cache_fetches_and_pushes_nothing() {
    let forge = forked("gitea").await;
    let tenant = separate_edits(&forge);
    let upstream = forge.rev_parse(ORG, UPSTREAM, "refs/heads/main").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().join("git-cache");
    let cached = ["--git-cache-dir", dir.to_str().unwrap()];

    let (run, first) = merge_json(&forge, "gitea", &cached).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(first["outcome"], "diverged-clean");
    assert_eq!(first["used_object_cache"], true);
    assert!(bytes_fetched(&first) > 0, "{first}");
    let merged = downstream_main(&forge);
    assert_eq!(
        forge.parents(ORG, NEW_REPO, &merged),
        vec![tenant, upstream]
    );

    forge.clear_requests();
    let (run, rerun) = merge_json(&forge, "gitea", &cached).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(rerun["outcome"], "ahead");
    assert_eq!(rerun["used_object_cache"], true);
    assert_eq!(rerun["bytes_fetched"], 0, "{rerun}");
    assert_eq!(rerun["bytes_pushed"], 0, "{rerun}");
    assert_eq!(rerun["pushed_refs"], 0, "{rerun}");
    assert_eq!(pushes(&forge), 0);
    assert_eq!(
        fetches_from(&forge, UPSTREAM) + fetches_from(&forge, NEW_REPO),
        0,
        "the advertisements and the cached objects settle it"
    );
    assert_eq!(api_writes(&forge), Vec::<String>::new());

    // Deleting the cache changes what travels, never the outcome; nor does running without it.
    std::fs::remove_dir_all(&dir).unwrap();
    forge.clear_requests();
    let (run, refilled) = merge_json(&forge, "gitea", &cached).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (run, uncached) = merge_json(&forge, "gitea", &[]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    for report in [&refilled, &uncached] {
        assert_eq!(report["outcome"], rerun["outcome"]);
        assert_eq!(report["branches"], rerun["branches"]);
        assert!(bytes_fetched(report) > 0, "{report}");
    }
    assert_eq!(uncached["used_object_cache"], false);
    assert_eq!(pushes(&forge), 0);
    assert_eq!(downstream_main(&forge), merged);

    // Upstream moves on: the cache sends only what is new (less than a run without it), and
    // what --check fetched a merge does not fetch again.
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: more",
        &[("more.txt", Some("more\n"))],
    );
    let (_, uncached_check) = merge_json(&forge, "gitea", &["--check"]).await;
    let mut checking = cached.to_vec();
    checking.push("--check");
    let (_, cached_check) = merge_json(&forge, "gitea", &checking).await;
    assert_eq!(cached_check["outcome"], "diverged-clean");
    assert!(
        bytes_fetched(&cached_check) < bytes_fetched(&uncached_check),
        "{cached_check}\n{uncached_check}"
    );
    let (run, next) = merge_json(&forge, "gitea", &cached).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(next["outcome"], "diverged-clean");
    assert_eq!(next["bytes_fetched"], 0, "{next}");
    assert!(next["bytes_pushed"].as_u64().unwrap() > 0);

    // One repository (and its lock) for the pair; nothing secret in it.
    let mut entries: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert!(entries[0].ends_with(".git") && entries[1].ends_with(".lock"));
    for file in files_under(&dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        assert!(
            !text.contains(PASSWORD),
            "{} holds the password",
            file.display()
        );
    }
}

/// Equal advertisements settle an up-to-date pair: no object is fetched, cache or not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_up_to_date_pair_fetches_nothing_with_or_without_the_cache() {
    let forge = forked("github").await;
    let cache = tempfile::tempdir().unwrap();
    let dir = cache.path().to_str().unwrap();
    for args in [&[][..], &["--git-cache-dir", dir][..]] {
        forge.clear_requests();
        let (run, report) = merge_json(&forge, "github", args).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(report["outcome"], "up-to-date");
        assert_eq!(report["bytes_fetched"], 0);
        assert_eq!(
            fetches_from(&forge, UPSTREAM) + fetches_from(&forge, NEW_REPO),
            0,
            "{args:?}"
        );
        assert_eq!(pushes(&forge), 0);
    }
}

/// A cache directory that is a file, below a file, where nobody may write, or a damaged
/// repository: a warning naming the input, and the merge goes on in a temporary repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_it_cannot_use_is_a_warning_and_the_merge_goes_on() {
    let forge = forked("gitea").await;
    let tenant = separate_edits(&forge);
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let unusable = [
        file.clone(),
        file.join("below"),
        // Not even root may create a directory in /proc.
        std::path::PathBuf::from("/proc/octofleet-cache"),
    ];
    for (index, dir) in unusable.iter().enumerate() {
        let run = merge(
            &forge,
            "gitea",
            &["--output", "json", "--git-cache-dir", dir.to_str().unwrap()],
        )
        .await;
        assert_eq!(run.code, 0, "{}: {}", dir.display(), run.stderr);
        let report: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(report["used_object_cache"], false);
        let expected = if index == 0 {
            "diverged-clean"
        } else {
            "ahead"
        };
        assert_eq!(report["outcome"], expected, "{}", dir.display());
        assert!(
            run.stderr.contains("WARN")
                && run.stderr.contains("Octofleet.Git.CacheDir")
                && run.stderr.contains("cannot be used"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(
        forge.parents(ORG, NEW_REPO, &downstream_main(&forge))[0],
        tenant
    );

    // A damaged repository in the cache: its HEAD unreadable, then its packs garbage.
    let dir = scratch.path().join("cache");
    let cached = ["--output", "json", "--git-cache-dir", dir.to_str().unwrap()];
    assert_eq!(merge(&forge, "gitea", &cached).await.code, 0);
    let repository = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "git"))
        .expect("the pair's repository");
    let head = repository.join("HEAD");
    let good_head = std::fs::read(&head).unwrap();
    std::fs::write(&head, "garbage").unwrap();
    let run = merge(&forge, "gitea", &cached).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used"), "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["outcome"], "ahead");
    assert_eq!(report["used_object_cache"], false);

    std::fs::write(&head, good_head).unwrap();
    let packs: Vec<_> = files_under(&repository.join("objects"))
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "pack"))
        .collect();
    assert!(!packs.is_empty());
    for pack in &packs {
        let length = std::fs::metadata(pack).unwrap().len() as usize;
        std::fs::write(pack, vec![b'x'; length]).unwrap();
    }
    let run = merge(&forge, "gitea", &cached).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("object cache failed") && run.stderr.contains("delete"),
        "{}",
        run.stderr
    );
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["outcome"], "ahead");
}

/// Runs sharing one cache directory at once (two on one pair, one on another) all succeed: one
/// merges, the other run on that pair waits for the lock and finds the merge done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_merges_sharing_the_cache_all_succeed() {
    const SECOND: &str = "second_tenant_repo";
    let forge = forked("gitea").await;
    let fork = invoke(&forge, "fork", "gitea", &[], &[("GIT_URL_NEWREPO", SECOND)]).await;
    assert_eq!(fork.code, 0, "{}", fork.stderr);
    let tenant = separate_edits(&forge);
    let second_tenant = forge.commit_files(
        ORG,
        SECOND,
        "main",
        "Second tenant",
        &[("second.txt", Some("second\n"))],
    );
    let upstream = forge.rev_parse(ORG, UPSTREAM, "refs/heads/main").unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cached = ["--git-cache-dir", cache.path().to_str().unwrap()];

    let (one, two, second) = tokio::join!(
        merge_json_with(&forge, &cached, &[]),
        merge_json_with(&forge, &cached, &[]),
        merge_json_with(&forge, &cached, &[("GIT_URL_NEWREPO", SECOND)]),
    );
    let mut outcomes = [one["outcome"].clone(), two["outcome"].clone()];
    outcomes.sort_by_key(|outcome| outcome.to_string());
    assert_eq!(outcomes, ["ahead", "diverged-clean"], "{one}\n{two}");
    assert_eq!(second["outcome"], "diverged-clean");
    for report in [&one, &two, &second] {
        assert_eq!(report["used_object_cache"], true, "{report}");
    }
    assert_eq!(
        forge.parents(ORG, NEW_REPO, &downstream_main(&forge)),
        vec![tenant, upstream.clone()]
    );
    let second_main = forge.rev_parse(ORG, SECOND, "refs/heads/main").unwrap();
    assert_eq!(
        forge.parents(ORG, SECOND, &second_main),
        vec![second_tenant, upstream]
    );
    // The cache is intact: a re-run of either pair transfers nothing.
    for env in [&[][..], &[("GIT_URL_NEWREPO", SECOND)][..]] {
        let report = merge_json_with(&forge, &cached, env).await;
        assert_eq!(report["outcome"], "ahead");
        assert_eq!(report["bytes_fetched"], 0, "{report}");
        assert_eq!(report["used_object_cache"], true);
    }
}

/// No state and no naming rule: with `ManagedTenant.Octopus.Url` and `.ApiKey`, merge reads the
/// downstream repository from the downstream project's Config-as-Code settings in the managed
/// space (found by the tenant's name), here a fork named unlike the naming rule. A project on
/// another host is refused before any git traffic (the credentials may go only to the forge), a
/// missing project is named, and `Git.Url.NewRepo` given wins over the lookup.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_downstream_repository_is_read_from_the_managed_space() {
    const FORK: &str = "renamed_by_the_platform_team";
    let forge = forge().await;
    let fork = invoke(&forge, "fork", "gitea", &[], &[("GIT_URL_NEWREPO", FORK)]).await;
    assert_eq!(fork.code, 0, "{}", fork.stderr);
    forge.commit_files(
        ORG,
        UPSTREAM,
        "main",
        "Upstream: a later change",
        &[(
            SETTINGS,
            Some("connectivity_policy {\n  allow = false\n}\n"),
        )],
    );
    let octopus = crate::support::emulator().await;
    let space = octopus.seed_space(TENANT)["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let seed_project = |space: &str, url: String| {
        // A new space's defaults, as a real server creates them.
        let first = |collection: &str| octopus.list(space, collection)[0]["Id"].clone();
        let (lifecycle, group) = (first("lifecycles"), first("projectgroups"));
        let project = octopus.seed(
            space,
            "projects",
            serde_json::json!({"Name": PROJECT, "LifecycleId": lifecycle, "ProjectGroupId": group}),
        );
        octopus.seed_convert(
            space,
            project["Id"].as_str().unwrap(),
            serde_json::json!({
                "Type": "VersionControlled", "Url": url, "DefaultBranch": "main",
                "BasePath": ".octopus", "Credentials": {"Type": "Anonymous"},
            }),
        );
    };
    seed_project(&space, format!("{}/{ORG}/{FORK}.git", forge.url()));
    let octopus_url = octopus.url();
    let managed = [
        ("MANAGEDTENANT_OCTOPUS_URL", octopus_url.as_str()),
        ("MANAGEDTENANT_OCTOPUS_APIKEY", crate::support::API_KEY),
        ("MANAGEDTENANT_OCTOPUS_SPACEID", "TBD"),
    ];
    let run = invoke(&forge, "merge", "gitea", &["--output", "json"], &managed).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(summary["repository"], format!("{ORG}/{FORK}"));
    assert_eq!(summary["outcome"], "behind");
    assert_eq!(
        forge.rev_parse(ORG, FORK, "refs/heads/main"),
        forge.rev_parse(ORG, UPSTREAM, "refs/heads/main")
    );

    // Given explicitly, the repository name wins (and here names one that does not exist).
    let mut explicit = managed.to_vec();
    explicit.push(("GIT_URL_NEWREPO", NEW_REPO));
    let run = invoke(&forge, "merge", "gitea", &[], &explicit).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(NEW_REPO), "{}", run.stderr);

    // Elsewhere than the forge: refused, nothing fetched.
    let other = octopus.seed_space("Elsewhere")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    seed_project(
        &other,
        format!("https://git.elsewhere.example/{ORG}/{FORK}.git"),
    );
    let mut elsewhere = managed.to_vec();
    elsewhere[2] = ("MANAGEDTENANT_OCTOPUS_SPACEID", other.as_str());
    let fetches_before = forge.requests().len();
    let run = invoke(&forge, "merge", "gitea", &[], &elsewhere).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("git.elsewhere.example") && run.stderr.contains("Git.Url.Host"),
        "{}",
        run.stderr
    );
    assert_eq!(
        forge.requests().len(),
        fetches_before,
        "no request to the forge"
    );

    // No such project in the space.
    let empty = octopus.seed_space("Empty")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut missing = managed.to_vec();
    missing[2] = ("MANAGEDTENANT_OCTOPUS_SPACEID", empty.as_str());
    let run = invoke(&forge, "merge", "gitea", &[], &missing).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("deploy it first"), "{}", run.stderr);

    // The URL without its key is an input error.
    let run = invoke(&forge, "merge", "gitea", &[], &managed[..1]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("ManagedTenant.Octopus.ApiKey"),
        "{}",
        run.stderr
    );
}
