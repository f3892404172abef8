//! Why a git mirror, fetch or push failed, said for people: which side, which input to check,
//! what the server said. Below `transport`, `mirror` and `merge`, which all return it.

use crate::inputs::{
    FORK_FORCE, GIT_MAIN_LINE, GIT_ORGANIZATION, GIT_TEMPLATE, GIT_UPSTREAM, GIT_USERNAME,
};

/// A ref whose downstream value is not behind upstream's and not equal to it.
#[derive(Debug, Clone)]
pub struct Divergence {
    pub name: String,
    pub downstream: String,
    pub upstream: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MirrorError {
    #[error("the git server refused the credentials for {url} (401): check {inputs}")]
    Unauthorized { url: String, inputs: &'static str },
    #[error("the {side} repository {url} asks for credentials (401) and octofleet has none it may send there: {hint}")]
    CredentialsWithheld {
        side: &'static str,
        url: String,
        hint: String,
    },
    #[error("the {side} repository {url} was not found (404){}", if *.side == "upstream" { upstream_inputs() } else { String::new() })]
    RepositoryMissing { side: &'static str, url: String },
    #[error("the upstream repository {url} has no branch `{branch}`: check {}", GIT_MAIN_LINE.octopus)]
    UpstreamBranchMissing { url: String, branch: String },
    #[error("{}", diverged_message(.0))]
    Diverged(Vec<Divergence>),
    #[error("the downstream repository {url} refused {}{}{}", refused_list(.refs), remote_text(.remote_messages), protection_hint(.remote_messages))]
    Rejected {
        url: String,
        refs: Vec<(String, String)>,
        remote_messages: String,
    },
    /// git's message is shown; the error is not chained as a cause, whose text would repeat it
    /// with libgit2's class and code.
    #[error("{context}: {}", .error.message())]
    Git { context: String, error: git2::Error },
    #[error("cannot create the temporary repository: {0}")]
    Scratch(#[source] std::io::Error),
}

/// What to check when the upstream repository is not there.
fn upstream_inputs() -> String {
    format!(
        ": check {} (or {} and {})",
        GIT_UPSTREAM.octopus, GIT_ORGANIZATION.octopus, GIT_TEMPLATE.octopus
    )
}

fn diverged_message(divergences: &[Divergence]) -> String {
    let mut text = String::from(
        "the downstream repository has commits that upstream does not have (the tenant committed to it), so fork will not overwrite it:",
    );
    for divergence in divergences {
        text.push_str(&format!(
            "\n  - {}: downstream is at {}, upstream is at {}",
            divergence.name, divergence.downstream, divergence.upstream
        ));
    }
    text.push_str(&format!("\nmerge upstream into the downstream branch, or re-run with --{} ({}) to reset it to upstream, discarding the downstream commits", FORK_FORCE.flag, FORK_FORCE.octopus));
    text
}

fn refused_list(refs: &[(String, String)]) -> String {
    refs.iter()
        .map(|(name, status)| format!("{name} ({status})"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn remote_text(messages: &str) -> String {
    let text = messages
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    if text.is_empty() {
        String::new()
    } else {
        format!("; the server said: {text}")
    }
}

/// A refusal by branch protection says so, and what would let the push through. GitLab's
/// texts (gitlab-org/gitlab `lib/gitlab/checks/branch_check.rb` and `change_access.rb`'s
/// `ERROR_MESSAGES`, as their specs quote them): "The default branch of a project cannot be
/// deleted." for a deletion of the default branch, checked before any protection;
/// "You are not allowed to push code to protected branches on this project." when the
/// credential's role is not among the branch's "Allowed to push and merge" (a plain push
/// refused by role), and "You are not allowed to force push code to a protected branch on this
/// project." when the push would rewrite it (GitLab protects the default branch and forbids
/// force pushes to it by default).
fn protection_hint(messages: &str) -> String {
    let messages = messages.to_ascii_lowercase();
    if messages.contains("default branch of a project cannot be deleted") {
        "\nGitLab never deletes a project's default branch: make another branch the default first (Settings → Repository → Branch defaults), or keep the branch upstream".to_owned()
    } else if messages.contains("not allowed to push code to protected branches") {
        format!("\nthe branch is protected on the platform and the credential's role may not push to it: give the user of {} a role the branch allows (GitLab: Settings → Repository → Protected branches → Allowed to push and merge, e.g. Maintainers, or make the user a Maintainer), or use a credential whose user has that role", GIT_USERNAME.octopus)
    } else if messages.contains("protected branch") {
        "\nthe branch is protected on the platform and the push would rewrite it: let force pushes through for it there (GitLab: Settings → Repository → Protected branches → Allowed to force push; GitHub: the branch protection rule's \"Allow force pushes\"), or merge upstream into it (octofleet merge) instead of --force".to_owned()
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_by_branch_protection_names_the_protection_and_the_way_out() {
        let refused = |messages: &str| {
            MirrorError::Rejected {
                url: "https://gitlab.example.com/org/repo.git".to_owned(),
                refs: vec![(
                    "refs/heads/main".to_owned(),
                    "pre-receive hook declined".to_owned(),
                )],
                remote_messages: messages.to_owned(),
            }
            .to_string()
        };
        let protected = refused(
            "GitLab: You are not allowed to force push code to a protected branch on this project.\n",
        );
        assert!(protected.contains("refused refs/heads/main (pre-receive hook declined)"));
        assert!(protected.contains("the server said: GitLab: You are not allowed"));
        assert!(protected.contains("Allowed to force push"), "{protected}");
        let by_role = refused(
            "GitLab: You are not allowed to push code to protected branches on this project.\n",
        );
        assert!(by_role.contains("role may not push"), "{by_role}");
        assert!(by_role.contains("Allowed to push and merge"), "{by_role}");
        assert!(!by_role.contains("force push"), "{by_role}");
        let frozen = refused("pushes are frozen\n");
        assert!(!frozen.contains("protected"), "{frozen}");
    }
}
