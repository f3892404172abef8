//! The built-in feed: upload with overwrite modes, listing newest first, versions, download and delete.

use std::cmp::Ordering;

use serde_json::{json, Value};

use crate::documents::now;
use crate::paging::{page, Query};
use crate::reply::{ApiError, ApiResult, Reply};
use crate::state::{SpaceStore, StoredPackage};

/// The 409 answer to an upload of a version the feed has, with `FailIfExists`.
pub const DUPLICATE: &str = "A package with the same ID and version already exists. To proceed anyway, specify an overwriteMode of OverwriteExisting or IgnoreIfExists.";
/// The 400 answer to an upload without a file part.
pub const NO_FILE: &str = "A package file must be provided";
/// The 400 answer to an upload of an empty file.
pub const EMPTY_FILE: &str =
    "The uploaded package file had length equal to 0. Please upload a non-empty file.";
/// The real server's answer to a `.nupkg` it cannot read a manifest from (OctopusDeploy/Issues#1491,
/// "Pushing a NuGet package from OSX fails with \"The uploaded file isn't a valid NuGet package.\"").
pub const INVALID_NUGET: &str = "The uploaded file isn't a valid NuGet package.";

/// Largest `.nuspec` read: a manifest is a few kilobytes; a bigger one is not read into memory.
const MAX_NUSPEC_BYTES: u64 = 1024 * 1024;

/// Longest first, so `.tar.gz` wins over `.gz`-less `.tar`.
const EXTENSIONS: &[&str] = &[
    ".tar.bz2", ".tar.gz", ".tar.bz", ".tar.z", ".nupkg", ".tbz2", ".tgz", ".tbz", ".zip", ".jar",
    ".war", ".ear", ".rar", ".tar",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverwriteMode {
    FailIfExists,
    OverwriteExisting,
    IgnoreIfExists,
}

/// `overwriteMode`, or the legacy `replace=true`; the default fails on duplicates.
pub fn overwrite_mode(query: &Query) -> ApiResult<OverwriteMode> {
    match query.get("overwriteMode") {
        Some(mode) if mode.eq_ignore_ascii_case("FailIfExists") => Ok(OverwriteMode::FailIfExists),
        Some(mode) if mode.eq_ignore_ascii_case("OverwriteExisting") => {
            Ok(OverwriteMode::OverwriteExisting)
        }
        Some(mode) if mode.eq_ignore_ascii_case("IgnoreIfExists") => {
            Ok(OverwriteMode::IgnoreIfExists)
        }
        Some(mode) => Err(ApiError::bad_request(format!(
            "The value '{mode}' is not a valid overwriteMode."
        ))),
        None if query.flag("replace") => Ok(OverwriteMode::OverwriteExisting),
        None => Ok(OverwriteMode::FailIfExists),
    }
}

/// `hello-world.1.0.0.zip` → (`hello-world`, `1.0.0`, `.zip`): the version starts at the first
/// `.` followed by a digit.
pub fn parse_file_name(file_name: &str) -> Option<(String, String, String)> {
    let lower = file_name.to_ascii_lowercase();
    let extension = EXTENSIONS.iter().find(|e| lower.ends_with(*e))?;
    let stem = &file_name[..file_name.len() - extension.len()];
    let bytes = stem.as_bytes();
    let split = (0..bytes.len().saturating_sub(1))
        .find(|&i| bytes[i] == b'.' && bytes[i + 1].is_ascii_digit())?;
    let (id, version) = (&stem[..split], &stem[split + 1..]);
    if id.is_empty() || version.is_empty() {
        return None;
    }
    Some((
        id.to_string(),
        version.to_string(),
        file_name[stem.len()..].to_string(),
    ))
}

/// A package's id, version and extension as a real server takes them. The Octopus docs
/// ("Supported Packages", docs.octopusdeploy.com/display/OD/Supported+Packages, and "Packaging
/// applications", octopus.com/docs/packaging-applications): NuGet packages carry their metadata
/// inside the package and the server reads the id and version from it; every other format is
/// identified by its file name, `<id>.<version><extension>`. So a `.nupkg` named
/// `anything.nupkg` is stored under its `.nuspec`'s identity, and one without a readable
/// manifest is refused.
fn identity(file_name: &str, bytes: &[u8]) -> ApiResult<(String, String, String)> {
    if file_name.to_ascii_lowercase().ends_with(".nupkg") {
        let (id, version) =
            nuspec_identity(bytes).ok_or_else(|| ApiError::bad_request(INVALID_NUGET))?;
        return Ok((id, version, ".nupkg".to_string()));
    }
    parse_file_name(file_name).ok_or_else(|| {
        ApiError::bad_request(format!(
            "The package file name '{file_name}' must look like <PackageId>.<Version><extension>, e.g. hello-world.1.0.0.zip."
        ))
    })
}

/// `<package><metadata><id>` and `<version>` of the one `.nuspec` at the root of a `.nupkg` (a
/// zip), as NuGet reads a package: the manifest sits at the root, element names are matched
/// without regard to case or XML namespace (nuspecs come in several schema namespaces), and a
/// package with no manifest, several, or one without an id or a version is not a package.
pub fn nuspec_identity(bytes: &[u8]) -> Option<(String, String)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).ok()?;
    let manifests: Vec<String> = archive
        .file_names()
        .filter(|name| !name.contains('/') && name.to_ascii_lowercase().ends_with(".nuspec"))
        .map(str::to_string)
        .collect();
    let [manifest] = manifests.as_slice() else {
        return None;
    };
    let mut text = String::new();
    archive
        .by_name(manifest)
        .ok()?
        .take(MAX_NUSPEC_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    let document = roxmltree::Document::parse(&text).ok()?;
    let named = |node: &roxmltree::Node, name: &str| {
        node.is_element() && node.tag_name().name().eq_ignore_ascii_case(name)
    };
    let root = document.root_element();
    if !named(&root, "package") {
        return None;
    }
    let metadata = root.children().find(|n| named(n, "metadata"))?;
    let field = |name: &str| {
        let text: String = metadata
            .children()
            .find(|n| named(n, name))?
            .descendants()
            .filter(|n| n.is_text())
            .filter_map(|n| n.text())
            .collect();
        let text = text.trim();
        (!text.is_empty()).then(|| text.to_string())
    };
    let (id, version) = (field("id")?, field("version")?);
    let valid_id = id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let valid_version = version.starts_with(|c: char| c.is_ascii_digit())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
    (valid_id && valid_version).then_some((id, version))
}

