//! What a handler answers: a status with a JSON or byte body, and the Octopus-shaped error bodies.

use axum::http::StatusCode;
use serde_json::{json, Value};

/// A handler's answer before it becomes an HTTP response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: ReplyBody,
    pub headers: Vec<(&'static str, String)>,
}

#[derive(Debug, Clone)]
pub enum ReplyBody {
    Json(Value),
    Bytes {
        content_type: &'static str,
        bytes: Vec<u8>,
    },
    /// DELETE answers 200 with no body.
    Empty,
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: ReplyBody::Json(body),
            headers: Vec::new(),
        }
    }

    pub fn ok(body: Value) -> Reply {
        Reply::json(StatusCode::OK, body)
    }

    pub fn created(body: Value) -> Reply {
        Reply::json(StatusCode::CREATED, body)
    }

    /// `200 {}`, the answer of several newer write routes (git credentials, convert, project variables).
    pub fn empty_object() -> Reply {
        Reply::ok(json!({}))
    }

    pub fn no_content() -> Reply {
        Reply {
            status: StatusCode::OK,
            body: ReplyBody::Empty,
            headers: Vec::new(),
        }
    }

    pub fn bytes(content_type: &'static str, bytes: Vec<u8>) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: ReplyBody::Bytes {
                content_type,
                bytes,
            },
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }
}

/// An error as the real server reports it: `{ErrorMessage, Errors[], FullException?}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub errors: Vec<String>,
    pub full_exception: Option<String>,
}

pub type ApiResult<T = Reply> = Result<T, ApiError>;

/// The generic headline of every 400/500 from Octopus; the detail goes into `Errors`.
pub const PROBLEM: &str = "There was a problem with your request.";

/// The 401 answer to a missing or wrong API key.
pub const UNAUTHORIZED: &str = "You must be logged in to request this resource or provide a valid API key. Your account may have been disabled, please contact your Octopus administrator.";

impl ApiError {
    /// 400 with one validation message, the shape of every Octopus validation failure.
    pub fn bad_request(error: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: PROBLEM.to_string(),
            errors: vec![error.into()],
            full_exception: None,
        }
    }

    pub fn required(field: &str) -> ApiError {
        ApiError::bad_request(format!("The {field} field is required."))
    }

    pub fn not_found(id: &str) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: format!("The resource '{id}' was not found."),
            errors: Vec::new(),
            full_exception: None,
        }
    }

    pub fn unknown_route() -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: "The resource you requested was not found.".to_string(),
            errors: Vec::new(),
            full_exception: None,
        }
    }

    pub fn method_not_allowed(method: &str) -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            message: format!("The requested resource does not support http method '{method}'."),
            errors: Vec::new(),
            full_exception: None,
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            message: UNAUTHORIZED.to_string(),
            errors: Vec::new(),
            full_exception: None,
        }
    }

    /// 409 with the message both as headline and as the single error, so either reader finds it.
    pub fn conflict(message: &str) -> ApiError {
        ApiError {
            status: StatusCode::CONFLICT,
            message: message.to_string(),
            errors: vec![message.to_string()],
            full_exception: None,
        }
    }

    /// 500 as a real server crash looks: generic headline plus a .NET stack trace.
    pub fn internal(full_exception: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: PROBLEM.to_string(),
            errors: Vec::new(),
            full_exception: Some(full_exception.into()),
        }
    }

    pub fn with_status(status: StatusCode, message: &str) -> ApiError {
        ApiError {
            status,
            message: message.to_string(),
            errors: Vec::new(),
            full_exception: None,
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({ "ErrorMessage": self.message, "Errors": self.errors });
        if let Some(full) = &self.full_exception {
            body["FullException"] = Value::String(full.clone());
        }
        body
    }
}

impl From<ApiError> for Reply {
    fn from(error: ApiError) -> Reply {
        Reply::json(error.status, error.body())
    }
}
