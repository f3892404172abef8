//! octoterra's naming rule, shared by everything that names a project's parts: `secrets.json`
//! keys, Terraform labels and variables.

/// The label octoterra gives a project variable, `<project>_<variable>_<n>`, which is also the
/// secret's key in `secrets.json` and its Terraform variable name (the article's
/// `hello_world_database_development__password_1`).
pub fn secret_key(project_name: &str, variable_name: &str, occurrence: usize) -> String {
    format!(
        "{}_{}_{occurrence}",
        sanitize(project_name),
        sanitize(variable_name)
    )
}

/// octoterra's sanitizer: lower case, every character outside `[a-z0-9]` → `_`, and a leading
/// `_` when the result does not start with a letter or `_`.
pub fn sanitize(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizer_and_secret_keys_follow_octoterra() {
        assert_eq!(
            secret_key("Hello World", "Database[Development].Password", 1),
            "hello_world_database_development__password_1"
        );
        assert_eq!(sanitize("1st Project"), "_1st_project");
        assert_eq!(sanitize("_x"), "_x");
        assert_eq!(sanitize(""), "_");
    }
}
