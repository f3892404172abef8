//! `fork`'s settings.

use super::server::{self, Management, ManagementInputs};
use super::*;
use crate::cli::{ForkArgs, RepositoryArgs};
use crate::forge::mirror::GitCredentials;
use crate::forge::{is_valid_repository_name, repository_name, Platform};
use crate::secret::Secret;
use std::path::PathBuf;
use url::Url;

/// The inputs fork reads, each with what it is for (docs/inputs.md).
pub(crate) const INPUTS: &[(Input, &str)] = &[
    (GIT_PLATFORM, "`gitea` (default); or `github`, `gitlab`"),
    (GIT_PROTOCOL, "`https` (default); or `http`"),
    (GIT_HOST, "required; host and port, e.g. `gitea:3000`, `github.com`"),
    (GIT_ORGANIZATION, "required; the organization or group (or your user name) holding both repositories"),
    (GIT_TEMPLATE, "the upstream repository's name; default `Octopus.Project.Name` sanitized"),
    (GIT_NEW_REPO, "the downstream repository's name; default `<tenant>_<project>` sanitized, from `Octopus.Deployment.Tenant.Name` and `Exported.Project.Name` (else `Octopus.Project.Name`); on GitLab without runs of `_` or one at either end, which GitLab refuses in a project path"),
    (GIT_UPSTREAM, "the upstream's full clone URL; default: with `Management.Octopus.ApiKey` given, the repository in the template project's (`Octopus.Project.Name`) Config-as-Code settings, read from the management server; else `<protocol>://<host>/<organization>/<template>.git`"),
    (GIT_MAIN_LINE, "`main` (default); must exist upstream"),
    (GIT_USERNAME, "required for Gitea; for GitHub and GitLab tokens default `x-access-token` / `oauth2`"),
    (GIT_PASSWORD, "required; a password (Gitea) or an access token allowed to create repositories; sent only to `Git.Url.Protocol://Git.Url.Host`"),
    (GIT_UPSTREAM_USERNAME, "none; with the password, for an upstream that is not on `Git.Url.Host` and needs credentials"),
    (GIT_UPSTREAM_PASSWORD, "none; the upstream's password or read token, sent only to the upstream's scheme, host and port (both or neither)"),
    (CA_CERTIFICATE, "none; a PEM CA certificate to trust for the platform, the upstream and the management server"),
    (TENANT_NAME, "system variable, for the default `Git.Url.NewRepo`"),
    (PROJECT_NAME, "system variable, for the default names and the template project"),
    (EXPORTED_PROJECT_NAME, "preferred to the project name for the downstream name"),
    (MANAGEMENT_URL, "for the upstream lookup; default `Octopus.Web.ServerUri` (also when it is an unsubstituted `#{…}`)"),
    (SERVER_URI, "system variable: the server running the step"),
    (MANAGEMENT_API_KEY, "turns the upstream lookup on (unless `Git.Url.Upstream` is given)"),
    (MANAGEMENT_SPACE, "for the upstream lookup (ID or name); default `Octopus.Space.Id`"),
    (SPACE_ID, "system variable: the space running the step"),
    (FORK_ALL_BRANCHES, "`False` (default): only the main line"),
    (FORK_FORCE, "`False` (default): diverged refs are refused"),
    (REPORT_DIR, REPORT_DIR_PURPOSE),
    (NO_REPORT, NO_REPORT_PURPOSE),
    (TIMEOUT, "`10m` (default): the whole action's deadline"),
    (LOG_FORMAT, LOG_FORMAT_PURPOSE),
];

/// Validated settings for `fork`.
#[derive(Debug, Clone)]
pub struct ForkConfig {
    pub(crate) repository: RepositoryConfig,
    pub(crate) all_branches: bool,
    pub(crate) force: bool,
    /// Where to write the report (see [`report_dir`]).
    pub(crate) report_dir: Option<std::path::PathBuf>,
}

impl ForkConfig {
    /// The same settings, bound to finish by `deadline` (the action's `Octofleet.Timeout`).
    pub fn with_deadline(mut self, deadline: std::time::Instant) -> Self {
        self.repository.deadline = Some(deadline);
        self
    }
}

impl std::ops::Deref for ForkConfig {
    type Target = RepositoryConfig;
    fn deref(&self) -> &RepositoryConfig {
        &self.repository
    }
}

