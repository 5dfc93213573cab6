//! The compare job's work: both archives read and counted ([`crate::archives`]) into a map of
//! path → (language, lines, content hash), then the two maps compared. Memory grows with the
//! number of files (bounded by [`crate::archives::ArchiveLimits::max_files`]), not their size.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::{ComparisonReport, FileChanges, LISTED_PATHS, LanguageChange, LineCounts};
use crate::applications::jobs::ssr::{JobError, Work};
use crate::archives::Lines;
use crate::archives::{ArchiveError, ArchiveFormat, ArchiveLimits, Control, Source, count_files};
use crate::db::entity::version;

/// One file of a version, as compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileFacts {
    pub language: &'static str,
    pub lines: Lines,
    pub sha256: [u8; 32],
}

/// A version's files by path.
pub type Files = BTreeMap<String, FileFacts>;

/// Compares the job's version with the one uploaded just before it.
pub async fn run(work: &Work<'_>) -> Result<ComparisonReport, JobError> {
    let version = work.version(work.job.version_id).await?;
    let previous = version::Entity::find()
        .filter(version::Column::ApplicationId.eq(version.application_id))
        .filter(version::Column::Id.lt(version.id))
        .order_by_desc(version::Column::Id)
        .one(&work.state.db)
        .await
        .map_err(|error| work.database_failed(&error))?;
    // One archive after the other: each is fetched from the store just before it is read.
    let stages = if previous.is_some() { 2 } else { 1 };
    let before_files = match &previous {
        Some(previous) => {
            let read = async {
                let (source, format) = work.archive(previous).await?;
                let limits = work.limits();
                work.blocking(move |control| {
                    control.stage(0, stages);
                    files(source, format, &limits, control)
                })
                .await
            };
            // The job is named after its own version: an error in the other one says so.
            read.await
                .map_err(|error| error.in_version(&previous.name))?
        }
        None => Files::new(),
    };
    let (source, format) = work.archive(&version).await?;
    let limits = work.limits();
    let after_files = work
        .blocking(move |control| {
            control.stage(stages - 1, stages);
            files(source, format, &limits, control)
        })
        .await?;
    let previous = previous.map(|previous| (previous.id, previous.name));
    Ok(compare(&before_files, &after_files, previous))
}

/// Every file of the archive `source`, counted and hashed.
pub fn files(
    source: Source,
    format: ArchiveFormat,
    limits: &ArchiveLimits,
    control: &Control,
) -> Result<Files, ArchiveError> {
    let mut files = Files::new();
    count_files(source, format, limits, control, true, |path, counted| {
        let facts = FileFacts {
            language: counted.language,
            lines: counted.lines,
            sha256: counted.sha256.unwrap_or_default(),
        };
        files.insert(path.to_owned(), facts);
    })?;
    Ok(files)
}

/// What changed from `before` to `after`; `previous` is the version `before` came from.
pub fn compare(before: &Files, after: &Files, previous: Option<(i64, String)>) -> ComparisonReport {
    let mut report = ComparisonReport {
        previous_version_id: previous.as_ref().map(|(id, _)| *id),
        previous_version: previous.map(|(_, name)| name),
        ..ComparisonReport::default()
    };
    for (path, now) in after {
        match before.get(path) {
            None => note(&mut report.added, path),
            Some(then) if then.sha256 != now.sha256 => note(&mut report.changed, path),
            Some(_) => report.unchanged += 1,
        }
    }
    for path in before.keys().filter(|path| !after.contains_key(*path)) {
        note(&mut report.removed, path);
    }
    let mut languages: HashMap<&str, LanguageChange> = HashMap::new();
    for (files, after) in [(before, false), (after, true)] {
        for file in files.values() {
            let change = languages
                .entry(file.language)
                .or_insert_with(|| LanguageChange {
                    language: file.language.to_owned(),
                    before: LineCounts::default(),
                    after: LineCounts::default(),
                });
            let counts = if after {
                &mut change.after
            } else {
                &mut change.before
            };
            counts.files += 1;
            counts.kinds += file.lines;
        }
    }
    let lines = |counts: &LineCounts| counts.kinds.total();
    report.languages = languages.into_values().collect();
    report.languages.sort_by(|a, b| {
        lines(&b.after)
            .cmp(&lines(&a.after))
            .then(lines(&b.before).cmp(&lines(&a.before)))
            .then(a.language.cmp(&b.language))
    });
    report
}

