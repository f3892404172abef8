//! Who is calling, by the schemes the emulated platform accepts on its API and on git.
//!
//! The emulator's one user has one secret, which serves as its password and as its token. In a
//! platform mode only that platform's documented schemes count; anything else is `Rejected`
//! (credentials sent the wrong way), so a client that speaks the wrong scheme fails here as it
//! would there. Without a platform every scheme of all three counts.

use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// No credentials at all.
    Anonymous,
    /// Credentials that are not the user's, or sent in a scheme the platform does not take.
    Rejected,
    User,
}

/// Where a request goes: the REST API or git's smart HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Api,
    Git,
}

/// How a request carried its credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Presented {
    Basic {
        user: String,
        secret: String,
    },
    /// `Authorization: token …`.
    TokenHeader(String),
    /// `Authorization: Bearer …`.
    Bearer(String),
    /// GitLab's `PRIVATE-TOKEN: …`.
    PrivateToken(String),
    /// An `Authorization` header of another scheme, or one that does not decode.
    Unreadable,
}

/// Usernames git clients send with a token as the password (GitHub, GitLab).
const TOKEN_USERNAMES: &[&str] = &["x-access-token", "oauth2", "x-oauth-basic", "git"];

fn presented(headers: &HeaderMap) -> Option<Presented> {
    if let Some(token) = headers.get("private-token") {
        return Some(
            token
                .to_str()
                .map(|token| Presented::PrivateToken(token.to_owned()))
                .unwrap_or(Presented::Unreadable),
        );
    }
    let value = headers.get(axum::http::header::AUTHORIZATION)?;
    let Ok(value) = value.to_str() else {
        return Some(Presented::Unreadable);
    };
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let rest = rest.trim().to_owned();
    Some(match scheme.to_ascii_lowercase().as_str() {
        "basic" => STANDARD
            .decode(&rest)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .and_then(|text| {
                text.split_once(':').map(|(user, secret)| Presented::Basic {
                    user: user.to_owned(),
                    secret: secret.to_owned(),
                })
            })
            .unwrap_or(Presented::Unreadable),
        "token" => Presented::TokenHeader(rest),
        "bearer" => Presented::Bearer(rest),
        _ => Presented::Unreadable,
    })
}

/// The scheme a request used, for the request log: `Basic <username>` (plain `Basic` when the
/// username may be a token), `token`, `Bearer`, `PRIVATE-TOKEN`. Never a secret.
pub fn scheme(headers: &HeaderMap, password: &str) -> Option<String> {
    Some(match presented(headers)? {
        Presented::Basic { user, secret } => {
            let user_is_token = secret.is_empty() || secret == "x-oauth-basic" || user == password;
            if user_is_token {
                "Basic".to_owned()
            } else {
                format!("Basic {user}")
            }
        }
        Presented::TokenHeader(_) => "token".to_owned(),
        Presented::Bearer(_) => "Bearer".to_owned(),
        Presented::PrivateToken(_) => "PRIVATE-TOKEN".to_owned(),
        Presented::Unreadable => "unreadable".to_owned(),
    })
}

