//! Real archives, built here with the same zip/tar/gzip crates a user's tools would produce,
//! including the malicious ones the analysis must refuse.

use std::io::Write;

use super::*;

const ZEROS: usize = 16 * 1024 * 1024;

enum Item<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

fn tar_gz(items: &[Item]) -> tempfile::NamedTempFile {
    tar_gz_built(flate2::Compression::best(), |builder| {
        for item in items {
            let mut header = tar::Header::new_gnu();
            let (name, data, kind) = match item {
                Item::File(name, data) => (*name, *data, tar::EntryType::Regular),
                Item::Symlink(name, target) => {
                    header.set_link_name(target).unwrap();
                    (*name, &b""[..], tar::EntryType::Symlink)
                }
            };
            // Written by hand: the tar builder rightly refuses `..` and absolute names.
            let bytes = name.as_bytes();
            header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
            header.set_entry_type(kind);
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder.append(&header, data).unwrap();
        }
    })
}

/// A .tar.gz written by `build` (for headers no well-behaved tool writes).
fn tar_gz_built(
    level: flate2::Compression,
    build: impl FnOnce(&mut tar::Builder<flate2::write::GzEncoder<std::fs::File>>),
) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut builder =
        tar::Builder::new(flate2::write::GzEncoder::new(file.reopen().unwrap(), level));
    build(&mut builder);
    builder.into_inner().unwrap().finish().unwrap();
    file
}

fn zip(items: &[Item]) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut writer = zip::ZipWriter::new(file.reopen().unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for item in items {
        match item {
            Item::File(name, data) => {
                writer.start_file(*name, options).unwrap();
                writer.write_all(data).unwrap();
            }
            Item::Symlink(name, target) => writer.add_symlink(*name, *target, options).unwrap(),
        }
    }
    writer.finish().unwrap();
    file
}

fn run(
    file: &tempfile::NamedTempFile,
    format: ArchiveFormat,
) -> Result<AnalysisReport, AnalysisError> {
    run_with(file, format, &AnalysisLimits::default())
}

fn run_with(
    file: &tempfile::NamedTempFile,
    format: ArchiveFormat,
    limits: &AnalysisLimits,
) -> Result<AnalysisReport, AnalysisError> {
    analyze(file.path(), format, limits, &Control::default())
}

fn sample() -> Vec<Item<'static>> {
    vec![
        Item::File("app/src/Main.java", b"class Main {\n  void run() {}\n}\n"),
        Item::File("app/src/Util.java", b"class Util {}"),
        Item::File("app/web/index.ts", b"export const x = 1;\n\n"),
        Item::File("README.md", b"# App\n"),
        Item::File("./empty.txt", b""),
        Item::Symlink("app/docs/readme", "../../README.md"),
    ]
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
    assert_eq!(names, ["Java", "TypeScript", "Text"]);
    assert_eq!(report.largest_files[0].path, "app/src/Main.java");
    assert_eq!(report.largest_files[0].lines, 3);
    assert_eq!(report.largest_files.len(), 5);
    assert_eq!(report.largest_files[4].path, "empty.txt");
}

#[test]
fn tar_gz_inventory_counts_files_lines_and_languages() {
    assert_sample(&run(&tar_gz(&sample()), ArchiveFormat::TarGz).unwrap());
}

#[test]
fn zip_inventory_counts_files_lines_and_languages() {
    assert_sample(&run(&zip(&sample()), ArchiveFormat::Zip).unwrap());
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
    let report = run(&zip(&items), ArchiveFormat::Zip).unwrap();
    let sizes: Vec<u64> = report.largest_files.iter().map(|f| f.bytes).collect();
    assert_eq!(sizes, (16..=25).rev().collect::<Vec<u64>>());
}

#[test]
fn parent_directory_entries_are_refused() {
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let items = [Item::File("src/../../evil.sh", b"rm -rf /\n")];
        let file = if format == ArchiveFormat::Zip {
            zip(&items)
        } else {
            tar_gz(&items)
        };
        let error = run(&file, format).unwrap_err();
        assert!(
            matches!(error, AnalysisError::Traversal(_)),
            "{format:?}: {error}"
        );
        assert!(error.to_string().contains("src/../../evil.sh"));
    }
}

