//! The Terraform module writer: snapshots of every generated file, the article's sensitive
//! variable shape, literal-text escaping, and every file checked against the provider schema
//! (the checker is `support::terraform_schema`; its own test is here).

use crate::support::terraform_schema::{labels, Schema};
use hcl::expr::Expression;
use hcl::template::{Element, Template};
use hcl::{Block, Body};
use octofleet::portable::PortableProject;
use octofleet::terraform::{
    project_variable_labels, sensitive_variable_label, write_module, ModuleOptions,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

const FIXTURES: [&str; 3] = ["hello_world", "hello_world_cac", "rich"];

fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(fixture: &str) -> PortableProject {
    let path = fixtures_dir().join(format!("portable/{fixture}.json"));
    let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer)
        .unwrap_or_else(|err| panic!("{fixture}.json is not a PortableProject: {err}"))
}

/// The options each fixture is written with: the rich one exercises every option.
fn options(fixture: &str) -> ModuleOptions {
    let mut options = ModuleOptions::default();
    match fixture {
        "hello_world" => options.backend = Some("pg".into()),
        "rich" => {
            options.backend = Some("s3".into());
            options.provider_version = "1.19.2".into();
            options.secrets = BTreeMap::from([
                (
                    "payments_api_k8s_secret".into(),
                    "Payments.K8s.Secret".into(),
                ),
                (
                    "payments_api_template_tenant_apikey".into(),
                    "Payments.Tenant.ApiKey".into(),
                ),
                (
                    "project_payments_api_git_password".into(),
                    "Payments.Git.Password".into(),
                ),
            ]);
        }
        _ => {}
    }
    options
}

