//! Errors from talking to an Octopus server: what was asked, what came back, and why it failed.

use reqwest::{Method, StatusCode};
use std::fmt;

/// Characters kept of one error text (`ErrorMessage`, one of `Errors[]`, a decode message): a
/// server that echoes a 1 MiB bad value must not turn into a 1 MiB error message.
pub const MAX_ERROR_TEXT_CHARS: usize = 400;
/// `Errors[]` entries kept; the rest are counted.
pub const MAX_ERRORS: usize = 10;

/// `text` cut to `max` characters, saying how many more there were.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let more = text[end..].chars().count();
            format!("{}… ({more} more characters)", &text[..end])
        }
    }
}

/// An Octopus error body (`{ErrorMessage, Errors[]}`), as far as the server sent one.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ErrorBody {
    /// `ErrorMessage`.
    #[serde(rename = "ErrorMessage", default)]
    pub message: Option<String>,
    /// `Errors[]`: the details, one per problem.
    #[serde(rename = "Errors", default)]
    pub errors: Option<Vec<String>>,
}

impl ErrorBody {
    /// The message and errors cut to a bounded size, as they are kept in [`OctopusError::Api`].
    pub fn bounded(self) -> (Option<String>, Vec<String>) {
        let message = self
            .message
            .map(|message| truncate(&message, MAX_ERROR_TEXT_CHARS));
        let all = self.errors.unwrap_or_default();
        let mut errors: Vec<String> = all
            .iter()
            .take(MAX_ERRORS)
            .map(|error| truncate(error, MAX_ERROR_TEXT_CHARS))
            .collect();
        if all.len() > MAX_ERRORS {
            errors.push(format!("… ({} more errors)", all.len() - MAX_ERRORS));
        }
        (message, errors)
    }
}

/// The request an error belongs to: method and path (never the query string, which may carry
/// an `apikey`, and never headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// The HTTP method.
    pub method: Method,
    /// The path, without the query string.
    pub path: String,
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// Why a request to an Octopus server failed.
#[derive(Debug, thiserror::Error)]
pub enum OctopusError {
    /// The server answered with a non-success status.
    #[error("{request} returned {status}: {}{}", describe(.message, .errors), permission_hint(*.status, .message))]
    Api {
        /// The request it answered.
        request: RequestLine,
        /// The status it answered with.
        status: StatusCode,
        /// `ErrorMessage`, bounded.
        message: Option<String>,
        /// `Errors[]`, bounded.
        errors: Vec<String>,
        /// The server's `Retry-After`, for 429 and 503.
        retry_after: Option<std::time::Duration>,
    },
    /// The request never got an answer: connection refused, reset, DNS, TLS, timeout.
    #[error("{request} failed: {}{}", transport_cause(.source), certificate_hint(.source))]
    Transport {
        /// The request that got no answer.
        request: RequestLine,
        /// What the HTTP client saw.
        #[source]
        source: reqwest::Error,
    },
    /// The answer did not have the shape we expect; names the JSON path that failed.
    #[error("{request}: unexpected response at JSON path `{path}`: {message}")]
    Decode {
        /// The request whose answer did not fit.
        request: RequestLine,
        /// The JSON path where decoding failed.
        path: String,
        /// What serde said, bounded.
        message: String,
    },
    /// A redirect or a server link led to another origin (or from https to http); the API key is
    /// not sent there.
    #[error(transparent)]
    CrossOrigin(#[from] crate::origin::CrossOrigin),
    /// The response body was larger than this kind of response may be.
    #[error("{request}: the response is larger than {limit_mib} MiB, the most octofleet reads for {what}")]
    TooLarge {
        /// The request whose answer was too large.
        request: RequestLine,
        /// The limit, in MiB.
        limit_mib: u64,
        /// What kind of answer it was (a JSON document, a package).
        what: &'static str,
    },
    /// The base URL or a link could not be turned into a request URL.
    #[error("cannot build a request URL from `{0}`")]
    Url(String),
}

fn describe(message: &Option<String>, errors: &[String]) -> String {
    let mut text = message
        .clone()
        .unwrap_or_else(|| "no error message".to_owned());
    if !errors.is_empty() {
        text.push_str(" (");
        text.push_str(&errors.join("; "));
        text.push(')');
    }
    text
}

/// A 403 names the permission the key's user lacks ("… Missing permission: SpaceCreate";
/// OctopusDeploy/Issues#9197, #7181, OctopusClients#391): say what to do about it.
fn permission_hint(status: StatusCode, message: &Option<String>) -> String {
    if status != StatusCode::FORBIDDEN {
        return String::new();
    }
    let permission = message
        .as_deref()
        .and_then(|m| m.split("Missing permission:").nth(1))
        .map(|rest| rest.trim().trim_end_matches('.').to_owned());
    match permission {
        Some(permission) if !permission.is_empty() => format!(
            " — the API key's user lacks the Octopus permission {permission}: add the user to a team whose role grants it (in this space), or use another user's API key"
        ),
        _ => " — the API key's user lacks a permission this needs: check the user's teams and roles in this space".to_owned(),
    }
}

/// Whether the TLS handshake refused the server's certificate (rustls: "invalid peer
/// certificate: UnknownIssuer", or BadSignature, Expired, …): it fails the same way every time.
fn is_untrusted_certificate(error: &reqwest::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = cause {
        if current.to_string().contains("invalid peer certificate") {
            return true;
        }
        cause = current.source();
    }
    false
}

fn transport_cause(error: &reqwest::Error) -> &'static str {
    if is_untrusted_certificate(error) {
        "the server's TLS certificate was not trusted"
    } else if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the connection closed while reading the response"
    } else {
        "the connection failed"
    }
}

