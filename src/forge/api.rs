//! The HTTP client the platform APIs share: authentication headers, JSON bodies, retries of
//! idempotent calls, and errors that name the platform and URL but never a credential.

use super::{ForgeAccess, Platform, PullRequest, Repository};
use crate::inputs::{
    GIT_HOST, GIT_ORGANIZATION, GIT_PASSWORD, GIT_PROTOCOL, GIT_USERNAME, TIMEOUT,
};
use crate::origin::CrossOrigin;
use crate::secret::Secret;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::time::{Duration, SystemTime};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{platform} refused the credentials for {url} (401): check {} and {} (a password or an access token allowed to create repositories)", GIT_USERNAME.octopus, GIT_PASSWORD.octopus)]
    Unauthorized { platform: Platform, url: String },
    #[error("{platform} has no organization `{organization}` ({url}): create it first, or set {} to an existing organization or to your own user name", GIT_ORGANIZATION.octopus)]
    OrganizationMissing {
        platform: Platform,
        organization: String,
        url: String,
    },
    #[error("{platform} answered {method} {url} with {status}: {message}")]
    Unexpected {
        platform: Platform,
        method: String,
        url: String,
        status: u16,
        message: String,
    },
    /// The API answered with a redirect to another origin (or from https to http): the token
    /// would have gone along, so the call stops there.
    #[error("{platform} API call {url}: {refused} ({} and {})", GIT_PROTOCOL.octopus, GIT_HOST.octopus)]
    Redirect {
        platform: Platform,
        url: String,
        refused: CrossOrigin,
    },
    /// The platform rate-limited the call and asks for a wait that would end after the
    /// action's deadline (or it kept refusing until the deadline).
    #[error("{platform} rate-limited {method} {url} and asks to wait {}s more, which would end after the action's deadline ({}): run it again later, or raise {}", .wait.as_secs(), TIMEOUT.octopus, TIMEOUT.octopus)]
    RateLimited {
        platform: Platform,
        method: String,
        url: String,
        wait: Duration,
    },
    #[error(
        "cannot reach {platform} at {url}: {source} — check {} and {}{hint}",
        GIT_PROTOCOL.octopus,
        GIT_HOST.octopus
    )]
    Transport {
        platform: Platform,
        url: String,
        #[source]
        source: reqwest::Error,
        /// What to set when the platform's certificate was not trusted, else empty.
        hint: String,
    },
}

/// How a platform wants its credentials.
#[derive(Debug, Clone)]
pub enum Auth {
    /// HTTP Basic with the username and the password (or token).
    Basic { username: String, password: Secret },
    /// One header carrying the token, e.g. `Authorization: Bearer …` or `PRIVATE-TOKEN: …`.
    Header { name: &'static str, value: Secret },
}

pub struct ApiClient {
    http: reqwest::Client,
    base: Url,
    pub platform: Platform,
    auth: Auth,
    extra_headers: Vec<(&'static str, &'static str)>,
    deadline: Option<std::time::Instant>,
}

pub struct ApiResponse {
    pub status: StatusCode,
    pub body: Value,
    pub method: Method,
    pub url: String,
}

impl ApiResponse {
    pub fn is(&self, status: u16) -> bool {
        self.status.as_u16() == status
    }

    /// The platform's message: `message` (a string, or GitLab's field → errors object), plus
    /// GitHub's `errors[].message`.
    pub fn message(&self) -> String {
        let mut text = match self.body.get("message") {
            Some(Value::String(message)) => message.clone(),
            Some(other) => other.to_string(),
            None => self.body.to_string(),
        };
        for error in self
            .body
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(message) = error.get("message").and_then(Value::as_str) {
                text.push_str(&format!(" ({message})"));
            }
        }
        text
    }

    pub fn unexpected(&self, platform: Platform) -> ForgeError {
        ForgeError::Unexpected {
            platform,
            method: self.method.to_string(),
            url: self.url.clone(),
            status: self.status.as_u16(),
            message: self.message(),
        }
    }

