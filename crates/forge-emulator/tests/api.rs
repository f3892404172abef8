//! The emulator's platform answers (status codes and bodies of `reference/git-forking.md`
//! §2–3), its git challenge, its request log, and the binary's first line.

use forge_emulator::{ForgeConfig, ForgeEmulator, UpstreamSpec};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const PASSWORD: &str = "emulator-Password-1";

async fn forge() -> ForgeEmulator {
    let forge = ForgeEmulator::start(ForgeConfig {
        password: PASSWORD.to_owned(),
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
/// octofleet sends, and refused for a branch that does not exist.
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

    assert_eq!(forge.pull_requests("octopuscac", "tenant").len(), 1);
    // Without credentials: 401 everywhere.
    let (status, _) = call(&forge, Method::GET, gitea, None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The first branch pushed into an empty repository becomes its default branch (GitHub,
/// GitLab and Gitea all do this).
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
