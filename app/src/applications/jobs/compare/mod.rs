//! The **compare** job: a version against the one uploaded just before it in the same
//! application — files added, removed and changed (by content hash), and code, comment and blank
//! lines per language before and after. The first version compares with nothing: every file is
//! added. Its report and how a page shows it are here; the work is in [`ssr`].

#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::archives::Lines;
use crate::ui::{NUMBER_CELL, ScrollX, TableHead, human_count};

/// Most paths a comparison lists per change (the counts are always complete).
pub const LISTED_PATHS: usize = 100;

/// What changed between two versions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ComparisonReport {
    /// The version compared with: the one uploaded just before; none for the first version.
    pub previous_version_id: Option<i64>,
    pub previous_version: Option<String>,
    pub added: FileChanges,
    pub removed: FileChanges,
    /// Files in both versions whose content differs.
    pub changed: FileChanges,
    /// Files in both versions with the same content.
    pub unchanged: u64,
    /// Languages of either version, most lines after first.
    pub languages: Vec<LanguageChange>,
}

/// How many files changed one way, and the first of their paths in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileChanges {
    pub count: u64,
    /// At most 100, sorted.
    pub paths: Vec<String>,
}

/// One language before and after.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LanguageChange {
    pub language: String,
    pub before: LineCounts,
    pub after: LineCounts,
}

/// Files and lines of one language in one version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LineCounts {
    pub files: u64,
    #[serde(flatten)]
    pub kinds: Lines,
}

impl ComparisonReport {
    /// The few figures a list of jobs shows: "4 added · 0 removed · 0 changed".
    pub fn totals(&self) -> String {
        format!(
            "{} added · {} removed · {} changed",
            human_count(self.added.count),
            human_count(self.removed.count),
            human_count(self.changed.count),
        )
    }
}

/// A comparison as a summary, a table of languages and the changed paths.
#[component]
pub fn ComparisonView(report: ComparisonReport) -> impl IntoView {
    let cell = "py-1 pr-4";
    let number = NUMBER_CELL;
    let against = report.previous_version.as_ref().map_or_else(
        || "First version: every file is new.".to_owned(),
        |name| format!("Compared with {name}."),
    );
    let summary = format!(
        "{} · {} unchanged",
        report.totals(),
        human_count(report.unchanged)
    );
    let change = |before: u64, after: u64| {
        let (sign, delta) = if after >= before {
            ("+", after - before)
        } else {
            ("−", before - after)
        };
        let delta = if delta == 0 {
            "0".to_owned()
        } else {
            format!("{sign}{}", human_count(delta))
        };
        format!("{} → {} ({delta})", human_count(before), human_count(after))
    };
    view! {
        <div class="mt-3 space-y-3" data-testid="job-result">
            <p class="text-sm text-slate-700" data-testid="comparison-summary">
                {against} " " {summary}
            </p>
            <ScrollX label="Changes per language"><table class="w-full text-left text-sm" data-testid="language-changes">
                <caption class="sr-only">"Lines by language, before and after"</caption>
                <TableHead first="Language" numbers=&["Files", "Code", "Comments", "Blanks"] />
                <tbody>
                    {report
                        .languages
                        .into_iter()
                        .map(|language| {
                            let (before, after) = (language.before, language.after);
                            view! {
                                <tr class="border-t border-slate-100">
                                    <th scope="row" class=format!("{cell} font-medium")>{language.language}</th>
                                    <td class=number>{change(before.files, after.files)}</td>
                                    <td class=number>{change(before.kinds.code, after.kinds.code)}</td>
                                    <td class=number>{change(before.kinds.comments, after.kinds.comments)}</td>
                                    <td class=number>{change(before.kinds.blanks, after.kinds.blanks)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table></ScrollX>
            <Paths title="Added files" changes=report.added />
            <Paths title="Removed files" changes=report.removed />
            <Paths title="Changed files" changes=report.changed />
        </div>
    }
    .into_any()
}

#[component]
fn Paths(title: &'static str, changes: FileChanges) -> impl IntoView {
    (changes.count > 0).then(|| {
        let more = changes.count.saturating_sub(changes.paths.len() as u64);
        view! {
            <details class="text-sm">
                <summary class="cursor-pointer text-slate-700">
                    {format!("{title} ({})", human_count(changes.count))}
                </summary>
                <ul class="mt-2 space-y-0.5 font-mono text-xs break-all">
                    {changes.paths.into_iter().map(|path| view! { <li>{path}</li> }).collect_view()}
                    {(more > 0).then(|| view! { <li class="font-sans text-slate-500">{format!("and {} more", human_count(more))}</li> })}
                </ul>
            </details>
        }
    })
}