/// The repositories and credentials, as fork and merge read them alike.
#[derive(Debug, Clone)]
pub struct RepositoryConfig {
    pub(crate) platform: Platform,
    pub(crate) protocol: String,
    pub(crate) host: String,
    pub(crate) organization: String,
    /// The downstream repository's name.
    pub(crate) new_repo: String,
    /// `Octopus.Deployment.Tenant.Name`, when the step runs for a tenant: names the report.
    pub(crate) tenant_name: Option<String>,
    /// `Git.Url.NewRepo` was given (not derived from the names).
    pub(crate) new_repo_given: bool,
    /// The downstream project's name: `Exported.Project.Name`, else `Octopus.Project.Name`.
    pub(crate) downstream_project: Option<String>,
    /// The upstream repository's clone URL (no credentials in it), unless it is read from
    /// `upstream_project` first.
    pub(crate) upstream_url: String,
    /// With management inputs and no `Git.Url.Upstream`: the template project whose
    /// Config-as-Code repository is the upstream (management server and space, project name).
    pub(crate) upstream_project: Option<(Management, String)>,
    pub(crate) main_line: String,
    /// The forge credential: offered only to `protocol://host`.
    pub(crate) username: String,
    pub(crate) password: Secret,
    /// The upstream's own credential (`Git.Upstream.Credentials.*`): offered only to the
    /// upstream's origin. Without it, an upstream on the forge's origin gets the forge credential
    /// and one elsewhere gets none.
    pub(crate) upstream_credentials: Option<GitCredentials>,
    /// Extra CA certificate (PEM) for the forge, the upstream and the management server.
    pub(crate) ca_file: Option<PathBuf>,
    /// When the action must have finished (`Octofleet.Timeout` from its start): a forge's rate
    /// limit is waited out only when its wait ends before it.
    pub(crate) deadline: Option<std::time::Instant>,
}

/// `Git.Url.Upstream`: a credential in it would go to whatever host it names.
const UPSTREAM_URL: values::UrlAdvice = values::UrlAdvice {
    credential: "which would be sent wherever the URL goes: give the URL without them and the upstream's credentials as Git.Upstream.Credentials.Username and Git.Upstream.Credentials.Password (or nothing, when the upstream is on Git.Url.Host and Git.Credentials.* may read it)",
    expected: "give the upstream repository's clone URL, e.g. https://gitea.example.com/org/template.git",
};

impl ForkConfig {
    /// `fork`'s inputs, validated: every problem at once.
    pub fn from_args(args: &ForkArgs) -> Result<Self, ConfigError> {
        let mut reader = Reader::default();
        let repository = RepositoryConfig::read(&mut reader, &args.repository);
        let all_branches = reader.flag(FORK_ALL_BRANCHES, &args.all_branches);
        let force = reader.flag(FORK_FORCE, &args.force);
        let report_dir = report_dir(&mut reader, &args.report_dir, &args.no_report, process_env);
        reader.finish(|| ForkConfig {
            repository: repository.expect("no problems means the repositories"),
            all_branches,
            force,
            report_dir,
        })
    }
}

