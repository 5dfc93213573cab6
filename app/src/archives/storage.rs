//! Where archives are kept: `<data dir>/archives/<version id>.<zip|tar.gz>`, and uploads on their
//! way in under `<data dir>/archives/incoming/`. Nothing of a user's input ends up in a path.

use std::path::{Path, PathBuf};

use super::ArchiveFormat;

/// Where the archive of version `id` is stored.
pub fn archive_path(data_dir: &Path, id: i64, format: ArchiveFormat) -> PathBuf {
    archives_dir(data_dir).join(format!("{id}.{}", format.as_str()))
}

/// Where uploads are spooled until their version is recorded.
pub fn incoming_dir(data_dir: &Path) -> PathBuf {
    archives_dir(data_dir).join("incoming")
}

fn archives_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("archives")
}

/// Removes partial uploads older than `age` (left behind by a crash mid-upload). Younger ones may
/// still be arriving.
pub async fn sweep_incoming(data_dir: &Path, age: std::time::Duration) -> std::io::Result<usize> {
    let mut removed = 0;
    let mut entries = match tokio::fs::read_dir(incoming_dir(data_dir)).await {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    while let Some(entry) = entries.next_entry().await? {
        // An upload may finish (and move its file) while we look: not an error.
        let Ok(modified) = entry.metadata().await.and_then(|meta| meta.modified()) else {
            continue;
        };
        if modified.elapsed().unwrap_or_default() > age {
            match tokio::fs::remove_file(entry.path()).await {
                Ok(()) => removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archives_are_stored_under_their_id_only() {
        let path = archive_path(Path::new("/data"), 42, ArchiveFormat::TarGz);
        assert_eq!(path, Path::new("/data/archives/42.tar.gz"));
    }

    #[tokio::test]
    async fn abandoned_partial_uploads_are_swept() {
        let data = tempfile::tempdir().unwrap();
        let incoming = incoming_dir(data.path());
        std::fs::create_dir_all(&incoming).unwrap();
        let old = std::fs::File::create(incoming.join("old.part")).unwrap();
        let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        old.set_modified(two_hours_ago).unwrap();
        std::fs::write(incoming.join("arriving.part"), b"PK").unwrap();
        let removed = sweep_incoming(data.path(), std::time::Duration::from_secs(3600))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert!(!incoming.join("old.part").exists());
        assert!(incoming.join("arriving.part").exists());
    }
}
