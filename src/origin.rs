//! Where a credential may go: only to the origin (scheme, host, port) it was configured for, so
//! redirects and server-provided links to another origin, or from https down to http, are refused,
//! and URLs that carry credentials in their userinfo are refused or shown without it.

use url::Url;

/// Redirects followed at most (reqwest's own default is 10).
const MAX_REDIRECTS: usize = 10;

/// A redirect or link that would take a credential to another origin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused to follow {kind} from {from} to {to}: octofleet sends credentials only to {allowed}; point the input at the server's final address")]
pub struct CrossOrigin {
    pub kind: &'static str,
    pub from: String,
    pub to: String,
    pub allowed: String,
}

/// Same scheme, host and port. `https` → `http` on the same host is another origin (a downgrade).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// Check that `to` (a redirect target or a link) stays on `allowed`'s origin.
pub fn check(kind: &'static str, allowed: &Url, from: &Url, to: &Url) -> Result<(), CrossOrigin> {
    if same_origin(allowed, to) {
        Ok(())
    } else {
        Err(CrossOrigin {
            kind,
            from: display(from),
            to: display(to),
            allowed: allowed.origin().ascii_serialization(),
        })
    }
}

/// A reqwest redirect policy that follows redirects only within the origin of the request that
/// started the chain (the origin its credential was configured for: every client sends requests
/// to one configured origin, and git's to the side's own). reqwest strips `Authorization` and
/// cookies across hosts but not custom headers such as `X-Octopus-ApiKey` or `PRIVATE-TOKEN`, so
/// the policy must refuse the hop itself.
pub fn redirect_policy() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
        }
        // reqwest lists every URL of the chain so far, the first request's included.
        let (Some(allowed), Some(from)) = (attempt.previous().first(), attempt.previous().last())
        else {
            return attempt.error("a redirect with no request before it");
        };
        match check("a redirect", allowed, from, attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(refused) => attempt.error(refused),
        }
    })
}

/// Whether the URL carries a user name or password (`https://user:pass@host/`).
pub fn has_userinfo(url: &Url) -> bool {
    !url.username().is_empty() || url.password().is_some()
}

/// The URL as it may be shown: without userinfo, query or fragment (either may hold a token).
pub fn display(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// As [`display`], for text that may not even parse as a URL: whatever sits between `://` and
/// the last `@` before the host is cut out.
pub fn display_text(text: &str) -> String {
    if let Ok(url) = Url::parse(text) {
        return display(&url);
    }
    match text.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
                None => text.to_owned(),
            }
        }
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn origins_differ_by_host_port_and_scheme() {
        let base = url("https://octo.example.com/octopus/");
        assert!(same_origin(
            &base,
            &url("https://octo.example.com/api/spaces")
        ));
        assert!(same_origin(&base, &url("https://OCTO.example.com:443/x")));
        assert!(!same_origin(&base, &url("https://evil.example.com/")));
        assert!(!same_origin(&base, &url("https://octo.example.com:8443/")));
        assert!(!same_origin(&base, &url("http://octo.example.com/")));
        let refused =
            check("a link", &base, &base, &url("http://octo.example.com/api")).unwrap_err();
        assert!(
            refused.to_string().contains("https://octo.example.com"),
            "{refused}"
        );
    }

    #[test]
    fn userinfo_is_found_and_never_shown() {
        assert!(has_userinfo(&url("https://user:pass@h/")));
        assert!(has_userinfo(&url("https://user@h/")));
        assert!(!has_userinfo(&url("https://h/")));
        assert_eq!(
            display(&url("https://user:pass@h/a?token=x#f")),
            "https://h/a"
        );
        assert_eq!(display_text("https://u:p@h:99/x"), "https://h:99/x");
        // An invalid port keeps it from parsing: the userinfo still goes.
        assert_eq!(display_text("https://u:p@h:99999/x"), "https://h:99999/x");
        assert_eq!(display_text("not a url"), "not a url");
    }
}
