//! Real archives for tests, built with the same zip/tar/gzip crates a user's tools would use,
//! including the malicious ones a read must refuse.

use std::io::Write;

pub const ZEROS: usize = 16 * 1024 * 1024;

pub enum Item<'a> {
    File(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

pub fn tar_gz(items: &[Item]) -> tempfile::NamedTempFile {
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
pub fn tar_gz_built(
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

pub fn zip(items: &[Item]) -> tempfile::NamedTempFile {
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

/// `items` as an archive of `format`.
pub fn archive(format: super::ArchiveFormat, items: &[Item]) -> tempfile::NamedTempFile {
    match format {
        super::ArchiveFormat::Zip => zip(items),
        super::ArchiveFormat::TarGz => tar_gz(items),
    }
}

/// A small project: Java, TypeScript, Markdown, an empty file and a link inside the archive.
pub fn sample() -> Vec<Item<'static>> {
    vec![
        Item::File("app/src/Main.java", b"class Main {\n  void run() {}\n}\n"),
        Item::File("app/src/Util.java", b"class Util {}"),
        Item::File("app/web/index.ts", b"export const x = 1;\n\n"),
        Item::File("README.md", b"# App\n"),
        Item::File("./empty.txt", b""),
        Item::Symlink("app/docs/readme", "../../README.md"),
    ]
}
