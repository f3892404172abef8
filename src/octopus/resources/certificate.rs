//! Certificates (`/api/{space}/certificates`): X.509 certificates steps and typed variables
//! refer to by id. The upload (`CertificateData`, `Password`) is write-only; the server derives
//! the thumbprint and the rest from it.

use super::{null_as_default, Extra, SensitiveValue};
use serde::{Deserialize, Serialize};

/// A certificate as the server stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Certificate {
    /// `Certificates-N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The space it lives in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub space_id: Option<String>,
    /// Unique in the space.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// The uploaded file, base64; never returned (`HasValue` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_data: Option<SensitiveValue>,
    /// The file's password (PFX); never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SensitiveValue>,
    /// The environments allowed to use it (empty: all).
    #[serde(default, deserialize_with = "null_as_default")]
    pub environment_ids: Vec<String>,
    /// Upper-case hex SHA-1 of the certificate, computed by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbprint: Option<String>,
    /// Derived and newer fields, kept for the next write.
    #[serde(flatten)]
    pub extra: Extra,
}

space_resource!(Certificate, "certificate", "certificates");
