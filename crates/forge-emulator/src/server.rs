//! The HTTP side: one handler that logs every request and hands it to the platform API it names
//! (`/api/v1` Gitea, `/api/v3` GitHub Enterprise's layout, `/api/v4` GitLab) or to git.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::auth::{self, caller, Caller, Surface};
use crate::repos::Repos;
use crate::{
    api, git_http, CredentialsSeen, FaultRule, ForgeConfig, Platform, RateLimit, RequestRecord,
};

/// API request bodies are small JSON documents.
const API_BODY_LIMIT: usize = 1024 * 1024;

/// Byte counts of one request, filled in while its bodies stream (git bodies outlive the handler).
#[derive(Clone, Default)]
pub struct Counters {
    pub request: Arc<AtomicU64>,
    pub response: Arc<AtomicU64>,
}

struct LogEntry {
    method: String,
    path: String,
    query: String,
    status: u16,
    credentials: CredentialsSeen,
    scheme: Option<String>,
    counters: Counters,
}

pub struct Shared {
    pub username: String,
    pub password: String,
    /// `http://127.0.0.1:PORT`, the root of clone URLs and web links, until a front (a TLS
    /// terminator in a test) is announced in its place: see `ForgeEmulator::serve_as`.
    base_url: Mutex<String>,
    pub repos: Repos,
    pub platform: Option<Platform>,
    /// GitLab mode: the hooks every push runs (`core.hooksPath`), see `git_http`.
    pub gitlab_hooks: Option<tempfile::TempDir>,
    log: Mutex<Vec<LogEntry>>,
    gathers: Mutex<Vec<Gather>>,
    rate_limits: Mutex<Vec<RateLimitRule>>,
}

/// API calls refused as too fast, `left` more times.
struct RateLimitRule {
    method: String,
    path_contains: String,
    limit: RateLimit,
    times: usize,
    left: usize,
}

impl RateLimitRule {
    fn report(&self) -> FaultRule {
        FaultRule {
            rule: format!(
                "{} …{}: rate-limited ({:?})",
                self.method, self.path_contains, self.limit
            ),
            shots: Some(self.times),
            fired: self.times - self.left,
        }
    }

    /// The platform's refusal, its headers timed from now. GitHub's docs ("Rate limits for the REST
    /// API") give the statuses and headers and say the message "indicates that you exceeded a
    /// secondary rate limit" without quoting it: the two GitHub texts below are ours, worded so
    /// (octofleet matches only "secondary rate limit"). GitLab's body is the one
    /// gitlab-org/gitlab#199738 shows.
    fn reply(&self) -> Reply {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let mut headers: Vec<(header::HeaderName, String)> = Vec::new();
        let mut add = |name: &'static str, value: String| {
            headers.push((header::HeaderName::from_static(name), value));
        };
        let (status, body) = match self.limit {
            RateLimit::GitHubSecondary { retry_after } => {
                if let Some(seconds) = retry_after {
                    add("retry-after", seconds.to_string());
                }
                (
                    StatusCode::FORBIDDEN,
                    json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                           "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}),
                )
            }
            RateLimit::GitHubPrimary { reset_in } => {
                add("x-ratelimit-limit", "5000".to_owned());
                add("x-ratelimit-remaining", "0".to_owned());
                add("x-ratelimit-used", "5000".to_owned());
                add("x-ratelimit-reset", (now + reset_in).to_string());
                (
                    StatusCode::FORBIDDEN,
                    json!({"message": "API rate limit exceeded for user.",
                           "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
                )
            }
            RateLimit::GitLab { reset_in } => {
                add("ratelimit-limit", "600".to_owned());
                add("ratelimit-observed", "601".to_owned());
                add("ratelimit-remaining", "0".to_owned());
                add("ratelimit-reset", (now + reset_in).to_string());
                (
                    StatusCode::TOO_MANY_REQUESTS,
                    json!({"message": {"error": "This endpoint has been requested too many times. Try again later."}}),
                )
            }
        };
        Reply {
            status,
            body,
            headers,
        }
    }
}

/// Requests held until `count` of them have arrived, so two clients' requests are handled at the
/// same moment however the scheduler ran them (a race made to happen every time).
struct Gather {
    method: String,
    path_contains: String,
    count: usize,
    within: Duration,
    arrived: usize,
    /// Flips to true when the last of `count` arrives; the held requests wait on it.
    all_here: watch::Sender<bool>,
}

impl Gather {
    fn report(&self) -> FaultRule {
        FaultRule {
            rule: format!(
                "{} …{}: held until {} have arrived (at most {:?})",
                self.method, self.path_contains, self.count, self.within
            ),
            shots: Some(self.count),
            // It fired when every request it waited for came; fewer is a race that did not happen.
            fired: usize::from(*self.all_here.borrow()),
        }
    }
}

impl Shared {
    pub fn new(config: &ForgeConfig, base_url: String) -> std::io::Result<Shared> {
        Ok(Shared {
            username: config.username.clone(),
            password: config.password.clone(),
            base_url: Mutex::new(base_url),
            repos: Repos::new(&config.username)?,
            platform: config.platform,
            gitlab_hooks: match config.platform {
                Some(Platform::GitLab) => Some(git_http::gitlab_hooks()?),
                _ => None,
            },
            log: Mutex::new(Vec::new()),
            gathers: Mutex::new(Vec::new()),
            rate_limits: Mutex::new(Vec::new()),
        })
    }

