//! The analyze job: an inventory of a version's source archive — files, lines and bytes per
//! language (by extension), totals, and the largest files.
//!
//! Safety policy: the archive is *read*, never extracted, so nothing is written anywhere. It is
//! streamed through one fixed 64 KiB buffer; the report keeps per-language totals and the ten
//! largest files only, so memory does not grow with the archive. Anything suspicious fails the
//! job with a plain-words error rather than being skipped silently:
//! - an absolute path or a `..` component in an entry name;
//! - a link (symbolic or hard) whose target leaves the archive;
//! - more than [`AnalysisLimits::max_files`] entries, or more than
//!   [`AnalysisLimits::max_unpacked_bytes`] of content (counted as read, not as declared);
//! - content that unpacks to more than [`AnalysisLimits::max_ratio`] times its compressed size
//!   (zip bombs);
//! - anything the zip, gzip or tar readers refuse (corrupt, truncated, encrypted).

mod languages;

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

use crate::applications::ssr::upload::ArchiveFormat;
use crate::jobs::{AnalysisReport, FileStats, LanguageStats};

/// How many of the largest files a report lists.
const LARGEST_FILES: usize = 10;

/// Content below this size is never called a bomb, whatever its ratio.
const RATIO_FLOOR: u64 = 8 * 1024 * 1024;

/// Entry names longer than this are cut in error messages.
const NAME_IN_ERRORS: usize = 200;

/// What an analysis accepts before it calls an archive malicious.
#[derive(Clone, Debug)]
pub struct AnalysisLimits {
    /// Entries (files, directories, links) in the archive.
    pub max_files: u64,
    /// Bytes of file content once unpacked.
    pub max_unpacked_bytes: u64,
    /// Unpacked bytes per compressed byte, checked once past 8 MiB.
    pub max_ratio: u64,
}

impl Default for AnalysisLimits {
    fn default() -> Self {
        Self {
            max_files: 100_000,
            max_unpacked_bytes: 2 * 1024 * 1024 * 1024,
            max_ratio: 200,
        }
    }
}

/// Shared between the runner and the analysis: cancellation one way, progress the other.
#[derive(Debug, Default)]
pub struct Control {
    cancelled: AtomicBool,
    progress: AtomicU8,
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

    fn set_progress(&self, done: u64, total: u64) {
        let percent = (done.saturating_mul(100) / total.max(1)).min(99);
        self.progress
            .store(u8::try_from(percent).unwrap_or(99), Ordering::Relaxed);
    }
}

/// Why an analysis failed; the `Display` text is what the user reads.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
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
    #[error("The analysis was stopped.")]
    Cancelled,
    /// The server could not start the analysis (its database failed); it will be tried again.
    #[error("The analysis will be tried again.")]
    Retry,
    #[error("The analysis failed on the server: {0}.")]
    Internal(String),
}

/// Inventories the archive at `path`.
pub fn analyze(
    path: &Path,
    format: ArchiveFormat,
    limits: &AnalysisLimits,
    control: &Control,
) -> Result<AnalysisReport, AnalysisError> {
    let file = File::open(path).map_err(|error| AnalysisError::Unreadable(error.to_string()))?;
    let size = file
        .metadata()
        .map_err(|error| AnalysisError::Unreadable(error.to_string()))?
        .len();
    let mut inventory = Inventory::new(limits, control);
    match format {
        ArchiveFormat::Zip => read_zip(file, &mut inventory)?,
        ArchiveFormat::TarGz => read_tar_gz(file, size, &mut inventory)?,
    }
    Ok(inventory.report())
}

fn read_tar_gz(file: File, size: u64, inventory: &mut Inventory) -> Result<(), AnalysisError> {
    let consumed = Rc::new(Cell::new(0));
    let tripped = Rc::new(RefCell::new(None));
    let counted = Counting {
        inner: file,
        count: consumed.clone(),
    };
    let gzip = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(64 * 1024, counted));
    // Every decompressed byte passes the guard — headers and skipped entries too — so no part
    // of the stream escapes the size, ratio and stop checks.
    let guarded = Guarded {
        inner: gzip,
        unpacked: 0,
        consumed: consumed.clone(),
        limits: inventory.limits,
        control: inventory.control,
        tripped: tripped.clone(),
    };
    let mut archive = tar::Archive::new(guarded);
    let result = read_tar_entries(&mut archive, size, &consumed, inventory);
    // A guard refusal surfaces from the tar reader as an I/O error: report the real reason.
    match tripped.take() {
        Some(reason) => Err(reason),
        None => result,
    }
}

