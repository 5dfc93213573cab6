//! Where archives are kept: an object store, shared by every instance.
//!
//! `CONSOLE_ARCHIVE_STORE` is a local directory (default `<data dir>/archives`), `file:///path`
//! (a directory every instance mounts), or `s3://bucket[/prefix]` configured by the standard
//! `AWS_*` variables. A version's archive is the object its row names (`versions.archive_key`):
//! a random name the server chose, never anything a user typed.
//!
//! Policy:
//! - An upload streams into the store as it arrives ([`Incoming`]): one request for a small
//!   archive, a multipart upload in 5 MiB parts (two in flight) for a large one, so memory does
//!   not grow with the archive. Unless the version that names it commits, the object is removed
//!   again (an unfinished multipart upload is aborted).
//! - A job reads an archive ([`ArchiveStore::source`]): from a local store in place; from S3 a
//!   tar.gz is streamed, a zip (which needs random access) is first copied to an unnamed
//!   temporary file in the data directory that disappears when it is closed, even after a crash.
//! - [`ArchiveStore::sweep`] deletes objects older than an hour that no version names: what an
//!   instance that died between storing an archive and recording its version leaves behind.
//!   Multipart uploads a crash leaves unfinished are the store's to expire (an S3 lifecycle rule
//!   such as `AbortIncompleteMultipartUpload` after one day).

mod connector;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, path::Path as Key};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::ArchiveFormat;
use crate::db::entity::version;
use crate::shares::{Share, Shares};

/// Parts of a multipart upload: S3's smallest, so an upload holds at most
/// `PART_BYTES × (PARTS_IN_FLIGHT + 1)` in memory.
const PART_BYTES: usize = 5 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 2;

/// Uploads one instance streams into the store at once (each holds up to three parts in
/// memory); more wait for their turn, [`TURN_WAIT`] at most.
const UPLOADS_AT_ONCE: usize = 8;

/// Uploads one user may have under way at once: a user's stalled uploads leave the other turns
/// to everybody else.
pub const UPLOADS_PER_USER: usize = 2;

/// How long an upload waits for a turn before it is refused as busy.
const TURN_WAIT: Duration = Duration::from_secs(30);

/// How long a failing S3 request is retried (with backoff) before the store is reported
/// unreachable: a start-up check, a readiness probe or a job waits this long at most.
const RETRY_FOR: Duration = Duration::from_secs(10);

/// The prefix [`ArchiveStore::check`] lists; nothing is ever stored under it.
const PROBE_PREFIX: &str = "readiness-probe";

/// Why the archive store cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("CONSOLE_ARCHIVE_STORE {0}")]
    Config(String),
    #[error("the archive store {store}: {source}")]
    Store {
        store: String,
        source: object_store::Error,
    },
    #[error("the archive store: {0}")]
    Io(#[from] std::io::Error),
}

/// The archive store of this instance. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ArchiveStore {
    objects: Arc<dyn ObjectStore>,
    /// The directory of a local store, where archives are read in place.
    local: Option<PathBuf>,
    /// Where a remote zip is copied to be read.
    spool: PathBuf,
    /// The store as configured, for messages (an S3 URL carries no credentials).
    name: String,
    turns: Turns,
}

/// Turns to stream into the store: [`UPLOADS_AT_ONCE`] for the instance, [`UPLOADS_PER_USER`]
/// of them for each user.
#[derive(Clone, Debug)]
struct Turns {
    instance: Arc<tokio::sync::Semaphore>,
    per_user: Arc<Shares<i64>>,
}

impl Default for Turns {
    fn default() -> Self {
        Self {
            instance: Arc::new(tokio::sync::Semaphore::new(UPLOADS_AT_ONCE)),
            per_user: Shares::new(UPLOADS_PER_USER),
        }
    }
}

/// An upload's turn: given back when the upload ends (its [`Incoming`] dropped).
#[derive(Debug)]
pub struct Turn {
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    _share: Share<i64>,
}

