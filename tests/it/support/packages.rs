//! Template packages in the management space's built-in feed.

use super::harness::{Fleet, API_KEY};
use std::collections::BTreeMap;
use std::io::Read;

/// The files of a zip, by entry name.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|index| {
            let mut entry = archive.by_index(index).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.name().to_owned(), content)
        })
        .collect()
}

pub async fn download(fleet: &Fleet, id: &str, version: &str) -> Vec<u8> {
    let url = format!(
        "{}/api/Spaces-1/packages/packages-{id}.{version}/raw",
        fleet.emulator.url()
    );
    let response = reqwest::Client::new()
        .get(url)
        .header("X-Octopus-ApiKey", API_KEY)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.bytes().await.unwrap().to_vec()
}
