//! The path rules for entries: names are relative, never climb out with `..`, and links stay
//! inside the archive.

use super::ArchiveError;

/// Entry names longer than this are cut in error messages.
const NAME_IN_ERRORS: usize = 200;

/// An entry's name as a relative path with `/` separators, or why it is refused.
pub(super) fn entry_path(raw: &[u8]) -> Result<String, ArchiveError> {
    let corrupt = |detail: &str| ArchiveError::Corrupt {
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
        return Err(ArchiveError::AbsolutePath(shorten(&name)));
    }
    if name.split('/').any(|part| part == "..") {
        return Err(ArchiveError::Traversal(shorten(&name)));
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
pub(super) fn parent(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit_once('/')
        .map_or("", |(parent, _)| parent)
}

/// Refuses a link whose `target`, resolved from directory `base`, leaves the archive.
pub(super) fn check_link(path: &str, target: &str, base: &str) -> Result<(), ArchiveError> {
    let outside = || ArchiveError::LinkOutside {
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

/// `name`, cut to a length fit for an error message.
pub(super) fn shorten(name: &str) -> String {
    // Shown escaped: an entry name may hold line breaks, escapes or bidi controls.
    let name = crate::text::escape_hidden(name);
    if name.chars().count() <= NAME_IN_ERRORS {
        name.into_owned()
    } else {
        format!("{}…", name.chars().take(NAME_IN_ERRORS).collect::<String>())
    }
}