fn read_tar_entries<R: Read>(
    archive: &mut tar::Archive<R>,
    size: u64,
    consumed: &Rc<Cell<u64>>,
    inventory: &mut Inventory,
) -> Result<(), AnalysisError> {
    let corrupt = |error: std::io::Error| AnalysisError::Corrupt {
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
        inventory.count_entry(entries)?;
        inventory.check_cancelled()?;
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
                inventory.add_file(&path, &mut entry, |inventory| {
                    inventory.control.set_progress(consumed.get(), size);
                    inventory.check_cancelled()
                })?;
            }
            // A hard link names another entry, from the archive's root.
            tar::EntryType::Link => check_link(&path, link.as_deref().unwrap_or(""), "")?,
            tar::EntryType::Symlink => {
                check_link(&path, link.as_deref().unwrap_or(""), parent(&path))?;
            }
            // Directories, devices, FIFOs: nothing to count.
            _ => {}
        }
    }
    Ok(())
}

/// Longest name or PAX record set accepted (real ones are a few hundred bytes).
const MAX_HEADER_ENTRY: u64 = 64 * 1024;

fn read_capped(entry: &mut impl Read) -> Result<Vec<u8>, AnalysisError> {
    let mut bytes = Vec::new();
    entry
        .take(MAX_HEADER_ENTRY + 1)
        .read_to_end(&mut bytes)
        .map_err(|error| AnalysisError::Corrupt {
            format: "tar.gz",
            detail: error.to_string(),
        })?;
    if bytes.len() as u64 > MAX_HEADER_ENTRY {
        return Err(AnalysisError::Corrupt {
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
struct Guarded<'a, R> {
    inner: R,
    unpacked: u64,
    consumed: Rc<Cell<u64>>,
    limits: &'a AnalysisLimits,
    control: &'a Control,
    tripped: Rc<RefCell<Option<AnalysisError>>>,
}

impl<R: Read> Read for Guarded<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let refuse = |tripped: &RefCell<Option<AnalysisError>>, reason: AnalysisError| {
            let message = reason.to_string();
            *tripped.borrow_mut() = Some(reason);
            Err(std::io::Error::other(message))
        };
        if self.control.is_cancelled() {
            return refuse(&self.tripped, AnalysisError::Cancelled);
        }
        let read = self.inner.read(buf)?;
        self.unpacked += read as u64;
        if self.unpacked > self.limits.max_unpacked_bytes {
            let limit_mb = self.limits.max_unpacked_bytes / (1024 * 1024);
            return refuse(&self.tripped, AnalysisError::TooLarge(limit_mb));
        }
        let ratio = self.limits.max_ratio;
        if self.unpacked > RATIO_FLOOR && self.unpacked > self.consumed.get().saturating_mul(ratio)
        {
            return refuse(
                &self.tripped,
                AnalysisError::Bomb("the archive".into(), ratio),
            );
        }
        Ok(read)
    }
}

fn read_zip(file: File, inventory: &mut Inventory) -> Result<(), AnalysisError> {
    let corrupt = |error: zip::result::ZipError| AnalysisError::Corrupt {
        format: "zip",
        detail: error.to_string(),
    };
    // The entry count the archive declares, checked before its index is read into memory.
    let mut file = file;
    if let Some(declared) = zip_declared_entries(&mut file) {
        inventory.count_entry(declared)?;
    }
    let mut archive =
        zip::ZipArchive::new(BufReader::with_capacity(64 * 1024, file)).map_err(corrupt)?;
    let entries = archive.len() as u64;
    inventory.count_entry(entries)?;
    let max_ratio = inventory.limits.max_ratio;
    for index in 0..archive.len() {
        inventory.check_cancelled()?;
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
                .map_err(|error| AnalysisError::Corrupt {
                    format: "zip",
                    detail: error.to_string(),
                })?;
            check_link(&path, &String::from_utf8_lossy(&target), parent(&path))?;
            continue;
        }
        let compressed = entry.compressed_size();
        let declared = entry.size();
        if declared > inventory.limits.max_unpacked_bytes {
            return Err(AnalysisError::TooLarge(
                inventory.limits.max_unpacked_bytes / (1024 * 1024),
            ));
        }
        let ceiling = compressed.saturating_mul(max_ratio).max(RATIO_FLOOR);
        if declared > ceiling {
            return Err(AnalysisError::Bomb(shorten(&path), max_ratio));
        }
        let start = inventory.bytes;
        inventory.add_file(&path, &mut entry, |inventory| {
            // Counted as read: the declared size may lie.
            if inventory.bytes - start > ceiling {
                return Err(AnalysisError::Bomb(shorten(&path), max_ratio));
            }
            Ok(())
        })?;
        inventory.control.set_progress(index as u64 + 1, entries);
    }
    Ok(())
}

