//! What a deploy (or plan) is given, what it gives back and why it refuses: the terms shared by
//! `project.rs`, which runs it, and `checks.rs`, which refuses before any write.

use super::resolve::Missing;
use crate::octopus::process_templates::Unusable;
use crate::octopus::OctopusError;
use crate::outcome::Outcome;

#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    /// The downstream project's name (`Exported.Project.Name`, else the package's).
    pub project_name: String,
    /// Make variables equal to the package instead of keeping downstream values.
    pub overwrite_variables: bool,
    /// Enable triggers (and automatic release creation) a tenant disabled downstream.
    pub overwrite_triggers: bool,
    /// Config-as-Code: the downstream repository (the fork), instead of the package's URL.
    pub git_url: Option<String>,
    /// Plan only: read and compare, never write.
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DeployResult {
    pub project_id: Option<String>,
    pub outcomes: Vec<Outcome>,
}

/// The kinds create-space's blueprint can hold (docs/blueprint.md): what else a package needs is
/// made in the space by other means.
const BLUEPRINT_KINDS: [&str; 12] = [
    "environment",
    "lifecycle",
    "project group",
    "feed",
    "git credential",
    "library variable set",
    "tag",
    "account",
    "certificate",
    "step template",
    "script module",
    "tag set",
];

/// Where a missing dependency comes from.
fn remedy(kind: &str) -> String {
    if BLUEPRINT_KINDS.contains(&kind) {
        "create-space's blueprint can hold it".to_owned()
    } else {
        format!("create it in the space; a blueprint holds no {kind}s")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(
        "the target space lacks what the project needs; nothing was written. Create these first:\n  - {}",
        .0.iter().map(|m| format!("{} `{}` ({})", m.kind, m.name, remedy(m.kind))).collect::<Vec<_>>().join("\n  - ")
    )]
    MissingDependencies(Vec<Missing>),
    /// Step templates or script modules of the package whose same-named copy in the space can
    /// never hold the package's definition.
    #[error(
        "the managed space holds resources named like what the project runs that cannot become it; nothing \
         was written:\n  - {}",
        .0.join("\n  - ")
    )]
    Unreconcilable(Vec<String>),
    #[error(
        "secret{} {} still hold{} an unsubstituted placeholder and do{} not exist downstream yet; nothing was \
         written. Run the deploy step in the environment the secrets are scoped to (the article's `Sync`) with \
         Octopus's file substitution on secrets.json",
        if .0.len() == 1 { "" } else { "s" },
        .0.iter().map(|name| format!("`{name}`")).collect::<Vec<_>>().join(", "),
        if .0.len() == 1 { "s" } else { "" },
        if .0.len() == 1 { "es" } else { "" }
    )]
    UnsubstitutedSecrets(Vec<String>),
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "the package's project.json sets `{}` in `{}`, a field octofleet writes itself: a package may add \
         settings this octofleet does not know, never replace a name, an id or a modelled setting; nothing was \
         written. Re-serialize the template project (`octofleet serialize`)",
        .0.key, .0.at
    )]
    OverridingField(crate::convert::fields::Overriding),
    #[error(
        "the package is a Config-as-Code project, and no repository of the tenant's own was given: run the fork \
         step first and pass its RepositoryUrl as {git_url}. The template project's repository {0} is not used: \
         two projects cannot share one repository and base path (Octopus refuses it); nothing was written",
        git_url = crate::inputs::GIT_URL
    )]
    ForkUrlMissing(String),
    /// Steps run Platform Hub process templates the target space cannot use.
    #[error(
        "the project's steps run Platform Hub process templates this space cannot use; nothing was written:\n  - {}",
        .0.iter().map(TemplateProblem::to_string).collect::<Vec<_>>().join("\n  - ")
    )]
    ProcessTemplates(Vec<TemplateProblem>),
    #[error(transparent)]
    Octopus(#[from] OctopusError),
}

/// A process template a step runs, and why the target space cannot use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// The template's slug (`Octopus.Action.ProcessTemplate.Reference.Slug`).
    pub slug: String,
    /// The target space.
    pub space_id: String,
    /// Why not.
    pub unusable: Unusable,
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slug = &self.slug;
        match &self.unusable {
            Unusable::NotOnTheInstance => write!(
                f,
                "process template `{slug}`: this Octopus instance has none of that slug (publish it in this instance's Platform Hub; a managed instance needs its own copy)"
            ),
            Unusable::NotShared => write!(
                f,
                "process template `{slug}`: not shared with space {} (share it with the space in Platform Hub → Process Templates)",
                self.space_id
            ),
            Unusable::NoVersion(mask) => write!(
                f,
                "process template `{slug}`: no published version matches the step's version mask `{mask}`"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The error points at the blueprint only for what a blueprint can hold.
    #[test]
    fn missing_dependencies_say_where_each_comes_from() {
        let error = DeployError::MissingDependencies(vec![
            Missing {
                kind: "worker pool",
                name: "Linux".into(),
            },
            Missing {
                kind: "step template",
                name: "Notify Team".into(),
            },
        ])
        .to_string();
        assert!(
            error.contains(
                "worker pool `Linux` (create it in the space; a blueprint holds no worker pools)"
            ),
            "{error}"
        );
        assert!(
            error.contains("step template `Notify Team` (create-space's blueprint can hold it)"),
            "{error}"
        );
    }
}
