//! The Terraform module writer: snapshots of every generated file, the article's sensitive
//! variable shape, literal-text escaping, and a strict checker of every file against the
//! provider schema (types, attributes, nested blocks, required fields, references).

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};
use octofleet::portable::PortableProject;
use octofleet::terraform::{
    project_variable_labels, sensitive_variable_label, write_module, ModuleOptions,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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

fn labels(block: &Block) -> Vec<String> {
    block
        .labels()
        .iter()
        .map(|label| label.as_str().to_owned())
        .collect()
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

// ---------------------------------------------------------------------------------------------
// The schema checker.

/// The provider schema (tests/fixtures/terraform-provider-octopusdeploy.schema.json, v1.17.0)
/// and the rules a module must follow to plan against it.
pub(crate) struct Schema {
    json: Value,
}

/// Where in a module an expression sits, for the names it may use.
#[derive(Clone, Default)]
struct Scope {
    /// Names bound by enclosing `for` expressions.
    bound: BTreeSet<String>,
    /// Inside a `lifecycle` block of a resource or data source: `self` is allowed.
    allow_self: bool,
}

/// What the whole module declares.
#[derive(Default)]
struct Declarations {
    variables: BTreeSet<String>,
    /// `type.label` for resources; `data.type.label` for data sources.
    addresses: BTreeSet<String>,
}

const FUNCTIONS: [&str; 4] = ["trimspace", "length", "try", "lower"];
const META_ARGUMENTS: [&str; 4] = ["depends_on", "count", "for_each", "provider"];
const VARIABLE_ARGUMENTS: [&str; 5] = ["type", "default", "description", "sensitive", "nullable"];
const PROVIDER_ARGUMENTS: [&str; 4] = ["address", "api_key", "access_token", "space_id"];

impl Schema {
    pub(crate) fn load() -> Schema {
        let path = fixtures_dir().join("terraform-provider-octopusdeploy.schema.json");
        let json = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        Schema { json }
    }

    /// Every problem in the module, one line each.
    pub(crate) fn check(&self, files: &BTreeMap<String, String>) -> Vec<String> {
        let mut problems = Vec::new();
        let mut parsed = Vec::new();
        let mut declarations = Declarations::default();
        for (path, content) in files {
            if !path.ends_with(".tf") {
                problems.push(format!("{path}: not a .tf file"));
            }
            match hcl::parse(content) {
                Ok(body) => parsed.push((path.clone(), body)),
                Err(err) => problems.push(format!("{path}: does not parse: {err}")),
            }
        }
        for (path, body) in &parsed {
            if body.attributes().next().is_some() {
                problems.push(format!("{path}: top-level attributes"));
            }
            for block in body.blocks() {
                let labels = labels(block);
                let address = match (block.identifier(), labels.as_slice()) {
                    ("variable", [name]) => {
                        if !declarations.variables.insert(name.clone()) {
                            problems.push(format!("{path}: variable {name} declared twice"));
                        }
                        continue;
                    }
                    ("resource", [kind, name]) => format!("{kind}.{name}"),
                    ("data", [kind, name]) => format!("data.{kind}.{name}"),
                    ("provider", [_]) | ("terraform", []) => continue,
                    (identifier, labels) => {
                        problems.push(format!(
                            "{path}: unexpected top-level block {identifier} {labels:?}"
                        ));
                        continue;
                    }
                };
                if !declarations.addresses.insert(address.clone()) {
                    problems.push(format!("{path}: {address} declared twice"));
                }
            }
        }
        for (path, body) in &parsed {
            for block in body.blocks() {
                let mut report = |problem: String| problems.push(format!("{path}: {problem}"));
                self.check_top_level(block, &declarations, &mut report);
            }
        }
        problems
    }

    fn check_top_level(
        &self,
        block: &Block,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        let labels = labels(block);
        match block.identifier() {
            "variable" => {
                for attribute in block.body().attributes() {
                    let key = attribute.key.as_str();
                    if !VARIABLE_ARGUMENTS.contains(&key) {
                        report(format!("variable {}: unknown argument {key}", labels[0]));
                    } else if key != "type" {
                        self.check_expr(&attribute.expr, &Scope::default(), declarations, report);
                    } else if attribute.expr != hcl::expr::Variable::unchecked("string").into() {
                        report(format!("variable {}: type is not string", labels[0]));
                    }
                }
                if let Some(block) = block.body().blocks().next() {
                    report(format!(
                        "variable {}: unexpected block {}",
                        labels[0],
                        block.identifier()
                    ));
                }
            }
            "provider" => {
                if labels != ["octopusdeploy"] {
                    report(format!("provider {labels:?} is not octopusdeploy"));
                }
                for attribute in block.body().attributes() {
                    if !PROVIDER_ARGUMENTS.contains(&attribute.key.as_str()) {
                        report(format!("provider: unknown argument {}", attribute.key));
                    }
                    self.check_expr(&attribute.expr, &Scope::default(), declarations, report);
                }
            }
            "terraform" => {
                let body = block.body();
                let known_attributes = body
                    .attributes()
                    .all(|attribute| attribute.key.as_str() == "required_version");
                let known_blocks = body
                    .blocks()
                    .all(|inner| ["required_providers", "backend"].contains(&inner.identifier()));
                if !known_attributes || !known_blocks {
                    report("terraform: unknown settings".into());
                }
            }
            "resource" | "data" => {
                let (kind, section) = if block.identifier() == "resource" {
                    (&labels[0], "resources")
                } else {
                    (&labels[0], "data_sources")
                };
                let Some(schema) = self.json[section].get(kind.as_str()) else {
                    report(format!(
                        "{} {kind}: not in the provider schema",
                        block.identifier()
                    ));
                    return;
                };
                let place = format!("{kind}.{}", labels[1]);
                self.check_body(block.body(), schema, &place, true, declarations, report);
                provider_validators(kind, block.body(), &place, report);
            }
            _ => {}
        }
    }

    /// Checks a (nested) block body against its schema node.
    fn check_body(
        &self,
        body: &Body,
        schema: &Value,
        place: &str,
        top_level: bool,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        let attributes = schema["attributes"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let blocks = schema["blocks"].as_object().cloned().unwrap_or_default();
        let mut seen = BTreeSet::new();
        for attribute in body.attributes() {
            let key = attribute.key.as_str();
            if !seen.insert(key.to_owned()) {
                report(format!("{place}: {key} set twice"));
            }
            if top_level && META_ARGUMENTS.contains(&key) {
                self.check_depends_on(key, &attribute.expr, place, declarations, report);
                continue;
            }
            let Some(spec) = attributes.get(key) else {
                report(format!("{place}: unknown attribute {key}"));
                continue;
            };
            if !spec["required"].as_bool().unwrap_or(false)
                && !spec["optional"].as_bool().unwrap_or(false)
            {
                report(format!("{place}: {key} is computed only"));
            }
            if spec["deprecated"].as_bool().unwrap_or(false) {
                report(format!("{place}: {key} is deprecated"));
            }
            self.check_value_shape(&attribute.expr, spec, &format!("{place}.{key}"), report);
            self.check_expr(&attribute.expr, &Scope::default(), declarations, report);
        }
        for (key, spec) in &attributes {
            if spec["required"].as_bool().unwrap_or(false) && !seen.contains(key) {
                report(format!("{place}: required attribute {key} missing"));
            }
        }
        let mut block_counts: BTreeMap<String, usize> = BTreeMap::new();
        for inner in body.blocks() {
            let identifier = inner.identifier();
            *block_counts.entry(identifier.to_owned()).or_default() += 1;
            if !inner.labels().is_empty() {
                report(format!("{place}: nested block {identifier} has labels"));
            }
            if top_level && identifier == "lifecycle" {
                self.check_lifecycle(inner, &attributes, &blocks, place, declarations, report);
                continue;
            }
            let Some(spec) = blocks.get(identifier) else {
                report(format!("{place}: unknown block {identifier}"));
                continue;
            };
            if spec["deprecated"].as_bool().unwrap_or(false) {
                report(format!("{place}: block {identifier} is deprecated"));
            }
            self.check_body(
                inner.body(),
                spec,
                &format!("{place}.{identifier}"),
                false,
                declarations,
                report,
            );
        }
        for (key, spec) in &blocks {
            let count = block_counts.get(key).copied().unwrap_or(0);
            let min = spec["min_items"].as_u64().unwrap_or(0);
            if (spec["required"].as_bool().unwrap_or(false) || min > 0)
                && count < min.max(1) as usize
            {
                report(format!("{place}: required block {key} missing"));
            }
            if let Some(max) = spec["max_items"].as_u64() {
                if count as u64 > max {
                    report(format!("{place}: more than {max} {key} blocks"));
                }
            }
            if spec["nesting"] == "single" && count > 1 {
                report(format!("{place}: more than one {key} block"));
            }
        }
    }

    /// Object values of nested attributes (`container`, `packages`, …) against their fields.
    fn check_value_shape(
        &self,
        expr: &Expression,
        spec: &Value,
        place: &str,
        report: &mut dyn FnMut(String),
    ) {
        let Some(nested) = spec
            .get("nested")
            .filter(|nested| nested["attributes"].is_object())
        else {
            if matches!(expr, Expression::Object(_))
                && !spec["type"].as_str().unwrap_or("").starts_with("Map")
            {
                report(format!(
                    "{place}: an object where the schema has {}",
                    spec["type"]
                ));
            }
            return;
        };
        let objects: Vec<&Expression> = match (nested["nesting"].as_str(), expr) {
            (Some("single"), object) => vec![object],
            (Some("map"), Expression::Object(entries)) => entries.values().collect(),
            (Some("list" | "set"), Expression::Array(items)) => items.iter().collect(),
            (nesting, _) => {
                report(format!("{place}: value does not fit nesting {nesting:?}"));
                return;
            }
        };
        let fields = nested["attributes"].as_object().unwrap();
        for object in objects {
            let Expression::Object(entries) = object else {
                report(format!("{place}: not an object"));
                continue;
            };
            let mut keys = BTreeSet::new();
            for key in entries.keys() {
                let key = match key {
                    ObjectKey::Identifier(identifier) => identifier.as_str().to_owned(),
                    ObjectKey::Expression(Expression::String(text)) => text.clone(),
                    ObjectKey::Expression(other) => format!("{other:?}"),
                    _ => "?".into(),
                };
                match fields.get(&key) {
                    Some(field)
                        if field["required"].as_bool().unwrap_or(false)
                            || field["optional"].as_bool().unwrap_or(false) => {}
                    Some(_) => report(format!("{place}: {key} is computed only")),
                    None => report(format!("{place}: unknown field {key}")),
                }
                keys.insert(key);
            }
            for (key, field) in fields {
                if field["required"].as_bool().unwrap_or(false) && !keys.contains(key) {
                    report(format!("{place}: required field {key} missing"));
                }
            }
        }
    }

    fn check_lifecycle(
        &self,
        lifecycle: &Block,
        attributes: &serde_json::Map<String, Value>,
        blocks: &serde_json::Map<String, Value>,
        place: &str,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        for attribute in lifecycle.body().attributes() {
            match attribute.key.as_str() {
                "ignore_changes" => match &attribute.expr {
                    Expression::Variable(all) if all.as_str() == "all" => {}
                    Expression::Array(items) => {
                        for item in items {
                            let name = match item {
                                Expression::Variable(name) => name.as_str().to_owned(),
                                other => format!("{other:?}"),
                            };
                            if !attributes.contains_key(&name) && !blocks.contains_key(&name) {
                                report(format!("{place}: ignore_changes names unknown {name}"));
                            }
                        }
                    }
                    other => report(format!("{place}: ignore_changes is {other:?}")),
                },
                "prevent_destroy" | "create_before_destroy" => {}
                other => report(format!("{place}: unknown lifecycle argument {other}")),
            }
        }
        for inner in lifecycle.body().blocks() {
            if !["precondition", "postcondition"].contains(&inner.identifier()) {
                report(format!(
                    "{place}: unknown lifecycle block {}",
                    inner.identifier()
                ));
                continue;
            }
            let keys: BTreeSet<&str> = inner
                .body()
                .attributes()
                .map(|attribute| attribute.key.as_str())
                .collect();
            if keys != BTreeSet::from(["condition", "error_message"]) {
                report(format!(
                    "{place}: {} needs exactly condition and error_message",
                    inner.identifier()
                ));
            }
            let scope = Scope {
                allow_self: true,
                ..Scope::default()
            };
            for attribute in inner.body().attributes() {
                self.check_expr(&attribute.expr, &scope, declarations, report);
            }
        }
    }

    fn check_depends_on(
        &self,
        key: &str,
        expr: &Expression,
        place: &str,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        if key != "depends_on" {
            report(format!(
                "{place}: meta-argument {key} is not used by this writer"
            ));
            return;
        }
        let Expression::Array(items) = expr else {
            report(format!("{place}: depends_on is not a list"));
            return;
        };
        for item in items {
            let address = match item {
                Expression::Traversal(traversal) => {
                    traversal_path(&traversal.expr, &traversal.operators)
                }
                other => Some(format!("{other:?}")),
            };
            match address {
                Some(address) if declarations.addresses.contains(&address) => {}
                other => report(format!("{place}: depends_on names undeclared {other:?}")),
            }
        }
    }

    /// Every name an expression uses must be declared, bound, or (in a lifecycle) `self`.
    fn check_expr(
        &self,
        expr: &Expression,
        scope: &Scope,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        match expr {
            Expression::Null
            | Expression::Bool(_)
            | Expression::Number(_)
            | Expression::String(_) => {}
            Expression::Array(items) => items
                .iter()
                .for_each(|item| self.check_expr(item, scope, declarations, report)),
            Expression::Object(entries) => {
                for (key, value) in entries {
                    if let ObjectKey::Expression(key) = key {
                        self.check_expr(key, scope, declarations, report);
                    }
                    self.check_expr(value, scope, declarations, report);
                }
            }
            Expression::TemplateExpr(template) => {
                self.check_template_expr(template, scope, declarations, report)
            }
            Expression::Variable(name) => {
                if !scope.bound.contains(name.as_str()) {
                    report(format!("bare name {} is not bound", name.as_str()));
                }
            }
            Expression::Traversal(traversal) => {
                self.check_traversal(
                    &traversal.expr,
                    &traversal.operators,
                    scope,
                    declarations,
                    report,
                );
                for operator in &traversal.operators {
                    if let TraversalOperator::Index(index) = operator {
                        self.check_expr(index, scope, declarations, report);
                    }
                }
            }
            Expression::FuncCall(call) => {
                if !call.name.namespace.is_empty() || !FUNCTIONS.contains(&call.name.name.as_str())
                {
                    report(format!(
                        "function {:?} is not one this writer uses",
                        call.name
                    ));
                }
                call.args
                    .iter()
                    .for_each(|arg| self.check_expr(arg, scope, declarations, report));
            }
            Expression::Parenthesis(inner) => self.check_expr(inner, scope, declarations, report),
            Expression::Conditional(conditional) => {
                self.check_expr(&conditional.cond_expr, scope, declarations, report);
                self.check_expr(&conditional.true_expr, scope, declarations, report);
                self.check_expr(&conditional.false_expr, scope, declarations, report);
            }
            Expression::Operation(operation) => match operation.as_ref() {
                hcl::expr::Operation::Unary(unary) => {
                    self.check_expr(&unary.expr, scope, declarations, report)
                }
                hcl::expr::Operation::Binary(binary) => {
                    self.check_expr(&binary.lhs_expr, scope, declarations, report);
                    self.check_expr(&binary.rhs_expr, scope, declarations, report);
                }
            },
            Expression::ForExpr(for_expr) => {
                self.check_expr(&for_expr.collection_expr, scope, declarations, report);
                let mut inner = scope.clone();
                inner.bound.insert(for_expr.value_var.as_str().to_owned());
                if let Some(key) = &for_expr.key_var {
                    inner.bound.insert(key.as_str().to_owned());
                }
                let parts = [
                    for_expr.key_expr.as_ref(),
                    Some(&for_expr.value_expr),
                    for_expr.cond_expr.as_ref(),
                ];
                for part in parts.into_iter().flatten() {
                    self.check_expr(part, &inner, declarations, report);
                }
            }
            other => report(format!("unsupported expression {other:?}")),
        }
    }

    fn check_template_expr(
        &self,
        template: &TemplateExpr,
        scope: &Scope,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        match Template::from_expr(template) {
            Ok(template) => self.check_template(&template, scope, declarations, report),
            Err(err) => report(format!("template does not parse: {err}")),
        }
    }

    fn check_template(
        &self,
        template: &Template,
        scope: &Scope,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        for element in template.elements() {
            match element {
                Element::Literal(_) => {}
                Element::Interpolation(interpolation) => {
                    self.check_expr(&interpolation.expr, scope, declarations, report)
                }
                Element::Directive(directive) => {
                    // The writer never emits directives: one here is user text that escaped.
                    report(format!("template directive {directive:?}"));
                    if let Directive::If(directive) = directive.as_ref() {
                        self.check_template(&directive.true_template, scope, declarations, report);
                    }
                }
            }
        }
    }

    fn check_traversal(
        &self,
        root: &Expression,
        operators: &[TraversalOperator],
        scope: &Scope,
        declarations: &Declarations,
        report: &mut dyn FnMut(String),
    ) {
        let Expression::Variable(root) = root else {
            return self.check_expr(root, scope, declarations, report);
        };
        let attribute = |index: usize| match operators.get(index) {
            Some(TraversalOperator::GetAttr(name)) => Some(name.as_str().to_owned()),
            _ => None,
        };
        match root.as_str() {
            name if scope.bound.contains(name) => {}
            "self" if scope.allow_self => {}
            "var" => match attribute(0) {
                Some(name) if declarations.variables.contains(&name) => {}
                other => report(format!("var.{other:?} is not declared")),
            },
            "data" => match (attribute(0), attribute(1)) {
                (Some(kind), Some(label))
                    if declarations
                        .addresses
                        .contains(&format!("data.{kind}.{label}")) =>
                {
                    self.check_result_attribute("data_sources", &kind, attribute(2), report);
                }
                other => report(format!("data reference {other:?} is not declared")),
            },
            kind if kind.starts_with("octopusdeploy_") => match attribute(0) {
                Some(label) if declarations.addresses.contains(&format!("{kind}.{label}")) => {
                    self.check_result_attribute("resources", kind, attribute(1), report);
                }
                other => report(format!("{kind}.{other:?} is not declared")),
            },
            other => report(format!("reference to unknown root {other}")),
        }
    }

    /// `X.label.<attribute>`: the attribute read must exist on that type.
    fn check_result_attribute(
        &self,
        section: &str,
        kind: &str,
        attribute: Option<String>,
        report: &mut dyn FnMut(String),
    ) {
        match attribute {
            Some(name) if self.json[section][kind]["attributes"].get(&name).is_some() => {}
            other => report(format!("{kind} has no attribute {other:?}")),
        }
    }
}

/// `type.label` of a bare resource traversal (`depends_on` items).
fn traversal_path(root: &Expression, operators: &[TraversalOperator]) -> Option<String> {
    let Expression::Variable(root) = root else {
        return None;
    };
    match operators {
        [TraversalOperator::GetAttr(label)] => {
            Some(format!("{}.{}", root.as_str(), label.as_str()))
        }
        _ => None,
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

/// Combinations the provider's own validators refuse at plan time (not visible in the schema):
/// `octopusdeploy_project_versioning_strategy` takes a template or a donor package, and a donor
/// package names its step by `deployment_action` or `donor_package_step_id`, never both
/// (issue 10, item 2); a step with a `primary_package` must not also set the action properties
/// the provider computes from it (item 3).
fn provider_validators(kind: &str, body: &Body, place: &str, report: &mut dyn FnMut(String)) {
    let has = |key: &str| body.attributes().any(|a| a.key.as_str() == key);
    if kind == "octopusdeploy_project_versioning_strategy" {
        if has("template") && (has("donor_package") || has("donor_package_step_id")) {
            report(format!(
                "{place}: template together with a donor package (the provider refuses it)"
            ));
        }
        if has("donor_package") && has("donor_package_step_id") {
            report(format!(
                "{place}: donor_package.deployment_action together with donor_package_step_id (the provider refuses it)"
            ));
        }
    }
    if has("primary_package") {
        for attribute in body.attributes() {
            if !["properties", "execution_properties"].contains(&attribute.key.as_str()) {
                continue;
            }
            let text = hcl::format::to_string(&attribute.expr).unwrap_or_default();
            for key in [
                "Octopus.Action.Package.FeedId",
                "Octopus.Action.Package.PackageId",
                "Octopus.Action.Package.DownloadOnTentacle",
            ] {
                if text.contains(key) {
                    report(format!(
                        "{place}: {key} set next to primary_package (the provider computes it)"
                    ));
                }
            }
        }
    }
}