fn module(fixture: &str) -> BTreeMap<String, String> {
    write_module(&load(fixture), &options(fixture))
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

#[test]
fn terraform_snapshots_of_every_file() {
    let settings = snapshot_settings();
    for fixture in FIXTURES {
        let files = module(fixture);
        settings.bind(|| {
            let listing: Vec<&str> = files.keys().map(String::as_str).collect();
            insta::assert_snapshot!(format!("terraform__{fixture}__files"), listing.join("\n"));
            for (path, content) in &files {
                insta::assert_snapshot!(format!("terraform__{fixture}__{path}"), content);
            }
        });
    }
}

#[test]
fn terraform_output_is_deterministic() {
    for fixture in FIXTURES {
        assert_eq!(module(fixture), module(fixture), "{fixture}");
    }
}

#[test]
fn terraform_every_fixture_passes_the_schema_checker() {
    let schema = Schema::load();
    for fixture in FIXTURES {
        let problems = schema.check(&module(fixture));
        assert!(problems.is_empty(), "{fixture}:\n{}", problems.join("\n"));
    }
}

/// The article's `project_variable_sensitive_*.tf`, field by field.
#[test]
fn terraform_sensitive_variable_matches_the_article() {
    let label = sensitive_variable_label("Hello World", "Database[Development].Password", 1);
    assert_eq!(label, "hello_world_database_development__password_1");
    let project = load("hello_world");
    assert_eq!(project_variable_labels(&project)[0], label);

    let files = module("hello_world");
    let content = &files[&format!("project_variable_sensitive_{label}.tf")];
    let body = hcl::parse(content).unwrap();
    let blocks: Vec<&Block> = body.blocks().collect();
    assert_eq!(blocks.len(), 2, "{content}");

    let variable = blocks[0];
    assert_eq!(
        (variable.identifier(), labels(variable)),
        ("variable", vec![label.clone()])
    );
    assert_eq!(
        attr(variable.body(), "type"),
        &hcl::expr::Variable::unchecked("string").into()
    );
    assert_eq!(attr(variable.body(), "nullable"), &Expression::Bool(false));
    assert_eq!(attr(variable.body(), "sensitive"), &Expression::Bool(true));
    assert_eq!(
        attr(variable.body(), "default"),
        &Expression::String("#{Database[Development].Password}".into())
    );

    let resource = blocks[1];
    assert_eq!(
        labels(resource),
        vec!["octopusdeploy_variable".to_owned(), label.clone()]
    );
    assert_eq!(
        literal(attr(resource.body(), "name")),
        "Database[Development].Password"
    );
    assert_eq!(literal(attr(resource.body(), "type")), "Sensitive");
    assert_eq!(
        interpolation(attr(resource.body(), "owner_id")),
        "octopusdeploy_project.project_hello_world.id"
    );
    assert_eq!(
        interpolation(attr(resource.body(), "sensitive_value")),
        format!("var.{label}")
    );
    assert_eq!(
        attr(resource.body(), "is_sensitive"),
        &Expression::Bool(true)
    );
    assert!(resource
        .body()
        .attributes()
        .all(|attribute| attribute.key.as_str() != "value"));

    let scope = single_block(resource.body(), "scope");
    let Expression::Array(environments) = attr(scope.body(), "environments") else {
        panic!("{content}")
    };
    // Development only: the Sync scope is dropped, as octoterra's step template does; the id
    // is the exact name's from the lookup's page, not whichever result came first.
    let environments: Vec<String> = environments.iter().map(interpolation).collect();
    assert_eq!(
        environments,
        ["[for r in data.octopusdeploy_environments.environment_development.environments : r.id if r.name == \"Development\"][0]"]
    );

    let lifecycle = single_block(resource.body(), "lifecycle");
    assert_eq!(
        attr(lifecycle.body(), "ignore_changes"),
        &hcl::expr::Variable::unchecked("all").into()
    );
}

/// A literal `${` or `%{` in user text stays literal: escaped on write, the same text on read.
#[test]
fn terraform_literal_template_markers_are_escaped() {
    let files = module("hello_world");
    let label = "hello_world_template_literal_1";
    let content = &files[&format!("project_variable_{label}.tf")];
    assert!(
        content.contains(r#""$${not_an_interpolation} and %%{ if not_a_directive }""#),
        "{content}"
    );
    let body = hcl::parse(content).unwrap();
    let resource = body.blocks().next().unwrap();
    assert_eq!(
        literal(attr(resource.body(), "value")),
        "${not_an_interpolation} and %{ if not_a_directive }"
    );

    let script = &files["process_step_hello_world_hello_world.tf"];
    assert!(script.contains(r#"$${DB_HOST}"#), "{script}");
    let goodbye = &files["process_step_hello_world_goodbye_world.tf"];
    assert!(goodbye.contains(r#"%%{world}"#), "{goodbye}");
}

/// In a sensitive file Octopus replaces every `#{…}`: only the default may carry one.
#[test]
fn terraform_octostache_is_escaped_in_sensitive_files() {
    let files = module("hello_world_cac");
    let content = &files["project_variable_sensitive_hello_world_cac_api_token_1.tf"];
    assert!(
        content.contains("Token for the ##{Api.Host} API"),
        "{content}"
    );
    assert!(
        content.contains(r##"default     = "#{Api.Token}""##)
            || content.contains(r##"default = "#{Api.Token}""##),
        "{content}"
    );
}

#[test]
fn terraform_config_has_backend_and_provider_version() {
    let files = module("hello_world");
    let config = hcl::parse(&files["config.tf"]).unwrap();
    let terraform = single_block(&config, "terraform");
    let backend = single_block(terraform.body(), "backend");
    assert_eq!(labels(backend), vec!["pg".to_owned()]);
    assert!(files["config.tf"].contains(octofleet::terraform::DEFAULT_PROVIDER_VERSION));
    let cac = module("hello_world_cac");
    assert!(
        !cac["config.tf"].contains("backend"),
        "no backend unless asked for"
    );
}

fn attr<'a>(body: &'a Body, key: &str) -> &'a Expression {
    body.attributes()
        .find(|attribute| attribute.key.as_str() == key)
        .map(|attribute| &attribute.expr)
        .unwrap_or_else(|| panic!("no attribute {key}"))
}

fn single_block<'a>(body: &'a Body, identifier: &str) -> &'a Block {
    let found: Vec<&Block> = body
        .blocks()
        .filter(|block| block.identifier() == identifier)
        .collect();
    assert_eq!(found.len(), 1, "one {identifier} block");
    found[0]
}

/// The text of a string literal, whether it parsed as a string or as an all-literal template.
fn literal(expr: &Expression) -> String {
    match expr {
        Expression::String(text) => text.clone(),
        Expression::TemplateExpr(template) => Template::from_expr(template)
            .unwrap()
            .elements()
            .iter()
            .map(|element| match element {
                Element::Literal(text) => text.clone(),
                other => panic!("not a literal: {other:?}"),
            })
            .collect(),
        other => panic!("not a string: {other:?}"),
    }
}

/// The expression inside `"${…}"`, formatted.
fn interpolation(expr: &Expression) -> String {
    let Expression::TemplateExpr(template) = expr else {
        panic!("not an interpolation: {expr:?}")
    };
    let template = Template::from_expr(template).unwrap();
    match template.elements() {
        [Element::Interpolation(inner)] => hcl::format::to_string(&inner.expr).unwrap(),
        other => panic!("not a single interpolation: {other:?}"),
    }
}

/// The checker is only worth something if it fails: each broken module must be reported.
#[test]
fn terraform_schema_checker_rejects_broken_modules() {
    let schema = Schema::load();
    let good = module("hello_world");
    assert!(schema.check(&good).is_empty());

    let cases: [(&str, &str, &str); 12] = [
        ("bad attribute", "resource \"octopusdeploy_project_group\" \"g\" {\n  name = \"G\"\n  colour = \"red\"\n}\n", "unknown attribute colour"),
        ("unknown resource", "resource \"octopusdeploy_teapot\" \"t\" {\n  name = \"T\"\n}\n", "not in the provider schema"),
        ("missing required", "resource \"octopusdeploy_project_group\" \"g\" {\n  description = \"no name\"\n}\n", "required attribute name missing"),
        ("dangling variable", "resource \"octopusdeploy_project_group\" \"g\" {\n  name = \"${var.nope}\"\n}\n", "var.Some(\"nope\") is not declared"),
        ("dangling resource", "resource \"octopusdeploy_project_group\" \"g\" {\n  name = \"${octopusdeploy_project.missing.name}\"\n}\n", "is not declared"),
        ("dangling data", "resource \"octopusdeploy_project_group\" \"g\" {\n  name = \"${data.octopusdeploy_environments.missing.environments[0].name}\"\n}\n", "data reference"),
        ("unknown block", "resource \"octopusdeploy_project_group\" \"g\" {\n  name = \"G\"\n  nested {\n  }\n}\n", "unknown block nested"),
        ("bad nested field", "resource \"octopusdeploy_process_step\" \"s\" {\n  name = \"S\"\n  type = \"Octopus.Script\"\n  process_id = \"x\"\n  container = { image = \"i\", tag = \"t\" }\n}\n", "unknown field tag"),
        ("duplicate variable", "variable \"octopus_server\" {\n  type = string\n}\n", "declared twice"),
        ("template with donor", "resource \"octopusdeploy_project_versioning_strategy\" \"v\" {\n  project_id = \"p\"\n  template = \"1.0.#{Octopus.Version.NextPatch}\"\n  donor_package = { deployment_action = \"A\", package_reference = \"\" }\n}\n", "template together with a donor package"),
        ("donor twice", "resource \"octopusdeploy_project_versioning_strategy\" \"v\" {\n  project_id = \"p\"\n  donor_package_step_id = \"s\"\n  donor_package = { deployment_action = \"A\", package_reference = \"\" }\n}\n", "together with donor_package_step_id"),
        ("mirror keys", "resource \"octopusdeploy_process_step\" \"s\" {\n  name = \"S\"\n  type = \"Octopus.TentaclePackage\"\n  process_id = \"x\"\n  primary_package = { package_id = \"p\", feed_id = \"f\", acquisition_location = \"Server\" }\n  execution_properties = { \"Octopus.Action.Package.FeedId\" = \"Octopus Server (built-in)\" }\n}\n", "Octopus.Action.Package.FeedId set next to primary_package"),
    ];
    for (what, content, expected) in cases {
        let mut broken = good.clone();
        broken.insert("broken.tf".into(), content.into());
        let problems = schema.check(&broken);
        assert!(
            problems
                .iter()
                .any(|problem| problem.starts_with("broken.tf") && problem.contains(expected))
                || problems.iter().any(|problem| problem.contains(expected)),
            "{what}: expected a problem containing {expected:?}, got {problems:#?}"
        );
    }

    // A required attribute removed from a generated file, and an attribute read that the
    // resource does not have.
    let mut broken = good.clone();
    let project = broken.get_mut("project_project_hello_world.tf").unwrap();
    *project = project.replace("  lifecycle_id", "  # lifecycle_id");
    let problems = schema.check(&broken);
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("required attribute lifecycle_id missing")),
        "{problems:#?}"
    );

    let mut broken = good.clone();
    let step = broken
        .get_mut(
            "process_steps_order_hello_world.tf"
                .replace("steps_order", "step_order")
                .as_str(),
        )
        .unwrap();
    *step = step.replace(".id", ".identifier");
    let problems = schema.check(&broken);
    assert!(
        problems
            .iter()
            .any(|problem| problem.contains("no attribute Some(\"identifier\")")),
        "{problems:#?}"
    );

    // A user string that became a template directive is caught.
    let mut broken = good;
    broken.insert(
        "broken.tf".into(),
        "resource \"octopusdeploy_project_group\" \"g\" {\n  name = \"%{ if true }x%{ endif }\"\n}\n".into(),
    );
    assert!(schema
        .check(&broken)
        .iter()
        .any(|problem| problem.contains("template directive")));
}

/// octoterra's layout (test/terraform/89-everystep/space_population/process_step_*.tf in
/// OctopusSolutionsEngineering/OctopusTerraformExport): a step resource's `properties` are the
/// step's, its `execution_properties` the first action's; each step after the first waits for the
/// one before it.
#[test]
fn terraform_step_resources_follow_octoterras_layout() {
    let files = module("rich");
    let deploy = &files["process_step_payments_api_deploy_api.tf"];
    let body: Body = hcl::from_str(deploy).unwrap();
    let block = body.blocks().next().unwrap();
    let text_of = |key: &str| {
        block
            .body()
            .attributes()
            .find(|a| a.key.as_str() == key)
            .map(|a| hcl::format::to_string(&a.expr).unwrap())
            .unwrap_or_default()
    };
    let step_properties = text_of("properties");
    let action_properties = text_of("execution_properties");
    assert!(
        step_properties.contains("Octopus.Action.TargetRoles"),
        "{deploy}"
    );
    assert!(
        step_properties.contains("Octopus.Action.MaxParallelism"),
        "{deploy}"
    );
    assert!(
        action_properties.contains("Octopus.Action.KubernetesContainers.Namespace"),
        "{deploy}"
    );
    assert!(!action_properties.contains("TargetRoles"), "{deploy}");
    // The fixture's action carries the package mirror keys as a server stores them; with a
    // primary package they are the provider's to compute.
    assert!(
        text_of("primary_package").contains("payments-api"),
        "{deploy}"
    );
    assert!(
        !deploy.contains("Octopus.Action.Package.FeedId"),
        "{deploy}"
    );
    assert!(
        !deploy.contains("Octopus.Action.Package.DownloadOnTentacle"),
        "{deploy}"
    );

    let approve = &files["process_step_payments_api_approve_production.tf"];
    assert!(
        approve.contains(
            "depends_on = [\n    octopusdeploy_process_step.process_step_payments_api_deploy_api\n  ]"
        ),
        "{approve}"
    );
    assert!(
        !deploy.contains("depends_on"),
        "the first step waits for nothing: {deploy}"
    );
}

#[test]
fn terraform_fixtures_are_portable_projects() {
    for fixture in FIXTURES {
        let project = load(fixture);
        assert_eq!(project.format_version, octofleet::portable::FORMAT_VERSION);
    }
    // The rich fixture round-trips: every field it sets is one the model knows.
    let path = fixtures_dir().join("portable/rich.json");
    let original: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let reencoded = serde_json::to_value(load("rich")).unwrap();
    assert_eq!(strip_defaults(original), strip_defaults(reencoded));
}

/// Drops empty lists/maps and `false`, which the model writes or omits by default.
fn strip_defaults(value: Value) -> Value {
    match value {
        Value::Object(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(key, value)| (key, strip_defaults(value)))
                .filter(|(_, value)| {
                    !matches!(value, Value::Bool(false))
                        && value != &Value::Array(vec![])
                        && value != &Value::Object(Default::default())
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_defaults).collect()),
        other => other,
    }
}
