//! `octofleet serialize` through the real binary against the emulator's management space.

use crate::support::packages::{download, unzip};
use crate::support::seeds::{seed_rich_dependencies, seed_rich_project};
use crate::support::terraform_schema::Schema;
use crate::support::{api_get, api_post, octofleet, Fleet, Run, API_KEY};
use octofleet::portable::PortableProject;
use octofleet_sandbox::{seed_template_projects, TemplateProjects, SEEDED_SECRETS};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const CAC_URL: &str = "https://git.example.com/octopuscac/hello_world_cac.git";

async fn fleet() -> (Fleet, TemplateProjects) {
    let fleet = Fleet::start().await;
    let projects = seed_template_projects(&fleet.emulator, &fleet.management, CAC_URL);
    (fleet, projects)
}

/// The environment the serialize step template exports, for `project`.
fn step_env(fleet: &Fleet, project: &str) -> Vec<(String, String)> {
    vec![
        ("OCTOPUS_WEB_SERVERURI".into(), fleet.emulator.url()),
        ("MANAGEMENT_OCTOPUS_APIKEY".into(), API_KEY.into()),
        ("OCTOPUS_SPACE_ID".into(), "Spaces-1".into()),
        ("OCTOPUS_PROJECT_NAME".into(), project.into()),
    ]
}

async fn serialize(fleet: &Fleet, project: &str, args: &[&str]) -> Run {
    let env = step_env(fleet, project);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut all = vec!["serialize"];
    all.extend_from_slice(args);
    octofleet(&all, &env).await
}

fn project_json(files: &BTreeMap<String, Vec<u8>>) -> (PortableProject, Value) {
    let bytes = &files["project.json"];
    (
        serde_json::from_slice(bytes).expect("project.json is a portable project"),
        serde_json::from_slice(bytes).unwrap(),
    )
}

/// The package's `terraform/` files, after asserting they pass the provider schema checker.
fn schema_checked_module(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    let module: BTreeMap<String, String> = files
        .iter()
        .filter_map(|(path, content)| {
            Some((
                path.strip_prefix("terraform/")?.to_owned(),
                String::from_utf8(content.clone()).unwrap(),
            ))
        })
        .collect();
    let problems = Schema::load().check(&module);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    module
}