pub fn resource_id(package_id: &str, version: &str) -> String {
    format!("packages-{package_id}.{version}")
}

fn hash(bytes: &[u8]) -> String {
    sha1_smol::Sha1::from(bytes).digest().to_string()
}

pub fn render(space_id: &str, package: &StoredPackage) -> Value {
    let id = resource_id(&package.package_id, &package.version);
    json!({
        "Id": id,
        "PackageId": package.package_id,
        "Version": package.version,
        "Description": null,
        "FeedId": "feeds-builtin",
        "NuGetFeedId": "feeds-builtin",
        "NuGetPackageId": package.package_id,
        "Title": package.package_id,
        "Summary": null,
        "ReleaseNotes": null,
        "Published": package.published,
        "FileExtension": package.extension,
        "PackageSizeBytes": package.bytes.len(),
        "Hash": hash(&package.bytes),
        "PackageVersionBuildInformation": null,
        "Links": {
            "Self": format!("/api/{space_id}/packages/{id}"),
            "Raw": format!("/api/{space_id}/packages/{id}/raw"),
        }
    })
}

fn position(space: &SpaceStore, resource: &str) -> Option<usize> {
    space
        .packages
        .iter()
        .position(|p| resource_id(&p.package_id, &p.version).eq_ignore_ascii_case(resource))
}

