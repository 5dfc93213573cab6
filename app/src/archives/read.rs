//! Reading an archive's files without extracting it: [`read_files`] hands each regular file's
//! content to the caller as a stream, and refuses anything suspicious.
//!
//! Safety policy: the archive is *read*, never extracted, so nothing is written anywhere. It is
//! streamed through fixed buffers, so memory does not grow with the archive. Anything suspicious
//! fails the read with a plain-words error rather than being skipped silently:
//! - an absolute path or a `..` component in an entry name;
//! - a link (symbolic or hard) whose target leaves the archive;
//! - more than [`ArchiveLimits::max_files`] entries, or more than
//!   [`ArchiveLimits::max_unpacked_bytes`] of content (counted as read, not as declared);
//! - content that unpacks to more than [`ArchiveLimits::max_ratio`] times its compressed size
//!   (zip bombs);
//! - anything the zip, gzip or tar readers refuse (corrupt, truncated, encrypted).

mod zip_end;

#[cfg(test)]
pub(in crate::archives) use zip_end::declared_entries as zip_end_declared_entries;

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU16, Ordering};

use super::ArchiveFormat;
use super::paths::{check_link, entry_path, parent, shorten};
use super::store::Source;

/// Content below this size is never called a bomb, whatever its ratio.
const RATIO_FLOOR: u64 = 8 * 1024 * 1024;

/// Longest name or PAX record set accepted (real ones are a few hundred bytes).
const MAX_HEADER_ENTRY: u64 = 64 * 1024;

/// What a read accepts before it calls an archive malicious.
#[derive(Clone, Debug)]
pub struct ArchiveLimits {
    /// Entries (files, directories, links) in the archive.
    pub max_files: u64,
    /// Bytes of file content once unpacked.
    pub max_unpacked_bytes: u64,
    /// Unpacked bytes per compressed byte, checked once past 8 MiB.
    pub max_ratio: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        Self {
            max_files: 100_000,
            max_unpacked_bytes: 2 * 1024 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Shared between a job's runner and the work reading archives: cancellation one way, progress
/// the other. Work that reads several archives gives each its share of the progress
/// ([`Control::stage`]).
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    progress: AtomicU8,
    /// The current stage and the number of stages (0 means 1), one byte each.
    stage: AtomicU16,
}

impl Control {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }

    /// 0–100.
    pub fn progress(&self) -> u8 {
        self.progress.load(Ordering::Relaxed)
    }

    /// From now on progress is reported within stage `stage` (from 0) of `stages`.
    pub fn stage(&self, stage: u8, stages: u8) {
        self.stage
            .store(u16::from_be_bytes([stage, stages]), Ordering::Relaxed);
    }

    fn set_progress(&self, done: u64, total: u64) {
        let [stage, stages] = self.stage.load(Ordering::Relaxed).to_be_bytes();
        let stages = u64::from(stages.max(1));
        let within = done.saturating_mul(100) / total.max(1);
        let percent = ((u64::from(stage) * 100 + within.min(100)) / stages).min(99);
        self.progress
            .store(u8::try_from(percent).unwrap_or(99), Ordering::Relaxed);
    }

    fn check(&self) -> Result<(), ArchiveError> {
        if self.is_cancelled() {
            Err(ArchiveError::Cancelled)
        } else {
            Ok(())
        }
    }
}

/// Why an archive could not be read; the `Display` text is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("The archive could not be read: {0}.")]
    Unreadable(String),
    #[error("The archive is corrupt or not a {format} archive: {detail}.")]
    Corrupt {
        format: &'static str,
        detail: String,
    },
    #[error(
        "The archive contains an entry with an absolute path ({0}); entries must be relative to the archive's root."
    )]
    AbsolutePath(String),
    #[error("The archive contains an entry that points outside the archive ({0}).")]
    Traversal(String),
    #[error("The archive contains a link that points outside the archive: {path} → {target}.")]
    LinkOutside { path: String, target: String },
    #[error("The archive contains more than {0} entries.")]
    TooManyEntries(u64),
    #[error("The archive unpacks to more than {0} MB.")]
    TooLarge(u64),
    #[error(
        "The archive looks like a zip bomb: {0} unpacks to more than {1} times its compressed size."
    )]
    Bomb(String, u64),
    #[error("The job was stopped.")]
    Cancelled,
}

