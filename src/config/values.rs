//! Typed parsers of one input value. Each takes the raw text and returns the value, or the
//! problem to report against the input (the reader adds the input's names). A value repeated in
//! a problem goes through [`quoted`], and a URL through `origin::display_text` first.

use crate::inputs::quoted;
use crate::origin;
use crate::secret::Secret;
use std::path::PathBuf;
use std::time::Duration;
use url::Url;

/// What to tell the user about one kind of URL input.
pub struct UrlAdvice {
    /// After "has a user name or password in it, ".
    pub credential: &'static str,
    /// After "is not an http(s) URL: ".
    pub expected: &'static str,
}

/// An Octopus server's address.
pub const SERVER_URL: UrlAdvice = UrlAdvice {
    credential: "which would be sent and shown wherever the URL goes: give the server's address alone; the API key is the credential",
    expected: "use the server's address, e.g. https://octopus.example.com/",
};

/// An http(s) URL with a host and no userinfo. The value is never echoed as given: it may carry
/// a password.
pub fn http_url(text: &str, advice: &UrlAdvice) -> Result<Url, String> {
    let shown = quoted(&origin::display_text(text));
    match Url::parse(text) {
        Ok(url) if origin::has_userinfo(&url) => Err(format!(
            "{shown} has a user name or password in it, {}",
            advice.credential
        )),
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        Ok(_) => Err(format!(
            "{shown} is not an http(s) URL: {}",
            advice.expected
        )),
        Err(error) => Err(format!(
            "{shown} is not a valid URL ({error}): {}",
            advice.expected
        )),
    }
}

/// Octopus API keys are `API-` followed by upper-case letters and digits; the Go client (and so
/// the Terraform provider) refuses anything else before sending it, and so do we. The value
/// itself is never repeated in the message.
pub fn api_key(value: &str) -> Result<Secret, String> {
    let valid = value.strip_prefix("API-").is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    });
    if valid {
        Ok(Secret::new(value))
    } else {
        Err("is not an Octopus API key: it must look like API-XXXXXXXX (upper-case letters and digits); create one under your profile's API keys".to_owned())
    }
}

/// A PEM file to trust (its contents are checked where it is loaded).
pub fn ca_file(value: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(value);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} is not a readable file: give the path of a PEM certificate",
            path.display()
        ))
    }
}

/// A name (project, tenant, space): control characters are refused, since a name is printed in
/// logs and service messages, where a newline would forge a line of its own.
pub fn name(value: &str) -> Result<String, String> {
    if value.chars().any(char::is_control) {
        Err(format!(
            "{} has a control character (a line break or tab) in it: give the name on one line",
            quoted(value)
        ))
    } else {
        Ok(value.to_owned())
    }
}

/// A package ID as the built-in feed takes it: it becomes a path segment of feed requests, so
/// nothing else may pass (`../users/me` must not turn a download into another request).
pub fn package_id(id: &str) -> Result<String, String> {
    let valid = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !id.contains("..")
        && id.len() <= 100;
    if valid {
        Ok(id.to_owned())
    } else {
        Err(format!("{} is not a package ID: use letters, digits, `.`, `-` and `_`, starting with a letter or digit", quoted(id)))
    }
}

/// A package version (SemVer or Octopus's dotted numbers), also a path segment of feed requests.
pub fn package_version(version: &str) -> Result<String, String> {
    let valid = version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
        && !version.contains("..")
        && version.len() <= 100;
    if valid {
        Ok(version.to_owned())
    } else {
        Err(format!(
            "{} is not a package version: use a version such as 1.2.3 or 2026.11.26.120000",
            quoted(version)
        ))
    }
}

/// Octopus checkboxes send "True"/"False"; people type the rest.
pub fn boolean(value: &str) -> Result<bool, String> {
    match value.to_ascii_lowercase().as_str() {
        "false" | "no" | "0" | "off" => Ok(false),
        "true" | "yes" | "1" | "on" => Ok(true),
        _ => Err(format!(
            "{} is not a yes/no value: use True or False",
            quoted(value)
        )),
    }
}

/// The items of a comma-separated list, blanks dropped.
pub fn items(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A comma-separated list with a default; `-` means none.
pub fn list(value: Option<String>, default: &[&str]) -> Vec<String> {
    match value.as_deref() {
        None => default.iter().map(|item| item.to_string()).collect(),
        Some("-") => Vec::new(),
        Some(list) => items(list),
    }
}

/// A regular expression; `-` means none.
pub fn regex_or_none(pattern: &str) -> Result<Option<regex::Regex>, String> {
    if pattern == "-" {
        return Ok(None);
    }
    regex::Regex::new(pattern).map(Some).map_err(|error| {
        let reason = error
            .to_string()
            .lines()
            .last()
            .unwrap_or_default()
            .trim()
            .to_owned();
        format!(
            "{} is not a valid regular expression ({reason})",
            quoted(pattern)
        )
    })
}

/// A duration: `90`, `90s`, `10m` or `1h`, more than zero and at most a week (beyond that it is
/// a typo, and tokio's timer has a ceiling anyway).
pub fn timeout(text: &str) -> Result<Duration, String> {
    let (number, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let unit_seconds = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" => Some(1),
        "m" => Some(60),
        "h" => Some(3600),
        _ => None,
    };
    number
        .parse::<u64>()
        .ok()
        .zip(unit_seconds)
        .and_then(|(number, unit)| number.checked_mul(unit))
        .filter(|seconds| (1..=7 * 24 * 3600).contains(seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| format!(
            "`{}` is not a duration of at most a week: give seconds or a number with s, m or h, more than zero (90, 90s, 10m, 1h)",
            crate::octopus::error::truncate(text, 40)
        ))
}