/// Store an uploaded file: 201 when stored, 200 when an existing one was kept, 409 on a
/// duplicate with `FailIfExists`.
pub fn upload(
    space: &mut SpaceStore,
    file_name: &str,
    bytes: Vec<u8>,
    mode: OverwriteMode,
) -> ApiResult<Reply> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request(EMPTY_FILE));
    }
    let (package_id, version, extension) = identity(file_name, &bytes)?;
    if package_id.len() > 100 {
        return Err(ApiError::bad_request("Package Name is too long."));
    }
    let package = StoredPackage {
        package_id,
        version,
        extension,
        published: now(),
        bytes,
    };
    let resource = resource_id(&package.package_id, &package.version);
    match (position(space, &resource), mode) {
        (Some(_), OverwriteMode::FailIfExists) => Err(ApiError::conflict(DUPLICATE)),
        (Some(index), OverwriteMode::IgnoreIfExists) => {
            Ok(Reply::ok(render(space.id(), &space.packages[index])))
        }
        (Some(index), OverwriteMode::OverwriteExisting) => {
            space.packages[index] = package;
            Ok(Reply::created(render(space.id(), &space.packages[index])))
        }
        (None, _) => {
            let body = render(space.id(), &package);
            space.packages.push(package);
            Ok(Reply::created(body))
        }
    }
}

/// SemVer-ish order: numeric release parts, then a release above its pre-releases.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    fn parts(v: &str) -> (Vec<&str>, Option<&str>) {
        let v = v.split('+').next().unwrap_or(v);
        match v.split_once('-') {
            Some((release, pre)) => (release.split('.').collect(), Some(pre)),
            None => (v.split('.').collect(), None),
        }
    }
    fn segment(a: &str, b: &str) -> Ordering {
        match (a.parse::<u64>(), b.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.cmp(b),
        }
    }
    let ((ra, pa), (rb, pb)) = (parts(a), parts(b));
    for i in 0..ra.len().max(rb.len()) {
        let order = segment(ra.get(i).unwrap_or(&"0"), rb.get(i).unwrap_or(&"0"));
        if order != Ordering::Equal {
            return order;
        }
    }
    match (pa, pb) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => {
            let (xs, ys): (Vec<&str>, Vec<&str>) = (x.split('.').collect(), y.split('.').collect());
            for (p, q) in xs.iter().zip(&ys) {
                let order = segment(p, q);
                if order != Ordering::Equal {
                    return order;
                }
            }
            xs.len().cmp(&ys.len())
        }
    }
}

fn newest_first<'a>(
    space: &'a SpaceStore,
    package_id: Option<&str>,
    filter: Option<&str>,
) -> Vec<&'a StoredPackage> {
    let filter = filter.map(str::to_lowercase);
    let mut out: Vec<&StoredPackage> = space
        .packages
        .iter()
        .filter(|p| package_id.is_none_or(|id| p.package_id.eq_ignore_ascii_case(id)))
        .filter(|p| {
            filter
                .as_ref()
                .is_none_or(|f| p.package_id.to_lowercase().contains(f))
        })
        .collect();
    out.sort_by(|a, b| {
        a.package_id
            .to_lowercase()
            .cmp(&b.package_id.to_lowercase())
            .then_with(|| compare_versions(&b.version, &a.version))
    });
    out
}

/// `GET /packages?nuGetPackageId=&filter=&latest=&skip&take`.
pub fn list(space: &SpaceStore, query: &Query) -> Value {
    let mut packages = newest_first(space, query.get("nuGetPackageId"), query.get("filter"));
    if query.flag("latest") {
        packages.dedup_by(|a, b| a.package_id.eq_ignore_ascii_case(&b.package_id));
    }
    let items = packages
        .into_iter()
        .map(|p| render(space.id(), p))
        .collect();
    page(
        items,
        "PackageFromBuiltInFeed",
        &format!("/api/{}/packages", space.id()),
        "{/id}{?nuGetPackageId,filter,latest,skip,take,includeNotes}",
        query,
    )
}

