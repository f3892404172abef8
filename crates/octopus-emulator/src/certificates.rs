//! Certificates (`/api/{space}/certificates`): the upload is read as the server reads it, and the
//! fields the server derives from it (thumbprint, subject, issuer, validity, format) are computed
//! from the stored data on every write, so a client can never set them.
//!
//! Sources: go-octopusdeploy `pkg/certificates/certificate.go` and OctopusDeploy/mcp-server
//! `src/types/certificateTypes.ts` (the resource's fields; `CertificateData` and `Password` are
//! SensitiveValues, `CertificateData` is required);
//! the provider's `certificate_data_format` ("Valid formats are `Der`, `Pem`, `Pkcs12`, or
//! `Unknown`", `octopusdeploy/schema_utilities.go`); Octopus's certificates feature
//! ("Certificates can be uploaded in PFX, PEM, or DER formats, and may include private-keys",
//! octopus.com/blog/certificates-feature) and certificate variables page (the thumbprint is the
//! upper-case hex SHA-1 of the certificate, `A163E39F59560E6FE33A0299D19124B242D9B37E`,
//! octopus.com/docs/projects/variables/certificate-variables); the chain rule ("Uploaded PFX or
//! PEM files may contain a certificate-chain. i.e. A certificate with a private-key, plus one or
//! more authority certificates", octopus.com/docs/deployment-examples/certificates/certificate-chains,
//! and OctopusDeploy/Issues#3248: the certificate shown must be the one with the private key,
//! not the CA that comes first); the refusal text (OctopusDeploy/Issues#7156).

use base64::Engine;
use p12_keystore::{KeyStore, KeyStoreEntry, Pkcs12ImportPolicy};
use serde_json::{json, Map, Value};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};
use x509_parser::x509::X509Name;

use crate::kinds::Change;
use crate::reply::{ApiError, ApiResult};
use crate::secrets::secret_of;
use crate::state::SpaceMut;

/// What an upload holds: the primary certificate (DER) and what the server says about the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The DER encoding of the primary certificate.
    pub der: Vec<u8>,
    /// `Pkcs12`, `Der` or `Pem`, as the server's `CertificateDataFormat`.
    pub format: &'static str,
    /// The file holds the primary certificate's private key.
    pub has_private_key: bool,
}

/// Reads an uploaded file: PEM (text with `-----BEGIN`), DER (one X.509 certificate), or PKCS#12
/// (PFX) opened with `password`.
pub fn read_upload(bytes: &[u8], password: &str) -> Result<Upload, String> {
    let trimmed = bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .trim_ascii_start();
    if trimmed.starts_with(b"-----BEGIN") {
        return read_pem(trimmed);
    }
    if let Ok((rest, _)) = X509Certificate::from_der(bytes) {
        if rest.is_empty() {
            return Ok(Upload {
                der: bytes.to_vec(),
                format: "Der",
                has_private_key: false,
            });
        }
    }
    read_pkcs12(bytes, password)
}

fn read_pem(text: &[u8]) -> Result<Upload, String> {
    let mut certificates = Vec::new();
    let mut has_private_key = false;
    for block in x509_parser::pem::Pem::iter_from_buffer(text) {
        let block = block.map_err(|e| format!("invalid PEM: {e}"))?;
        if block.label == "CERTIFICATE" {
            certificates.push(block.contents);
        } else if block.label.ends_with("PRIVATE KEY") {
            has_private_key = true;
        }
    }
    let der = leaf_of(&certificates)?.ok_or("the PEM file holds no certificate")?;
    Ok(Upload {
        der,
        format: "Pem",
        has_private_key,
    })
}

