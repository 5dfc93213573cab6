//! Mail that has not been delivered: waiting for a retry after a failed attempt, or given up on
//! after the last attempt. Each shows its last error and can be retried at once.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::forms::Posted;
#[cfg(feature = "ssr")]
use crate::mail::ssr::outbox::Retry;
use crate::paging::{Page, PageLinks};
use crate::ui::{ErrorText, ScrollX, Time, count_of, loaded, secondary_button_class};

/// One undelivered mail as the list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UndeliveredMail {
    pub id: i64,
    pub to: String,
    pub subject: String,
    /// `pending` (will be retried) or `failed` (given up on).
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: String,
}

/// Undelivered mails a page lists.
pub const MAIL_PAGE_LEN: u64 = 20;

/// A page of the undelivered mail, newest first.
#[server(endpoint = "undelivered_mail")]
pub async fn list_undelivered_mail(
    #[server(default)] after: Option<String>,
) -> Result<Page<UndeliveredMail>, AppError> {
    crate::admin::ssr::require_admin().await?;
    let page =
        crate::paging::ssr::PageRequest::after(MAIL_PAGE_LEN, after.as_deref(), "mail_after")?;
    ssr::list(&crate::state::app_state()?.db, &page).await
}

/// Queues an undelivered mail again with its attempts reset, due now.
#[server(endpoint = "retry_mail")]
pub async fn retry_mail(id: i64) -> Result<(), AppError> {
    let admin = crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let retried = crate::mail::ssr::outbox::retry_now(&state.db, Retry::Mail(id)).await?;
    if retried == 0 {
        return Err(AppError::Conflict(
            "This mail is no longer waiting: it was delivered or removed.".into(),
        ));
    }
    tracing::info!(mail_id = id, by = admin.id, "mail queued again");
    crate::http::redirect_plain_form_to("/admin#undelivered-mail");
    Ok(())
}

/// Queues every undelivered mail again with its attempts reset, due now (after an outage or a
/// fixed setting). Returns how many.
#[server(endpoint = "retry_all_mail")]
pub async fn retry_all_mail() -> Result<u64, AppError> {
    let admin = crate::admin::ssr::require_admin().await?;
    let state = crate::state::app_state()?;
    let retried = crate::mail::ssr::outbox::retry_now(&state.db, Retry::Undelivered).await?;
    tracing::info!(retried, by = admin.id, "undelivered mail queued again");
    crate::http::redirect_plain_form_to("/admin#undelivered-mail");
    Ok(retried)
}

#[component]
pub fn UndeliveredMailPanel(
    /// [`list_undelivered_mail`], created by the page.
    mails: Resource<Result<Page<UndeliveredMail>, AppError>>,
) -> impl IntoView {
    let retry = ServerAction::<RetryMail>::new();
    let retry_all = ServerAction::<RetryAllMail>::new();
    let error = Signal::stored(
        Posted::of::<RetryMail>()
            .error()
            .or_else(|| Posted::of::<RetryAllMail>().error()),
    );
    view! {
        <ErrorText error />
        {loaded(mails, move |mails| {
            let Page { items: mails, next } = mails;
            if mails.is_empty() {
                return view! {
                    <p class="text-sm text-slate-600" data-testid="no-undelivered-mail">"No undelivered mail."</p>
                }
                .into_any();
            }
            view! {
                <ActionForm action=retry_all attr:class="mb-3" attr:aria-label="Retry all undelivered mail">
                    <button class=secondary_button_class() type="submit">"Retry all"</button>
                </ActionForm>
                <MailTable mails retry />
                <PageLinks next of="undelivered mail" param="mail_after" label="Older mail" anchor="#undelivered-mail" />
            }
            .into_any()
        })}
    }
}

