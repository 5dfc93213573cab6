//! An analysis result as tables: totals, languages, largest files.

use leptos::prelude::*;

use super::AnalysisReport;
use crate::ui::human_bytes;

#[component]
pub fn ReportTable(report: AnalysisReport) -> impl IntoView {
    let cell = "py-1 pr-4";
    let number = "py-1 pr-4 text-right tabular-nums";
    view! {
        <div class="mt-3 space-y-3" data-testid="job-result">
            <p class="text-sm text-slate-700" data-testid="job-totals">
                {format!(
                    "{} files · {} lines · {}",
                    report.files,
                    report.lines,
                    human_bytes(report.bytes),
                )}
            </p>
            <table class="w-full text-left text-sm" data-testid="languages">
                <caption class="sr-only">"Lines by language"</caption>
                <thead class="text-slate-500">
                    <tr>
                        <th scope="col" class=cell>"Language"</th>
                        <th scope="col" class=number>"Files"</th>
                        <th scope="col" class=number>"Lines"</th>
                        <th scope="col" class=number>"Size"</th>
                    </tr>
                </thead>
                <tbody>
                    {report
                        .languages
                        .into_iter()
                        .map(|language| {
                            view! {
                                <tr class="border-t border-slate-100">
                                    <th scope="row" class=format!("{cell} font-medium")>{language.language}</th>
                                    <td class=number>{language.files}</td>
                                    <td class=number>{language.lines}</td>
                                    <td class=number>{human_bytes(language.bytes)}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
            <details class="text-sm">
                <summary class="cursor-pointer text-slate-700">"Largest files"</summary>
                <table class="mt-2 w-full text-left" data-testid="largest-files">
                    <thead class="text-slate-500">
                        <tr>
                            <th scope="col" class=cell>"File"</th>
                            <th scope="col" class=number>"Lines"</th>
                            <th scope="col" class=number>"Size"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {report
                            .largest_files
                            .into_iter()
                            .map(|file| {
                                view! {
                                    <tr class="border-t border-slate-100">
                                        <td class=format!("{cell} break-all font-mono text-xs")>{file.path}</td>
                                        <td class=number>{file.lines}</td>
                                        <td class=number>{human_bytes(file.bytes)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </details>
        </div>
    }
    .into_any()
}
