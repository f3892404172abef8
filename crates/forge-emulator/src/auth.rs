//! Who is calling: HTTP Basic (user and password, or a token-style username with the password as
//! the token, as git clients send), `Authorization: token|Bearer <token>`, GitLab's `PRIVATE-TOKEN`.
//! The emulator's one user has one password, which also serves as its token.

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No credentials at all.
    Anonymous,
    /// Credentials that are not the user's.
    Rejected,
    User,
}

/// Usernames git clients send with a token as the password (GitHub, GitLab).
const TOKEN_USERNAMES: &[&str] = &["x-access-token", "oauth2", "x-oauth-basic", "git"];

pub fn caller(headers: &HeaderMap, username: &str, password: &str) -> Caller {
    if let Some(token) = headers.get("private-token") {
        return verdict(token.to_str().is_ok_and(|token| token == password));
    }
    let Some(value) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    else {
        return Caller::Anonymous;
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim();
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => {
            let decoded = STANDARD
                .decode(rest)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok());
            let Some((user, secret)) = decoded.as_deref().and_then(|text| text.split_once(':'))
            else {
                return Caller::Rejected;
            };
            // Gitea: an empty password (or `x-oauth-basic`) means the username is the token.
            let token_as_username =
                (secret.is_empty() || secret == "x-oauth-basic") && user == password;
            let user_ok = user.eq_ignore_ascii_case(username)
                || TOKEN_USERNAMES.contains(&user.to_ascii_lowercase().as_str());
            verdict(token_as_username || (user_ok && secret == password))
        }
        "token" | "bearer" => verdict(rest == password),
        _ => Caller::Rejected,
    }
}

fn verdict(ok: bool) -> Caller {
    if ok {
        Caller::User
    } else {
        Caller::Rejected
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn schemes() {
        let basic = |user: &str, pass: &str| {
            with(
                "authorization",
                &format!("Basic {}", STANDARD.encode(format!("{user}:{pass}"))),
            )
        };
        assert_eq!(caller(&HeaderMap::new(), "u", "p"), Caller::Anonymous);
        assert_eq!(caller(&basic("u", "p"), "u", "p"), Caller::User);
        assert_eq!(caller(&basic("U", "p"), "u", "p"), Caller::User);
        assert_eq!(caller(&basic("oauth2", "p"), "u", "p"), Caller::User);
        assert_eq!(caller(&basic("p", ""), "u", "p"), Caller::User);
        assert_eq!(caller(&basic("u", "x"), "u", "p"), Caller::Rejected);
        assert_eq!(caller(&basic("v", "p"), "u", "p"), Caller::Rejected);
        assert_eq!(
            caller(&with("authorization", "token p"), "u", "p"),
            Caller::User
        );
        assert_eq!(
            caller(&with("authorization", "Bearer x"), "u", "p"),
            Caller::Rejected
        );
        assert_eq!(caller(&with("private-token", "p"), "u", "p"), Caller::User);
    }
}