    /// The root of clone URLs and web links, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Name `url` as the root of clone URLs and web links from now on.
    pub fn set_base_url(&self, url: &str) {
        *self.base_url.lock().unwrap_or_else(PoisonError::into_inner) =
            url.trim_end_matches('/').to_owned();
    }

    /// Refuse the next `times` API calls matching `method` and `path_contains` with `limit`.
    pub fn rate_limit(&self, method: &str, path_contains: &str, times: usize, limit: RateLimit) {
        self.rate_limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(RateLimitRule {
                method: method.to_ascii_uppercase(),
                path_contains: path_contains.to_owned(),
                limit,
                times,
                left: times,
            });
    }

    /// The refusal of an API call a rate-limit rule still has shots for.
    fn rate_limited(&self, method: &str, path: &str) -> Option<Reply> {
        let mut rules = self
            .rate_limits
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let rule = rules.iter_mut().find(|rule| {
            rule.left > 0 && rule.method == method && path.contains(&rule.path_contains)
        })?;
        rule.left -= 1;
        Some(rule.reply())
    }

    /// Hold the next `count` requests matching `method` and `path_contains` until all have
    /// arrived, or `within` has passed (then each goes on alone, and the rule reports it).
    pub fn gather(&self, method: &str, path_contains: &str, count: usize, within: Duration) {
        self.gathers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Gather {
                method: method.to_ascii_uppercase(),
                path_contains: path_contains.to_owned(),
                count,
                within,
                arrived: 0,
                all_here: watch::channel(false).0,
            });
    }

    /// Every rule armed, with whether it fired.
    pub fn rules(&self) -> Vec<FaultRule> {
        let mut rules: Vec<FaultRule> = self
            .gathers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(Gather::report)
            .collect();
        rules.extend(
            self.rate_limits
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(RateLimitRule::report),
        );
        rules
    }

    /// Wait here while a gather this request belongs to is still waiting for others.
    async fn wait_for_others(&self, method: &str, path: &str) {
        let waiting = {
            let mut gathers = self.gathers.lock().unwrap_or_else(PoisonError::into_inner);
            let Some(gather) = gathers.iter_mut().find(|gather| {
                gather.arrived < gather.count
                    && gather.method == method
                    && path.contains(&gather.path_contains)
            }) else {
                return;
            };
            gather.arrived += 1;
            if gather.arrived == gather.count {
                gather.all_here.send_replace(true);
                return;
            }
            (gather.all_here.subscribe(), gather.within)
        };
        let (mut all_here, within) = waiting;
        let _ = tokio::time::timeout(within, all_here.wait_for(|here| *here)).await;
    }

    fn log(&self) -> MutexGuard<'_, Vec<LogEntry>> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn log_snapshot(&self) -> Vec<RequestRecord> {
        self.log()
            .iter()
            .map(|entry| RequestRecord {
                method: entry.method.clone(),
                path: entry.path.clone(),
                query: entry.query.clone(),
                status: entry.status,
                credentials: entry.credentials,
                scheme: entry.scheme.clone(),
                request_bytes: entry.counters.request.load(Ordering::Relaxed),
                response_bytes: entry.counters.response.load(Ordering::Relaxed),
            })
            .collect()
    }

    pub fn clear_log(&self) {
        self.log().clear();
    }

    /// Who sent `headers`, by the rules of this forge's platform for `surface`.
    pub fn caller(&self, headers: &axum::http::HeaderMap, surface: Surface) -> Caller {
        caller(
            headers,
            &self.username,
            &self.password,
            self.platform,
            surface,
        )
    }
}

