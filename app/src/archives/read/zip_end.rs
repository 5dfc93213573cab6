//! The entry count a zip declares in its end-of-central-directory record, read before the zip
//! reader loads the whole central directory into memory (which it does before anything can be
//! checked). The zip crate has no way to ask for the count alone.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
const ZIP64_LOCATOR: [u8; 4] = [0x50, 0x4b, 0x06, 0x07];
const ZIP64_EOCD: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];

/// The number of entries a zip's end-of-central-directory record (or its zip64 twin) declares.
/// `None` when it cannot be found; the zip reader then reports the archive as corrupt.
pub(in crate::archives) fn declared_entries(file: &mut File) -> Option<u64> {
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