/// `GET /feeds/feeds-builtin/packages/versions?packageId=&take=`.
pub fn versions(space: &SpaceStore, query: &Query) -> Value {
    let items = newest_first(space, query.get("packageId"), None)
        .into_iter()
        .map(|p| {
            json!({
                "Id": resource_id(&p.package_id, &p.version), "PackageId": p.package_id, "Version": p.version,
                "FeedId": "feeds-builtin", "Published": p.published, "SizeBytes": p.bytes.len(),
                "Title": p.package_id, "ReleaseNotes": null, "Links": {}
            })
        })
        .collect();
    page(
        items,
        "PackageVersion",
        &format!("/api/{}/feeds/feeds-builtin/packages/versions", space.id()),
        "{?packageId,take,skip,includePreRelease,versionRange,preReleaseTag,filter,includeReleaseNotes}",
        query,
    )
}

pub fn get(space: &SpaceStore, resource: &str) -> ApiResult<Value> {
    position(space, resource)
        .map(|i| render(space.id(), &space.packages[i]))
        .ok_or_else(|| ApiError::not_found(resource))
}

pub fn raw(space: &SpaceStore, resource: &str) -> ApiResult<Reply> {
    let package = position(space, resource)
        .map(|i| &space.packages[i])
        .ok_or_else(|| ApiError::not_found(resource))?;
    let file_name = format!(
        "{}.{}{}",
        package.package_id, package.version, package.extension
    );
    Ok(
        Reply::bytes("application/octet-stream", package.bytes.clone()).with_header(
            "content-disposition",
            format!("attachment; filename={file_name}"),
        ),
    )
}

pub fn delete(space: &mut SpaceStore, resource: &str) -> ApiResult<()> {
    let index = position(space, resource).ok_or_else(|| ApiError::not_found(resource))?;
    space.packages.remove(index);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_split_at_the_version() {
        assert_eq!(
            parse_file_name("hello-world.1.0.0.zip"),
            Some(("hello-world".into(), "1.0.0".into(), ".zip".into()))
        );
        assert_eq!(
            parse_file_name("My.App.2.0.1-beta.tar.gz"),
            Some(("My.App".into(), "2.0.1-beta".into(), ".tar.gz".into()))
        );
        assert_eq!(parse_file_name("noversion.zip"), None);
    }

    fn nupkg(nuspec: &str) -> Vec<u8> {
        use std::io::Write;
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        writer
            .start_file("x.nuspec", zip::write::SimpleFileOptions::default())
            .unwrap();
        writer.write_all(nuspec.as_bytes()).unwrap();
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn nuspec_identity_ignores_case_and_namespaces() {
        let identity = |nuspec: &str| nuspec_identity(&nupkg(nuspec));
        assert_eq!(
            identity(
                r#"<n:package xmlns:n="urn:x"><n:metadata><n:id> My.App </n:id><n:version>1.2.3</n:version></n:metadata></n:package>"#
            ),
            Some(("My.App".into(), "1.2.3".into()))
        );
        assert_eq!(
            identity("<Package><METADATA><Id>a</Id><Version>1.0.0</Version></METADATA></Package>"),
            Some(("a".into(), "1.0.0".into()))
        );
        for invalid in [
            "<package><metadata><id>a b</id><version>1.0.0</version></metadata></package>",
            "<package><metadata><id>a</id><version>latest</version></metadata></package>",
            "<package><id>a</id><version>1.0.0</version></package>",
            "<nuspec><metadata><id>a</id><version>1.0.0</version></metadata></nuspec>",
            "<package><metadata><id></id><version>1.0.0</version></metadata></package>",
        ] {
            assert_eq!(identity(invalid), None, "{invalid}");
        }
    }

    #[test]
    fn releases_sort_above_prereleases() {
        assert_eq!(compare_versions("1.10.0", "1.9.0"), Ordering::Greater);
        assert_eq!(compare_versions("1.0.0", "1.0.0-beta"), Ordering::Greater);
        assert_eq!(
            compare_versions("1.0.0-beta.2", "1.0.0-beta.10"),
            Ordering::Less
        );
    }
}
