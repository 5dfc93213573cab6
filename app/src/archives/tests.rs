//! The safety rules of reading, on real archives (see [`super::fixtures`]).

use std::fs::File;
use std::io::Write;

use super::fixtures::{Item, ZEROS, archive, sample, tar_gz, tar_gz_built, zip};
use super::paths::{check_link, entry_path};
use super::read::zip_end_declared_entries;
use super::*;

/// The files of an archive, each read to its end: (path, content).
fn run(
    file: &tempfile::NamedTempFile,
    format: ArchiveFormat,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    run_with(file, format, &ArchiveLimits::default())
}

fn run_with(
    file: &tempfile::NamedTempFile,
    format: ArchiveFormat,
    limits: &ArchiveLimits,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    read_all(file, format, limits, &Control::default())
}

fn read_all(
    file: &tempfile::NamedTempFile,
    format: ArchiveFormat,
    limits: &ArchiveLimits,
    control: &Control,
) -> Result<Vec<(String, Vec<u8>)>, ArchiveError> {
    let mut files = Vec::new();
    read_files(
        Source::Path(file.path().to_owned()),
        format,
        limits,
        control,
        |path, content| {
            let mut bytes = Vec::new();
            content
                .read_to_end(&mut bytes)
                .map_err(|error| ArchiveError::content(&error))?;
            files.push((path.to_owned(), bytes));
            Ok(())
        },
    )?;
    Ok(files)
}

#[test]
fn every_file_is_read_with_its_checked_path_and_links_inside_are_fine() {
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let file = archive(format, &sample());
        let files = run(&file, format).unwrap();
        let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "app/src/Main.java",
                "app/src/Util.java",
                "app/web/index.ts",
                "README.md",
                "empty.txt"
            ],
            "{format:?}"
        );
        assert_eq!(files[1].1, b"class Util {}");
    }
}

#[test]
fn formats_are_told_by_their_first_bytes() {
    assert_eq!(
        ArchiveFormat::sniff(b"PK\x03\x04rest"),
        Some(ArchiveFormat::Zip)
    );
    assert_eq!(
        ArchiveFormat::sniff(b"PK\x05\x06"),
        Some(ArchiveFormat::Zip)
    );
    assert_eq!(
        ArchiveFormat::sniff(&[0x1f, 0x8b, 8, 0]),
        Some(ArchiveFormat::TarGz)
    );
    for other in [&b"Rar!"[..], b"\x7fELF", b"PK", b"", b"plain text"] {
        assert_eq!(ArchiveFormat::sniff(other), None, "{other:?}");
    }
}

#[test]
fn file_names_announce_a_format() {
    assert_eq!(
        ArchiveFormat::from_file_name("src.ZIP"),
        Some(ArchiveFormat::Zip)
    );
    assert_eq!(
        ArchiveFormat::from_file_name("a.tar.gz"),
        Some(ArchiveFormat::TarGz)
    );
    assert_eq!(
        ArchiveFormat::from_file_name("a.tgz"),
        Some(ArchiveFormat::TarGz)
    );
    assert_eq!(ArchiveFormat::from_file_name("a.rar"), None);
}

#[test]
fn parent_directory_entries_are_refused() {
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let items = [Item::File("src/../../evil.sh", b"rm -rf /\n")];
        let file = archive(format, &items);
        let error = run(&file, format).unwrap_err();
        assert!(
            matches!(error, ArchiveError::Traversal(_)),
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
            let file = archive(format, &items);
            let error = run(&file, format).unwrap_err();
            assert!(
                matches!(error, ArchiveError::AbsolutePath(_)),
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
            let file = archive(format, &items);
            let error = run(&file, format).unwrap_err();
            assert!(
                matches!(error, ArchiveError::LinkOutside { .. }),
                "{target} {format:?}: {error}"
            );
        }
    }
}

#[test]
fn zip_bombs_are_refused() {
    let zeros = vec![0u8; ZEROS];
    let error = run(&zip(&[Item::File("zeros.txt", &zeros)]), ArchiveFormat::Zip).unwrap_err();
    assert!(matches!(error, ArchiveError::Bomb(..)), "{error}");
    let error = run(
        &tar_gz(&[Item::File("zeros.txt", &zeros)]),
        ArchiveFormat::TarGz,
    )
    .unwrap_err();
    assert!(matches!(error, ArchiveError::Bomb(..)), "{error}");
    assert!(error.to_string().contains("zip bomb"));
}

