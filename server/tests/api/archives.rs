//! Source archives for the tests, built with the same crates users' tools produce them with.

use std::io::Write;

/// A small Java/TypeScript project: 4 files, 8 lines.
pub fn sample_project() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "meudon/src/Main.java",
            b"class Main {\n  void run() {}\n}\n".to_vec(),
        ),
        ("meudon/src/Util.java", b"class Util {\n}\n".to_vec()),
        ("meudon/web/app.ts", b"export const x = 1;\n\n".to_vec()),
        ("meudon/README.md", b"# Meudon\n".to_vec()),
    ]
}

pub fn tar_gz(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(gzip);
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        // By hand, so tests can also build the names a careful tool would refuse.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, data.as_slice()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

pub fn zip(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A zip with one symbolic link, `link` → `target`.
pub fn zip_with_symlink(target: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer.start_file("src/a.c", options).unwrap();
    writer.write_all(b"int a;\n").unwrap();
    writer.add_symlink("src/link", target, options).unwrap();
    writer.finish().unwrap().into_inner()
}