#[test]
fn absolute_paths_are_refused() {
    for name in ["/etc/passwd", "C:/Windows/win.ini", "\\\\server\\share\\x"] {
        let items = [Item::File(name, b"x")];
        for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
            let file = if format == ArchiveFormat::Zip {
                zip(&items)
            } else {
                tar_gz(&items)
            };
            let error = run(&file, format).unwrap_err();
            assert!(
                matches!(error, AnalysisError::AbsolutePath(_)),
                "{name} {format:?}: {error}"
            );
        }
    }
}

#[test]
fn links_out_of_the_archive_are_refused() {
    for target in ["../../../etc/passwd", "/etc/passwd", "a/../../.."] {
        let items = [
            Item::File("a/b.txt", b"b\n"),
            Item::Symlink("a/link", target),
        ];
        for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
            let file = if format == ArchiveFormat::Zip {
                zip(&items)
            } else {
                tar_gz(&items)
            };
            let error = run(&file, format).unwrap_err();
            assert!(
                matches!(error, AnalysisError::LinkOutside { .. }),
                "{target} {format:?}: {error}"
            );
        }
    }
}

#[test]
fn zip_bombs_are_refused() {
    let zeros = vec![0u8; ZEROS];
    let error = run(&zip(&[Item::File("zeros.txt", &zeros)]), ArchiveFormat::Zip).unwrap_err();
    assert!(matches!(error, AnalysisError::Bomb(..)), "{error}");
    let error = run(
        &tar_gz(&[Item::File("zeros.txt", &zeros)]),
        ArchiveFormat::TarGz,
    )
    .unwrap_err();
    assert!(matches!(error, AnalysisError::Bomb(..)), "{error}");
    assert!(error.to_string().contains("zip bomb"));
}

#[test]
fn huge_entry_counts_are_refused() {
    let names: Vec<String> = (0..101).map(|i| format!("f{i}.txt")).collect();
    let items: Vec<Item> = names.iter().map(|name| Item::File(name, b"")).collect();
    let limits = AnalysisLimits {
        max_files: 100,
        ..AnalysisLimits::default()
    };
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let file = if format == ArchiveFormat::Zip {
            zip(&items)
        } else {
            tar_gz(&items)
        };
        let error = run_with(&file, format, &limits).unwrap_err();
        assert!(
            matches!(error, AnalysisError::TooManyEntries(100)),
            "{format:?}: {error}"
        );
    }
}

#[test]
fn unpacked_size_is_limited_as_read() {
    let limits = AnalysisLimits {
        max_unpacked_bytes: 1000,
        ..AnalysisLimits::default()
    };
    let data = vec![b'a'; 1001];
    let error = run_with(
        &tar_gz(&[Item::File("a.txt", &data)]),
        ArchiveFormat::TarGz,
        &limits,
    )
    .unwrap_err();
    assert!(matches!(error, AnalysisError::TooLarge(_)), "{error}");
}

#[test]
fn corrupt_archives_fail_with_a_reason() {
    let mut garbage = tempfile::NamedTempFile::new().unwrap();
    garbage
        .write_all(&[0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7])
        .unwrap();
    let error = run(&garbage, ArchiveFormat::TarGz).unwrap_err();
    assert!(matches!(error, AnalysisError::Corrupt { .. }), "{error}");

    // Gzip that holds no tar.
    let not_tar = tempfile::NamedTempFile::new().unwrap();
    let mut gzip =
        flate2::write::GzEncoder::new(not_tar.reopen().unwrap(), flate2::Compression::fast());
    gzip.write_all(&[b'x'; 2048]).unwrap();
    gzip.finish().unwrap();
    assert!(matches!(
        run(&not_tar, ArchiveFormat::TarGz),
        Err(AnalysisError::Corrupt { .. })
    ));

    // A zip cut in half.
    let whole = std::fs::read(zip(&sample()).path()).unwrap();
    let mut cut = tempfile::NamedTempFile::new().unwrap();
    cut.write_all(&whole[..whole.len() / 2]).unwrap();
    let error = run(&cut, ArchiveFormat::Zip).unwrap_err();
    assert!(matches!(error, AnalysisError::Corrupt { .. }), "{error}");
    assert!(error.to_string().starts_with("The archive is corrupt"));
}