impl ArchiveError {
    /// A file's content could not be read.
    pub fn content(error: &std::io::Error) -> Self {
        Self::Corrupt {
            format: "archive",
            detail: error.to_string(),
        }
    }
}

/// Reads the archive `source` and calls `on_file` with each regular file's path (relative,
/// `/`-separated, checked) and content. The content stream stops with an error once a limit is
/// passed or the work is cancelled; whatever `on_file` returns then, the read fails with that
/// reason. Returns the number of entries.
pub fn read_files(
    source: Source,
    format: ArchiveFormat,
    limits: &ArchiveLimits,
    control: &Control,
    mut on_file: impl FnMut(&str, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<u64, ArchiveError> {
    let unreadable = |error: std::io::Error| ArchiveError::Unreadable(error.to_string());
    let file = match source {
        Source::Path(path) => File::open(path).map_err(unreadable)?,
        Source::File(file) => file,
        Source::Stream { reader, size } => {
            return read_stream(reader, size, format, limits, control, &mut on_file);
        }
    };
    let size = file.metadata().map_err(unreadable)?.len();
    let reading = Reading::new(limits, control);
    let result = match format {
        ArchiveFormat::Zip => read_zip(file, &reading, &mut on_file),
        ArchiveFormat::TarGz => read_tar_gz(file, size, &reading, &mut on_file),
    };
    reading.outcome(result)
}

/// Reads an archive streamed from the store: only a tar.gz can be read front to back (a zip's
/// index is at its end; the store gives a zip as a file).
fn read_stream(
    reader: Box<dyn Read + Send>,
    size: u64,
    format: ArchiveFormat,
    limits: &ArchiveLimits,
    control: &Control,
    on_file: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<u64, ArchiveError> {
    if format != ArchiveFormat::TarGz {
        return Err(ArchiveError::Unreadable(
            "a zip archive cannot be read as a stream".into(),
        ));
    }
    let reading = Reading::new(limits, control);
    let result = read_tar_gz(reader, size, &reading, on_file);
    reading.outcome(result)
}

/// The state of one read, shared by the readers of its streams.
struct Reading<'a> {
    limits: &'a ArchiveLimits,
    control: &'a Control,
    /// File content read so far.
    content: Cell<u64>,
    /// Compressed bytes consumed so far (tar.gz).
    compressed: Cell<u64>,
    /// Why a stream refused to go on.
    tripped: RefCell<Option<ArchiveError>>,
}

impl<'a> Reading<'a> {
    fn new(limits: &'a ArchiveLimits, control: &'a Control) -> Self {
        Self {
            limits,
            control,
            content: Cell::new(0),
            compressed: Cell::new(0),
            tripped: RefCell::new(None),
        }
    }

    /// The result of a read; a refusal surfaces from the readers as an I/O error, so the real
    /// reason is reported instead.
    fn outcome(&self, result: Result<u64, ArchiveError>) -> Result<u64, ArchiveError> {
        match self.tripped.take() {
            Some(reason) => Err(reason),
            None => result,
        }
    }

    /// Records `reason` and turns it into the I/O error a reader can return.
    fn refuse(&self, reason: ArchiveError) -> std::io::Error {
        let error = std::io::Error::other(reason.to_string());
        *self.tripped.borrow_mut() = Some(reason);
        error
    }

    fn count_entries(&self, entries: u64) -> Result<(), ArchiveError> {
        if entries > self.limits.max_files {
            Err(ArchiveError::TooManyEntries(self.limits.max_files))
        } else {
            Ok(())
        }
    }

    fn too_large(&self) -> ArchiveError {
        ArchiveError::TooLarge(self.limits.max_unpacked_bytes / (1024 * 1024))
    }

    fn refused(&self) -> bool {
        self.tripped.borrow().is_some()
    }
}

/// A file's content as `on_file` reads it: counted against the limits, stopped by a cancel,
/// and reporting progress.
struct Content<'r, 'a, R> {
    inner: R,
    reading: &'r Reading<'a>,
    read: u64,
    /// For zip entries: the most this entry may unpack to, and its name.
    ceiling: Option<(u64, &'r str)>,
    /// For tar.gz: the archive's size, to report progress by compressed bytes consumed.
    progress_of: Option<u64>,
}

impl<R: Read> Read for Content<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let reading = self.reading;
        if let Err(reason) = reading.control.check() {
            return Err(reading.refuse(reason));
        }
        let read = self.inner.read(buf)?;
        self.read += read as u64;
        reading.content.set(reading.content.get() + read as u64);
        if reading.content.get() > reading.limits.max_unpacked_bytes {
            return Err(reading.refuse(reading.too_large()));
        }
        // Counted as read: the declared size may lie.
        if let Some((ceiling, name)) = self.ceiling
            && self.read > ceiling
        {
            let bomb = ArchiveError::Bomb(shorten(name), reading.limits.max_ratio);
            return Err(reading.refuse(bomb));
        }
        if let Some(size) = self.progress_of {
            reading.control.set_progress(reading.compressed.get(), size);
        }
        Ok(read)
    }
}

fn read_tar_gz(
    file: impl Read,
    size: u64,
    reading: &Reading,
    on_file: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<u64, ArchiveError> {
    let counted = Counting {
        inner: file,
        count: &reading.compressed,
    };
    let gzip = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, counted));
    // Every decompressed byte passes the guard — headers and skipped entries too — so no part
    // of the stream escapes the size, ratio and stop checks.
    let guarded = Guarded {
        inner: gzip,
        unpacked: 0,
        reading,
    };
    let mut archive = tar::Archive::new(guarded);
    let corrupt = |error: std::io::Error| ArchiveError::Corrupt {
        format: "tar.gz",
        detail: error.to_string(),
    };
    // Raw entries: long names and PAX records come as entries of their own, read here with a
    // cap instead of being buffered whole by the tar reader.
    let (mut long_name, mut long_link) = (None, None);
    let mut entries = 0u64;
    for entry in archive.entries().map_err(corrupt)?.raw(true) {
        let mut entry = entry.map_err(corrupt)?;
        entries += 1;
        reading.count_entries(entries)?;
        reading.control.check()?;
        let kind = entry.header().entry_type();
        if kind.is_gnu_longname() {
            long_name = Some(read_capped(&mut entry)?);
            continue;
        }
        if kind.is_gnu_longlink() {
            long_link = Some(read_capped(&mut entry)?);
            continue;
        }
        if kind.is_pax_local_extensions() {
            let records = read_capped(&mut entry)?;
            for record in tar::PaxExtensions::new(&records).flatten() {
                match record.key_bytes() {
                    b"path" => long_name = Some(record.value_bytes().to_vec()),
                    b"linkpath" => long_link = Some(record.value_bytes().to_vec()),
                    _ => {}
                }
            }
            continue;
        }
        if kind.is_pax_global_extensions() {
            continue;
        }
        let raw_path = long_name
            .take()
            .unwrap_or_else(|| entry.path_bytes().into_owned());
        let path = entry_path(trim_nul(&raw_path))?;
        let link = long_link
            .take()
            .or_else(|| entry.link_name_bytes().map(|target| target.into_owned()))
            .map(|target| String::from_utf8_lossy(trim_nul(&target)).into_owned());
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let mut content = Content {
                    inner: &mut entry,
                    reading,
                    read: 0,
                    ceiling: None,
                    progress_of: Some(size),
                };
                on_file(&path, &mut content)?;
                if reading.refused() {
                    return Ok(entries);
                }
            }
            // A hard link names another entry, from the archive's root.
            tar::EntryType::Link => check_link(&path, link.as_deref().unwrap_or(""), "")?,
            tar::EntryType::Symlink => {
                check_link(&path, link.as_deref().unwrap_or(""), parent(&path))?;
            }
            // Directories, devices, FIFOs: nothing to read.
            _ => {}
        }
    }
    Ok(entries)
}