/// Counts `path` under `changes`, listing it while there is room (paths arrive sorted).
fn note(changes: &mut FileChanges, path: &str) {
    changes.count += 1;
    if changes.paths.len() < LISTED_PATHS {
        // As the report shows it: an entry name's control and bidi characters escaped.
        changes
            .paths
            .push(crate::text::escape_hidden(path).into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archives::fixtures::{Item, tar_gz, zip};

    fn read(file: &tempfile::NamedTempFile, format: ArchiveFormat) -> Files {
        files(
            Source::Path(file.path().to_owned()),
            format,
            &ArchiveLimits::default(),
            &Control::default(),
        )
        .unwrap()
    }

    #[test]
    fn files_are_added_removed_changed_or_unchanged_across_formats() {
        let before = read(
            &tar_gz(&[
                Item::File("src/Main.java", b"class Main {}\n"),
                Item::File("src/Old.java", b"class Old {}\n// gone\n"),
                Item::File("README.md", b"# App\n"),
            ]),
            ArchiveFormat::TarGz,
        );
        let after = read(
            &zip(&[
                Item::File("src/Main.java", b"class Main {\n  int x;\n}\n"),
                Item::File("README.md", b"# App\n"),
                Item::File("web/app.ts", b"let a = 1;\n\n"),
            ]),
            ArchiveFormat::Zip,
        );
        let report = compare(&before, &after, Some((7, "1.0".into())));
        assert_eq!(report.previous_version_id, Some(7));
        assert_eq!(report.previous_version.as_deref(), Some("1.0"));
        assert_eq!(report.added.paths, ["web/app.ts"]);
        assert_eq!(report.removed.paths, ["src/Old.java"]);
        assert_eq!(report.changed.paths, ["src/Main.java"]);
        assert_eq!(report.unchanged, 1);
        let java = report
            .languages
            .iter()
            .find(|language| language.language == "Java")
            .unwrap();
        assert_eq!(
            (java.before, java.after),
            (
                LineCounts {
                    files: 2,
                    kinds: Lines {
                        code: 2,
                        comments: 1,
                        blanks: 0
                    }
                },
                LineCounts {
                    files: 1,
                    kinds: Lines {
                        code: 3,
                        comments: 0,
                        blanks: 0
                    }
                }
            )
        );
        let typescript = report
            .languages
            .iter()
            .find(|language| language.language == "TypeScript")
            .unwrap();
        assert_eq!(typescript.before, LineCounts::default());
        assert_eq!(
            (typescript.after.kinds.code, typescript.after.kinds.blanks),
            (1, 1)
        );
    }

    #[test]
    fn the_first_version_has_every_file_added_and_long_lists_are_cut() {
        let names: Vec<String> = (0..150).map(|i| format!("f{i:03}.c")).collect();
        let items: Vec<Item> = names
            .iter()
            .map(|name| Item::File(name, b"int x;\n"))
            .collect();
        let after = read(&zip(&items), ArchiveFormat::Zip);
        let report = compare(&Files::new(), &after, None);
        assert_eq!(report.previous_version_id, None);
        assert_eq!(report.added.count, 150);
        assert_eq!(report.added.paths.len(), LISTED_PATHS);
        assert_eq!(report.added.paths[0], "f000.c");
        assert_eq!(
            (report.removed.count, report.changed.count, report.unchanged),
            (0, 0, 0)
        );
        assert_eq!(report.languages[0].after.files, 150);
    }
}