    pub fn text(&self, key: &str) -> Option<String> {
        self.body
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// Attempts for a GET, PUT or PATCH on 5xx, 429 or a transport error; POSTs are never repeated
/// (the caller re-reads instead).
const ATTEMPTS: usize = 3;

impl ApiClient {
    pub fn new(
        access: &ForgeAccess,
        auth: Auth,
        extra_headers: Vec<(&'static str, &'static str)>,
    ) -> Result<ApiClient, ForgeError> {
        // The run's one client (crate::http_client): its trust, same-origin redirects and
        // timeouts; git uses the same one.
        let http = access.http.clone();
        Ok(ApiClient {
            http,
            base: access.api_base.clone(),
            platform: access.platform,
            auth,
            extra_headers,
            deadline: access.deadline,
        })
    }

    /// `path` is relative to the API root and already percent-encoded where needed.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// Send one call; any status comes back as a response except 401, which is an error.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<ApiResponse, ForgeError> {
        let url = self.url(path);
        let retriable = method != Method::POST;
        let mut attempt = 0;
        let mut rate_limited = 0;
        loop {
            attempt += 1;
            let mut request = self.http.request(method.clone(), &url);
            request = match &self.auth {
                Auth::Basic { username, password } => {
                    request.basic_auth(username, Some(password.expose()))
                }
                Auth::Header { name, value } => request.header(*name, value.expose()),
            };
            for (name, value) in &self.extra_headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let outcome = request.send().await;
            let response = match outcome {
                Ok(response) => response,
                // A refused redirect is refused again on a retry: stop at once.
                Err(source) if source.is_redirect() => {
                    return Err(match cross_origin(&source) {
                        Some(refused) => ForgeError::Redirect {
                            platform: self.platform,
                            url,
                            refused,
                        },
                        None => transport_error(self.platform, url, source),
                    })
                }
                Err(source) if !retriable || attempt >= ATTEMPTS => {
                    return Err(transport_error(self.platform, url, source))
                }
                Err(_) => {
                    backoff(attempt).await;
                    continue;
                }
            };
            let status = response.status();
            // A rate limit refused the call before doing anything: any method may be sent again
            // once the wait the platform asks for is over (never past the deadline).
            let mut wait = rate_limit_wait(status, response.headers(), SystemTime::now());
            let response = if wait.is_none() && status == StatusCode::FORBIDDEN {
                // GitHub's secondary rate limit may come with no header: its message names it.
                let bytes = response.bytes().await.unwrap_or_default();
                if names_a_secondary_rate_limit(&bytes) {
                    wait = Some(SECONDARY_RATE_LIMIT_WAIT);
                }
                Err(bytes)
            } else {
                Ok(response)
            };
            if let Some(wait) = wait {
                rate_limited += 1;
                self.wait_out_rate_limit(&method, &url, wait, rate_limited)
                    .await?;
                attempt -= 1;
                continue;
            }
            if retriable
                && attempt < ATTEMPTS
                && (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
            {
                backoff(attempt).await;
                continue;
            }
            if status == StatusCode::UNAUTHORIZED {
                return Err(ForgeError::Unauthorized {
                    platform: self.platform,
                    url,
                });
            }
            let bytes = match response {
                Ok(response) => response.bytes().await.unwrap_or_default(),
                Err(bytes) => bytes,
            };
            let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&bytes).chars().take(500).collect())
            });
            tracing::debug!(%method, %url, status = status.as_u16(), "{} API", self.platform);
            return Ok(ApiResponse {
                status,
                body,
                method,
                url,
            });
        }
    }
}

impl ApiClient {
    /// Sleep for a rate limit's `wait`, or fail at once when it would end after the deadline.
    async fn wait_out_rate_limit(
        &self,
        method: &Method,
        url: &str,
        wait: Duration,
        times: usize,
    ) -> Result<(), ForgeError> {
        let past_deadline = self
            .deadline
            .is_some_and(|deadline| std::time::Instant::now() + wait >= deadline);
        if past_deadline || times > MAX_RATE_LIMIT_WAITS {
            return Err(ForgeError::RateLimited {
                platform: self.platform,
                method: method.to_string(),
                url: url.to_owned(),
                wait,
            });
        }
        tracing::warn!(
            "{} rate-limited {method} {url}: waiting {}s as it asks",
            self.platform,
            wait.as_secs_f32().ceil()
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

/// How long a rate-limited answer asks the client to wait, by its headers, or `None` when they
/// name no wait (a 403 without them, unless its message names a secondary rate limit, is a
/// refusal of permission and stays one).
///
/// - GitHub: 403 or 429 with `retry-after` (seconds), or with `x-ratelimit-remaining: 0` until
///   `x-ratelimit-reset` (UTC epoch seconds); a secondary rate limit named in the message with
///   neither header: at least one minute (GitHub docs, "Rate limits for the REST API" →
///   "Exceeding the rate limit", and "Troubleshooting the REST API").
/// - GitLab: 429 with `Retry-After`, or `RateLimit-Reset` (Unix time) (GitLab docs, "Rate
///   limits" / "User and IP rate limits": the `RateLimit-*` response headers; gitlab-org/gitlab
///   #199738 shows a 429 with `RateLimit-Reset` and no `Retry-After`).
/// - Gitea (and any 429): `Retry-After` when sent; a 429 without a wait is retried as before
///   (idempotent calls, short backoff).
pub fn rate_limit_wait(
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    now: SystemTime,
) -> Option<Duration> {
    if status != StatusCode::FORBIDDEN && status != StatusCode::TOO_MANY_REQUESTS {
        return None;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
    };
    let until_epoch = |epoch: Option<&str>| {
        let epoch = epoch?.parse::<u64>().ok()?;
        let now = now.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        Some(Duration::from_secs(epoch.saturating_sub(now).max(1)))
    };
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds.max(1)));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        return until_epoch(header("x-ratelimit-reset")).or(Some(SECONDARY_RATE_LIMIT_WAIT));
    }
    if status == StatusCode::TOO_MANY_REQUESTS {
        return until_epoch(header("ratelimit-reset"));
    }
    None
}

