//! The inventory of real archives (built by [`crate::archives::fixtures`]).

use super::*;
use crate::archives::fixtures::{Item, sample, tar_gz, zip};

fn run(file: &tempfile::NamedTempFile, format: ArchiveFormat) -> AnalysisReport {
    inventory(
        Source::Path(file.path().to_owned()),
        format,
        &ArchiveLimits::default(),
        &Control::default(),
    )
    .unwrap()
}

fn assert_sample(report: &AnalysisReport) {
    assert_eq!(report.files, 5);
    // 3 + 1 (no final newline) + 2 + 1 + 0.
    assert_eq!(report.lines, 7);
    assert_eq!(report.bytes, 31 + 13 + 21 + 6);
    let java = &report.languages[0];
    assert_eq!(
        (java.language.as_str(), java.files, java.lines, java.bytes),
        ("Java", 2, 4, 44)
    );
    let names: Vec<&str> = report
        .languages
        .iter()
        .map(|l| l.language.as_str())
        .collect();
    assert_eq!(names, ["Java", "TypeScript", "Markdown", "Plain Text"]);
    assert_eq!(
        (java.kinds.code, java.kinds.comments, java.kinds.blanks),
        (4, 0, 0)
    );
    // The blank line of index.ts and the Markdown heading (tokei counts prose as comments).
    assert_eq!(
        (
            report.kinds.code,
            report.kinds.comments,
            report.kinds.blanks
        ),
        (5, 1, 1),
        "{report:?}"
    );
    assert_eq!(report.largest_files[0].path, "app/src/Main.java");
    assert_eq!(report.largest_files[0].lines, 3);
    assert_eq!(report.largest_files.len(), 5);
    assert_eq!(report.largest_files[4].path, "empty.txt");
}

#[test]
fn tar_gz_inventory_counts_files_lines_and_languages() {
    assert_sample(&run(&tar_gz(&sample()), ArchiveFormat::TarGz));
}

#[test]
fn zip_inventory_counts_files_lines_and_languages() {
    assert_sample(&run(&zip(&sample()), ArchiveFormat::Zip));
}

#[test]
fn only_the_ten_largest_files_are_listed() {
    let names: Vec<String> = (0..25).map(|i| format!("f{i:02}.c")).collect();
    let contents: Vec<Vec<u8>> = (0..25).map(|i| vec![b'x'; i + 1]).collect();
    let items: Vec<Item> = names
        .iter()
        .zip(&contents)
        .map(|(name, data)| Item::File(name, data))
        .collect();
    let report = run(&zip(&items), ArchiveFormat::Zip);
    let sizes: Vec<u64> = report.largest_files.iter().map(|f| f.bytes).collect();
    assert_eq!(sizes, (16..=25).rev().collect::<Vec<u64>>());
}
