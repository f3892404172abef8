//! What the repository pages (`fork`, `merge`) share: the facts a page starts with and how a
//! commit is shown.

use super::html::Cell;
use crate::forge::Platform;

/// A repository's page: its clone URL without `.git` (so on Gitea, GitHub and GitLab alike).
pub fn web_url(clone_url: &str) -> &str {
    clone_url.strip_suffix(".git").unwrap_or(clone_url)
}

/// The facts a repository report starts with: the repository (linked), its platform, clone URL
/// and upstream.
pub fn repository_facts<'a>(
    platform: Platform,
    repository: &str,
    repository_url: &str,
    upstream_url: &str,
) -> Vec<(&'a str, Cell)> {
    vec![
        (
            "repository",
            Cell::link(repository, web_url(repository_url)),
        ),
        ("platform", Cell::text(&platform.to_string())),
        ("clone URL", Cell::code(repository_url)),
        ("upstream", Cell::code(upstream_url)),
    ]
}

/// A commit ID shortened as git shows it.
pub fn short(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}
