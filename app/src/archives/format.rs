//! The archive formats the console accepts.

/// The archive formats the console reads. Stored as `zip` / `tar.gz`, also the file extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sea_orm::EnumIter, sea_orm::DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "Text")]
pub enum ArchiveFormat {
    #[sea_orm(string_value = "zip")]
    Zip,
    #[sea_orm(string_value = "tar.gz")]
    TarGz,
}

impl ArchiveFormat {
    /// As stored in `versions.archive_format` and used as the file extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zip => "zip",
            Self::TarGz => "tar.gz",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "zip" => Some(Self::Zip),
            "tar.gz" => Some(Self::TarGz),
            _ => None,
        }
    }

    /// The format the first bytes announce: a zip local header (or the end record of an empty
    /// zip), or the gzip magic.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            Some(Self::Zip)
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Some(Self::TarGz)
        } else {
            None
        }
    }

    /// The format a file name's extension announces.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let name = name.to_ascii_lowercase();
        if name.ends_with(".zip") {
            Some(Self::Zip)
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Some(Self::TarGz)
        } else {
            None
        }
    }
}
