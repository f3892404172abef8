//! What a read of a project leaves out (the filters). Turning the server's documents into a
//! portable project is `crate::convert` (`convert::read`).

pub use super::naming::{sanitize, secret_key};
use regex::Regex;

/// What to leave out, with the article's defaults.
#[derive(Debug, Clone)]
pub struct Filters {
    /// Library variable sets excluded by name (default "Export Options").
    pub excluded_library_variable_sets: Vec<String>,
    /// Environments removed from variable scopes (default "Sync"); a variable scoped only to
    /// them becomes unscoped, as octoterra's `-excludeVariableEnvironmentScopes`.
    pub excluded_variable_environments: Vec<String>,
    /// Runbooks excluded by name (default `^__ `, the management runbooks).
    pub excluded_runbooks: Option<Regex>,
    /// Variables excluded by name (default none).
    pub excluded_variables: Option<Regex>,
    /// Several sensitive values under one name cannot be told apart by one placeholder.
    pub allow_ambiguous_secrets: bool,
}

impl Default for Filters {
    fn default() -> Self {
        Filters {
            excluded_library_variable_sets: vec!["Export Options".to_owned()],
            excluded_variable_environments: vec!["Sync".to_owned()],
            excluded_runbooks: Some(Regex::new("^__ ").expect("a valid regex")),
            excluded_variables: None,
            allow_ambiguous_secrets: false,
        }
    }
}
