//! The emulator's platform answers, its git challenge, its request log, and the binary's first
//! line. Each test of a platform rule names the rule's public source, as the rule in `src/` does.

// An integration test crate is test code throughout: its helpers may unwrap as its tests do
// (clippy's allow-unwrap-in-tests covers only #[test] functions and #[cfg(test)] modules).
#![allow(clippy::unwrap_used)]

use forge_emulator::{ForgeConfig, ForgeEmulator, Platform, UpstreamSpec};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "emulator-Password-1";

async fn forge() -> ForgeEmulator {
    forge_on(None).await
}

/// A forge playing `platform` (None: all three APIs, every scheme).
async fn forge_on(platform: Option<Platform>) -> ForgeEmulator {
    let forge = ForgeEmulator::start(ForgeConfig {
        password: PASSWORD.to_owned(),
        platform,
        ..ForgeConfig::default()
    })
    .await
    .unwrap();
    forge.create_org("octopuscac");
    forge
}

async fn call(
    forge: &ForgeEmulator,
    method: Method,
    path: &str,
    body: Option<Value>,
    auth: &[(&str, &str)],
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", forge.url()));
    for (name, value) in auth {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn basic() -> (&'static str, String) {
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("octopus:{PASSWORD}"));
    ("authorization", format!("Basic {encoded}"))
}

/// Gitea's repository API. Create: 201, 409 "The repository with the same name already exists."
/// and 422 for a name outside `AlphaDashDot` (go-gitea/gitea `routers/api/v1/repo/repo.go`
/// `CreateUserRepo`, `modules/structs/repo.go` `CreateRepoOption`); fork: 202 ("TODO change back
/// to 201") and 409 for a second fork by the same owner (`routers/api/v1/repo/fork.go`); PATCH
/// `default_branch`: applied only when the branch exists or the repository is empty, else 200
/// without applying it (`repo.go` `updateBasicProperties`: "Default branch only updated if
/// changed and exist or the repository is empty").
#[tokio::test]
async fn gitea_create_get_conflict_fork_and_default_branch() {
    let forge = forge().await;
    let (name, value) = basic();
    let auth = [(name, value.as_str())];
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v1/orgs/octopuscac/repos",
        Some(json!({"name": "template", "auto_init": false})),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["empty"], true);
    assert_eq!(body["default_branch"], "main");
    assert_eq!(
        body["clone_url"],
        format!("{}/octopuscac/template.git", forge.url())
    );
    // The deprecated `/org/` alias, same handler: 409 for the same name.
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v1/org/octopuscac/repos",
        Some(json!({"name": "Template"})),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["message"],
        "The repository with the same name already exists."
    );
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v1/orgs/nobody/repos",
        Some(json!({"name": "x"})),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("org does not exist"));
    let token = format!("token {PASSWORD}");
    let (status, _) = call(
        &forge,
        Method::GET,
        "/api/v1/repos/octopuscac/template",
        None,
        &[("authorization", token.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(
        &forge,
        Method::GET,
        "/api/v1/repos/octopuscac/none",
        None,
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(&forge, Method::GET, "/api/v1/user", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Fork: 202, then 409 for a second fork by the same owner.
    forge.commit("octopuscac", "template", "main", "first");
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v1/repos/octopuscac/template/forks",
        Some(json!({"name": "tenant_a"})),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["fork"], true);
    assert_eq!(body["parent"]["full_name"], "octopuscac/template");
    assert_eq!(
        forge.rev_parse("octopus", "tenant_a", "main"),
        forge.rev_parse("octopuscac", "template", "main")
    );
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v1/repos/octopuscac/template/forks",
        Some(json!({"name": "tenant_b"})),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // PATCH default_branch: applied when the branch exists, silently ignored otherwise.
    forge.commit("octopuscac", "template", "develop", "dev");
    let (status, body) = call(
        &forge,
        Method::PATCH,
        "/api/v1/repos/octopuscac/template",
        Some(json!({"default_branch": "develop"})),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["default_branch"], "develop");
    let (_, body) = call(
        &forge,
        Method::PATCH,
        "/api/v1/repos/octopuscac/template",
        Some(json!({"default_branch": "missing"})),
        &auth,
    )
    .await;
    assert_eq!(body["default_branch"], "develop");
}

/// GitHub: a request without `User-Agent` is 403 (docs.github.com/en/rest/overview/
/// resources-in-the-rest-api#user-agent-required); a taken name is 422 "Repository creation
/// failed." with `name already exists on this account` (the body as real clients logged it:
/// dyad-sh/dyad#1601, hipstas/AudiAnnotate#92); a wrong token is 401 "Bad credentials"
/// (docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api).
#[tokio::test]
async fn github_needs_a_user_agent_and_answers_422_for_a_taken_name() {
    let forge = forge().await;
    let bearer = format!("Bearer {PASSWORD}");
    let (status, _) = call(
        &forge,
        Method::GET,
        "/api/v3/user",
        None,
        &[("authorization", bearer.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no User-Agent");
    let auth = [("authorization", bearer.as_str()), ("user-agent", "test")];
    let create = || Some(json!({"name": "repo", "private": true}));
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v3/orgs/octopuscac/repos",
        create(),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["owner"]["type"], "Organization");
    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v3/orgs/octopuscac/repos",
        create(),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["errors"][0]["message"],
        "name already exists on this account"
    );
    let (status, _) = call(
        &forge,
        Method::POST,
        "/api/v3/orgs/nobody/repos",
        create(),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = call(
        &forge,
        Method::GET,
        "/api/v3/user",
        None,
        &[("authorization", "Bearer wrong"), ("user-agent", "test")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["message"], "Bad credentials");
}

/// GitLab: namespaces by path and by `search` (part of a path or name, without case:
/// docs.gitlab.com/api/namespaces, "List namespaces"); a new project is empty with no default
/// branch (null) until its first push (gitlabhq/gitlabhq#1375,
/// gitlabhq/terraform-provider-gitlab#41); a taken path is 400 `has already been taken`, though
/// documented as 409 (gitlab#356008); a project by its URL-encoded path (docs.gitlab.com/api/rest,
/// "Namespaced paths").
#[tokio::test]
async fn gitlab_namespaces_projects_and_400_for_a_taken_path() {
    let forge = forge().await;
    let auth = [("private-token", PASSWORD)];
    let (status, namespace) = call(
        &forge,
        Method::GET,
        "/api/v4/namespaces/octopuscac",
        None,
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(namespace["kind"], "group");
    let (status, _) = call(
        &forge,
        Method::GET,
        "/api/v4/namespaces/nobody",
        None,
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // `search` matches part of a name, without case: the client picks the exact one.
    forge.create_org("octopuscac-archive");
    let (status, found) = call(
        &forge,
        Method::GET,
        "/api/v4/namespaces?search=OCTOPUSCAC",
        None,
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut names: Vec<&str> = found
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["path"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["octopuscac", "octopuscac-archive"]);
    let body = json!({"name": "repo", "path": "repo", "namespace_id": namespace["id"]});
    let (status, project) = call(
        &forge,
        Method::POST,
        "/api/v4/projects",
        Some(body.clone()),
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(project["empty_repo"], true);
    assert_eq!(project["default_branch"], Value::Null);
    let (status, taken) = call(&forge, Method::POST, "/api/v4/projects", Some(body), &auth).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(taken["message"]["path"][0], "has already been taken");
    let (status, by_path) = call(
        &forge,
        Method::GET,
        "/api/v4/projects/octopuscac%2Frepo",
        None,
        &auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_path["id"], project["id"]);
    let (status, _) = call(&forge, Method::GET, "/api/v4/projects/1", None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Git over HTTP: a request without credentials gets 401 with a `WWW-Authenticate: Basic`
/// challenge, which is what makes git (libgit2 included) ask for credentials (git's
/// `Documentation/gitprotocol-http.txt`, "Authentication"); then real git serves the clone.
// Multi-threaded: the git client below blocks this thread while the emulator answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_asks_for_basic_auth_and_serves_real_git() {
    let forge = forge().await;
    forge.create_upstream(
        "octopuscac",
        "template",
        &UpstreamSpec {
            branch: "main".into(),
            commits: 5,
            branches: vec!["feature".into()],
            tags: vec!["v1".into()],
        },
    );
    let info_refs = format!(
        "{}/octopuscac/template.git/info/refs?service=git-upload-pack",
        forge.url()
    );
    let response = reqwest::get(&info_refs).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic "));

    // The real git client clones it with credentials from the URL (here only: tests).
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "http://octopus:{PASSWORD}@{}/octopuscac/template.git",
        forge.host()
    );
    let status = std::process::Command::new("git")
        .args(["clone", "--quiet", "--mirror", &url])
        .arg(dir.path().join("clone"))
        .status()
        .unwrap();
    assert!(status.success());
    let head = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(dir.path().join("clone"))
        .args(["rev-parse", "main", "feature", "v1"])
        .output()
        .unwrap();
    let expected: Vec<String> = ["main", "feature", "v1"]
        .iter()
        .map(|rev| forge.rev_parse("octopuscac", "template", rev).unwrap())
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&head.stdout).trim(),
        expected.join("\n")
    );

    let log: Value = reqwest::get(format!("{}/_emulator/requests", forge.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|record| record["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/octopuscac/template.git/git-upload-pack"));
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .any(|record| record["response_bytes"].as_u64().unwrap() > 0));
}

#[test]
fn the_binary_prints_its_address_first() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_forge-emulator"))
        .args(["--password", PASSWORD, "--org", "octopuscac"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
}

/// Pull requests (GitLab: merge requests) on the three platforms: created once (201), a second
/// one for the same head and base refused as each platform refuses it, listed with the filters
/// octofleet sends, and refused for a branch that does not exist. Gitea: 409 with
/// `ErrPullRequestAlreadyExists`'s text (go-gitea/gitea `routers/api/v1/repo/pull.go`
/// `CreatePullRequest`); GitHub: 422 "Validation Failed", `code: custom`, "A pull request already
/// exists for owner:branch." (docs.github.com/en/rest/pulls/pulls#create-a-pull-request; the body
/// as logged in gm3dmo/the-power#175 and google/go-github#1441); GitLab: 409 "Another open merge
/// request already exists for this source branch: !N" (voxpupuli/modulesync#195,
/// renovatebot/renovate#17391).
#[tokio::test]
async fn pull_requests_on_every_platform() {
    let forge = forge().await;
    forge.create_upstream("octopuscac", "tenant", &UpstreamSpec::main_line("main", 1));
    forge.commit(
        "octopuscac",
        "tenant",
        "octofleet/upstream-abc1234",
        "upstream",
    );
    let (name, value) = basic();
    let basic_auth = [(name, value.as_str())];
    let bearer = format!("Bearer {PASSWORD}");
    let github_auth = [("authorization", bearer.as_str()), ("user-agent", "test")];
    let gitlab_auth = [("private-token", PASSWORD)];
    let head = "octofleet/upstream-abc1234";

    // Gitea: POST /repos/{owner}/{repo}/pulls {head, base, title, body}; 409 the second time.
    let gitea = "/api/v1/repos/octopuscac/tenant/pulls";
    let request = json!({"head": head, "base": "main", "title": "Merge upstream", "body": "b"});
    let (status, body) = call(
        &forge,
        Method::POST,
        gitea,
        Some(request.clone()),
        &basic_auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["number"], 1);
    assert_eq!(body["head"]["ref"], head);
    assert_eq!(body["base"]["ref"], "main");
    assert_eq!(
        body["html_url"],
        format!("{}/octopuscac/tenant/pulls/1", forge.url())
    );
    let (status, body) = call(&forge, Method::POST, gitea, Some(request), &basic_auth).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("pull request already exists"));
    let (status, body) = call(
        &forge,
        Method::GET,
        &format!("{gitea}?state=open&limit=50&page=1"),
        None,
        &basic_auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (_, body) = call(
        &forge,
        Method::GET,
        &format!("{gitea}?state=closed"),
        None,
        &basic_auth,
    )
    .await;
    assert_eq!(body, json!([]));
    let missing = json!({"head": "nope", "base": "main", "title": "t"});
    let (status, _) = call(&forge, Method::POST, gitea, Some(missing), &basic_auth).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // GitHub: the same repository's pull request seen through /api/v3; `head` filters on
    // `owner:branch`, and a second one is 422 "A pull request already exists".
    let github = "/api/v3/repos/octopuscac/tenant/pulls";
    let (status, body) = call(
        &forge,
        Method::GET,
        &format!("{github}?state=open&head=octopuscac%3Aoctofleet%2Fupstream-abc1234&base=main"),
        None,
        &github_auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["number"], 1);
    assert_eq!(
        body[0]["html_url"],
        format!("{}/octopuscac/tenant/pull/1", forge.url())
    );
    let (_, body) = call(
        &forge,
        Method::GET,
        &format!("{github}?head=octofleet%2Fupstream-abc1234"),
        None,
        &github_auth,
    )
    .await;
    assert_eq!(body, json!([]), "a head without its owner matches nothing");
    let request = json!({"title": "t", "head": head, "base": "main"});
    let (status, body) = call(&forge, Method::POST, github, Some(request), &github_auth).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("A pull request already exists for octopuscac:"));

    // GitLab: merge requests filtered by source and target branch; 409 the second time.
    let gitlab = "/api/v4/projects/octopuscac%2Ftenant/merge_requests";
    let (status, body) = call(
        &forge,
        Method::GET,
        &format!(
            "{gitlab}?state=opened&source_branch=octofleet%2Fupstream-abc1234&target_branch=main"
        ),
        None,
        &gitlab_auth,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body[0]["iid"], 1);
    assert_eq!(body[0]["state"], "opened");
    assert_eq!(
        body[0]["web_url"],
        format!("{}/octopuscac/tenant/-/merge_requests/1", forge.url())
    );
    let (_, body) = call(
        &forge,
        Method::GET,
        &format!("{gitlab}?state=opened&target_branch=other"),
        None,
        &gitlab_auth,
    )
    .await;
    assert_eq!(body, json!([]));
    let request = json!({"source_branch": head, "target_branch": "main", "title": "t"});
    let (status, body) = call(&forge, Method::POST, gitlab, Some(request), &gitlab_auth).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["message"][0],
        "Another open merge request already exists for this source branch: !1"
    );
    // A source equal to its target is the model's `branch_conflict`: 422, not 409.
    let request = json!({"source_branch": "main", "target_branch": "main", "title": "t"});
    let (status, body) = call(&forge, Method::POST, gitlab, Some(request), &gitlab_auth).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(
        body["message"][0],
        "You can't use same project/branch for source and target"
    );

    assert_eq!(forge.pull_requests("octopuscac", "tenant").len(), 1);
    // Without credentials: 401 everywhere.
    let (status, _) = call(&forge, Method::GET, gitea, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The first branch pushed into an empty repository becomes its default branch (GitHub docs,
/// "About the default branch": "the first branch pushed to an empty repository becomes the
/// default"; GitLab and Gitea do the same, as `src/git_http.rs` says).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_branch_pushed_into_an_empty_repository_becomes_the_default() {
    let forge = forge().await;
    forge.create_upstream(
        "octopuscac",
        "template",
        &UpstreamSpec::main_line("develop", 2),
    );
    forge.create_org("tenants");
    forge.create_repo("tenants", "empty");
    let dir = tempfile::tempdir().unwrap();
    let auth = |repo: &str| format!("http://octopus:{PASSWORD}@{}/{repo}.git", forge.host());
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    let clone = dir.path().join("clone");
    git(&[
        "clone",
        "--quiet",
        "--mirror",
        &auth("octopuscac/template"),
        clone.to_str().unwrap(),
    ]);
    git(&[
        "--git-dir",
        clone.to_str().unwrap(),
        "push",
        "--quiet",
        &auth("tenants/empty"),
        "refs/heads/develop:refs/heads/develop",
    ]);
    // The emulator sets it once the push is over.
    let mut branch = None;
    for _ in 0..50 {
        branch = forge.default_branch("tenants", "empty");
        if branch.as_deref() == Some("develop") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(branch.as_deref(), Some("develop"));
}

/// A new repository's path from a name with spaces: GitHub replaces what it does not take by
/// `-` (defunkt/github-gem#47, dyad-sh/dyad#1856), GitLab derives a path from the name
/// (`app/services/projects/create_service.rb`, gitlab!52725) and refuses a path with consecutive
/// or edge special characters (`lib/gitlab/regex.rb`, gitlab!80055), Gitea refuses the name
/// (`modules/structs/repo.go`, `AlphaDashDot`).
#[tokio::test]
async fn each_platform_derives_or_refuses_a_path_from_a_name_with_spaces() {
    let forge = forge().await;
    let (name, value) = basic();
    let gitea_auth = [(name, value.as_str())];
    let bearer = format!("Bearer {PASSWORD}");
    let github_auth = [("authorization", bearer.as_str()), ("user-agent", "test")];
    let gitlab_auth = [("private-token", PASSWORD)];

    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v3/orgs/octopuscac/repos",
        Some(json!({"name": "My Repo"})),
        &github_auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "My-Repo");
    assert_eq!(body["full_name"], "octopuscac/My-Repo");
    assert_eq!(
        body["clone_url"],
        format!("{}/octopuscac/My-Repo.git", forge.url())
    );

    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v4/projects",
        Some(json!({"name": "Team A: Web App"})),
        &gitlab_auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["name"], "Team A: Web App");
    assert_eq!(body["path"], "team-a-web-app");
    assert_eq!(body["path_with_namespace"], "octopus/team-a-web-app");
    for path in ["team__a", "team_a_", "_team_a"] {
        let (status, body) = call(
            &forge,
            Method::POST,
            "/api/v4/projects",
            Some(json!({"name": path, "path": path})),
            &gitlab_auth,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert!(body["message"]["path"][0]
            .as_str()
            .unwrap()
            .contains("consecutive special characters"));
    }

    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v1/orgs/octopuscac/repos",
        Some(json!({"name": "My Repo"})),
        &gitea_auth,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["message"], "[Name]: AlphaDashDot");
}

/// `default_branch` in a create body: Gitea makes it HEAD (go-gitea/gitea
/// `services/repository/create.go` `initRepository`), GitHub ignores it (not a create parameter
/// in github/rest-api-description's `repos/create-in-org`), GitLab uses it only for the README
/// commit (gitlab!63771, gitlab#333426).
#[tokio::test]
async fn default_branch_on_create_counts_only_where_the_platform_takes_it() {
    let forge = forge().await;
    let (name, value) = basic();
    let gitea_auth = [(name, value.as_str())];
    let bearer = format!("Bearer {PASSWORD}");
    let github_auth = [("authorization", bearer.as_str()), ("user-agent", "test")];
    let gitlab_auth = [("private-token", PASSWORD)];
    let create = |name: &str| json!({"name": name, "default_branch": "develop"});

    call(
        &forge,
        Method::POST,
        "/api/v1/orgs/octopuscac/repos",
        Some(create("gitea")),
        &gitea_auth,
    )
    .await;
    assert_eq!(
        forge.default_branch("octopuscac", "gitea").as_deref(),
        Some("develop")
    );

    let (status, body) = call(
        &forge,
        Method::POST,
        "/api/v3/orgs/octopuscac/repos",
        Some(create("github")),
        &github_auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["default_branch"], "main");
    assert_eq!(
        forge.default_branch("octopuscac", "github").as_deref(),
        Some("main")
    );

    let (status, _) = call(
        &forge,
        Method::POST,
        "/api/v4/projects",
        Some(create("gitlab")),
        &gitlab_auth,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        forge.default_branch("octopus", "gitlab").as_deref(),
        Some("main")
    );
    let with_readme =
        json!({"name": "readme", "default_branch": "develop", "initialize_with_readme": true});
    let (_, body) = call(
        &forge,
        Method::POST,
        "/api/v4/projects",
        Some(with_readme),
        &gitlab_auth,
    )
    .await;
    assert_eq!(body["default_branch"], "develop");
}

/// A forge playing one platform answers only its own API, and only in that platform's schemes;
/// no refusal echoes the secret. Gitea: Basic or `token`/`Bearer` (docs.gitea.com "API Usage",
/// go-gitea/gitea `services/auth/basic.go`); GitHub: `Bearer`/`token`
/// (docs.github.com/en/rest/authentication/authenticating-to-the-rest-api); GitLab:
/// `PRIVATE-TOKEN` or `Bearer` (docs.gitlab.com/api/rest/authentication).
#[tokio::test]
async fn each_platform_refuses_the_schemes_it_does_not_take() {
    let (name, value) = basic();
    let bearer = format!("Bearer {PASSWORD}");
    let token = format!("token {PASSWORD}");
    let agent = ("user-agent", "test");
    type Case<'a> = (Platform, &'a str, Vec<(&'a str, &'a str)>, StatusCode);
    let cases: &[Case] = &[
        (
            Platform::Gitea,
            "/api/v1/user",
            vec![(name, value.as_str())],
            StatusCode::OK,
        ),
        (
            Platform::Gitea,
            "/api/v1/user",
            vec![("authorization", token.as_str())],
            StatusCode::OK,
        ),
        (
            Platform::Gitea,
            "/api/v1/user",
            vec![("private-token", PASSWORD)],
            StatusCode::UNAUTHORIZED,
        ),
        (
            Platform::Gitea,
            "/api/v4/user",
            vec![("private-token", PASSWORD)],
            StatusCode::NOT_FOUND,
        ),
        (
            Platform::GitHub,
            "/api/v3/user",
            vec![("authorization", bearer.as_str()), agent],
            StatusCode::OK,
        ),
        (
            Platform::GitHub,
            "/api/v3/user",
            vec![("authorization", token.as_str()), agent],
            StatusCode::OK,
        ),
        (
            Platform::GitHub,
            "/api/v3/user",
            vec![(name, value.as_str()), agent],
            StatusCode::UNAUTHORIZED,
        ),
        (
            Platform::GitHub,
            "/api/v3/user",
            vec![("private-token", PASSWORD), agent],
            StatusCode::UNAUTHORIZED,
        ),
        (
            Platform::GitLab,
            "/api/v4/user",
            vec![("private-token", PASSWORD)],
            StatusCode::OK,
        ),
        (
            Platform::GitLab,
            "/api/v4/user",
            vec![("authorization", bearer.as_str())],
            StatusCode::OK,
        ),
        (
            Platform::GitLab,
            "/api/v4/user",
            vec![("authorization", token.as_str())],
            StatusCode::UNAUTHORIZED,
        ),
        (
            Platform::GitLab,
            "/api/v4/user",
            vec![(name, value.as_str())],
            StatusCode::UNAUTHORIZED,
        ),
        (
            Platform::GitLab,
            "/api/v1/user",
            vec![(name, value.as_str())],
            StatusCode::NOT_FOUND,
        ),
    ];
    for (platform, path, auth, expected) in cases {
        let forge = forge_on(Some(*platform)).await;
        let (status, body) = call(&forge, Method::GET, path, None, auth).await;
        assert_eq!(status, *expected, "{platform:?} {path} {auth:?}: {body}");
        assert!(!body.to_string().contains(PASSWORD));
        forge.shutdown().await;
    }
}

fn git_ok(args: &[&str]) -> std::process::Output {
    std::process::Command::new("git")
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Tenant")
        .env("GIT_AUTHOR_EMAIL", "tenant@example.com")
        .env("GIT_COMMITTER_NAME", "Tenant")
        .env("GIT_COMMITTER_EMAIL", "tenant@example.com")
        .output()
        .unwrap()
}

/// Git over HTTP in GitLab mode: Basic with any username and the token, `oauth2` being the one
/// OAuth tokens need (gitlab-org/gitlab#349461); the token as the username is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_git_takes_basic_with_a_username_and_the_token() {
    let forge = forge_on(Some(Platform::GitLab)).await;
    forge.create_upstream(
        "octopuscac",
        "template",
        &UpstreamSpec::main_line("main", 1),
    );
    let ls = |userinfo: &str| {
        git_ok(&[
            "ls-remote",
            &format!("http://{userinfo}@{}/octopuscac/template.git", forge.host()),
        ])
    };
    assert!(ls(&format!("oauth2:{PASSWORD}")).status.success());
    let refused = ls(&format!("{PASSWORD}:"));
    assert!(!refused.status.success());
    assert!(!String::from_utf8_lossy(&refused.stderr).contains(PASSWORD));
    let schemes: Vec<Option<String>> = forge.requests().into_iter().map(|r| r.scheme).collect();
    assert!(
        schemes.contains(&Some("Basic oauth2".to_owned())),
        "{schemes:?}"
    );
    assert!(schemes
        .iter()
        .flatten()
        .all(|scheme| !scheme.contains(PASSWORD)));
}

/// GitLab protects the default branch: a push that rewrites it is refused by the pre-receive
/// hook with GitLab's message ("You are not allowed to force push code to a protected branch on
/// this project.", gitlabhq/gitlabhq#10405; "Fully protected" is the instance default,
/// gitlab-foss!314, with "Allowed to force push" off, gitlab!131322); a fast-forward, another
/// branch and an allowed force push pass. Gitea (unprotected by default) takes the force push.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gitlab_refuses_a_force_push_to_the_protected_default_branch() {
    for platform in [Platform::GitLab, Platform::Gitea] {
        let forge = forge_on(Some(platform)).await;
        forge.create_upstream("octopuscac", "tenant", &UpstreamSpec::main_line("main", 2));
        forge.commit("octopuscac", "tenant", "feature", "feature work");
        let dir = tempfile::tempdir().unwrap();
        let clone = dir.path().join("clone");
        let clone = clone.to_str().unwrap();
        let url = format!(
            "http://oauth2:{PASSWORD}@{}/octopuscac/tenant.git",
            forge.host()
        );
        assert!(git_ok(&["clone", "--quiet", "--mirror", &url, clone])
            .status
            .success());
        let in_clone = |args: &[&str]| {
            let mut all = vec!["--git-dir", clone];
            all.extend_from_slice(args);
            git_ok(&all)
        };
        let rewound = String::from_utf8(in_clone(&["rev-parse", "main~1"]).stdout).unwrap();
        let rewound = rewound.trim();
        let forced = in_clone(&[
            "push",
            "--force",
            &url,
            &format!("{rewound}:refs/heads/main"),
        ]);
        let stderr = String::from_utf8_lossy(&forced.stderr);
        match platform {
            Platform::GitLab => {
                assert!(!forced.status.success(), "{stderr}");
                assert!(stderr.contains("You are not allowed to force push code to a protected branch on this project."), "{stderr}");
                assert!(stderr.contains("pre-receive hook declined"), "{stderr}");
                assert_ne!(
                    forge.rev_parse("octopuscac", "tenant", "main").as_deref(),
                    Some(rewound)
                );
            }
            _ => {
                assert!(forced.status.success(), "{stderr}");
                assert_eq!(
                    forge.rev_parse("octopuscac", "tenant", "main").as_deref(),
                    Some(rewound)
                );
                continue;
            }
        }
        // Another branch may be rewritten; the default branch may move forward.
        let other = in_clone(&[
            "push",
            "--force",
            &url,
            &format!("{rewound}:refs/heads/feature"),
        ]);
        assert!(
            other.status.success(),
            "{}",
            String::from_utf8_lossy(&other.stderr)
        );
        forge.commit("octopuscac", "tenant", "main", "moved on");
        let tip = forge.rev_parse("octopuscac", "tenant", "main").unwrap();
        let deleted = in_clone(&["push", &url, ":refs/heads/main"]);
        assert!(!deleted.status.success());
        assert!(
            String::from_utf8_lossy(&deleted.stderr)
                .contains("GitLab: The default branch of a project cannot be deleted."),
            "{}",
            String::from_utf8_lossy(&deleted.stderr)
        );
        assert_eq!(forge.rev_parse("octopuscac", "tenant", "main"), Some(tip));
        // "Allowed to force push" on: the rewrite passes.
        forge.allow_force_push("octopuscac", "tenant");
        let allowed = in_clone(&[
            "push",
            "--force",
            &url,
            &format!("{rewound}:refs/heads/main"),
        ]);
        assert!(
            allowed.status.success(),
            "{}",
            String::from_utf8_lossy(&allowed.stderr)
        );
        assert_eq!(
            forge.rev_parse("octopuscac", "tenant", "main").as_deref(),
            Some(rewound)
        );
    }
}

/// A gather (a test's tool, not a platform rule) holds matching requests until all of them have
/// arrived, then lets them go on together; one that waits alone goes on after the deadline, and
/// the rule is reported as never fired.
#[tokio::test]
async fn gathered_requests_go_on_together_and_a_gather_left_waiting_is_reported() {
    let forge = forge().await;
    let (name, value) = basic();
    let auth = [(name, value.as_str())];
    let within = std::time::Duration::from_secs(30);
    forge.gather("GET", "/api/v1/repos/octopuscac/", 2, within);
    let started = std::time::Instant::now();
    let path = "/api/v1/repos/octopuscac/missing";
    let (first, second) = tokio::join!(
        call(&forge, Method::GET, path, None, &auth),
        call(&forge, Method::GET, path, None, &auth)
    );
    assert_eq!(
        (first.0, second.0),
        (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND)
    );
    assert!(
        started.elapsed() < within,
        "released together, not by the deadline"
    );
    assert!(forge.unfired_rules().is_empty(), "{:?}", forge.rules());

    forge.gather(
        "GET",
        "/api/v1/repos/octopuscac/",
        2,
        std::time::Duration::from_millis(200),
    );
    let (status, _) = call(&forge, Method::GET, path, None, &auth).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "goes on alone after the deadline"
    );
    let unfired: Vec<String> = forge
        .unfired_rules()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        unfired,
        ["GET …/api/v1/repos/octopuscac/: held until 2 have arrived (at most 200ms) (fired 0)"]
    );
}
