//! What one file of an archive holds: its language, its code, comment and blank lines (counted by
//! tokei), its size and, when asked, its content hash.
//!
//! The language comes from the entry's name (a few whole names such as `Makefile`, then the
//! extension) or else from the file's own first line (`#!/usr/bin/env python3`). Never from
//! tokei's `LanguageType::from_path`/`from_shebang`: they open the path on the server's disk,
//! and an entry name is not a path there. A few extensions tokei does not know keep the names
//! the console always gave them ([`MORE_EXTENSIONS`]). Files over [`Counter::max_counted_bytes`] are counted
//! as bytes only (tokei needs a whole file in memory); files in no language tokei knows are
//! `Other`, with every non-blank line counted as code.

use std::collections::HashMap;
use std::io::Read;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};
use tokei::LanguageType;

use super::{ArchiveError, Lines};

/// The language of files tokei does not know.
pub const OTHER: &str = "Other";

/// Files larger than this are counted as bytes only.
pub const DEFAULT_MAX_COUNTED_BYTES: usize = 4 * 1024 * 1024;

/// One file, counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counted {
    /// tokei's name for it ("Rust", "C++ Header"), or [`OTHER`].
    pub language: &'static str,
    pub lines: Lines,
    pub bytes: u64,
    /// SHA-256 of the content, when the counter hashes.
    pub sha256: Option<[u8; 32]>,
}

/// Counts files one after the other, reusing one buffer.
pub struct Counter {
    buffer: Vec<u8>,
    config: tokei::Config,
    hash: bool,
    /// Files larger than this are counted as bytes only.
    pub max_counted_bytes: usize,
}

impl Counter {
    /// A counter; `hash` adds each file's SHA-256.
    pub fn new(hash: bool) -> Self {
        Self {
            buffer: Vec::new(),
            config: tokei::Config::default(),
            hash,
            max_counted_bytes: DEFAULT_MAX_COUNTED_BYTES,
        }
    }

    /// Reads `content` to its end and counts it. `path` is the entry's name in the archive.
    pub fn count(&mut self, path: &str, content: &mut dyn Read) -> Result<Counted, ArchiveError> {
        self.buffer.clear();
        let cap = self.max_counted_bytes as u64;
        let mut hasher = self.hash.then(Sha256::new);
        content
            .take(cap + 1)
            .read_to_end(&mut self.buffer)
            .map_err(|error| ArchiveError::content(&error))?;
        if let Some(hasher) = &mut hasher {
            hasher.update(&self.buffer);
        }
        let mut bytes = self.buffer.len() as u64;
        let counted_whole = bytes <= cap;
        if !counted_whole {
            // Too large to count: read the rest through one chunk for its size (and hash).
            let mut chunk = [0u8; 64 * 1024];
            loop {
                match content.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(read) => {
                        bytes += read as u64;
                        if let Some(hasher) = &mut hasher {
                            hasher.update(&chunk[..read]);
                        }
                    }
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(error) => return Err(ArchiveError::content(&error)),
                }
            }
        }
        let language = language_of(path, first_line(&self.buffer));
        let lines = if !counted_whole {
            Lines::default()
        } else if let Some(syntax) = language.and_then(|language| language.counted_as) {
            let stats = syntax
                .parse_from_slice(&self.buffer, &self.config)
                .summarise();
            Lines {
                code: stats.code as u64,
                comments: stats.comments as u64,
                blanks: stats.blanks as u64,
            }
        } else {
            plain_lines(&self.buffer)
        };
        Ok(Counted {
            language: language.map_or(OTHER, |language| language.name),
            lines,
            bytes,
            sha256: hasher.map(|hasher| hasher.finalize().into()),
        })
    }
}

/// Reads the archive `source` ([`super::read_files`]) and counts each file with one [`Counter`]
/// (hashing it when `hash`); `on_file` gets each file's path and count.
pub fn count_files(
    source: super::Source,
    format: super::ArchiveFormat,
    limits: &super::ArchiveLimits,
    control: &super::Control,
    hash: bool,
    mut on_file: impl FnMut(&str, Counted),
) -> Result<u64, ArchiveError> {
    let mut counter = Counter::new(hash);
    super::read_files(source, format, limits, control, |path, content| {
        on_file(path, counter.count(path, content)?);
        Ok(())
    })
}

/// Lines of text in no known language: blank or code.
fn plain_lines(text: &[u8]) -> Lines {
    let mut lines = Lines::default();
    for line in text.split(|&byte| byte == b'\n') {
        if line.iter().all(u8::is_ascii_whitespace) {
            lines.blanks += 1;
        } else {
            lines.code += 1;
        }
    }
    // `split` yields an empty piece after a final newline (and for empty text): not a line.
    if text.is_empty() || text.ends_with(b"\n") {
        lines.blanks -= 1;
    }
    lines
}

fn first_line(content: &[u8]) -> &[u8] {
    let head = &content[..content.len().min(128)];
    head.split(|&byte| byte == b'\n').next().unwrap_or(head)
}

/// Whole file names tokei knows (it matches them only inside `from_path`), lower case.
const FILE_NAMES: &[(&str, LanguageType)] = &[
    ("makefile", LanguageType::Makefile),
    ("gnumakefile", LanguageType::Makefile),
    ("dockerfile", LanguageType::Dockerfile),
    ("cmakelists.txt", LanguageType::CMake),
    ("justfile", LanguageType::Just),
    ("rakefile", LanguageType::Rakefile),
    ("meson.build", LanguageType::Meson),
    ("pkgbuild", LanguageType::PacmanMakepkg),
    ("snakefile", LanguageType::Snakemake),
];