/// Why an upload got no turn.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoTurn {
    #[error("the uploader already has {0} uploads under way")]
    OwnShareTaken(usize),
    #[error("every upload turn stayed taken")]
    Busy,
}

impl StoreError {
    /// Whether the object asked for does not exist (as opposed to the store failing).
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Store { source, .. } => matches!(source, object_store::Error::NotFound { .. }),
            Self::Io(error) => error.kind() == std::io::ErrorKind::NotFound,
            Self::Config(_) => false,
        }
    }
}

impl ArchiveStore {
    /// The store `setting` names (`CONSOLE_ARCHIVE_STORE`), or `<data dir>/archives`.
    pub fn open(setting: Option<&str>, data_dir: &Path) -> Result<Self, StoreError> {
        let spool = data_dir.join("spool");
        let setting = setting.map(str::trim).filter(|value| !value.is_empty());
        let directory = match setting {
            None => data_dir.join("archives"),
            Some(url) if url.starts_with("s3://") => return Self::s3(url, spool),
            Some(url) if url.starts_with("file://") => {
                let path = PathBuf::from(&url["file://".len()..]);
                if !path.is_absolute() {
                    return Err(StoreError::Config(format!(
                        "{url:?}: a file:// URL needs an absolute path (file:///shared/archives)"
                    )));
                }
                path
            }
            Some(url) if url.contains("://") => {
                return Err(StoreError::Config(format!(
                    "{url:?}: unknown kind of store; use a directory, file:///path or \
                     s3://bucket[/prefix]"
                )));
            }
            Some(path) => PathBuf::from(path),
        };
        std::fs::create_dir_all(&directory)?;
        let directory = directory.canonicalize()?;
        let objects = LocalFileSystem::new_with_prefix(&directory)
            .map_err(|source| StoreError::Store {
                store: directory.display().to_string(),
                source,
            })?
            .with_automatic_cleanup(true);
        Ok(Self {
            objects: Arc::new(objects),
            name: directory.display().to_string(),
            local: Some(directory),
            spool,
            turns: Turns::default(),
        })
    }