/// A 403 whose message says it is GitHub's secondary rate limit ("You have exceeded a secondary
/// rate limit", as the docs' "an error message that indicates that you exceeded a secondary rate
/// limit").
fn names_a_secondary_rate_limit(body: &[u8]) -> bool {
    String::from_utf8_lossy(body)
        .to_ascii_lowercase()
        .contains("secondary rate limit")
}

/// A platform that keeps refusing gets this many waits, then the call fails.
const MAX_RATE_LIMIT_WAITS: usize = 10;

/// GitHub's "wait for at least one minute before retrying" when a secondary rate limit names
/// no wait.
const SECONDARY_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Where a platform's pull request JSON keeps its number and its web page.
#[derive(Debug, Clone, Copy)]
pub struct PullKeys {
    pub number: &'static str,
    pub url: &'static str,
}

/// Gitea's and GitHub's `number` and `html_url`.
pub const PULL_KEYS: PullKeys = PullKeys {
    number: "number",
    url: "html_url",
};

impl PullKeys {
    pub fn read(self, body: &Value, created: bool) -> Option<PullRequest> {
        Some(PullRequest {
            number: body.get(self.number)?.as_u64()?,
            url: body.get(self.url)?.as_str()?.to_owned(),
            created,
        })
    }
}

impl ApiClient {
    /// GET `path`, a list of pull requests already filtered by the platform: the first one.
    pub async fn first_pull_request(
        &self,
        path: &str,
        keys: PullKeys,
    ) -> Result<Option<PullRequest>, ForgeError> {
        let response = self.send(Method::GET, path, None).await?;
        if !response.is(200) {
            return Err(response.unexpected(self.platform));
        }
        Ok(response
            .body
            .as_array()
            .and_then(|pulls| pulls.first())
            .and_then(|pull| keys.read(pull, false)))
    }

    /// POST a new pull request to `path`: 201 → it; an answer `exists` recognises → `Err` with
    /// that answer (the caller finds the open one); anything else → an error.
    pub async fn create_pull_request(
        &self,
        path: &str,
        body: &Value,
        keys: PullKeys,
        exists: impl Fn(&ApiResponse) -> bool,
    ) -> Result<Result<PullRequest, ApiResponse>, ForgeError> {
        let response = self.send(Method::POST, path, Some(body)).await?;
        if response.is(201) {
            if let Some(created) = keys.read(&response.body, true) {
                return Ok(Ok(created));
            }
        } else if exists(&response) {
            return Ok(Err(response));
        }
        Err(response.unexpected(self.platform))
    }
}

/// The [`CrossOrigin`] refusal our redirect policy put inside a reqwest error.
fn cross_origin(error: &reqwest::Error) -> Option<CrossOrigin> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(current) = cause {
        if let Some(refused) = current.downcast_ref::<CrossOrigin>() {
            return Some(refused.clone());
        }
        cause = current.source();
    }
    None
}

fn transport_error(platform: Platform, url: String, source: reqwest::Error) -> ForgeError {
    let hint = crate::http_client::untrusted_certificate_hint(&url, &source);
    ForgeError::Transport {
        platform,
        url,
        source: source.without_url(),
        hint,
    }
}

async fn backoff(attempt: usize) {
    tokio::time::sleep(Duration::from_millis(200 * attempt as u64)).await;
}

/// `repos/{owner}/{name}`: a repository's path on Gitea and on GitHub (Gitea's v1 API follows
/// GitHub's REST shape for repositories and pull requests).
pub fn repos_path(owner: &str, name: &str) -> String {
    format!("repos/{}/{}", segment(owner), segment(name))
}

/// A repository as Gitea and GitHub describe it (`full_name`, `clone_url`, `default_branch`).
pub fn owner_repository(response: &ApiResponse, created: bool) -> Repository {
    let full_name = response.text("full_name").unwrap_or_default();
    Repository {
        api_id: full_name.clone(),
        full_name,
        clone_url: response.text("clone_url").unwrap_or_default(),
        created,
        default_branch: response.text("default_branch"),
    }
}

impl ApiClient {
    /// `GET repos/{owner}/{name}` on Gitea or GitHub: the repository, or `None` on a 404.
    pub async fn get_repository(
        &self,
        owner: &str,
        name: &str,
    ) -> Result<Option<Repository>, ForgeError> {
        let response = self
            .send(Method::GET, &repos_path(owner, name), None)
            .await?;
        match response.status.as_u16() {
            200 => Ok(Some(owner_repository(&response, false))),
            404 => Ok(None),
            _ => Err(response.unexpected(self.platform)),
        }
    }
}

/// One path segment, percent-encoded (GitLab's `group%2Fproject` IDs, names with dots).
pub fn segment(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