fn read_capped(entry: &mut impl Read) -> Result<Vec<u8>, ArchiveError> {
    let mut bytes = Vec::new();
    entry
        .take(MAX_HEADER_ENTRY + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| ArchiveError::Corrupt {
            format: "tar.gz",
            detail: error.to_string(),
        })?;
    if bytes.len() as u64 > MAX_HEADER_ENTRY {
        return Err(ArchiveError::Corrupt {
            format: "tar.gz",
            detail: "an entry name or header record is longer than 64 KiB".into(),
        });
    }
    Ok(bytes)
}

fn trim_nul(bytes: &[u8]) -> &[u8] {
    let end = bytes
        .iter()
        .rposition(|&byte| byte != 0)
        .map_or(0, |last| last + 1);
    &bytes[..end]
}

/// The decompressed stream of a `.tar.gz`, refusing to go past the limits or a stop.
struct Guarded<'r, 'a, R> {
    inner: R,
    unpacked: u64,
    reading: &'r Reading<'a>,
}

impl<R: Read> Read for Guarded<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let reading = self.reading;
        if let Err(reason) = reading.control.check() {
            return Err(reading.refuse(reason));
        }
        let read = self.inner.read(buf)?;
        self.unpacked += read as u64;
        if self.unpacked > reading.limits.max_unpacked_bytes {
            return Err(reading.refuse(reading.too_large()));
        }
        let ratio = reading.limits.max_ratio;
        if self.unpacked > RATIO_FLOOR
            && self.unpacked > reading.compressed.get().saturating_mul(ratio)
        {
            return Err(reading.refuse(ArchiveError::Bomb("the archive".into(), ratio)));
        }
        Ok(read)
    }
}