/// The number of entries a zip's end-of-central-directory record (or its zip64 twin) declares.
/// `None` when it cannot be found; the zip reader then reports the archive as corrupt.
fn zip_declared_entries(file: &mut File) -> Option<u64> {
    use std::io::{Seek, SeekFrom};

    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const ZIP64_LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
    const ZIP64_EOCD: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let size = file.metadata().ok()?.len();
    // The record is 22 bytes plus a comment of at most 65,535.
    let tail_len = size.min(22 + 65_535 + 20);
    file.seek(SeekFrom::Start(size - tail_len)).ok()?;
    let mut tail = vec![0; usize::try_from(tail_len).ok()?];
    file.read_exact(&mut tail).ok()?;
    let at = tail.windows(4).rposition(|window| window == EOCD)?;
    let record = tail.get(at..at + 22)?;
    let count = u64::from(u16::from_le_bytes([record[10], record[11]]));
    if count != 0xFFFF {
        return Some(count);
    }
    // Zip64: the locator sits just before the record and points at the zip64 record.
    let locator = tail.get(at.checked_sub(20)?..at)?;
    if locator[..4] != ZIP64_LOCATOR {
        return None;
    }
    let offset = u64::from_le_bytes(locator[8..16].try_into().ok()?);
    let mut zip64 = [0u8; 56];
    file.seek(SeekFrom::Start(offset)).ok()?;
    file.read_exact(&mut zip64).ok()?;
    (zip64[..4] == ZIP64_EOCD)
        .then(|| u64::from_le_bytes(zip64[32..40].try_into().unwrap_or_default()))
}

/// The running totals of one analysis.
struct Inventory<'a> {
    limits: &'a AnalysisLimits,
    control: &'a Control,
    files: u64,
    lines: u64,
    bytes: u64,
    languages: HashMap<&'static str, LanguageStats>,
    /// The largest files so far, smallest on top.
    largest: BinaryHeap<Reverse<(u64, String, u64)>>,
    buffer: Vec<u8>,
}

impl<'a> Inventory<'a> {
    fn new(limits: &'a AnalysisLimits, control: &'a Control) -> Self {
        Self {
            limits,
            control,
            files: 0,
            lines: 0,
            bytes: 0,
            languages: HashMap::new(),
            largest: BinaryHeap::with_capacity(LARGEST_FILES + 1),
            buffer: vec![0; 64 * 1024],
        }
    }

    fn check_cancelled(&self) -> Result<(), AnalysisError> {
        if self.control.is_cancelled() {
            Err(AnalysisError::Cancelled)
        } else {
            Ok(())
        }
    }

    fn count_entry(&self, entries: u64) -> Result<(), AnalysisError> {
        if entries > self.limits.max_files {
            Err(AnalysisError::TooManyEntries(self.limits.max_files))
        } else {
            Ok(())
        }
    }