impl RepositoryConfig {
    /// The repository inputs; None when any has a problem (each added to `reader`).
    pub(super) fn read(reader: &mut Reader, args: &RepositoryArgs) -> Option<RepositoryConfig> {
        let ca_file = server::ca_file(reader, &args.ca_certificate);
        let platform = reader
            .optional_as(GIT_PLATFORM, &args.git_platform, |text| {
                Platform::parse(text).ok_or_else(|| {
                    format!(
                        "{} is not a supported platform: use one of {}",
                        quoted(text),
                        Platform::NAMES
                    )
                })
            })
            .unwrap_or(Platform::Gitea);
        let protocol = reader
            .optional_as(GIT_PROTOCOL, &args.git_protocol, |protocol| match protocol
                .to_ascii_lowercase()
                .as_str()
            {
                protocol @ ("http" | "https") => Ok(protocol.to_owned()),
                _ => Err(format!(
                    "{} is not a protocol fork speaks: use http or https",
                    quoted(protocol)
                )),
            })
            .unwrap_or_else(|| "https".to_owned());
        let host = reader.required_as(GIT_HOST, &args.git_host, |host| {
            let valid = Url::parse(&format!("{protocol}://{host}/")).is_ok_and(|url| {
                url.host().is_some() && url.path() == "/" && url.username().is_empty()
            });
            if valid {
                Ok(host.to_owned())
            } else {
                Err(format!(
                    "{} is not a host name with an optional port, e.g. gitea:3000 or github.com",
                    quoted(host)
                ))
            }
        });
        let organization = reader.required(GIT_ORGANIZATION, &args.git_organization);
        let project_name = reader.optional(PROJECT_NAME, &args.project_name);
        let exported_name = reader.optional(EXPORTED_PROJECT_NAME, &args.exported_project_name);
        let tenant_name = reader.optional(TENANT_NAME, &args.tenant_name);

        // The new repository: given, or `<tenant>_<project>` sanitized as the reference
        // implementation does (fitted to GitLab's path rule there).
        let given_repo = reader.optional(GIT_NEW_REPO, &args.git_new_repo);
        let new_repo_given = given_repo.is_some();
        let downstream_project = exported_name.clone().or_else(|| project_name.clone());
        let new_repo = match given_repo {
            Some(name) => Some(name),
            None => match (
                &tenant_name,
                exported_name.as_ref().or(project_name.as_ref()),
            ) {
                (Some(tenant), Some(project)) => Some(platform.fit_repository_name(&format!(
                    "{}_{}",
                    repository_name(tenant),
                    repository_name(project)
                ))),
                _ => {
                    reader.add(
                        GIT_NEW_REPO,
                        format!(
                            "missing: set it, or set {} and {} (or {}) to name it <tenant>_<project>",
                            TENANT_NAME.octopus, EXPORTED_PROJECT_NAME.octopus, PROJECT_NAME.octopus
                        ),
                    );
                    None
                }
            },
        };
        let new_repo = reader.check(GIT_NEW_REPO, new_repo, |name| {
            new_repository(platform, name)
        });

        let explicit_upstream = reader.optional(GIT_UPSTREAM, &args.git_upstream);
        // The management server is read only where it may be used: no Git.Url.Upstream, a
        // template project to look up, and Management.Octopus.ApiKey given.
        let upstream_project = match (&explicit_upstream, &project_name) {
            (None, Some(project)) => {
                let management = ManagementInputs::read(reader, &args.source);
                match management.has_api_key() {
                    true => management
                        .resolve(reader, ca_file.clone())
                        .map(|management| (management, project.clone())),
                    false => None,
                }
            }
            _ => None,
        };
        let upstream_url = match explicit_upstream {
            Some(text) => reader.check(GIT_UPSTREAM, Some(text), |text| {
                values::http_url(text, &UPSTREAM_URL).map(|_| text.to_owned())
            }),
            None => {
                let template = reader
                    .optional(GIT_TEMPLATE, &args.git_template)
                    .or_else(|| project_name.as_deref().map(repository_name));
                if template.is_none() {
                    reader.add(
                        GIT_TEMPLATE,
                        format!(
                            "missing: set it (or {}), or set {} to use the sanitized project name",
                            GIT_UPSTREAM.octopus, PROJECT_NAME.octopus
                        ),
                    );
                }
                let template = reader.check(GIT_TEMPLATE, template, repository);
                match (template, &host, &organization) {
                    (Some(template), Some(host), Some(organization)) => {
                        Some(format!("{protocol}://{host}/{organization}/{template}.git"))
                    }
                    _ => None,
                }
            }
        };

        let main_line = reader
            .optional_as(GIT_MAIN_LINE, &args.git_main_line, |branch| {
                if git2::Reference::is_valid_name(&format!("refs/heads/{branch}")) {
                    Ok(branch.to_owned())
                } else {
                    Err(format!("{} is not a valid branch name", quoted(branch)))
                }
            })
            .unwrap_or_else(|| "main".to_owned());
        let password = reader
            .required(GIT_PASSWORD, &args.git_password)
            .map(Secret::new);
        // GitHub and GitLab take a token for git with any username; Gitea needs the user's name.
        let username = match platform {
            Platform::Gitea => reader.required(GIT_USERNAME, &args.git_username),
            _ => Some(
                reader
                    .optional(GIT_USERNAME, &args.git_username)
                    .unwrap_or_else(|| platform.token_username().to_owned()),
            ),
        };
        let upstream_credentials = upstream_credentials(reader, args);
        if !reader.problems.is_empty() {
            return None;
        }
        Some(RepositoryConfig {
            platform,
            protocol,
            host: host.expect("no problems means a host"),
            organization: organization.expect("no problems means an organization"),
            new_repo: new_repo.expect("no problems means a repository name"),
            tenant_name,
            new_repo_given,
            downstream_project,
            upstream_url: upstream_url.expect("no problems means an upstream"),
            upstream_project,
            main_line,
            username: username.expect("no problems means a username"),
            password: password.expect("no problems means a password"),
            upstream_credentials,
            ca_file,
            deadline: None,
        })
    }
}

/// A repository name as the platforms take it.
fn repository(name: &str) -> Result<String, String> {
    if is_valid_repository_name(name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{} is not a repository name (letters, digits, `-`, `_`, `.`): e.g. `{}`",
            quoted(name),
            repository_name(name)
        ))
    }
}

/// The new repository's name, as `platform` takes it for a new repository (it would refuse it,
/// or on GitHub rename it, otherwise).
fn new_repository(platform: Platform, name: &str) -> Result<String, String> {
    repository(name)?;
    if platform.takes_repository_name(name) {
        Ok(name.to_owned())
    } else {
        Err(format!(
            "{} is not a {platform} project path (a letter or digit at either end, no two of `-`, `_`, `.` in a row): e.g. `{}`",
            quoted(name),
            platform.fit_repository_name(&repository_name(name))
        ))
    }
}