fn assert_no_secrets(run: &Run, files: &BTreeMap<String, Vec<u8>>) {
    for secret in SEEDED_SECRETS {
        assert!(!run.all_output().contains(secret), "{secret} in the output");
        for (name, content) in files {
            assert!(
                !String::from_utf8_lossy(content).contains(secret),
                "{secret} in {name}"
            );
        }
    }
    assert!(!run.all_output().contains(API_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_world_lands_in_the_built_in_feed_and_downloads_identical() {
    let (fleet, _) = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let run = serialize(
        &fleet,
        "Hello World",
        &[
            "--package-version",
            "1.0.0",
            "--output-dir",
            dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.output_variable("PackageId").as_deref(),
        Some("Hello_World")
    );
    assert_eq!(
        run.output_variable("PackageVersion").as_deref(),
        Some("1.0.0")
    );

    let kept = std::fs::read(dir.path().join("Hello_World.1.0.0.zip")).unwrap();
    assert_eq!(
        download(&fleet, "Hello_World", "1.0.0").await,
        kept,
        "the feed returns the bytes we built"
    );
    let feed_entry = api_get(
        &fleet.emulator,
        "/api/Spaces-1/packages/packages-Hello_World.1.0.0",
    )
    .await;
    assert_eq!(feed_entry["PackageId"], "Hello_World");

    let files = unzip(&kept);
    for required in [
        "project.json",
        "secrets.json",
        "README.md",
        "terraform/config.tf",
        "terraform/provider.tf",
    ] {
        assert!(
            files.contains_key(required),
            "{required} missing: {:?}",
            files.keys().collect::<Vec<_>>()
        );
    }
    assert_no_secrets(&run, &files);

    let (project, _) = project_json(&files);
    assert_eq!(project.format_version, octofleet::portable::FORMAT_VERSION);
    assert_eq!(project.project.name, "Hello World");
    assert_eq!(project.project.lifecycle, "Default Lifecycle");
    assert!(
        project.project.included_library_variable_sets.is_empty(),
        "Export Options is excluded"
    );
    let steps: Vec<_> = project
        .deployment_process
        .as_ref()
        .unwrap()
        .steps
        .iter()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(steps, ["Hello World", "Show Configuration"]);
    assert!(
        project.runbooks.is_empty(),
        "the __ management runbooks are excluded"
    );

    let variable = |name: &str| {
        project
            .variables
            .iter()
            .find(|v| v.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    };
    let password = variable("Database[Development].Password");
    assert_eq!(password.kind, "Sensitive");
    assert_eq!(password.value, None);
    assert_eq!(
        password.scope.environments,
        ["Development"],
        "Sync is removed from scopes"
    );
    assert_eq!(
        password.secret.as_deref(),
        Some("hello_world_database_development__password_1")
    );
    assert!(
        variable("Sync.Only").scope.is_empty(),
        "scoped only to Sync becomes unscoped"
    );
    assert_eq!(
        variable("App.Port").scope.environments,
        ["Production", "Test"]
    );
    assert!(
        project
            .variables
            .iter()
            .all(|v| v.name != "Serialize.Workspace"),
        "scoped only to an excluded runbook"
    );

    let secrets: BTreeMap<String, String> = serde_json::from_slice(&files["secrets.json"]).unwrap();
    assert_eq!(
        secrets,
        BTreeMap::from([(
            "hello_world_database_development__password_1".to_owned(),
            "#{Database[Development].Password | JsonEscape}".to_owned()
        )])
    );
    let sensitive_tf = String::from_utf8(files["terraform/project_variable_sensitive_hello_world_database_development__password_1.tf"].clone()).unwrap();
    assert!(
        sensitive_tf.contains("#{Database[Development].Password}"),
        "{sensitive_tf}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_input_gives_identical_bytes_apart_from_version_and_export_time() {
    let (fleet, _) = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    assert_eq!(
        serialize(
            &fleet,
            "Hello World",
            &[
                "--no-push",
                "--package-version",
                "1.0.0",
                "--output-dir",
                out
            ]
        )
        .await
        .code,
        0
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        serialize(
            &fleet,
            "Hello World",
            &[
                "--no-push",
                "--package-version",
                "1.0.1",
                "--output-dir",
                out
            ]
        )
        .await
        .code,
        0
    );
    let first = unzip(&std::fs::read(dir.path().join("Hello_World.1.0.0.zip")).unwrap());
    let second = unzip(&std::fs::read(dir.path().join("Hello_World.1.0.1.zip")).unwrap());
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>()
    );
    for (name, content) in &first {
        if name == "project.json" {
            let (_, mut a) = project_json(&first);
            let (_, mut b) = project_json(&second);
            a["source"]["exported_at"] = json!(null);
            b["source"]["exported_at"] = json!(null);
            assert_eq!(a, b);
        } else {
            assert_eq!(content, &second[name], "{name} differs");
        }
    }
    assert!(
        fleet
            .emulator
            .writes()
            .iter()
            .all(|w| !w.path.contains("packages")),
        "--no-push uploads nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_can_be_changed_or_switched_off() {
    let (fleet, _) = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--no-push",
        "--package-version",
        "2.0.0",
        "--output-dir",
        dir.path().to_str().unwrap(),
        "--exclude-runbooks",
        "-",
        "--exclude-library-variable-sets",
        "-",
        "--exclude-variable-environment-scopes",
        "-",
        "--exclude-variables",
        "^App\\.",
    ];
    let run = serialize(&fleet, "Hello World", &args).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (project, _) = project_json(&unzip(
        &std::fs::read(dir.path().join("Hello_World.2.0.0.zip")).unwrap(),
    ));
    let runbooks: Vec<_> = project.runbooks.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        runbooks,
        ["__ 1. Serialize Project", "__ 2. Deploy Project"]
    );
    assert_eq!(
        project.project.included_library_variable_sets,
        ["Export Options"]
    );
    assert!(project
        .variables
        .iter()
        .all(|v| !v.name.starts_with("App.")));
    let password = project
        .variables
        .iter()
        .find(|v| v.name == "Database[Development].Password")
        .unwrap();
    assert_eq!(password.scope.environments, ["Development", "Sync"]);
    let workspace = project
        .variables
        .iter()
        .find(|v| v.name == "Serialize.Workspace")
        .unwrap();
    assert_eq!(workspace.scope.processes, ["__ 1. Serialize Project"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_as_code_exports_settings_and_secrets_unless_git_values_are_included() {
    let (fleet, projects) = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = serialize(
        &fleet,
        "Hello World CaC",
        &[
            "--no-push",
            "--package-version",
            "1.0.0",
            "--output-dir",
            out,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files = unzip(&std::fs::read(dir.path().join("Hello_World_CaC.1.0.0.zip")).unwrap());
    assert_no_secrets(&run, &files);
    let (project, _) = project_json(&files);
    let vcs = project
        .project
        .version_control
        .as_ref()
        .expect("CaC settings");
    assert_eq!(vcs.url, CAC_URL);
    assert_eq!(vcs.credentials.kind, "Reference");
    assert_eq!(vcs.credentials.name.as_deref(), Some("Git"));
    assert!(
        project.deployment_process.is_none(),
        "the process lives in git"
    );
    // After `git/convert` the server still keeps the text variables and runbooks in its
    // database (ConversionState false): the package carries them.
    let names: Vec<_> = project.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(
        names,
        ["Slack.Channel", "Slack.Token"],
        "text variables too"
    );
    assert!(vcs.carries_text_variables && vcs.carries_runbooks);

    // Once the variables are migrated to git, only the secrets (without the git values).
    api_post(
        &fleet.emulator,
        &format!(
            "/api/Spaces-1/projects/{}/git/migrate-variables",
            projects.hello_world_cac
        ),
        &json!({}),
    )
    .await;
    let run = serialize(
        &fleet,
        "Hello World CaC",
        &[
            "--no-push",
            "--package-version",
            "1.0.2",
            "--output-dir",
            out,
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (migrated, _) = project_json(&unzip(
        &std::fs::read(dir.path().join("Hello_World_CaC.1.0.2.zip")).unwrap(),
    ));
    let names: Vec<_> = migrated.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["Slack.Token"], "only secrets once in git");
    let vcs = migrated.project.version_control.as_ref().unwrap();
    assert!(!vcs.carries_text_variables && vcs.carries_runbooks);

    let run = serialize(
        &fleet,
        "Hello World CaC",
        &[
            "--no-push",
            "--package-version",
            "1.0.1",
            "--output-dir",
            out,
            "--include-cac-values",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (project, _) = project_json(&unzip(
        &std::fs::read(dir.path().join("Hello_World_CaC.1.0.1.zip")).unwrap(),
    ));
    let steps: Vec<_> = project
        .deployment_process
        .as_ref()
        .expect("read from git")
        .steps
        .iter()
        .map(|s| s.name.clone())
        .collect();
    assert_eq!(steps, ["Approve Production", "Hello World"]);
    assert_eq!(
        project.deployment_process.as_ref().unwrap().steps[0].actions[0].environments,
        ["Production"]
    );
    assert_eq!(project.source.git_ref.as_deref(), Some("main"));
    let names: Vec<_> = project.variables.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["Slack.Channel", "Slack.Token"], "text from git");
    assert!(
        project
            .project
            .version_control
            .unwrap()
            .carries_text_variables
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_project_json_for_the_sandbox_projects() {
    let (fleet, _) = fleet().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    for (project, file) in [
        ("Hello World", "Hello_World"),
        ("Hello World CaC", "Hello_World_CaC"),
    ] {
        let run = serialize(
            &fleet,
            project,
            &[
                "--no-push",
                "--package-version",
                "1.0.0",
                "--output-dir",
                out,
            ],
        )
        .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let files = unzip(&std::fs::read(dir.path().join(format!("{file}.1.0.0.zip"))).unwrap());
        let (portable, value) = project_json(&files);
        // Model → JSON → model is lossless.
        let again: PortableProject =
            serde_json::from_value(serde_json::to_value(&portable).unwrap()).unwrap();
        assert_eq!(again, portable);
        insta::assert_json_snapshot!(format!("serialize_{file}_project_json"), value, {
            ".source.exported_at" => "[exported_at]",
            ".source.server" => "[server]",
        });
        let secrets: Value = serde_json::from_slice(&files["secrets.json"]).unwrap();
        insta::assert_json_snapshot!(format!("serialize_{file}_secrets_json"), secrets);
        // The Terraform module, as the package carries it: schema-checked and pinned file by file.
        let module = schema_checked_module(&files);
        insta::assert_snapshot!(
            format!("serialize_{file}_terraform_files"),
            module.keys().cloned().collect::<Vec<_>>().join("\n")
        );
        for (path, content) in &module {
            insta::assert_snapshot!(format!("serialize_{file}_terraform_{path}"), content);
        }
    }
}

#[test]
fn the_published_json_schema_is_stable() {
    let schema = octofleet::portable::json_schema();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/project.schema.json");
    if std::env::var_os("OCTOFLEET_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, octofleet::package::canonical_json(&schema)).unwrap();
    }
    let published: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("docs/project.schema.json"))
            .unwrap();
    assert_eq!(schema, published, "regenerate with OCTOFLEET_UPDATE_SCHEMA=1 cargo test --test it schema, and review the change");
    insta::assert_json_snapshot!("portable_project_schema", schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_one_clear_error() {
    let (fleet, _) = fleet().await;
    let run = serialize(&fleet, "Helo World", &["--no-push"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `Hello World`"),
        "{}",
        run.stderr
    );

    let run = serialize(
        &fleet,
        "Hello World",
        &["--no-push", "--management-space-id", "No Such Space"],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("space `No Such Space` was not found"),
        "{}",
        run.stderr
    );

    let run = serialize(
        &fleet,
        "Hello World",
        &["--no-push", "--exclude-runbooks", "(unclosed"],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Octofleet.Exclude.Runbooks")
            && run.stderr.contains("not a valid regular expression"),
        "{}",
        run.stderr
    );

    let run = serialize(
        &fleet,
        "Hello World",
        &["--no-push", "--terraform-backend", "postgres"],
    )
    .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`postgres` is not a Terraform backend"),
        "{}",
        run.stderr
    );

    assert_eq!(
        serialize(&fleet, "Hello World", &["--package-version", "3.0.0"])
            .await
            .code,
        0
    );
    let run = serialize(
        &fleet,
        "Hello World",
        &[
            "--package-version",
            "3.0.0",
            "--overwrite-mode",
            "FailIfExists",
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("already in the built-in feed")
            && run.stderr.contains("OverwriteExisting"),
        "{}",
        run.stderr
    );
    let run = serialize(
        &fleet,
        "Hello World",
        &[
            "--package-version",
            "3.0.0",
            "--overwrite-mode",
            "IgnoreIfExists",
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.all_output().contains(API_KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ambiguous_secrets_are_refused_unless_allowed() {
    let (fleet, projects) = fleet().await;
    let development = fleet
        .emulator
        .list("Spaces-1", "environments")
        .into_iter()
        .find(|e| e["Name"] == "Development")
        .unwrap();
    let production = fleet
        .emulator
        .list("Spaces-1", "environments")
        .into_iter()
        .find(|e| e["Name"] == "Production")
        .unwrap();
    fleet.emulator.seed_variables(
        "Spaces-1",
        &projects.hello_world,
        json!([
            {"Name": "Api.Key", "Value": "a", "Type": "Sensitive", "IsSensitive": true, "Scope": {"Environment": [development["Id"]]}},
            {"Name": "Api.Key", "Value": "b", "Type": "Sensitive", "IsSensitive": true, "Scope": {"Environment": [production["Id"]]}}
        ]),
    );
    let run = serialize(&fleet, "Hello World", &["--no-push"]).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("`Api.Key`") && run.stderr.contains("--allow-ambiguous-secrets"),
        "{}",
        run.stderr
    );
    let run = serialize(
        &fleet,
        "Hello World",
        &["--no-push", "--allow-ambiguous-secrets"],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("##octopus[stdout-warning]") && run.stdout.contains("Api.Key"),
        "{}",
        run.stdout
    );
}

/// Every field of the portable model, from a project seeded with server ids: each id must come
/// out as a name, and properties the model does not know must be carried through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_field_of_a_rich_project_is_read_by_name() {
    let (fleet, _) = fleet().await;
    seed_rich_dependencies(&fleet.emulator, "Spaces-1");
    seed_rich_project(&fleet.emulator, "Spaces-1");
    let dir = tempfile::tempdir().unwrap();
    let run = serialize(
        &fleet,
        "Rich",
        &[
            "--no-push",
            "--package-version",
            "1.0.0",
            "--output-dir",
            dir.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let files = unzip(&std::fs::read(dir.path().join("Rich.1.0.0.zip")).unwrap());
    for secret in [
        "template-secret-default",
        "action-secret-value",
        "rich-secret-value",
    ] {
        assert!(
            files
                .values()
                .all(|content| !String::from_utf8_lossy(content).contains(secret)),
            "{secret} exported"
        );
        assert!(!run.all_output().contains(secret));
    }
    let (project, value) = project_json(&files);
    let settings = &project.project;
    assert_eq!(
        (
            settings.project_group.as_str(),
            settings.tenanted_deployment_mode.as_str()
        ),
        ("Payments", "TenantedOrUntenanted")
    );
    // The sensitive action property gets its secrets.json entry, named like a variable's secret,
    // and the Terraform variable for it defaults to the same Octopus variable.
    const KEY: &str = "rich_octofleet_secret_deploy_api__octopus_action_secret_1";
    let secrets: BTreeMap<String, String> = serde_json::from_slice(&files["secrets.json"]).unwrap();
    assert_eq!(
        secrets.get(KEY).map(String::as_str),
        Some("#{Octofleet.Secret[Deploy API].Octopus.Action.Secret | JsonEscape}"),
        "{secrets:?}"
    );
    let action = &project.deployment_process.as_ref().unwrap().steps[0].actions[0];
    assert_eq!(action.name, "Deploy API");
    assert_eq!(
        action.properties["Octopus.Action.Secret"],
        octofleet::portable::PropertyValue::Sensitive(octofleet::portable::SensitiveProperty {
            sensitive: true,
            secret: Some(KEY.to_owned()),
        })
    );
    assert!(
        files.iter().any(|(path, content)| {
            path.contains("project_variable_sensitive_")
                && String::from_utf8_lossy(content)
                    .contains("#{Octofleet.Secret[Deploy API].Octopus.Action.Secret}")
        }),
        "the Terraform variable defaults to the Octofleet.Secret variable"
    );
    assert_eq!(settings.included_library_variable_sets, ["Shared"]);
    assert_eq!(
        settings
            .versioning_strategy
            .as_ref()
            .unwrap()
            .donor_package
            .as_ref()
            .unwrap()
            .deployment_action,
        "Deploy API"
    );
    assert_eq!(
        settings.connectivity_policy.as_ref().unwrap().target_roles,
        ["web"]
    );
    // A sensitive template default gets its secrets.json entry and Terraform variable the same
    // way, from `Octofleet.Secret[Project Templates].<template>`.
    const TEMPLATE_KEY: &str = "rich_octofleet_secret_project_templates__tenant_key_1";
    assert_eq!(
        settings.templates[1].default_value,
        Some(octofleet::portable::PropertyValue::Sensitive(
            octofleet::portable::SensitiveProperty {
                sensitive: true,
                secret: Some(TEMPLATE_KEY.to_owned()),
            }
        ))
    );
    assert_eq!(
        secrets.get(TEMPLATE_KEY).map(String::as_str),
        Some("#{Octofleet.Secret[Project Templates].Tenant.Key | JsonEscape}"),
        "{secrets:?}"
    );
    assert!(
        files.iter().any(|(path, content)| {
            path.contains("project_variable_sensitive_project_rich_template_tenant_key")
                && String::from_utf8_lossy(content)
                    .contains("#{Octofleet.Secret[Project Templates].Tenant.Key}")
        }),
        "the template's Terraform variable defaults to its Octofleet.Secret variable: {:?}",
        files.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        settings.extra["FutureSetting"],
        json!({"Enabled": true}),
        "unknown settings are carried through"
    );

    let step = &project.deployment_process.as_ref().unwrap().steps[0];
    assert_eq!(step.roles, ["web", "api"]);
    assert!(!step.properties.contains_key("Octopus.Action.TargetRoles"));
    let action = &step.actions[0];
    assert_eq!(action.worker_pool.as_deref(), Some("Linux Workers"));
    assert_eq!(
        (
            action.environments.clone(),
            action.excluded_environments.clone(),
            action.channels.clone()
        ),
        (
            vec!["Production".to_owned()],
            vec!["Test".to_owned()],
            vec!["Hotfix".to_owned()]
        )
    );
    assert_eq!(
        action.container.as_ref().unwrap().feed.as_deref(),
        Some("Docker Hub")
    );
    assert_eq!(action.packages[0].feed, "Docker Hub");
    assert_eq!(
        action.properties["Octopus.Action.Package.FeedId"],
        octofleet::portable::PropertyValue::Reference(octofleet::portable::ResourceReference {
            kind: octofleet::portable::ReferenceKind::Feed,
            name: "Docker Hub".into()
        })
    );
    assert_eq!(action.extra["FutureActionField"], json!(42));
    assert_eq!(action.git_dependencies.len(), 1);
    let notify = &step.actions[1];
    assert_eq!(
        notify
            .step_template
            .as_ref()
            .map(|t| (t.name.as_str(), t.version)),
        Some(("Slack - Notify", 0))
    );
    assert!(
        !notify.properties.contains_key("Octopus.Action.Template.Id"),
        "no source-space ids"
    );
    // The template travels with its definition (issue 21).
    let carried: Vec<(&str, i64)> = project
        .step_templates
        .iter()
        .map(|t| (t.name.as_str(), t.version))
        .collect();
    assert_eq!(carried, [("Slack - Notify", 0)]);

    let channel = project
        .channels
        .iter()
        .find(|c| c.name == "Hotfix")
        .unwrap();
    assert_eq!(channel.lifecycle.as_deref(), Some("Hotfix"));
    assert_eq!(
        channel.rules[0].action_packages[0].deployment_action,
        "Deploy API"
    );
    let runbook = &project.runbooks[0];
    assert_eq!(
        (
            runbook.environments.clone(),
            runbook.multi_tenancy_mode.as_str()
        ),
        (vec!["Production".to_owned()], "Tenanted")
    );
    assert_eq!(
        runbook.retention_policy.as_ref().unwrap().quantity_to_keep,
        10
    );
    assert_eq!(runbook.process.steps[0].name, "Restart");

    let scoped = project
        .variables
        .iter()
        .find(|v| v.name == "Scoped")
        .unwrap();
    assert_eq!(scoped.scope.environments, ["Production"]);
    assert_eq!(scoped.scope.roles, ["web"]);
    assert_eq!(scoped.scope.channels, ["Hotfix"]);
    assert_eq!(scoped.scope.steps, ["Deploy API"]);
    assert_eq!(scoped.scope.tenant_tags, ["Region/EU"]);
    assert_eq!(scoped.scope.processes, ["Restart"]);
    let prompted = project
        .variables
        .iter()
        .find(|v| v.name == "Prompted")
        .unwrap();
    assert!(prompted.prompt.as_ref().unwrap().required);
    assert_eq!(
        project
            .variables
            .iter()
            .find(|v| v.name == "Secret.Key")
            .unwrap()
            .secret
            .as_deref(),
        Some("rich_secret_key_1")
    );

    let again: PortableProject =
        serde_json::from_value(serde_json::to_value(&project).unwrap()).unwrap();
    assert_eq!(again, project, "model → JSON → model is lossless");
    insta::assert_json_snapshot!("serialize_rich_project_json", value, {".source.exported_at" => "[exported_at]", ".source.server" => "[server]"});
    schema_checked_module(&files);
}

/// `--upload-space` (by name or by ID) puts the package in that space's built-in feed, and not in
/// the management space's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_space_puts_the_package_in_that_spaces_feed() {
    let (fleet, _) = fleet().await;
    let feeds = fleet.emulator.seed_space("Feeds")["Id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (version, upload_space) in [("1.0.0", "Feeds"), ("1.0.1", feeds.as_str())] {
        let dir = tempfile::tempdir().unwrap();
        fleet.emulator.clear_requests();
        let run = serialize(
            &fleet,
            "Hello World",
            &[
                "--package-version",
                version,
                "--upload-space",
                upload_space,
                "--output-dir",
                dir.path().to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(run.code, 0, "{upload_space}: {}", run.stderr);
        let resource = format!("packages-Hello_World.{version}");
        assert!(
            fleet.emulator.get(&feeds, "packages", &resource).is_some(),
            "{upload_space}: in the feed of {feeds}"
        );
        assert!(
            fleet
                .emulator
                .get("Spaces-1", "packages", &resource)
                .is_none(),
            "{upload_space}: not in the management space's feed"
        );
        let kept = std::fs::read(dir.path().join(format!("Hello_World.{version}.zip"))).unwrap();
        let response = reqwest::Client::new()
            .get(format!(
                "{}/api/{feeds}/packages/{resource}/raw",
                fleet.emulator.url()
            ))
            .header("X-Octopus-ApiKey", API_KEY)
            .send()
            .await
            .unwrap();
        assert_eq!(response.bytes().await.unwrap().to_vec(), kept);
        let writes: Vec<String> = fleet
            .emulator
            .writes()
            .iter()
            .map(|w| format!("{} {}", w.method, w.path))
            .collect();
        assert_eq!(
            writes,
            [format!("POST /api/{feeds}/packages/raw")],
            "{upload_space}"
        );
    }
}

/// The feed requests of the last run, as `METHOD path status`.
fn package_requests(fleet: &Fleet) -> Vec<String> {
    fleet
        .emulator
        .requests()
        .iter()
        .filter(|r| r.path.contains("/packages"))
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect()
}

/// An upload whose answer is lost (the connection drops, or a proxy answers 503, after the feed
/// stored it) is checked by hash before it is repeated: one POST, then the GET that finds the
/// same SHA-1, and no second POST (which `FailIfExists` would turn into a failure).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_upload_is_checked_by_hash_and_not_repeated() {
    let (fleet, _) = fleet().await;
    for (version, lose) in [("1.0.0", "drop"), ("1.0.1", "503")] {
        match lose {
            "drop" => fleet
                .emulator
                .drop_connection_after_commit("POST", "/packages/raw", 1),
            _ => fleet
                .emulator
                .fail_after_commit("POST", "/packages/raw", 1, 503),
        }
        let dir = tempfile::tempdir().unwrap();
        fleet.emulator.clear_requests();
        let run = serialize(
            &fleet,
            "Hello World",
            &[
                "--package-version",
                version,
                "--overwrite-mode",
                "FailIfExists",
                "--output-dir",
                dir.path().to_str().unwrap(),
            ],
        )
        .await;
        fleet.emulator.clear_faults();
        assert_eq!(run.code, 0, "{lose}: {}", run.stderr);
        crate::support::fault_rules::assert_every_fault_fired(&fleet.emulator);
        assert_eq!(
            package_requests(&fleet),
            [
                "POST /api/Spaces-1/packages/raw 201".to_owned(),
                format!("GET /api/Spaces-1/packages/packages-Hello_World.{version} 200"),
            ],
            "{lose}: one upload, then the re-check, no second POST"
        );
        let kept = std::fs::read(dir.path().join(format!("Hello_World.{version}.zip"))).unwrap();
        assert_eq!(download(&fleet, "Hello_World", version).await, kept);
    }
    // One package per version in the feed.
    let listed = api_get(
        &fleet.emulator,
        "/api/Spaces-1/packages?nuGetPackageId=Hello_World&take=100",
    )
    .await;
    let versions: Vec<&str> = listed["Items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.1", "1.0.0"]);
}

/// The re-check compares hashes: a different package already stored under the same version
/// (an earlier export) is not taken for this upload, which is sent again and replaces it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_package_of_the_same_version_is_not_taken_for_the_lost_upload() {
    let (fleet, _) = fleet().await;
    let first = tempfile::tempdir().unwrap();
    let run = serialize(
        &fleet,
        "Hello World",
        &[
            "--package-version",
            "1.0.0",
            "--output-dir",
            first.path().to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);

    // The same version, other content (a filter changed), and the first POST refused with a 503
    // before anything is stored: the re-check finds the earlier package, whose hash differs.
    fleet.emulator.refuse("POST", "/packages/raw", 1, 503);
    let second = tempfile::tempdir().unwrap();
    fleet.emulator.clear_requests();
    let run = serialize(
        &fleet,
        "Hello World",
        &[
            "--package-version",
            "1.0.0",
            "--exclude-variables",
            "^App\\.",
            "--output-dir",
            second.path().to_str().unwrap(),
        ],
    )
    .await;
    fleet.emulator.clear_faults();
    assert_eq!(run.code, 0, "{}", run.stderr);
    crate::support::fault_rules::assert_every_fault_fired(&fleet.emulator);
    let old = std::fs::read(first.path().join("Hello_World.1.0.0.zip")).unwrap();
    let new = std::fs::read(second.path().join("Hello_World.1.0.0.zip")).unwrap();
    assert_ne!(old, new, "two different packages");
    assert_eq!(
        package_requests(&fleet),
        [
            "POST /api/Spaces-1/packages/raw 503",
            "GET /api/Spaces-1/packages/packages-Hello_World.1.0.0 200",
            "POST /api/Spaces-1/packages/raw 201",
        ],
        "the hash differed, so the upload was sent again"
    );
    assert_eq!(
        download(&fleet, "Hello_World", "1.0.0").await,
        new,
        "the feed holds the new package"
    );
}

/// serialize reads the space's index beside the space's and the project's lookups (issue 20),
/// and its errors keep their order: a project that is not there is what is reported (exit 2),
/// though the index's read failed too; with the project there, the index's failure is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_early_index_read_keeps_the_errors_in_order() {
    let (fleet, _) = fleet().await;
    fleet
        .emulator
        .deny("GET", "/Spaces-1/environments", "EnvironmentView");
    let missing = serialize(&fleet, "No Such Project", &["--no-push"]).await;
    assert_eq!(missing.code, 2, "{}", missing.all_output());
    assert!(
        missing.stderr.contains("No Such Project") && !missing.stderr.contains("EnvironmentView"),
        "the missing project, not the index: {}",
        missing.stderr
    );
    let denied = serialize(&fleet, "Hello World", &["--no-push"]).await;
    assert_eq!(denied.code, 1, "{}", denied.all_output());
    assert!(
        denied.stderr.contains("/environments") && denied.stderr.contains("EnvironmentView"),
        "{}",
        denied.stderr
    );
}

/// A space named like a space ID it does not have: the early reads in the space that ID would
/// be (the project's lookup, the index) are made again in the space found, so the package's
/// names come from the right space's index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_space_named_like_an_id_is_read_again_where_it_is() {
    let fleet = Fleet::start().await;
    // A slug of its own: the routes resolve a space by its ID or its slug.
    let space = api_post(
        &fleet.emulator,
        "/api/spaces",
        &json!({"Name": "Spaces-77", "Slug": "seventy-seven", "SpaceManagersTeams": ["teams-administrators"], "SpaceManagersTeamMembers": []}),
    )
    .await;
    let space_id = space["Id"].as_str().unwrap().to_owned();
    assert_ne!(space_id, "Spaces-77");
    for name in ["Development", "Test", "Production"] {
        fleet
            .emulator
            .seed(&space_id, "environments", json!({"Name": name}));
    }
    seed_rich_dependencies(&fleet.emulator, &space_id);
    seed_rich_project(&fleet.emulator, &space_id);
    let env = [
        ("OCTOPUS_WEB_SERVERURI", fleet.emulator.url()),
        ("MANAGEMENT_OCTOPUS_APIKEY", API_KEY.to_owned()),
        ("OCTOPUS_SPACE_ID", "Spaces-77".to_owned()),
        ("OCTOPUS_PROJECT_NAME", "Rich".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let dir = tempfile::tempdir().unwrap();
    let run = octofleet(
        &[
            "serialize",
            "--no-push",
            "--output-dir",
            dir.path().to_str().unwrap(),
        ],
        &env,
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.all_output());
    let zip = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let files = unzip(&std::fs::read(zip).unwrap());
    let (project, _) = project_json(&files);
    assert_eq!(project.project.name, "Rich");
    assert!(
        project
            .variables
            .iter()
            .any(|v| v.scope.environments.iter().any(|e| e == "Production")),
        "environment scopes named from the space's own index"
    );
}