#[test]
fn huge_entry_counts_are_refused() {
    let names: Vec<String> = (0..101).map(|i| format!("f{i}.txt")).collect();
    let items: Vec<Item> = names.iter().map(|name| Item::File(name, b"")).collect();
    let limits = ArchiveLimits {
        max_files: 100,
        ..ArchiveLimits::default()
    };
    for format in [ArchiveFormat::TarGz, ArchiveFormat::Zip] {
        let file = archive(format, &items);
        let error = run_with(&file, format, &limits).unwrap_err();
        assert!(
            matches!(error, ArchiveError::TooManyEntries(100)),
            "{format:?}: {error}"
        );
    }
}

#[test]
fn unpacked_size_is_limited_as_read() {
    let limits = ArchiveLimits {
        max_unpacked_bytes: 1000,
        ..ArchiveLimits::default()
    };
    let data = vec![b'a'; 1001];
    let error = run_with(
        &tar_gz(&[Item::File("a.txt", &data)]),
        ArchiveFormat::TarGz,
        &limits,
    )
    .unwrap_err();
    assert!(matches!(error, ArchiveError::TooLarge(_)), "{error}");
}

#[test]
fn corrupt_archives_fail_with_a_reason() {
    let mut garbage = tempfile::NamedTempFile::new().unwrap();
    garbage
        .write_all(&[0x1f, 0x8b, 8, 0, 1, 2, 3, 4, 5, 6, 7])
        .unwrap();
    let error = run(&garbage, ArchiveFormat::TarGz).unwrap_err();
    assert!(matches!(error, ArchiveError::Corrupt { .. }), "{error}");

    // Gzip that holds no tar.
    let not_tar = tempfile::NamedTempFile::new().unwrap();
    let mut gzip =
        flate2::write::GzEncoder::new(not_tar.reopen().unwrap(), flate2::Compression::fast());
    gzip.write_all(&[b'x'; 2048]).unwrap();
    gzip.finish().unwrap();
    assert!(matches!(
        run(&not_tar, ArchiveFormat::TarGz),
        Err(ArchiveError::Corrupt { .. })
    ));

    // A zip cut in half.
    let whole = std::fs::read(zip(&sample()).path()).unwrap();
    let mut cut = tempfile::NamedTempFile::new().unwrap();
    cut.write_all(&whole[..whole.len() / 2]).unwrap();
    let error = run(&cut, ArchiveFormat::Zip).unwrap_err();
    assert!(matches!(error, ArchiveError::Corrupt { .. }), "{error}");
    assert!(error.to_string().starts_with("The archive is corrupt"));
}

#[test]
fn a_cancelled_read_stops() {
    let control = Control::default();
    control.cancel();
    let file = tar_gz(&sample());
    let result = read_all(
        &file,
        ArchiveFormat::TarGz,
        &ArchiveLimits::default(),
        &control,
    );
    assert!(matches!(result, Err(ArchiveError::Cancelled)));
}

#[test]
fn entry_names_are_checked() {
    assert_eq!(entry_path(b"./src/a.c").unwrap(), "src/a.c");
    assert_eq!(entry_path(b"src\\win\\a.c").unwrap(), "src/win/a.c");
    assert!(matches!(entry_path(b""), Err(ArchiveError::Corrupt { .. })));
    assert!(matches!(
        entry_path(b"a\0b"),
        Err(ArchiveError::Corrupt { .. })
    ));
    assert!(matches!(
        entry_path(b"..\\x"),
        Err(ArchiveError::Traversal(_))
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
    assert!(matches!(error, ArchiveError::Bomb(..)), "{error}");
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
    let files = run(&file, ArchiveFormat::TarGz).unwrap();
    assert_eq!(files[0].0, long);

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
    assert_eq!(zip_end_declared_entries(&mut handle), Some(11));
    let limits = ArchiveLimits {
        max_files: 10,
        ..ArchiveLimits::default()
    };
    let error = run_with(&file, ArchiveFormat::Zip, &limits).unwrap_err();
    assert!(matches!(error, ArchiveError::TooManyEntries(10)), "{error}");
}
