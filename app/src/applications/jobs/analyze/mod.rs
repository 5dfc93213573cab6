//! The **analyze** job: an inventory of a version's source archive — files, lines (code,
//! comments, blanks) and bytes per language, totals, and the largest files. Its report and how a
//! page shows it are here; the work is in [`ssr`].

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::archives::Lines;
use crate::ui::{NUMBER_CELL, ScrollX, TableHead, human_bytes, human_count};

/// What an analysis found in a source archive. `lines` = `code` + `comments` + `blanks`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AnalysisReport {
    pub files: u64,
    pub lines: u64,
    #[serde(flatten)]
    pub kinds: Lines,
    pub bytes: u64,
    /// Most lines first.
    pub languages: Vec<LanguageStats>,
    /// Largest first, at most ten.
    pub largest_files: Vec<FileStats>,
}

/// Files, lines and bytes of one language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LanguageStats {
    pub language: String,
    pub files: u64,
    pub lines: u64,
    #[serde(flatten)]
    pub kinds: Lines,
    pub bytes: u64,
}

/// One file of the archive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileStats {
    pub path: String,
    pub bytes: u64,
    pub lines: u64,
}

impl AnalysisReport {
    /// The few figures a list of jobs shows: "4 files · 8 lines · 76 B".
    pub fn totals(&self) -> String {
        format!(
            "{} files · {} lines · {}",
            human_count(self.files),
            human_count(self.lines),
            human_bytes(self.bytes),
        )
    }
}

/// An analysis as tables: totals, languages, largest files.
#[component]
pub fn AnalysisView(report: AnalysisReport) -> impl IntoView {
    let cell = "py-1 pr-4";
    let number = NUMBER_CELL;
    view! {
        <div class="mt-3 space-y-3" data-testid="job-result">
            <p class="text-sm text-slate-700" data-testid="job-totals">{report.totals()}</p>
            <p class="text-sm text-slate-600" data-testid="job-lines">
                {format!(
                    "{} code · {} comments · {} blank",
                    human_count(report.kinds.code),
                    human_count(report.kinds.comments),
                    human_count(report.kinds.blanks),
                )}
            </p>
            <ScrollX label="Languages"><table class="w-full text-left text-sm" data-testid="languages">
                <caption class="sr-only">"Lines by language"</caption>
                <TableHead
                    first="Language"
                    numbers=&["Files", "Code", "Comments", "Blanks", "Lines", "Size"]
                />
                <tbody>
                    {report
                        .languages
                        .into_iter()
                        .map(|language| {
                            view! {
                                <tr class="border-t border-slate-100">
                                    <th scope="row" class=format!("{cell} font-medium")>{language.language}</th>
                                    <td class=number>{human_count(language.files)}</td>
                                    <td class=number>{human_count(language.kinds.code)}</td>
                                    <td class=number>{human_count(language.kinds.comments)}</td>
                                    <td class=number>{human_count(language.kinds.blanks)}</td>
                                    <td class=number>{human_count(language.lines)}</td>
                                    <td class=number>{human_bytes(language.bytes)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table></ScrollX>
            <details class="text-sm">
                <summary class="cursor-pointer text-slate-700">"Largest files"</summary>
                <ScrollX label="Largest files"><table class="mt-2 w-full text-left" data-testid="largest-files">
                    <TableHead first="File" numbers=&["Lines", "Size"] />
                    <tbody>
                        {report
                            .largest_files
                            .into_iter()
                            .map(|file| {
                                view! {
                                    <tr class="border-t border-slate-100">
                                        <td class=format!("{cell} break-all font-mono text-xs")>{file.path}</td>
                                        <td class=number>{human_count(file.lines)}</td>
                                        <td class=number>{human_bytes(file.bytes)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table></ScrollX>
            </details>
        </div>
    }
    .into_any()
}