    fn s3(url: &str, spool: PathBuf) -> Result<Self, StoreError> {
        let rest = &url["s3://".len()..];
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::Config(format!(
                "{url:?}: name the bucket (s3://bucket[/prefix])"
            )));
        }
        let built = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .with_http_connector(connector::HyperConnector)
            .with_retry(object_store::RetryConfig {
                max_retries: 3,
                retry_timeout: RETRY_FOR,
                ..Default::default()
            })
            .build()
            .map_err(|error| StoreError::Config(format!("{url:?}: {error}")))?;
        let objects: Arc<dyn ObjectStore> = match prefix.trim_matches('/') {
            "" => Arc::new(built),
            prefix => Arc::new(PrefixStore::new(built, prefix)),
        };
        Ok(Self {
            objects,
            local: None,
            spool,
            name: url.to_owned(),
            turns: Turns::default(),
        })
    }

    /// Whether the store answers, its bucket exists and it accepts this instance's credentials:
    /// one listing of a prefix that holds nothing.
    pub async fn check(&self) -> Result<(), StoreError> {
        self.objects
            .list_with_delimiter(Some(&Key::from(PROBE_PREFIX)))
            .await
            .map(drop)
            .map_err(|source| self.failed(source))
    }

    /// A turn to store an archive of `uploader`'s, once fewer than [`UPLOADS_AT_ONCE`] are under
    /// way (waiting [`TURN_WAIT`] at most), and unless `uploader` has [`UPLOADS_PER_USER`] under
    /// way already. Taken before a byte of the upload is read.
    pub async fn turn(&self, uploader: i64) -> Result<Turn, NoTurn> {
        let share = self
            .turns
            .per_user
            .take(uploader)
            .ok_or(NoTurn::OwnShareTaken(UPLOADS_PER_USER))?;
        let permit = tokio::time::timeout(TURN_WAIT, self.turns.instance.clone().acquire_owned())
            .await
            .map_err(|_| NoTurn::Busy)?
            .ok();
        Ok(Turn {
            _permit: permit,
            _share: share,
        })
    }

    /// Starts storing a new archive under a fresh key, in `turn`.
    pub fn incoming(&self, turn: Turn) -> Incoming {
        let key = format!("{:032x}", rand::random::<u128>());
        let writer =
            BufWriter::with_capacity(self.objects.clone(), Key::from(key.as_str()), PART_BYTES)
                .with_max_concurrency(PARTS_IN_FLIGHT);
        Incoming {
            store: self.clone(),
            key,
            writer: Some(writer),
            kept: false,
            _turn: turn,
        }
    }

    /// The archive stored under `key`, ready to be read on a blocking thread.
    pub async fn source(&self, key: &str, format: ArchiveFormat) -> Result<Source, StoreError> {
        let location = Key::from(key);
        if let Some(directory) = &self.local {
            // Opened by the reader itself: the file system is the store.
            return Ok(Source::Path(directory.join(location.as_ref())));
        }
        let object = self
            .objects
            .get(&location)
            .await
            .map_err(|source| self.failed(source))?;
        let size = object.meta.size;
        let stream = object.into_stream().map_err(std::io::Error::other);
        let reader = tokio_util::io::StreamReader::new(stream);
        match format {
            ArchiveFormat::TarGz => Ok(Source::Stream {
                reader: Box::new(tokio_util::io::SyncIoBridge::new(reader)),
                size,
            }),
            ArchiveFormat::Zip => {
                tokio::fs::create_dir_all(&self.spool).await?;
                let copy = tempfile::tempfile_in(&self.spool)?;
                let mut file = tokio::fs::File::from_std(copy);
                tokio::io::copy(&mut std::pin::pin!(reader), &mut file).await?;
                file.flush().await?;
                file.rewind().await?;
                Ok(Source::File(file.into_std().await))
            }
        }
    }

    /// Deletes the object under `key`; one already gone is no error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.objects.delete(&Key::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(source) => Err(self.failed(source)),
        }
    }

    /// Deletes the objects older than `age` that no version names; returns how many.
    pub async fn sweep(&self, db: &DatabaseConnection, age: Duration) -> Result<usize, StoreError> {
        let cutoff = chrono::Utc::now()
            - chrono::Duration::from_std(age).unwrap_or_else(|_| chrono::Duration::hours(1));
        let old: Vec<String> = self
            .objects
            .list(None)
            .try_filter(|meta| std::future::ready(meta.last_modified < cutoff))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(|source| self.failed(source))?;
        let mut removed = 0;
        for batch in old.chunks(500) {
            let named: std::collections::HashSet<String> = version::Entity::find()
                .select_only()
                .column(version::Column::ArchiveKey)
                .filter(version::Column::ArchiveKey.is_in(batch.iter().cloned()))
                .into_tuple::<String>()
                .all(db)
                .await
                .map_err(std::io::Error::other)?
                .into_iter()
                .collect();
            for key in batch.iter().filter(|key| !named.contains(*key)) {
                self.delete(key).await?;
                tracing::info!(key, "deleted an archive no version names");
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every key in the store, sorted.
    pub async fn keys(&self) -> Result<Vec<String>, StoreError> {
        let mut keys: Vec<String> = self
            .objects
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .map_err(|source| self.failed(source))?;
        keys.sort();
        Ok(keys)
    }

    fn failed(&self, source: object_store::Error) -> StoreError {
        StoreError::Store {
            store: self.name.clone(),
            source,
        }
    }
}

/// An archive as a job reads it.
pub enum Source {
    /// A file of the local store.
    Path(PathBuf),
    /// A temporary copy, removed when closed.
    File(std::fs::File),
    /// An object streamed from the store as it is read (blocking reads, for a blocking thread).
    Stream {
        reader: Box<dyn Read + Send>,
        size: u64,
    },
}

/// An archive on its way into the store. Dropped without [`Incoming::keep`], it is removed
/// again: an unfinished upload is aborted, a finished object deleted.
pub struct Incoming {
    store: ArchiveStore,
    key: String,
    /// `None` once the upload is complete.
    writer: Option<BufWriter>,
    kept: bool,
    _turn: Turn,
}

impl Incoming {
    pub fn key(&self) -> &str {
        &self.key
    }

    pub async fn write(&mut self, chunk: Bytes) -> Result<(), StoreError> {
        match &mut self.writer {
            Some(writer) => writer
                .put(chunk)
                .await
                .map_err(|source| self.store.failed(source)),
            None => Err(StoreError::Io(std::io::Error::other(
                "written after finish",
            ))),
        }
    }

    /// Completes the upload: the object exists from now on.
    pub async fn finish(&mut self) -> Result<(), StoreError> {
        // A failed completion leaves nothing to abort (a multipart upload aborts itself); what
        // may have been stored is deleted when this is dropped.
        if let Some(mut writer) = self.writer.take() {
            writer.shutdown().await?;
        }
        Ok(())
    }

    /// The object belongs to a version from now on; what is returned can still remove it, should
    /// that version not commit after all.
    pub fn keep(mut self) -> Kept {
        self.kept = true;
        Kept {
            store: self.store.clone(),
            key: self.key.clone(),
        }
    }
}

/// A stored archive [`Incoming::keep`] handed to a version.
pub struct Kept {
    store: ArchiveStore,
    key: String,
}

impl Kept {
    /// Removes the archive (in the background): its version was not recorded after all.
    pub fn remove(self) {
        remove_in_background(self.store, self.key, None);
    }
}

/// Removes the archive under `key` without waiting: aborts `writer`'s unfinished upload, or
/// deletes the object. A failure is logged; the hourly sweep removes what is left.
fn remove_in_background(store: ArchiveStore, key: String, writer: Option<BufWriter>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    runtime.spawn(async move {
        let removed = match writer {
            Some(mut writer) => writer.abort().await.map_err(|source| store.failed(source)),
            None => store.delete(&key).await,
        };
        if let Err(error) = removed {
            tracing::warn!(%error, key, "could not remove an archive no version took");
        }
    });
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        remove_in_background(self.store.clone(), self.key.clone(), self.writer.take());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// A local store in a temporary directory, and (with `TEST_ARCHIVE_S3`, which the test
    /// command sets) one on the S3-compatible test server under a prefix of its own.
    fn stores() -> Vec<(ArchiveStore, tempfile::TempDir)> {
        let local = tempfile::tempdir().unwrap();
        let mut stores = vec![(ArchiveStore::open(None, local.path()).unwrap(), local)];
        let s3 = std::env::var("TEST_ARCHIVE_S3").expect(
            "TEST_ARCHIVE_S3 is not set: run the tests with scripts/test.sh, which starts the \
             S3-compatible test store",
        );
        let spool = tempfile::tempdir().unwrap();
        let url = format!("{s3}/unit-{:016x}", rand::random::<u64>());
        stores.push((ArchiveStore::open(Some(&url), spool.path()).unwrap(), spool));
        stores
    }

    async fn store_bytes(store: &ArchiveStore, bytes: &[u8], chunk: usize) -> Incoming {
        let mut incoming = store.incoming(store.turn(1).await.unwrap());
        for part in bytes.chunks(chunk) {
            incoming.write(Bytes::copy_from_slice(part)).await.unwrap();
        }
        incoming.finish().await.unwrap();
        incoming
    }

    fn read_back(source: Source) -> Vec<u8> {
        let mut bytes = Vec::new();
        match source {
            Source::Path(path) => {
                bytes = std::fs::read(path).unwrap();
            }
            Source::File(mut file) => {
                file.read_to_end(&mut bytes).unwrap();
            }
            Source::Stream { mut reader, size } => {
                reader.read_to_end(&mut bytes).unwrap();
                assert_eq!(size, bytes.len() as u64);
            }
        }
        bytes
    }

    /// Waits (bounded) until the store lists exactly `expected`.
    async fn assert_keys(store: &ArchiveStore, expected: &[&str]) {
        let mut keys = Vec::new();
        for _ in 0..100 {
            keys = store.keys().await.unwrap();
            if keys == expected {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(keys, expected, "{}", store.name);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn small_and_multipart_archives_come_back_as_stored() {
        // 12 MiB: three parts of a multipart upload.
        let large: Vec<u8> = (0..12 * 1024 * 1024u32).map(|n| (n % 251) as u8).collect();
        for (store, _dir) in stores() {
            let small = store_bytes(&store, b"a small archive", 4).await;
            let big = store_bytes(&store, &large, 64 * 1024).await;
            let (small_key, big_key) = (small.key().to_owned(), big.key().to_owned());
            small.keep();
            big.keep();
            let mut expected = [small_key.as_str(), big_key.as_str()];
            expected.sort_unstable();
            assert_keys(&store, &expected).await;
            for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
                let source = store.source(&big_key, format).await.unwrap();
                let bytes = tokio::task::spawn_blocking(move || read_back(source))
                    .await
                    .unwrap();
                assert!(
                    bytes == large,
                    "{}: {format:?} read back differs",
                    store.name
                );
            }
            let source = store
                .source(&small_key, ArchiveFormat::TarGz)
                .await
                .unwrap();
            let bytes = tokio::task::spawn_blocking(move || read_back(source))
                .await
                .unwrap();
            assert_eq!(bytes, b"a small archive");
            store.delete(&big_key).await.unwrap();
            store.delete(&big_key).await.unwrap();
            assert_keys(&store, &[small_key.as_str()]).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn archives_no_version_kept_are_removed_finished_or_not() {
        let large = vec![7u8; 11 * 1024 * 1024];
        for (store, _dir) in stores() {
            // Finished, then dropped (the version did not commit).
            drop(store_bytes(&store, &large, 1024 * 1024).await);
            // Dropped mid-upload, with parts already sent.
            let mut unfinished = store.incoming(store.turn(1).await.unwrap());
            for part in large.chunks(1024 * 1024) {
                unfinished
                    .write(Bytes::copy_from_slice(part))
                    .await
                    .unwrap();
            }
            drop(unfinished);
            assert_keys(&store, &[]).await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_zip_from_a_remote_store_is_a_temporary_file_that_leaves_nothing_behind() {
        let (store, spool) = stores().pop().unwrap();
        let zip = store_bytes(&store, b"PK\x05\x06 not much of a zip", 8).await;
        let source = store.source(zip.key(), ArchiveFormat::Zip).await.unwrap();
        assert!(matches!(source, Source::File(_)));
        drop(source);
        let left: Vec<_> = std::fs::read_dir(spool.path().join("spool"))
            .unwrap()
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[tokio::test]
    async fn bad_settings_are_refused_with_what_to_write_instead() {
        let data = tempfile::tempdir().unwrap();
        for (setting, says) in [
            ("gs://bucket", "unknown kind of store"),
            ("file://relative/dir", "absolute path"),
            ("s3://", "name the bucket"),
        ] {
            let error = ArchiveStore::open(Some(setting), data.path()).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("CONSOLE_ARCHIVE_STORE"), "{message}");
            assert!(message.contains(says), "{setting}: {message}");
        }
        // A bucket that does not exist is found out by the check at start.
        let missing = ArchiveStore::open(Some("s3://no-such-bucket"), data.path()).unwrap();
        let error = missing.check().await.unwrap_err().to_string();
        assert!(error.contains("s3://no-such-bucket"), "{error}");
        let shared = tempfile::tempdir().unwrap();
        let url = format!("file://{}", shared.path().display());
        let store = ArchiveStore::open(Some(&url), data.path()).unwrap();
        store.check().await.unwrap();
        store_bytes(&store, b"x", 1).await.keep();
        assert_eq!(std::fs::read_dir(shared.path()).unwrap().count(), 1);
        assert!(!data.path().join("archives").exists());
    }
}
