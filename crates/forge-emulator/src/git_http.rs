//! Real git smart HTTP: `/{owner}/{repo}.git/...` behind Basic auth, handed to `git http-backend`
//! as a CGI with the request body streamed to its stdin and its stdout streamed back.

use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;

use crate::auth::{Caller, Surface};
use crate::repos::Repos;
use crate::server::{Counters, Shared};

/// What a git URL names.
pub struct GitTarget {
    owner: String,
    name: String,
    /// After the repository: `info/refs`, `git-upload-pack`, `git-receive-pack`, …
    rest: String,
}

const SERVICE_PATHS: &[&str] = &[
    "info",
    "git-upload-pack",
    "git-receive-pack",
    "HEAD",
    "objects",
];

/// Git URLs are `/{owner}/{repo}[.git]/<service path>`.
pub fn target(parts: &[String]) -> Option<GitTarget> {
    if parts.len() < 3 {
        return None;
    }
    let is_git = parts[1].ends_with(".git") || SERVICE_PATHS.contains(&parts[2].as_str());
    is_git.then(|| GitTarget {
        owner: parts[0].clone(),
        name: parts[1].trim_end_matches(".git").to_owned(),
        rest: parts[2..].join("/"),
    })
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from(text.to_owned()))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

pub async fn serve(
    shared: &Arc<Shared>,
    request: Request<Body>,
    target: GitTarget,
    counters: &Counters,
) -> Response<Body> {
    // Every repository is private: without the user's credentials git gets the challenge that
    // makes it (libgit2 included) ask its credential callback.
    match shared.caller(request.headers(), Surface::Git) {
        Caller::User => {}
        Caller::Anonymous | Caller::Rejected => {
            let mut response = plain(StatusCode::UNAUTHORIZED, "Unauthorized\n");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"Gitea\""),
            );
            return response;
        }
    }
    let Some(repo) = shared.repos.find(&target.owner, &target.name) else {
        return plain(StatusCode::NOT_FOUND, "Repository not found\n");
    };

    let (head, body) = request.into_parts();
    let header_text = |name: &str| {
        head.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", shared.repos.root())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", shared.repos.root())
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env(
            "PATH_INFO",
            format!("{}/{}", Repos::relative_path(&repo), target.rest),
        )
        .env("QUERY_STRING", head.uri.query().unwrap_or_default())
        .env("REQUEST_METHOD", head.method.as_str())
        .env("REMOTE_USER", &shared.username)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(content_type) = header_text("content-type") {
        command.env("CONTENT_TYPE", content_type);
    }
    // A chunked body (libgit2's pushes) has no length: http-backend then reads to EOF.
    if let Some(length) = header_text("content-length") {
        command.env("CONTENT_LENGTH", length);
    }
    if let Some(encoding) = header_text("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = header_text("git-protocol") {
        command.env("HTTP_GIT_PROTOCOL", protocol);
    }
    // GitLab checks every push in its pre-receive hook (gitlab-shell asks the Rails app); ours
    // does the default-branch protection part, see `GITLAB_PRE_RECEIVE`.
    if let Some(hooks) = &shared.gitlab_hooks {
        command
            .env("GIT_CONFIG_COUNT", "1")
            .env("GIT_CONFIG_KEY_0", "core.hooksPath")
            .env("GIT_CONFIG_VALUE_0", hooks.path());
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(error) => {
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot run git http-backend: {error}\n"),
            )
        }
    };

    // A push into an empty repository: its first pushed branch becomes the default branch, as
    // on GitHub, GitLab and Gitea (GitHub docs, "About the default branch": "the first branch
    // pushed to an empty repository becomes the default"; GitLab and Gitea do the same).
    let repo_path = shared.repos.path(&repo);
    let empty_push = target.rest == "git-receive-pack"
        && header_text("content-encoding").is_none()
        && crate::repos::is_empty(&repo_path);
    let (first_ref_tx, first_ref_rx) = tokio::sync::oneshot::channel::<Option<String>>();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let sent = counters.request.clone();
    tokio::spawn(async move {
        let mut chunks = body.into_data_stream();
        let mut start: Vec<u8> = Vec::new();
        let mut first_ref_tx = empty_push.then_some(first_ref_tx);
        while let Some(Ok(chunk)) = chunks.next().await {
            sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            if let Some(tx) = first_ref_tx.take() {
                start.extend_from_slice(&chunk[..chunk.len().min(1024)]);
                match first_pushed_branch(&start) {
                    Some(branch) => {
                        let _ = tx.send(Some(branch));
                    }
                    None if start.len() < 1024 => first_ref_tx = Some(tx),
                    None => {
                        let _ = tx.send(None);
                    }
                }
            }
            if stdin.write_all(&chunk).await.is_err() {
                break;
            }
        }
        // Dropping stdin is the EOF http-backend waits for.
    });
    let stderr = child.stderr.take().expect("piped stderr");
    tokio::spawn(async move {
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            tracing::debug!("git http-backend: {line}");
        }
    });

    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut builder = Response::builder().status(StatusCode::OK);
    loop {
        let mut line = String::new();
        match stdout.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse::<u16>().ok())
                .and_then(|code| StatusCode::from_u16(code).ok())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            builder = builder.status(code);
        } else {
            builder = builder.header(name, value);
        }
    }
    tokio::spawn(async move {
        let _ = child.wait().await;
        if empty_push {
            if let Ok(Some(branch)) = first_ref_rx.await {
                if crate::repos::has_branch(&repo_path, &branch) {
                    let _ = crate::repos::set_head(&repo_path, &branch);
                }
            }
        }
    });
    let received = counters.response.clone();
    let body = tokio_util::io::ReaderStream::new(stdout).map(move |chunk| {
        if let Ok(bytes) = &chunk {
            received.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        }
        chunk
    });
    builder
        .body(Body::from_stream(body))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "bad CGI headers\n"))
}