fn read_pkcs12(bytes: &[u8], password: &str) -> Result<Upload, String> {
    let store = KeyStore::from_pkcs12(bytes, password, Pkcs12ImportPolicy::Relaxed)
        .map_err(|e| format!("not a certificate in a supported format ({e})"))?;
    // The certificate that goes with the private key; without one, the leaf of what is there.
    if let Some((_, chain)) = store.private_key_chain() {
        if let Some(first) = chain.certs().first() {
            return Ok(Upload {
                der: first.as_der().to_vec(),
                format: "Pkcs12",
                has_private_key: true,
            });
        }
    }
    let certificates: Vec<Vec<u8>> = store
        .entries()
        .filter_map(|(_, entry)| match entry {
            KeyStoreEntry::Certificate(certificate) => Some(certificate.as_der().to_vec()),
            _ => None,
        })
        .collect();
    let der = leaf_of(&certificates)?.ok_or("the PKCS#12 file holds no certificate")?;
    Ok(Upload {
        der,
        format: "Pkcs12",
        has_private_key: false,
    })
}

/// Of several certificates, the one that issued none of the others (the subject, not an
/// authority); the first when that does not single one out.
fn leaf_of(certificates: &[Vec<u8>]) -> Result<Option<Vec<u8>>, String> {
    let parsed: Vec<X509Certificate<'_>> = certificates
        .iter()
        .map(|der| {
            X509Certificate::from_der(der)
                .map(|(_, c)| c)
                .map_err(|e| format!("invalid certificate: {e}"))
        })
        .collect::<Result<_, _>>()?;
    let issues_another = |candidate: &X509Certificate<'_>| {
        parsed.iter().any(|other| {
            other.subject().as_raw() != candidate.subject().as_raw()
                && other.issuer().as_raw() == candidate.subject().as_raw()
        })
    };
    let leaf = parsed
        .iter()
        .position(|c| !issues_another(c))
        .or((!parsed.is_empty()).then_some(0));
    Ok(leaf.map(|at| certificates[at].clone()))
}

/// A distinguished name as .NET's `X500DistinguishedName.Name` writes it (most specific first,
/// `CN=…, O=…, C=…`), which Octopus shows; no Octopus payload holding a certificate was found to
/// confirm the exact spelling (searched: the reference payloads, go-octopusdeploy's and the
/// provider's tests).
fn distinguished_name(name: &X509Name<'_>) -> String {
    let registry = x509_parser::objects::oid_registry();
    let parts: Vec<String> = name
        .iter_rdn()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .flat_map(|rdn| rdn.iter())
        .map(|attribute| {
            let key = x509_parser::objects::oid2abbrev(attribute.attr_type(), registry)
                .map(str::to_owned)
                .unwrap_or_else(|_| attribute.attr_type().to_id_string());
            let value = attribute.as_str().unwrap_or_default();
            format!("{key}={value}")
        })
        .collect();
    parts.join(", ")
}

fn first_text<'a>(
    mut attributes: impl Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
) -> Value {
    attributes
        .next()
        .and_then(|a| a.as_str().ok())
        .map_or(Value::Null, |s| json!(s))
}

/// .NET's signature algorithm friendly names (`X509Certificate2.SignatureAlgorithm.FriendlyName`)
/// for the common algorithms; others keep their OID.
fn signature_algorithm_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1RSA",
        "1.2.840.113549.1.1.11" => "sha256RSA",
        "1.2.840.113549.1.1.12" => "sha384RSA",
        "1.2.840.113549.1.1.13" => "sha512RSA",
        "1.2.840.10045.4.3.2" => "sha256ECDSA",
        "1.2.840.10045.4.3.3" => "sha384ECDSA",
        "1.2.840.10045.4.3.4" => "sha512ECDSA",
        other => other,
    }
    .to_owned()
}

fn timestamp(seconds: i64) -> Value {
    chrono::DateTime::from_timestamp(seconds, 0).map_or(Value::Null, |t| {
        json!(t.format("%Y-%m-%dT%H:%M:%S%:z").to_string())
    })
}