/// A JSON answer from one of the APIs.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: Vec<(header::HeaderName, String)>,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body,
            headers: Vec::new(),
        }
    }

    fn into_response(self) -> Response<Body> {
        let mut builder = Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8");
        for (name, value) in self.headers {
            builder = builder.header(name, value);
        }
        builder
            .body(Body::from(
                serde_json::to_vec(&self.body).unwrap_or_default(),
            ))
            .unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut signal: watch::Receiver<bool>) {
    let router = Router::new().fallback(handle).with_state(shared);
    let stopped = async move {
        let _ = signal.wait_for(|stop| *stop).await;
    };
    // git clients keep connections alive: stop accepting and return without waiting for them.
    tokio::select! {
        _ = axum::serve(listener, router) => {}
        _ = stopped => {}
    }
}

/// Path segments, percent-decoded (GitLab's `:id` may be `group%2Fproject`).
pub fn segments(path: &str) -> Vec<String> {
    path.trim_matches('/')
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(|segment| {
            percent_encoding::percent_decode_str(segment)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request<Body>) -> Response<Body> {
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().to_owned();
    let query = request.uri().query().unwrap_or_default().to_owned();
    let parts = segments(&path);
    if parts.first().is_some_and(|first| first == "_emulator") {
        return control(&shared, &method, &parts[1..]);
    }
    let surface = match parts.first().map(String::as_str) {
        Some("api") => Surface::Api,
        _ => Surface::Git,
    };
    let credentials = match shared.caller(request.headers(), surface) {
        Caller::Anonymous => CredentialsSeen::None,
        Caller::Rejected => CredentialsSeen::Rejected,
        Caller::User => CredentialsSeen::Accepted,
    };
    let scheme = auth::scheme(request.headers(), &shared.password);
    shared.wait_for_others(&method, &path).await;
    let counters = Counters::default();
    let limited = match surface {
        Surface::Api => shared.rate_limited(&method, &path),
        Surface::Git => None,
    };
    let response = match limited {
        Some(reply) => reply.into_response(),
        None => route(&shared, request, parts, &counters).await,
    };
    shared.log().push(LogEntry {
        method,
        path,
        query,
        status: response.status().as_u16(),
        credentials,
        scheme,
        counters,
    });
    response
}

async fn route(
    shared: &Arc<Shared>,
    request: Request<Body>,
    parts: Vec<String>,
    counters: &Counters,
) -> Response<Body> {
    if parts.first().is_some_and(|first| first == "api") && parts.len() >= 2 {
        let (head, body) = request.into_parts();
        let bytes = match axum::body::to_bytes(body, API_BODY_LIMIT).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return Reply::json(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"message": "request body too large"}),
                )
                .into_response()
            }
        };
        counters
            .request
            .store(bytes.len() as u64, Ordering::Relaxed);
        let call = api::Call {
            method: head.method.as_str(),
            segments: &parts[2..],
            query: head.uri.query().unwrap_or_default(),
            headers: &head.headers,
            body: &bytes,
        };
        // A platform serves its own API only.
        let serves = |platform| shared.platform.is_none_or(|own| own == platform);
        let reply = match parts[1].as_str() {
            "v1" if serves(Platform::Gitea) => api::gitea(shared, &call),
            "v3" if serves(Platform::GitHub) => api::github(shared, &call),
            "v4" if serves(Platform::GitLab) => api::gitlab(shared, &call),
            _ => api::not_found(),
        };
        let body = serde_json::to_vec(&reply.body).unwrap_or_default();
        counters
            .response
            .store(body.len() as u64, Ordering::Relaxed);
        return reply.into_response();
    }
    if let Some(target) = git_http::target(&parts) {
        return git_http::serve(shared, request, target, counters).await;
    }
    Response::builder()
        .status(StatusCode::NOT_FOUND)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Body::from("Not found.\n"))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// `/_emulator/*`: the request log, never logged itself.
fn control(shared: &Shared, method: &str, parts: &[String]) -> Response<Body> {
    let reply = match (method, parts.first().map(String::as_str)) {
        ("GET", Some("requests")) => Reply::json(
            StatusCode::OK,
            serde_json::to_value(shared.log_snapshot()).unwrap_or(Value::Null),
        ),
        ("DELETE", Some("requests")) => {
            shared.clear_log();
            Reply::json(StatusCode::OK, json!({}))
        }
        _ => Reply::json(StatusCode::NOT_FOUND, json!({"message": "unknown route"})),
    };
    reply.into_response()
}