/// GitLab protects a project's default branch from its first push on ("Fully protected" is the
/// instance default: gitlab-foss!314; its "Allowed to force push" is off: gitlab!131322), so a
/// push that rewrites or deletes it is refused by the pre-receive hook, and the client sees
/// `! [remote rejected] main -> main (pre-receive hook declined)` with the reason on the side
/// band: "GitLab: You are not allowed to force push code to a protected branch on this
/// project." (gitlabhq/gitlabhq#10405). Deleting the default branch is refused before any
/// protection check with "The default branch of a project cannot be deleted." (gitlab-org/gitlab
/// `lib/gitlab/checks/change_access.rb`, `ERROR_MESSAGES[:delete_default_branch]`, checked
/// first in `branch_checks`). A fast-forward, a new branch and other branches pass. `git config emulator.allowForcePush true` (see
/// `ForgeEmulator::allow_force_push`) lifts it. The repository's own `hooks/pre-receive` (a
/// test's refusing hook) runs first, since `core.hooksPath` replaces the hooks directory.
/// `git config emulator.pushDeniedByRole true` (see `ForgeEmulator::deny_pushes_by_role`)
/// refuses every push to the default branch, as GitLab does when the user's role is not
/// allowed to push there: "GitLab: You are not allowed to push code to protected branches on
/// this project." (gitlab-org/gitlab `lib/gitlab/checks/branch_check.rb`, as its spec quotes it).
const GITLAB_PRE_RECEIVE: &str = r#"#!/bin/sh
input=$(cat)
if [ -x hooks/pre-receive ]; then
  printf '%s
' "$input" | hooks/pre-receive || exit 1
fi
head=$(git symbolic-ref -q HEAD) || exit 0
if [ "$(git config --bool emulator.pushDeniedByRole)" = "true" ]; then
  printf '%s
' "$input" | while read -r old new ref; do
    if [ "$ref" = "$head" ]; then
      echo "GitLab: You are not allowed to push code to protected branches on this project." >&2
      exit 1
    fi
  done || exit 1
fi
[ "$(git config --bool emulator.allowForcePush)" = "true" ] && exit 0
zero=$(printf '%040d' 0)
printf '%s
' "$input" | while read -r old new ref; do
  [ "$ref" = "$head" ] || continue
  [ "$old" = "$zero" ] && continue
  if [ "$new" = "$zero" ]; then
    echo "GitLab: The default branch of a project cannot be deleted." >&2
    exit 1
  fi
  if ! git merge-base --is-ancestor "$old" "$new"; then
    echo "GitLab: You are not allowed to force push code to a protected branch on this project." >&2
    exit 1
  fi
done || exit 1
exit 0
"#;

/// A directory holding GitLab's pre-receive hook, for `core.hooksPath`.
pub fn gitlab_hooks() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix("forge-emulator-gitlab-hooks-")
        .tempdir()?;
    let hook = dir.path().join("pre-receive");
    std::fs::write(&hook, GITLAB_PRE_RECEIVE)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(dir)
}

/// The branch of the first command of a receive-pack request: a pkt-line
/// `<4 hex length><old> <new> <ref>\0<capabilities>` (git's pack protocol).
fn first_pushed_branch(body: &[u8]) -> Option<String> {
    let length = usize::from_str_radix(std::str::from_utf8(body.get(..4)?).ok()?, 16).ok()?;
    let line = body.get(4..length)?;
    let line = line.split(|b| *b == 0).next()?;
    let text = std::str::from_utf8(line).ok()?;
    let reference = text.split(' ').nth(2)?.trim_end();
    reference.strip_prefix("refs/heads/").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_command_names_the_branch() {
        let zero = "0".repeat(40);
        let new = "a".repeat(40);
        let line = format!("{zero} {new} refs/heads/develop\0report-status side-band-64k");
        let packet = format!("{:04x}{line}0000", line.len() + 4);
        assert_eq!(
            super::first_pushed_branch(packet.as_bytes()).as_deref(),
            Some("develop")
        );
        assert_eq!(super::first_pushed_branch(b"00"), None);
        let tag = format!("{zero} {new} refs/tags/v1\0caps");
        let packet = format!("{:04x}{tag}", tag.len() + 4);
        assert_eq!(super::first_pushed_branch(packet.as_bytes()), None);
    }
}