#[test]
fn a_cancelled_analysis_stops() {
    let control = Control::default();
    control.cancel();
    let file = tar_gz(&sample());
    let result = analyze(
        file.path(),
        ArchiveFormat::TarGz,
        &AnalysisLimits::default(),
        &control,
    );
    assert!(matches!(result, Err(AnalysisError::Cancelled)));
}

#[test]
fn entry_names_are_checked() {
    assert_eq!(entry_path(b"./src/a.c").unwrap(), "src/a.c");
    assert_eq!(entry_path(b"src\\win\\a.c").unwrap(), "src/win/a.c");
    assert!(matches!(
        entry_path(b""),
        Err(AnalysisError::Corrupt { .. })
    ));
    assert!(matches!(
        entry_path(b"a\0b"),
        Err(AnalysisError::Corrupt { .. })
    ));
    assert!(matches!(
        entry_path(b"..\\x"),
        Err(AnalysisError::Traversal(_))
    ));
    // Dots inside names are fine.
    assert!(entry_path(b"a..b/c...d").is_ok());
}

#[test]
fn links_inside_the_archive_are_accepted() {
    assert!(check_link("a/b/link", "../c.txt", "a/b").is_ok());
    assert!(check_link("a/link", "./b/../c", "a").is_ok());
    assert!(check_link("a/link", "../..", "a").is_err());
    assert!(check_link("hard", "a/b.txt", "").is_ok());
    assert!(check_link("hard", "", "").is_err());
}

#[test]
fn bombs_hidden_in_entries_that_are_not_files_are_refused() {
    // A directory entry carrying 16 MiB of zeros: tar would skip it by decompressing it all.
    let file = tar_gz_built(flate2::Compression::best(), |builder| {
        let mut header = tar::Header::new_gnu();
        header.set_path("dir/").unwrap();
        header.set_entry_type(tar::EntryType::Directory);
        header.set_size(ZEROS as u64);
        header.set_cksum();
        builder.append(&header, &vec![0u8; ZEROS][..]).unwrap();
    });
    let error = run(&file, ArchiveFormat::TarGz).unwrap_err();
    assert!(matches!(error, AnalysisError::Bomb(..)), "{error}");
}

#[test]
fn long_names_are_read_but_not_without_bound() {
    let long = format!("src/{}/Main.java", "deep".repeat(40));
    let file = tar_gz_built(flate2::Compression::fast(), |builder| {
        let mut header = tar::Header::new_gnu();
        header.set_size(6);
        header.set_mode(0o644);
        // Writes a GNU long-name entry first, as GNU tar does for names over 100 bytes.
        builder
            .append_data(&mut header, &long, &b"class\n"[..])
            .unwrap();
    });
    let report = run(&file, ArchiveFormat::TarGz).unwrap();
    assert_eq!(report.largest_files[0].path, long);

    // A "name" of a megabyte is refused, not buffered.
    let file = tar_gz_built(flate2::Compression::fast(), |builder| {
        let mut header = tar::Header::new_gnu();
        header.set_path("././@LongLink").unwrap();
        header.set_entry_type(tar::EntryType::GNULongName);
        header.set_size(1024 * 1024);
        header.set_cksum();
        builder
            .append(&header, &vec![b'a'; 1024 * 1024][..])
            .unwrap();
    });
    let error = run(&file, ArchiveFormat::TarGz).unwrap_err();
    assert!(error.to_string().contains("longer than 64 KiB"), "{error}");
}

#[test]
fn a_zip_declaring_too_many_entries_is_refused_before_its_index_is_read() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}.txt")).collect();
    let items: Vec<Item> = names.iter().map(|name| Item::File(name, b"")).collect();
    let file = zip(&items);
    let mut handle = File::open(file.path()).unwrap();
    assert_eq!(zip_declared_entries(&mut handle), Some(11));
    let limits = AnalysisLimits {
        max_files: 10,
        ..AnalysisLimits::default()
    };
    let error = run_with(&file, ArchiveFormat::Zip, &limits).unwrap_err();
    assert!(
        matches!(error, AnalysisError::TooManyEntries(10)),
        "{error}"
    );
}
