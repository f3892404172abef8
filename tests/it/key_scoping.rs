//! Each API key goes only to its own server (security.md): with the management instance and the
//! managed instance on two emulators with different keys, every action that talks to both sends
//! each key only where it belongs.

use crate::support::calamari::{octostache, octostache_names};
use crate::support::two_servers::{Asked, TwoServers};
use octofleet_sandbox::{seed_template_projects, SEEDED_SECRETS};
use std::collections::BTreeMap;

const CAC_URL: &str = "https://git.example.com/octopuscac/hello_world_cac.git";

/// create-space (the space on the managed server, the write-back on the management server),
/// serialize (the management server only), deploy from a package directory (the managed server
/// only), then plan and deploy from the management feed (both): each server sees only its own
/// key, and never answers 401.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_goes_only_to_its_own_server() {
    let servers = TwoServers::start().await;
    seed_template_projects(&servers.management, &servers.space, CAC_URL);

    servers.clear_requests();
    let run = servers.run("America", &["create-space"], &[]).await;
    servers.assert_each_saw_only_its_own_key("create-space", Asked::Both);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let space = servers
        .managed
        .list("", "spaces")
        .into_iter()
        .find(|s| s["Name"] == "America")
        .expect("the space is made on the managed server");
    assert!(
        servers
            .management
            .list("", "spaces")
            .iter()
            .all(|s| s["Name"] != "America"),
        "and not on the management server"
    );
    assert!(
        servers
            .management
            .writes()
            .iter()
            .any(|w| w.path.contains("/tenants/")),
        "the space ID is written back on the management server: {:?}",
        servers.management.writes()
    );

    servers.clear_requests();
    let out = tempfile::tempdir().unwrap();
    let run = servers
        .run(
            "America",
            &[
                "serialize",
                "--package-version",
                "1.0.0",
                "--output-dir",
                out.path().to_str().unwrap(),
            ],
            &[("OCTOPUS_PROJECT_NAME", "Hello World")],
        )
        .await;
    servers.assert_each_saw_only_its_own_key("serialize", Asked::Management);
    assert_eq!(run.code, 0, "{}", run.all_output());

    // The first deploy from the package with secrets.json substituted, as in `Sync`.
    let zip = std::fs::read(out.path().join("Hello_World.1.0.0.zip")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    zip::ZipArchive::new(std::io::Cursor::new(zip))
        .unwrap()
        .extract(dir.path())
        .unwrap();
    let secrets_path = dir.path().join("secrets.json");
    let text = std::fs::read_to_string(&secrets_path).unwrap();
    let values: BTreeMap<&str, String> = octostache_names(&text)
        .into_iter()
        .map(|name| (name, SEEDED_SECRETS[0].to_owned()))
        .collect();
    std::fs::write(&secrets_path, octostache(&text, &values)).unwrap();
    servers.clear_requests();
    let run = servers
        .run(
            "America",
            &["deploy", "--package-dir", dir.path().to_str().unwrap()],
            &[],
        )
        .await;
    servers.assert_each_saw_only_its_own_key("deploy from a directory", Asked::Managed);
    assert_eq!(run.code, 0, "{}", run.all_output());

    // Plan and deploy with the package from the management space's feed.
    let from_feed = [("OCTOPUS_PROJECT_NAME", "Hello World")];
    for action in ["plan", "deploy"] {
        servers.clear_requests();
        let run = servers.run("America", &[action], &from_feed).await;
        servers.assert_each_saw_only_its_own_key(&format!("{action} from the feed"), Asked::Both);
        assert_eq!(run.code, 0, "{action}: {}", run.all_output());
        assert!(
            servers
                .management
                .requests()
                .iter()
                .any(|r| r.path.ends_with("/raw")),
            "{action}: the package came from the management feed"
        );
        assert!(
            servers
                .managed
                .requests()
                .iter()
                .any(|r| r.path.contains(space["Id"].as_str().unwrap())),
            "{action}: the managed space was read"
        );
    }
}

/// fork and merge read the template project's Config-as-Code repository from the management
/// server with the management key; fork never calls the managed server, though the step's
/// environment holds the managed key too, and merge sends it only there. The forge sees only its
/// own user's credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_and_merge_send_the_management_key_only_to_the_management_server() {
    use crate::support::forge::{forge, run_action, ORG};
    use forge_emulator::{CredentialsSeen, UpstreamSpec};

    let servers = TwoServers::start().await;
    let forge = forge().await;
    forge.create_upstream(ORG, "cac_templates", &UpstreamSpec::main_line("main", 2));
    let upstream = format!("{}/{ORG}/cac_templates.git", forge.url());
    seed_template_projects(&servers.management, &servers.space, &upstream);

    let space = servers.run("America", &["create-space"], &[]).await;
    assert_eq!(space.code, 0, "{}", space.all_output());
    let env: Vec<(String, String)> = servers.step_env("America");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    // merge also reads the tenant's managed space (whether the project there is on the fork).
    for (action, asked) in [("fork", Asked::Management), ("merge", Asked::Both)] {
        servers.clear_requests();
        forge.clear_requests();
        let run = run_action(&forge, action, "gitea", &[], &env).await;
        assert!(matches!(run.code, 0 | 3), "{action}: {}", run.all_output());
        assert!(
            run.all_output().contains(&upstream),
            "{action} read the upstream from the management server: {}",
            run.all_output()
        );
        servers.assert_each_saw_only_its_own_key(action, asked);
        if action == "fork" {
            // The tenant's project as a deploy leaves it: in its space, on the fork.
            let space_id = servers
                .managed
                .list("", "spaces")
                .into_iter()
                .find(|s| s["Name"] == "America")
                .unwrap()["Id"]
                .as_str()
                .unwrap()
                .to_owned();
            let first =
                |collection: &str| servers.managed.list(&space_id, collection)[0]["Id"].clone();
            let project = servers.managed.seed(
                &space_id,
                "projects",
                serde_json::json!({"Name": "Hello World CaC", "LifecycleId": first("lifecycles"), "ProjectGroupId": first("projectgroups")}),
            );
            servers.managed.seed_convert(
                &space_id,
                project["Id"].as_str().unwrap(),
                serde_json::json!({
                    "Type": "VersionControlled", "Url": format!("{}/{ORG}/america_hello_world_cac.git", forge.url()),
                    "DefaultBranch": "main", "BasePath": ".octopus", "Credentials": {"Type": "Anonymous"},
                }),
            );
        }
        let foreign: Vec<_> = forge
            .requests()
            .into_iter()
            .filter(|request| request.credentials == CredentialsSeen::Rejected)
            .map(|request| format!("{} {}", request.method, request.path))
            .collect();
        assert!(
            foreign.is_empty(),
            "{action}: other credentials reached the forge: {foreign:?}"
        );
    }
}
