//! A strict checker of Terraform modules against the `OctopusDeploy/octopusdeploy` provider
//! schema: types, attributes, nested blocks, required fields, references.

use hcl::expr::{Expression, ObjectKey, TemplateExpr, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, Body};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The labels of a block, as strings.
pub fn labels(block: &Block) -> Vec<String> {
    block
        .labels()
        .iter()
        .map(|label| label.as_str().to_owned())
        .collect()
}

/// The provider schema (tests/fixtures/terraform-provider-octopusdeploy.schema.json, v1.17.0)
/// and the rules a module must follow to plan against it.
pub struct Schema {
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

const FUNCTIONS: [&str; 5] = ["trimspace", "length", "try", "lower", "jsonencode"];
const META_ARGUMENTS: [&str; 4] = ["depends_on", "count", "for_each", "provider"];
const VARIABLE_ARGUMENTS: [&str; 5] = ["type", "default", "description", "sensitive", "nullable"];
const PROVIDER_ARGUMENTS: [&str; 4] = ["address", "api_key", "access_token", "space_id"];

impl Schema {
    pub fn load() -> Schema {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/terraform-provider-octopusdeploy.schema.json");
        let json = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        Schema { json }
    }

    /// Every problem in the module, one line each.
    pub fn check(&self, files: &BTreeMap<String, String>) -> Vec<String> {
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
        if key == "count" {
            // Created only where the space lacks it (octoterra's stateless resources).
            self.check_expr(expr, &Scope::default(), declarations, report);
            return;
        }
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
                    // A resource with `count` is read through its instance: `X.label[0].id`.
                    let counted = matches!(
                        operators.get(1),
                        Some(TraversalOperator::Index(_) | TraversalOperator::LegacyIndex(_))
                    );
                    let read = if counted { attribute(2) } else { attribute(1) };
                    self.check_result_attribute("resources", kind, read, report);
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