/// Both or neither: the upstream's platform is unknown, so no token username is guessed.
fn upstream_credentials(reader: &mut Reader, args: &RepositoryArgs) -> Option<GitCredentials> {
    let username = reader.optional(GIT_UPSTREAM_USERNAME, &args.git_upstream_username);
    let password = reader.optional(GIT_UPSTREAM_PASSWORD, &args.git_upstream_password);
    match (username, password) {
        (None, None) => None,
        (Some(username), Some(password)) => Some(GitCredentials {
            username,
            password: Secret::new(password),
        }),
        (None, Some(_)) => {
            let unset = reader.unset(GIT_UPSTREAM_USERNAME);
            reader.add(GIT_UPSTREAM_USERNAME, format!("{unset} while {} is set: give the upstream's user name (for a token, any name the upstream's platform accepts, e.g. x-access-token or oauth2)", GIT_UPSTREAM_PASSWORD.octopus));
            None
        }
        (Some(_), None) => {
            let unset = reader.unset(GIT_UPSTREAM_PASSWORD);
            reader.add(GIT_UPSTREAM_PASSWORD, format!("{unset} while {} is set: give the upstream's password or access token, or clear both", GIT_UPSTREAM_USERNAME.octopus));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::SourceArgs;

    #[test]
    fn fork_takes_the_ca_file_for_the_management_server_and_both_upstream_credentials() {
        let ca = tempfile::NamedTempFile::new().unwrap();
        let ca_path = ca.path().to_string_lossy().into_owned();
        let args = RepositoryArgs {
            source: SourceArgs {
                server_uri: Some("https://octopus.example.com/".into()),
                management_api_key: Some("API-TESTKEY000000000000000000001".into()),
                space_id: Some("Spaces-1".into()),
                ..Default::default()
            },
            git_host: Some("gitea:3000".into()),
            git_organization: Some("octopuscac".into()),
            git_new_repo: Some("team_a".into()),
            git_username: Some("octopus".into()),
            git_password: Some("forge-secret".into()),
            git_upstream_username: Some("reader".into()),
            git_upstream_password: Some("upstream-secret".into()),
            project_name: Some("Hello World CaC".into()),
            ca_certificate: Some(ca_path.clone()),
            ..Default::default()
        };
        let config = ForkConfig::from_args(&ForkArgs {
            repository: args.clone(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(config.ca_file.as_deref(), Some(ca.path()));
        let (management, _) = config.upstream_project.as_ref().unwrap();
        assert_eq!(management.server.ca_file.as_deref(), Some(ca.path()));
        let upstream = config.upstream_credentials.as_ref().unwrap();
        assert_eq!(upstream.username, "reader");
        assert_eq!(upstream.password.expose(), "upstream-secret");
        assert!(!format!("{config:?}").contains("upstream-secret"));

        let alone = RepositoryArgs {
            git_upstream_username: None,
            ..args
        };
        let error = ForkConfig::from_args(&ForkArgs {
            repository: alone,
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].input, GIT_UPSTREAM_USERNAME);
    }

    /// One management-server rule for every action: an explicit URL left as `#{…}` is unset and
    /// the server running the step is used (serialize used to refuse it).
    #[test]
    fn an_unsubstituted_management_url_falls_back_to_the_server_uri_everywhere() {
        let source = SourceArgs {
            management_url: Some("#{Management.Url}".into()),
            server_uri: Some("https://octopus.example.com/".into()),
            management_api_key: Some("API-TESTKEY000000000000000000001".into()),
            management_space_id: Some("#{Management.Space}".into()),
            space_id: Some("Spaces-1".into()),
        };
        let serialize = SerializeConfig::from_args(&crate::cli::SerializeArgs {
            source: source.clone(),
            project_name: Some("Hello".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            serialize.source.url.as_str(),
            "https://octopus.example.com/"
        );
        assert_eq!(serialize.space, "Spaces-1");
        let deploy = DeployConfig::from_args(
            &crate::cli::DeployArgs {
                target: crate::cli::TargetArgs {
                    url: Some("https://managed.example.com/".into()),
                    api_key: Some("API-TESTKEY000000000000000000002".into()),
                    ca_certificate: None,
                },
                tenant_name: Some("America".into()),
                project_name: Some("Hello".into()),
                source: source.clone(),
                ..Default::default()
            },
            false,
        )
        .unwrap();
        let PackageSource::Feed { server, space, .. } = deploy.source else {
            panic!("a feed source");
        };
        assert_eq!(server.url.as_str(), "https://octopus.example.com/");
        assert_eq!(space, "Spaces-1");

        let no_server_uri = SourceArgs {
            server_uri: None,
            ..source
        };
        let error = SerializeConfig::from_args(&crate::cli::SerializeArgs {
            source: no_server_uri,
            project_name: Some("Hello".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].input, SERVER_URI);
    }
}
