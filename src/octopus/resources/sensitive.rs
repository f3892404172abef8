//! Octopus's two encodings of values that may be secret: `SensitiveValue` objects and property values.

use super::Extra;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};

/// `{HasValue, NewValue}`: write `NewValue` to set, send `HasValue:true, NewValue:null` to keep,
/// `HasValue:false` to clear. Servers never return `NewValue`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct SensitiveValue {
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub has_value: bool,
    #[serde(default)]
    pub new_value: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl SensitiveValue {
    pub fn set(value: Secret) -> Self {
        SensitiveValue {
            has_value: true,
            new_value: Some(value),
            ..Default::default()
        }
    }

    /// Keep whatever the server holds.
    pub fn keep() -> Self {
        SensitiveValue {
            has_value: true,
            new_value: None,
            ..Default::default()
        }
    }
}

/// A template default, tenant variable or action property: a plain string, or a
/// `SensitiveValue` object for secrets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    Text(String),
    Sensitive(SensitiveValue),
}

impl PropertyValue {
    pub fn as_text(&self) -> Option<&str> {
        match self {
            PropertyValue::Text(text) => Some(text),
            PropertyValue::Sensitive(_) => None,
        }
    }
}
