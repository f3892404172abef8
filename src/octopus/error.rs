//! Errors from talking to an Octopus server: what was asked, what came back, and why it failed.

use reqwest::{Method, StatusCode};
use std::fmt;

/// An Octopus error body (`{ErrorMessage, Errors[]}`), as far as the server sent one.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ErrorBody {
    #[serde(rename = "ErrorMessage", default)]
    pub message: Option<String>,
    #[serde(rename = "Errors", default)]
    pub errors: Option<Vec<String>>,
}

/// The request an error belongs to: method and path (never the query string, which may carry
/// an `apikey`, and never headers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    pub method: Method,
    pub path: String,
}

impl fmt::Display for RequestLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OctopusError {
    /// The server answered with a non-success status.
    #[error("{request} returned {status}: {}", describe(.message, .errors))]
    Api {
        request: RequestLine,
        status: StatusCode,
        message: Option<String>,
        errors: Vec<String>,
        /// The server's `Retry-After`, for 429 and 503.
        retry_after: Option<std::time::Duration>,
    },
    /// The request never got an answer: connection refused, reset, DNS, TLS, timeout.
    #[error("{request} failed: {}", transport_cause(.source))]
    Transport {
        request: RequestLine,
        #[source]
        source: reqwest::Error,
    },
    /// The answer did not have the shape we expect; names the JSON path that failed.
    #[error("{request}: unexpected response at JSON path `{path}`: {message}")]
    Decode {
        request: RequestLine,
        path: String,
        message: String,
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

fn transport_cause(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the connection closed while reading the response"
    } else {
        "the connection failed"
    }
}

impl OctopusError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            OctopusError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status() == Some(StatusCode::NOT_FOUND)
    }

    pub fn is_unauthorized(&self) -> bool {
        matches!(
            self.status(),
            Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        )
    }

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
            OctopusError::Transport { .. } => true,
            _ => false,
        }
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
