//! Octopus service messages (`##octopus[...]`) on stdout, encoded the way Calamari's parser reads them.
//!
//! Every attribute value is standard base64 of UTF-8 on one line; each message is one line,
//! flushed at once so Octopus sees it even if the process dies right after.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::io::Write;

/// One service message: a name and its attributes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMessage {
    name: &'static str,
    attributes: Vec<(&'static str, String)>,
}

impl ServiceMessage {
    /// An output variable, `#{Octopus.Action[Step].Output.<name>}` in later steps.
    pub fn set_variable(name: &str, value: &str) -> Self {
        ServiceMessage {
            name: "setVariable",
            attributes: vec![("name", name.to_owned()), ("value", value.to_owned())],
        }
    }

    /// A sensitive output variable: Octopus masks it in logs.
    pub fn set_sensitive_variable(name: &str, value: &str) -> Self {
        let mut message = Self::set_variable(name, value);
        message.attributes.push(("sensitive", "True".to_owned()));
        message
    }

    /// Task progress: `percentage` (at most 100) and what is being done.
    pub fn progress(percentage: u8, message: &str) -> Self {
        ServiceMessage {
            name: "progress",
            attributes: vec![
                ("percentage", percentage.min(100).to_string()),
                ("message", message.to_owned()),
            ],
        }
    }

    /// The text Octopus shows instead of "The remote script failed with exit code N".
    pub fn result_message(message: &str) -> Self {
        ServiceMessage {
            name: "resultMessage",
            attributes: vec![("message", message.to_owned())],
        }
    }

    /// Attach a file to the deployment or runbook run; `path` should be absolute.
    pub fn create_artifact(path: &str, name: &str, length: u64) -> Self {
        ServiceMessage {
            name: "createArtifact",
            attributes: vec![
                ("path", path.to_owned()),
                ("name", name.to_owned()),
                ("length", length.to_string()),
            ],
        }
    }

    /// Switch the level of following stdout lines (`stdout-warning`, `stdout-default`, ...).
    pub fn stdout_level(level: StdoutLevel) -> Self {
        ServiceMessage {
            name: level.message_name(),
            attributes: Vec::new(),
        }
    }

    /// The wire form: `##octopus[name a='base64' b='base64']`.
    pub fn render(&self) -> String {
        let mut line = format!("##octopus[{}", self.name);
        for (key, value) in &self.attributes {
            line.push_str(&format!(" {key}='{}'", STANDARD.encode(value.as_bytes())));
        }
        line.push(']');
        line
    }
}

/// The level Octopus gives the stdout lines that follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StdoutLevel {
    /// Back to the default (info).
    Default,
    /// Verbose: hidden unless the reader asks for it.
    Verbose,
    /// A warning.
    Warning,
    /// Highlighted info.
    Highlight,
    /// An error (the step still runs on).
    Error,
}

impl StdoutLevel {
    fn message_name(self) -> &'static str {
        match self {
            StdoutLevel::Default => "stdout-default",
            StdoutLevel::Verbose => "stdout-verbose",
            StdoutLevel::Warning => "stdout-warning",
            StdoutLevel::Highlight => "stdout-highlight",
            StdoutLevel::Error => "stdout-error",
        }
    }
}

/// Print messages to stdout, one line each, flushed.
pub fn emit(messages: &[ServiceMessage]) {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for message in messages {
        // A closed stdout must not turn a finished action into a failure.
        let _ = writeln!(out, "{}", message.render());
    }
    let _ = out.flush();
}

/// Parse one rendered line back (for tests and for the sandbox, which reads our own output).
pub fn parse(line: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = line.find("##octopus[")? + "##octopus[".len();
    let end = start + line[start..].find(']')?;
    let body = &line[start..end];
    let mut parts = body.splitn(2, ' ');
    let name = parts.next()?.to_owned();
    let mut attributes = Vec::new();
    let mut rest = parts.next().unwrap_or("").trim();
    while !rest.is_empty() {
        let eq = rest.find("='")?;
        let key = rest[..eq].trim().to_owned();
        let after = &rest[eq + 2..];
        let close = after.find('\'')?;
        let decoded = STANDARD.decode(&after[..close]).ok()?;
        attributes.push((key, String::from_utf8(decoded).ok()?));
        rest = after[close + 1..].trim();
    }
    Some((name, attributes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_variable_matches_calamari_example() {
        // The example from the Calamari bootstrap documentation.
        assert_eq!(
            ServiceMessage::set_variable("SpaceID", "Spaces-42").render(),
            "##octopus[setVariable name='U3BhY2VJRA==' value='U3BhY2VzLTQy']"
        );
    }

    #[test]
    fn progress_and_sensitive_render_and_parse_back() {
        let line = ServiceMessage::progress(50, "Forking repo").render();
        assert_eq!(
            line,
            "##octopus[progress percentage='NTA=' message='Rm9ya2luZyByZXBv']"
        );
        let line = ServiceMessage::set_sensitive_variable("Token", "s3cret ]'\n").render();
        assert!(!line.contains('\n'));
        let (name, attributes) = parse(&line).unwrap();
        assert_eq!(name, "setVariable");
        assert_eq!(attributes[1], ("value".into(), "s3cret ]'\n".into()));
        assert_eq!(attributes[2], ("sensitive".into(), "True".into()));
    }

    #[test]
    fn levels_render_without_attributes() {
        assert_eq!(
            ServiceMessage::stdout_level(StdoutLevel::Warning).render(),
            "##octopus[stdout-warning]"
        );
        let artifact = ServiceMessage::create_artifact("/tmp/a.zip", "a.zip", 12).render();
        let (_, attributes) = parse(&artifact).unwrap();
        assert_eq!(attributes[2], ("length".into(), "12".into()));
        let (_, attributes) = parse(&ServiceMessage::result_message("boom").render()).unwrap();
        assert_eq!(attributes[0].1, "boom");
    }
}