/// The fields the server derives from an upload.
pub fn derived_fields(upload: &Upload) -> Result<Map<String, Value>, String> {
    let (_, certificate) =
        X509Certificate::from_der(&upload.der).map_err(|e| format!("invalid certificate: {e}"))?;
    let thumbprint: String = sha1_smol::Sha1::from(&upload.der)
        .digest()
        .to_string()
        .to_uppercase();
    let serial: String = certificate
        .raw_serial()
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect();
    let alternative_names: Vec<String> = certificate
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|extension| {
            extension
                .value
                .general_names
                .iter()
                .map(|name| match name {
                    GeneralName::DNSName(dns) => format!("DNS Name={dns}"),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    let validity = certificate.validity();
    let now = chrono::Utc::now().timestamp();
    let mut fields = Map::new();
    fields.insert("Thumbprint".into(), json!(thumbprint));
    fields.insert("CertificateDataFormat".into(), json!(upload.format));
    fields.insert("HasPrivateKey".into(), json!(upload.has_private_key));
    fields.insert(
        "SubjectDistinguishedName".into(),
        json!(distinguished_name(certificate.subject())),
    );
    fields.insert(
        "SubjectCommonName".into(),
        first_text(certificate.subject().iter_common_name()),
    );
    fields.insert(
        "SubjectOrganization".into(),
        first_text(certificate.subject().iter_organization()),
    );
    fields.insert(
        "IssuerDistinguishedName".into(),
        json!(distinguished_name(certificate.issuer())),
    );
    fields.insert(
        "IssuerCommonName".into(),
        first_text(certificate.issuer().iter_common_name()),
    );
    fields.insert(
        "IssuerOrganization".into(),
        first_text(certificate.issuer().iter_organization()),
    );
    fields.insert(
        "NotBefore".into(),
        timestamp(validity.not_before.timestamp()),
    );
    fields.insert("NotAfter".into(), timestamp(validity.not_after.timestamp()));
    fields.insert(
        "IsExpired".into(),
        json!(validity.not_after.timestamp() < now),
    );
    fields.insert(
        "SelfSigned".into(),
        json!(certificate.subject().as_raw() == certificate.issuer().as_raw()),
    );
    fields.insert("SerialNumber".into(), json!(serial));
    fields.insert(
        "SignatureAlgorithmName".into(),
        json!(signature_algorithm_name(
            &certificate.signature_algorithm.algorithm.to_id_string()
        )),
    );
    fields.insert("SubjectAlternativeNames".into(), json!(alternative_names));
    fields.insert("Version".into(), json!(certificate.version().0 + 1));
    Ok(fields)
}

/// Reads the stored upload (kept from the previous version when the client sent
/// `{HasValue: true, NewValue: null}`) and sets every derived field from it.
pub fn certificate_rule(
    _: &mut SpaceMut<'_>,
    doc: &mut Map<String, Value>,
    change: &Change<'_>,
) -> ApiResult<()> {
    for field in ["CertificateData", "Password"] {
        if matches!(doc.get(field), Some(Value::String(_))) {
            return Err(ApiError::bad_request(format!(
                "The {field} field is a sensitive value: send {{\"HasValue\": true, \"NewValue\": \"…\"}}."
            )));
        }
    }
    let Some(data) = doc
        .get("CertificateData")
        .and_then(secret_of)
        .map(str::to_owned)
    else {
        return Err(ApiError::required("CertificateData"));
    };
    let password = doc
        .get("Password")
        .and_then(secret_of)
        .unwrap_or_default()
        .to_owned();
    let name = doc
        .get("Name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let id = if change.old.is_some() { change.id } else { "" };
    let refuse = |error: String| {
        ApiError::bad_request(format!(
            "Could not parse certificate data. Possible causes: 1) The certificate format is not supported. \
             2) The password is incorrect. 3) The file is corrupt. Error: Unable to parse certificate '{name}' \
             (id: {id}): {error}"
        ))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data.split_ascii_whitespace().collect::<String>())
        .map_err(|e| refuse(format!("the certificate data is not base64 ({e})")))?;
    let upload = read_upload(&bytes, &password).map_err(&refuse)?;
    let fields = derived_fields(&upload).map_err(&refuse)?;
    doc.extend(fields);
    Ok(())
}