/// Extensions the console has always recognised that tokei does not: (extension, the name
/// reports use, the tokei language whose syntax counts them — none counts plain lines).
const MORE_EXTENSIONS: &[(&str, &str, Option<LanguageType>)] = &[
    ("jcl", "JCL", None),
    ("jsp", "JSP", Some(LanguageType::Html)),
    ("pls", "PL/SQL", Some(LanguageType::Sql)),
    ("plsql", "PL/SQL", Some(LanguageType::Sql)),
    ("pkb", "PL/SQL", Some(LanguageType::Sql)),
    ("pks", "PL/SQL", Some(LanguageType::Sql)),
    ("ddl", "SQL", Some(LanguageType::Sql)),
    ("gradle", "Groovy", Some(LanguageType::Groovy)),
    ("xhtml", "HTML", Some(LanguageType::Html)),
    ("xsd", "XML", Some(LanguageType::Xml)),
    ("properties", "Configuration", None),
    ("conf", "Configuration", None),
];

/// A file's language: the name reports use, and the tokei language that counts its lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Language {
    pub name: &'static str,
    pub counted_as: Option<LanguageType>,
}

impl From<LanguageType> for Language {
    fn from(language: LanguageType) -> Self {
        Self {
            name: language.name(),
            counted_as: Some(language),
        }
    }
}

/// Every extension known, lower case: tokei's, then [`MORE_EXTENSIONS`].
static EXTENSIONS: LazyLock<HashMap<&'static str, Language>> = LazyLock::new(|| {
    let tokei = LanguageType::list()
        .iter()
        .flat_map(|(language, extensions)| {
            extensions
                .iter()
                .map(move |extension| (*extension, Language::from(*language)))
        });
    let more = MORE_EXTENSIONS.iter().map(|(extension, name, counted_as)| {
        let language = Language {
            name,
            counted_as: *counted_as,
        };
        (*extension, language)
    });
    tokei.chain(more).collect()
});

/// The language of the entry named `path` whose content starts with `first_line`.
pub fn language_of(path: &str, first_line: &[u8]) -> Option<Language> {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if let Some((_, language)) = FILE_NAMES.iter().find(|(known, _)| *known == name) {
        return Some(Language::from(*language));
    }
    match name.rsplit_once('.') {
        // A dot file such as `.gitignore` has no extension.
        Some((stem, extension)) if !stem.is_empty() => EXTENSIONS.get(extension).copied(),
        _ => interpreter(first_line).map(Language::from),
    }
}

/// The language a `#!` line names: `#!/bin/bash`, `#!/usr/bin/env python3`.
fn interpreter(first_line: &[u8]) -> Option<LanguageType> {
    let line = std::str::from_utf8(first_line.strip_prefix(b"#!")?).ok()?;
    let mut words = line.split_whitespace();
    let mut program = words.next()?.rsplit('/').next()?;
    if program == "env" {
        program = words.find(|word| !word.starts_with('-'))?;
    }
    // `python3.12` → `python`.
    let program = program.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match program {
        "node" | "nodejs" => Some(LanguageType::JavaScript),
        "sh" | "dash" => Some(LanguageType::Sh),
        _ => program.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(path: &str, content: &[u8]) -> Counted {
        Counter::new(true).count(path, &mut &content[..]).unwrap()
    }

    #[test]
    fn languages_come_from_names_extensions_and_first_lines() {
        for (path, first, language) in [
            ("src/Main.java", "", Some("Java")),
            ("lib/app.TS", "", Some("TypeScript")),
            ("legacy/PAYROLL.CBL", "", Some("COBOL")),
            ("jobs/NIGHTLY.jcl", "", Some("JCL")),
            ("web/index.jsp", "", Some("JSP")),
            ("db/pkg.pks", "", Some("PL/SQL")),
            ("build/Makefile", "", Some("Makefile")),
            ("Dockerfile", "", Some("Dockerfile")),
            ("a/b/c.rs", "", Some("Rust")),
            ("bin/tool", "#!/usr/bin/env python3", Some("Python")),
            ("bin/run", "#!/bin/bash -e", Some("BASH")),
            ("bin/serve", "#!/usr/bin/env node", Some("JavaScript")),
            ("README", "Read me", None),
            (".gitignore", "target/", None),
            (".profile", "#!/bin/sh", Some("Shell")),
            ("archive.tar.gz", "", None),
        ] {
            assert_eq!(
                language_of(path, first.as_bytes()).map(|language| language.name),
                language,
                "{path}"
            );
        }
    }

    #[test]
    fn lines_are_code_comments_and_blanks() {
        let rust = count("main.rs", b"// hello\nfn main() {}\n\n/* a\n b */\n");
        assert_eq!(rust.language, "Rust");
        assert_eq!(
            rust.lines,
            Lines {
                code: 1,
                comments: 3,
                blanks: 1
            }
        );
        assert_eq!(rust.bytes, 34);
        let other = count("data.unknownext", b"a\n\n  \nb");
        assert_eq!(other.language, OTHER);
        assert_eq!(
            other.lines,
            Lines {
                code: 2,
                comments: 0,
                blanks: 2
            }
        );
        assert_eq!(count("empty.zzz", b"").lines, Lines::default());
        assert_eq!(count("one.zzz", b"x\n").lines.total(), 1);
    }

    #[test]
    fn large_files_are_counted_as_bytes_only_and_still_hashed() {
        let mut counter = Counter::new(true);
        counter.max_counted_bytes = 8;
        let big = counter
            .count("big.rs", &mut &b"fn a() {}\nfn b() {}\n"[..])
            .unwrap();
        assert_eq!((big.bytes, big.lines), (20, Lines::default()));
        let whole = count("big.rs", b"fn a() {}\nfn b() {}\n");
        assert_eq!(big.sha256, whole.sha256);
        assert_eq!(whole.lines.code, 2);
    }
}