    /// Reads one file to its end, counting bytes and lines; `after_chunk` may stop it.
    fn add_file(
        &mut self,
        path: &str,
        content: &mut impl Read,
        after_chunk: impl Fn(&Self) -> Result<(), AnalysisError>,
    ) -> Result<(), AnalysisError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let counted = self.count_content(content, &mut buffer, after_chunk);
        self.buffer = buffer;
        let (size, lines) = counted?;
        self.files += 1;
        self.lines += lines;
        let language = languages::language_of(path);
        let stats = self
            .languages
            .entry(language)
            .or_insert_with(|| LanguageStats {
                language: language.to_owned(),
                files: 0,
                lines: 0,
                bytes: 0,
            });
        stats.files += 1;
        stats.lines += lines;
        stats.bytes += size;
        let smallest_kept = self.largest.peek().map(|Reverse((bytes, _, _))| *bytes);
        if self.largest.len() < LARGEST_FILES || smallest_kept.is_some_and(|kept| size > kept) {
            self.largest.push(Reverse((size, path.to_owned(), lines)));
            if self.largest.len() > LARGEST_FILES {
                self.largest.pop();
            }
        }
        Ok(())
    }

    fn count_content(
        &mut self,
        content: &mut impl Read,
        buffer: &mut [u8],
        after_chunk: impl Fn(&Self) -> Result<(), AnalysisError>,
    ) -> Result<(u64, u64), AnalysisError> {
        let (mut size, mut newlines, mut last) = (0u64, 0u64, b'\n');
        loop {
            self.check_cancelled()?;
            let read = match content.read(buffer) {
                Ok(0) => break,
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(AnalysisError::Corrupt {
                        format: "archive",
                        detail: error.to_string(),
                    });
                }
            };
            let chunk = &buffer[..read];
            size += read as u64;
            self.bytes += read as u64;
            if self.bytes > self.limits.max_unpacked_bytes {
                return Err(AnalysisError::TooLarge(
                    self.limits.max_unpacked_bytes / (1024 * 1024),
                ));
            }
            newlines += chunk.iter().filter(|&&byte| byte == b'\n').count() as u64;
            last = chunk[read - 1];
            after_chunk(self)?;
        }
        // A last line without a newline still counts.
        let lines = newlines + u64::from(size > 0 && last != b'\n');
        Ok((size, lines))
    }

    fn report(self) -> AnalysisReport {
        let mut languages: Vec<LanguageStats> = self.languages.into_values().collect();
        languages.sort_by(|a, b| {
            b.lines
                .cmp(&a.lines)
                .then(b.bytes.cmp(&a.bytes))
                .then(a.language.cmp(&b.language))
        });
        let mut largest: Vec<(u64, String, u64)> =
            self.largest.into_iter().map(|Reverse(file)| file).collect();
        largest.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        AnalysisReport {
            files: self.files,
            lines: self.lines,
            bytes: self.bytes,
            languages,
            largest_files: largest
                .into_iter()
                .map(|(bytes, path, lines)| FileStats { path, bytes, lines })
                .collect(),
        }
    }
}

/// An entry's name as a relative path with `/` separators, or why it is refused.
fn entry_path(raw: &[u8]) -> Result<String, AnalysisError> {
    let corrupt = |detail: &str| AnalysisError::Corrupt {
        format: "archive",
        detail: detail.to_owned(),
    };
    if raw.is_empty() {
        return Err(corrupt("an entry has no name"));
    }
    if raw.contains(&0) {
        return Err(corrupt("an entry name contains a NUL byte"));
    }
    let name = String::from_utf8_lossy(raw).replace('\\', "/");
    if is_absolute(&name) {
        return Err(AnalysisError::AbsolutePath(shorten(&name)));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(AnalysisError::Traversal(shorten(&name)));
    }
    Ok(name.trim_start_matches("./").to_owned())
}

/// `/etc/passwd`, `C:/Windows`, `//server/share`.
fn is_absolute(name: &str) -> bool {
    let bytes = name.as_bytes();
    name.starts_with('/')
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
}

/// The directory an entry is in (`a/b/c.txt` → `a/b`).
fn parent(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(parent, _)| parent)
}

/// Refuses a link whose `target`, resolved from directory `base`, leaves the archive.
fn check_link(path: &str, target: &str, base: &str) -> Result<(), AnalysisError> {
    let outside = || AnalysisError::LinkOutside {
        path: shorten(path),
        target: shorten(target),
    };
    let target = target.replace('\\', "/");
    if target.is_empty() || is_absolute(&target) {
        return Err(outside());
    }
    let mut depth = base
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .count();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => depth = depth.checked_sub(1).ok_or_else(outside)?,
            _ => depth += 1,
        }
    }
    Ok(())
}

fn shorten(name: &str) -> String {
    if name.chars().count() <= NAME_IN_ERRORS {
        name.to_owned()
    } else {
        format!("{}…", name.chars().take(NAME_IN_ERRORS).collect::<String>())
    }
}

/// Counts the bytes read through it (the compressed bytes, for progress and the bomb check).
struct Counting<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.count.set(self.count.get() + read as u64);
        Ok(read)
    }
}

#[cfg(test)]
mod tests;