/// A server whose certificate was not trusted: the input that makes it trusted (as the forge's
/// and git's errors say it).
fn certificate_hint(error: &reqwest::Error) -> String {
    let url = error.url().map(|url| url.as_str()).unwrap_or_default();
    crate::http_client::untrusted_certificate_hint(url, error)
}

impl OctopusError {
    /// The status the server answered with, when it answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            OctopusError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    /// The server refused the API key or its user's permissions (401 or 403).
    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            OctopusError::Api { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Worth another try for an idempotent request: the server was busy or the wire failed.
    pub fn is_transient(&self) -> bool {
        match self {
            OctopusError::Api { status, .. } => {
                status.is_server_error() || *status == StatusCode::TOO_MANY_REQUESTS
            }
            // A refused redirect or certificate fails the same way every time.
            OctopusError::Transport { source, .. } => {
                !source.is_redirect() && !is_untrusted_certificate(source)
            }
            _ => false,
        }
    }

    /// No answer within the request timeout (retried fewer times than other transient failures).
    pub fn is_timeout(&self) -> bool {
        matches!(self, OctopusError::Transport { source, .. } if source.is_timeout())
    }

    /// All the text of an API error (message and `Errors[]`), for matching known conditions.
    pub fn api_text(&self) -> String {
        match self {
            OctopusError::Api {
                message, errors, ..
            } => describe(message, errors),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_error_text_is_cut_and_counted() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("abcdef", 3), "abc… (3 more characters)");
        assert_eq!(truncate("ééé", 1), "é… (2 more characters)");
        let body = ErrorBody {
            message: Some("x".repeat(1 << 20)),
            errors: Some(vec!["y".repeat(5000); 1000]),
        };
        let (message, errors) = body.bounded();
        let message = message.unwrap();
        assert!(message.len() < 500, "{}", message.len());
        assert!(message.ends_with(&format!(
            "({} more characters)",
            (1 << 20) - MAX_ERROR_TEXT_CHARS
        )));
        assert_eq!(errors.len(), MAX_ERRORS + 1);
        assert_eq!(errors[MAX_ERRORS], "… (990 more errors)");
        assert!(describe(&Some(message), &errors).len() < 8 * 1024);
    }
}