fn read_zip(
    mut file: File,
    reading: &Reading,
    on_file: &mut dyn FnMut(&str, &mut dyn Read) -> Result<(), ArchiveError>,
) -> Result<u64, ArchiveError> {
    let corrupt = |error: zip::result::ZipError| ArchiveError::Corrupt {
        format: "zip",
        detail: error.to_string(),
    };
    // The entry count the archive declares, checked before its index is read into memory.
    if let Some(declared) = zip_end::declared_entries(&mut file) {
        reading.count_entries(declared)?;
    }
    let mut archive =
        zip::ZipArchive::new(BufReader::with_capacity(64 * 1024, file)).map_err(corrupt)?;
    let entries = archive.len() as u64;
    reading.count_entries(entries)?;
    let max_ratio = reading.limits.max_ratio;
    for index in 0..archive.len() {
        reading.control.check()?;
        let mut entry = archive.by_index(index).map_err(corrupt)?;
        let path = entry_path(entry.name_raw())?;
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            let mut target = Vec::new();
            (&mut entry)
                .take(4096)
                .read_to_end(&mut target)
                .map_err(|error| ArchiveError::Corrupt {
                    format: "zip",
                    detail: error.to_string(),
                })?;
            check_link(&path, &String::from_utf8_lossy(&target), parent(&path))?;
            continue;
        }
        let compressed = entry.compressed_size();
        let declared = entry.size();
        if declared > reading.limits.max_unpacked_bytes {
            return Err(reading.too_large());
        }
        let ceiling = compressed.saturating_mul(max_ratio).max(RATIO_FLOOR);
        if declared > ceiling {
            return Err(ArchiveError::Bomb(shorten(&path), max_ratio));
        }
        let mut content = Content {
            inner: &mut entry,
            reading,
            read: 0,
            ceiling: Some((ceiling, &path)),
            progress_of: None,
        };
        on_file(&path, &mut content)?;
        if reading.refused() {
            return Ok(entries);
        }
        reading.control.set_progress(index as u64 + 1, entries);
    }
    Ok(entries)
}

/// Counts the bytes read through it (the compressed bytes, for progress and the bomb check).
struct Counting<'a, R> {
    inner: R,
    count: &'a Cell<u64>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
}
