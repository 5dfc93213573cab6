//! Source archives: the formats the console accepts ([`ArchiveFormat`]), where a version's archive
//! is kept ([`store`]), reading one safely without extracting it ([`read`]) and what each file
//! in it holds ([`count`]) — all server only, for any feature that works on archives. What a
//! count reports, [`Lines`], is shared with the pages.

#[cfg(feature = "ssr")]
pub mod count;
#[cfg(feature = "ssr")]
#[cfg(test)]
pub(crate) mod fixtures;
#[cfg(feature = "ssr")]
mod format;
#[cfg(feature = "ssr")]
mod paths;
#[cfg(feature = "ssr")]
pub mod read;
#[cfg(feature = "ssr")]
pub mod store;

#[cfg(feature = "ssr")]
pub use count::{Counted, Counter, count_files};
#[cfg(feature = "ssr")]
pub use format::ArchiveFormat;
#[cfg(feature = "ssr")]
pub use read::{ArchiveError, ArchiveLimits, Control, read_files};
#[cfg(feature = "ssr")]
pub use store::{ArchiveStore, Incoming, NoTurn, Source, StoreError, Turn};

use serde::{Deserialize, Serialize};

/// Lines of a file or of many, told apart as tokei counts them. Reports stored before lines were
/// told apart read as 0s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct Lines {
    pub code: u64,
    pub comments: u64,
    pub blanks: u64,
}

impl Lines {
    /// Every line: code + comments + blanks.
    pub fn total(self) -> u64 {
        self.code + self.comments + self.blanks
    }
}

impl std::ops::AddAssign for Lines {
    fn add_assign(&mut self, other: Self) {
        self.code += other.code;
        self.comments += other.comments;
        self.blanks += other.blanks;
    }
}

#[cfg(feature = "ssr")]
#[cfg(test)]
mod tests;
