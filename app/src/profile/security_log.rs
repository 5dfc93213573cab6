//! Security log: the signed-in user's events, newest first, a page at a time (sign-ins, failed
//! sign-ins, key and password changes, what an administrator did), each with its time and
//! client address.

use leptos::prelude::*;

use crate::auth::log::SecurityEventView;
use crate::error::AppError;
use crate::paging::{Page, PageLinks};
use crate::ui::{ScrollX, Time, loaded};

/// A page of the signed-in user's security events, newest first, after cursor `after`.
#[server(endpoint = "security_log")]
pub async fn own_security_log(
    #[server(default)] after: Option<String>,
) -> Result<Page<SecurityEventView>, AppError> {
    use crate::auth::log::ssr::{Filter, list};
    use crate::paging::ssr::PageRequest;
    let user = crate::auth::ssr::require_user().await?;
    let page = PageRequest::after(
        crate::auth::log::OWN_LOG_LEN,
        after.as_deref(),
        "events_after",
    )?;
    let state = crate::state::app_state()?;
    let filter = Filter {
        user_id: Some(user.id),
        own: true,
        ..Filter::default()
    };
    list(&state.db, filter, &page).await
}

#[component]
pub fn SecurityLogPanel(
    /// [`own_security_log`], created by the page.
    events: Resource<Result<Page<SecurityEventView>, AppError>>,
) -> impl IntoView {
    view! {
        {loaded(events, |events| {
            view! {
                <EventTable events=events.items with_user=false />
                <PageLinks next=events.next of="events" param="events_after" label="Older events" anchor="#security-log" />
            }
        })}
    }
}

/// Security events as a table; `with_user` adds whose account each is about.
#[component]
pub fn EventTable(events: Vec<SecurityEventView>, with_user: bool) -> impl IntoView {
    if events.is_empty() {
        return view! { <p class="text-sm text-slate-600" data-testid="no-security-events">"Nothing recorded yet."</p> }
            .into_any();
    }
    view! {
            <ScrollX label="Security events"><table class="w-full text-left text-sm" data-testid="security-events">
                <thead class="text-slate-600">
                    <tr>
                        <th scope="col" class="py-2 pr-3">"When"</th>
                        {with_user.then(|| view! { <th scope="col" class="pr-3">"User"</th> })}
                        <th scope="col" class="pr-3">"Event"</th>
                        <th scope="col" class="pr-3">"From"</th>
                        <th scope="col">"Details"</th>
                    </tr>
                </thead>
                <tbody>
                    {events
                        .into_iter()
                        .map(|event| {
                            let details = match (event.detail, event.by) {
                                (Some(detail), Some(by)) => format!("{detail}, by {by}"),
                                (Some(detail), None) => detail,
                                (None, Some(by)) => format!("by {by}"),
                                (None, None) => String::new(),
                            };
                            view! {
                                <tr class="border-t border-slate-100" data-testid="security-event" data-kind=event.kind.as_str()>
                                    <td class="py-2 pr-3 whitespace-nowrap tabular-nums"><Time at=event.at /></td>
                                    {with_user.then(|| view! { <td class="pr-3">{event.username}</td> })}
                                    <td class="pr-3">{event.kind.label()}</td>
                                    <td class="pr-3 tabular-nums">{event.ip.unwrap_or_default()}</td>
                                    <td>{details}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table></ScrollX>
    }
    .into_any()
}
