//! The analyze job's work: every file of the version's archive counted ([`crate::archives`]),
//! summed per language, and the ten largest files kept. Memory does not grow with the archive:
//! the report keeps per-language totals and ten files.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::{AnalysisReport, FileStats, LanguageStats};
use crate::applications::jobs::ssr::{JobError, Work};
use crate::archives::Lines;
use crate::archives::{
    ArchiveError, ArchiveFormat, ArchiveLimits, Control, Counted, Source, count_files,
};

/// How many of the largest files a report lists.
const LARGEST_FILES: usize = 10;

/// Inventories the job's version.
pub async fn run(work: &Work<'_>) -> Result<AnalysisReport, JobError> {
    let version = work.version(work.job.version_id).await?;
    let (source, format) = work.archive(&version).await?;
    let limits = work.limits();
    work.blocking(move |control| inventory(source, format, &limits, control))
        .await
}

/// Inventories the archive `source`.
pub fn inventory(
    source: Source,
    format: ArchiveFormat,
    limits: &ArchiveLimits,
    control: &Control,
) -> Result<AnalysisReport, ArchiveError> {
    let mut inventory = Inventory::default();
    count_files(source, format, limits, control, false, |path, counted| {
        inventory.add(path, &counted);
    })?;
    Ok(inventory.report())
}

/// The running totals of one analysis.
#[derive(Default)]
struct Inventory {
    totals: AnalysisReport,
    languages: HashMap<&'static str, LanguageStats>,
    /// The largest files so far, smallest on top.
    largest: BinaryHeap<Reverse<(u64, String, u64)>>,
}

impl Inventory {
    fn add(&mut self, path: &str, counted: &Counted) {
        let kinds = counted.lines;
        let lines = kinds.total();
        let totals = &mut self.totals;
        totals.files += 1;
        totals.lines += lines;
        totals.kinds += kinds;
        totals.bytes += counted.bytes;
        let stats = self
            .languages
            .entry(counted.language)
            .or_insert_with(|| LanguageStats {
                language: counted.language.to_owned(),
                files: 0,
                lines: 0,
                kinds: Lines::default(),
                bytes: 0,
            });
        stats.files += 1;
        stats.lines += lines;
        stats.kinds += kinds;
        stats.bytes += counted.bytes;
        let size = counted.bytes;
        let smallest_kept = self.largest.peek().map(|Reverse((bytes, _, _))| *bytes);
        if self.largest.len() < LARGEST_FILES || smallest_kept.is_some_and(|kept| size > kept) {
            // Kept as the report shows it: an entry name's control and bidi characters escaped.
            let shown = crate::text::escape_hidden(path).into_owned();
            self.largest.push(Reverse((size, shown, lines)));
            if self.largest.len() > LARGEST_FILES {
                self.largest.pop();
            }
        }
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
            languages,
            largest_files: largest
                .into_iter()
                .map(|(bytes, path, lines)| FileStats { path, bytes, lines })
                .collect(),
            ..self.totals
        }
    }
}

#[cfg(test)]
mod tests;