#[component]
fn MailTable(mails: Vec<UndeliveredMail>, retry: ServerAction<RetryMail>) -> impl IntoView {
    view! {
        <ScrollX label="Undelivered mail"><table class="w-full text-left text-sm" data-testid="undelivered-mail">
            <thead class="text-slate-600">
                <tr>
                    <th scope="col" class="py-2">"To"</th>
                    <th scope="col">"Subject"</th>
                    <th scope="col">"State"</th>
                    <th scope="col">"Last error"</th>
                    <th scope="col"><span class="sr-only">"Action"</span></th>
                </tr>
            </thead>
            <tbody>
                {mails
                    .into_iter()
                    .map(|mail| {
                        let state = delivery_state(&mail.status, mail.attempts);
                        view! {
                            <tr class="border-t border-slate-100 align-top">
                                <td class="py-2 pr-2">{mail.to}</td>
                                <td class="pr-2">
                                    {mail.subject}
                                    <div class="text-xs text-slate-500">"Queued " <Time at=mail.created_at /></div>
                                </td>
                                <td class="pr-2">{state}</td>
                                <td class="pr-2 text-red-800">{mail.last_error}</td>
                                <td class="py-2">
                                    <ActionForm action=retry attr:aria-label=format!("Retry mail {}", mail.id)>
                                        <input type="hidden" name="id" value=mail.id />
                                        <button class=secondary_button_class() type="submit">"Retry"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table></ScrollX>

    }
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

    use super::UndeliveredMail;
    use crate::db::entity::outbox;
    use crate::error::AppError;
    use crate::paging::Page;
    use crate::paging::ssr::{Keyset, PageRequest, merge_newest_first};
    use sea_orm::ActiveEnum;

    use crate::mail::ssr::outbox::OutboxStatus::{Failed, Pending};

    /// A page of the undelivered mail, newest first: mail given up on, and mail waiting for a
    /// retry after a failed attempt. Each state is read by its own range of `outbox_by_status`
    /// (an `OR` of the two would be a scan of the whole outbox) and the two merged.
    pub async fn list(
        db: &impl ConnectionTrait,
        page: &PageRequest,
    ) -> Result<Page<UndeliveredMail>, AppError> {
        let keyset = Keyset::NewestFirst {
            id: outbox::Column::Id,
        };
        let failed = keyset
            .page(
                db,
                outbox::Entity::find().filter(outbox::Column::Status.eq(Failed)),
                page,
            )
            .await?;
        let retrying = keyset
            .page(
                db,
                outbox::Entity::find()
                    .filter(outbox::Column::Status.eq(Pending))
                    .filter(outbox::Column::LastError.is_not_null()),
                page,
            )
            .await?;
        // Each part holds a page's worth; one more row than the page tells whether another
        // follows (a part that was cut off has more).
        let more = failed.next.is_some() || retrying.next.is_some();
        let mut merged = merge_newest_first(
            [failed.items, retrying.items],
            page.limit,
            outbox::Column::Id,
        );
        if merged.next.is_none() && more {
            merged.next = merged
                .items
                .last()
                .map(|row| keyset.cursor_of(row).encode());
        }
        Ok(merged.map(|row| UndeliveredMail {
            id: row.id,
            to: row.to_address,
            subject: row.subject,
            status: row.status.to_value(),
            attempts: row.attempts,
            last_error: row.last_error,
            created_at: crate::http::timestamp(row.created_at),
        }))
    }
}

/// What became of an undelivered mail, in words: held back without a try (its account was
/// disabled, say), failed for good, or waiting for its first or next try.
fn delivery_state(status: &str, attempts: i32) -> String {
    let tries = |n: i32| count_of(n.into(), "attempt");
    match (status, attempts) {
        ("failed", 0) => "Not sent: held back".to_owned(),
        ("failed", n) => format!("Not sent: gave up after {}", tries(n)),
        (_, 0) => "Waiting for its first attempt".to_owned(),
        (_, n) => format!("Will try again; {} failed so far", tries(n)),
    }
}