pub fn caller(
    headers: &HeaderMap,
    username: &str,
    password: &str,
    platform: Option<Platform>,
    surface: Surface,
) -> Caller {
    let Some(presented) = presented(headers) else {
        return Caller::Anonymous;
    };
    let token_ok = |token: &str| verdict(token == password);
    match (platform, surface, presented) {
        (_, _, Presented::Unreadable) => Caller::Rejected,
        (None, _, Presented::Basic { user, secret }) => {
            // Gitea: an empty password (or `x-oauth-basic`) means the username is the token.
            let token_as_username =
                (secret.is_empty() || secret == "x-oauth-basic") && user == password;
            let user_ok = user.eq_ignore_ascii_case(username)
                || TOKEN_USERNAMES.contains(&user.to_ascii_lowercase().as_str());
            verdict(token_as_username || (user_ok && secret == password))
        }
        (None, _, Presented::TokenHeader(token) | Presented::Bearer(token))
        | (None, _, Presented::PrivateToken(token)) => token_ok(&token),

        // Gitea (docs.gitea.com, "API Usage" → Authentication; services/auth/basic.go): Basic
        // with the user's password, or with a token as the password (any username: the token
        // names its owner), or the token as the username with an empty or `x-oauth-basic`
        // password; `Authorization: token|Bearer` on the API. No `PRIVATE-TOKEN`. That git
        // takes Basic only is unverified (git clients answer the Basic challenge).
        (Some(Platform::Gitea), _, Presented::Basic { user, secret }) => {
            let token_as_username =
                (secret.is_empty() || secret == "x-oauth-basic") && user == password;
            verdict(token_as_username || secret == password)
        }
        (
            Some(Platform::Gitea),
            Surface::Api,
            Presented::TokenHeader(token) | Presented::Bearer(token),
        ) => token_ok(&token),

        // GitHub REST: "you can use Authorization: Bearer or Authorization: token to pass a
        // token" (docs.github.com/en/rest/authentication/authenticating-to-the-rest-api); no
        // password and no Basic are documented there, so none counts here.
        (
            Some(Platform::GitHub),
            Surface::Api,
            Presented::TokenHeader(token) | Presented::Bearer(token),
        ) => token_ok(&token),
        // GitHub git: Basic with a token as the password, `x-access-token` being the username
        // for app installation tokens (docs.github.com, "Authenticating as a GitHub App
        // installation": `https://x-access-token:TOKEN@github.com/owner/repo.git`); passwords
        // were removed for git in 2021. Any username, or the token as the username with an
        // empty or `x-oauth-basic` password (GitHub's OAuth-over-HTTPS form), is accepted.
        (Some(Platform::GitHub), Surface::Git, Presented::Basic { user, secret }) => {
            let token_as_username =
                (secret.is_empty() || secret == "x-oauth-basic") && user == password;
            verdict(token_as_username || secret == password)
        }

        // GitLab REST: `PRIVATE-TOKEN` or `Authorization: Bearer`
        // (docs.gitlab.com/api/rest/authentication); `Authorization: token` is not GitLab's
        // (decaporg/decap-cms#7242), Basic is not taken by the API.
        (
            Some(Platform::GitLab),
            Surface::Api,
            Presented::PrivateToken(token) | Presented::Bearer(token),
        ) => token_ok(&token),
        // GitLab git: Basic with the user's name and password, or a token as the password with
        // any username, `oauth2` being the one OAuth tokens need (gitlab-org/gitlab#349461).
        // A token as the username is not a GitLab form.
        (Some(Platform::GitLab), Surface::Git, Presented::Basic { user, secret }) => {
            verdict(!user.is_empty() && secret == password)
        }

        // Anything else is a scheme the platform does not take there.
        (Some(_), _, _) => Caller::Rejected,
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

    fn basic(user: &str, pass: &str) -> HeaderMap {
        with(
            "authorization",
            &format!("Basic {}", STANDARD.encode(format!("{user}:{pass}"))),
        )
    }

    #[test]
    fn schemes_without_a_platform() {
        let any = |headers: &HeaderMap| caller(headers, "u", "p", None, Surface::Api);
        assert_eq!(any(&HeaderMap::new()), Caller::Anonymous);
        assert_eq!(any(&basic("u", "p")), Caller::User);
        assert_eq!(any(&basic("U", "p")), Caller::User);
        assert_eq!(any(&basic("oauth2", "p")), Caller::User);
        assert_eq!(any(&basic("p", "")), Caller::User);
        assert_eq!(any(&basic("u", "x")), Caller::Rejected);
        assert_eq!(any(&basic("v", "p")), Caller::Rejected);
        assert_eq!(any(&with("authorization", "token p")), Caller::User);
        assert_eq!(any(&with("authorization", "Bearer x")), Caller::Rejected);
        assert_eq!(any(&with("private-token", "p")), Caller::User);
    }

    /// Each platform takes its own schemes on each surface, and refuses the others' even with
    /// the right secret.
    #[test]
    fn each_platform_takes_only_its_own_schemes() {
        use Platform::*;
        use Surface::*;
        let token = with("authorization", "token p");
        let bearer = with("authorization", "Bearer p");
        let private = with("private-token", "p");
        let cases: &[(Platform, Surface, &HeaderMap, Caller)] = &[
            (Gitea, Api, &basic("u", "p"), Caller::User),
            (Gitea, Api, &basic("p", ""), Caller::User),
            (Gitea, Api, &token, Caller::User),
            (Gitea, Api, &bearer, Caller::User),
            (Gitea, Api, &private, Caller::Rejected),
            (Gitea, Git, &basic("u", "p"), Caller::User),
            (Gitea, Git, &token, Caller::Rejected),
            (GitHub, Api, &bearer, Caller::User),
            (GitHub, Api, &token, Caller::User),
            (GitHub, Api, &basic("u", "p"), Caller::Rejected),
            (GitHub, Api, &private, Caller::Rejected),
            (GitHub, Git, &basic("x-access-token", "p"), Caller::User),
            (GitHub, Git, &basic("p", "x-oauth-basic"), Caller::User),
            (GitHub, Git, &basic("x-access-token", "q"), Caller::Rejected),
            (GitHub, Git, &bearer, Caller::Rejected),
            (GitLab, Api, &private, Caller::User),
            (GitLab, Api, &bearer, Caller::User),
            (GitLab, Api, &token, Caller::Rejected),
            (GitLab, Api, &basic("u", "p"), Caller::Rejected),
            (GitLab, Git, &basic("oauth2", "p"), Caller::User),
            (GitLab, Git, &basic("u", "p"), Caller::User),
            (GitLab, Git, &basic("p", ""), Caller::Rejected),
            (GitLab, Git, &private, Caller::Rejected),
        ];
        for (platform, surface, headers, expected) in cases {
            assert_eq!(
                caller(headers, "u", "p", Some(*platform), *surface),
                *expected,
                "{platform:?} {surface:?} {headers:?}"
            );
        }
    }

    #[test]
    fn the_logged_scheme_never_holds_a_secret() {
        assert_eq!(
            scheme(&basic("oauth2", "p"), "p").as_deref(),
            Some("Basic oauth2")
        );
        assert_eq!(scheme(&basic("p", ""), "p").as_deref(), Some("Basic"));
        assert_eq!(
            scheme(&basic("wrong-token", ""), "p").as_deref(),
            Some("Basic")
        );
        assert_eq!(
            scheme(&with("private-token", "p"), "p").as_deref(),
            Some("PRIVATE-TOKEN")
        );
        assert_eq!(scheme(&HeaderMap::new(), "p"), None);
    }
}
