//! Receiving a version: a multipart upload (`name`, `archive`, and on the page's form
//! `application`) streamed to the archive store, then recorded.
//!
//! Policy:
//! - The archive is streamed into the archive store ([`crate::archives::store`]) under a fresh
//!   key as it arrives, hashed and counted on the way; over the configured limit the upload
//!   stops at once with 413 and what was stored is removed. Memory use does not depend on the
//!   archive's size.
//! - The format comes from the content (zip or gzip magic bytes), checked against the file
//!   name's extension when one is given; anything else is refused, and removed from the store.
//! - The version row names the object (`archive_key`); nothing of the user's input ends up in
//!   a key. The object is complete before the transaction that records the version commits, so
//!   a committed version always has its archive; a version that does not commit removes it.

use chrono::Utc;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait};
use sha2::{Digest, Sha256};

use super::{Name, visible};
use crate::applications::VersionView;
use crate::archives::{ArchiveFormat, Incoming, NoTurn, StoreError, Turn};
use crate::auth::ssr::Principal;
use crate::db::entity::{application, version};
use crate::error::AppError;
use crate::events::{Event, EventKind};
use crate::mail::ssr::outbox;
use crate::state::AppState;

/// Fields of an upload, as they arrived.
#[derive(Default)]
struct UploadForm {
    application: Option<String>,
    name: Option<String>,
    archive: Option<Spooled>,
}

/// An archive received into the store; removed again when dropped before its version commits
/// (the [`Incoming`] guard).
struct Spooled {
    stored: Incoming,
    format: ArchiveFormat,
    bytes: u64,
    sha256: String,
}

/// Receives an upload and records the version. `application` is the id from the URL (REST);
/// the page's form sends it as the `application` field instead, ahead of the archive.
///
/// The caller is authorised for the application before a byte of the archive is read: a
/// stranger's upload is refused at once, and its body is left unread (the connection closes).
/// So is an upload that gets no turn: the uploader already has as many under way as one user
/// may, or no turn came free in time ([`crate::archives::ArchiveStore::turn`]).
#[tracing::instrument(skip_all, err(level = "info"))]
pub async fn receive(
    state: &AppState,
    principal: &Principal,
    application: Option<i64>,
    mut multipart: multer::Multipart<'_>,
) -> Result<VersionView, AppError> {
    let turn = state
        .config
        .archives
        .turn(principal.id)
        .await
        .map_err(no_turn)?;
    let mut upload = Upload {
        state,
        principal,
        turn: Some(turn),
        application: match application {
            Some(id) => Some(visible(&state.db, principal, id).await?),
            None => None,
        },
        form: UploadForm::default(),
    };
    if let Err(error) = upload.read(&mut multipart).await {
        // The turn (and what was stored) is given back before the rest of the body is read.
        let Upload { turn, form, .. } = upload;
        drop((turn, form));
        // A mistake in the form is answered once the body is in; a stranger is not worth it.
        if error != AppError::NotFound {
            drain(&mut multipart).await;
        }
        return Err(error);
    }
    let application = match upload.application {
        Some(application) => application,
        None => authorise(state, principal, upload.form.application.as_deref()).await?,
    };
    store(state, principal, &application, upload.form).await
}

/// An upload being read, and the application it was authorised for once known.
struct Upload<'a> {
    state: &'a AppState,
    principal: &'a Principal,
    /// The upload's turn in the archive store, until its archive takes it.
    turn: Option<Turn>,
    application: Option<application::Model>,
    form: UploadForm,
}

impl Upload<'_> {
    /// Reads every field of the upload, spooling the archive once the application is authorised.
    async fn read(&mut self, multipart: &mut multer::Multipart<'_>) -> Result<(), AppError> {
        let limit = self.state.config.max_archive_bytes;
        while let Some(mut field) = multipart.next_field().await.map_err(unreadable(limit))? {
            match field.name().unwrap_or_default() {
                "application" => {
                    self.form.application = Some(read_text(&mut field, 20, limit).await?);
                }
                "name" => self.form.name = Some(read_text(&mut field, 1024, limit).await?),
                "archive" => {
                    let application = match self.application.take() {
                        Some(application) => application,
                        None => {
                            let named = self.form.application.as_deref();
                            authorise(self.state, self.principal, named).await?
                        }
                    };
                    // A name sent ahead of the archive (the page's form does) is checked before
                    // a byte of the archive is stored.
                    if let Some(name) = self.form.name.as_deref() {
                        refuse_taken(self.state, &application, name).await?;
                    }
                    self.application = Some(application);
                    let turn = self.turn.take().ok_or_else(|| {
                        AppError::invalid("archive", "Send one archive per upload.")
                    })?;
                    self.form.archive = spool(field, self.state, self.principal.id, turn).await?;
                }
                _ => while field.chunk().await.map_err(unreadable(limit))?.is_some() {},
            }
        }
        Ok(())
    }
}

/// The application the form's `application` field names, if the caller may write to it. (Not a
/// method of [`Upload`]: an archive being stored may not be shared across threads, so nothing
/// that awaits may borrow the whole upload.)
async fn authorise(
    state: &AppState,
    principal: &Principal,
    named: Option<&str>,
) -> Result<application::Model, AppError> {
    let id = named.and_then(|id| id.trim().parse().ok()).ok_or_else(|| {
        AppError::invalid(
            "application",
            "Choose an application (the field comes before the archive).",
        )
    })?;
    visible(&state.db, principal, id).await
}

/// Refuses `name` if it is not a version name, or if `application` already has a version by it.
async fn refuse_taken(
    state: &AppState,
    application: &application::Model,
    name: &str,
) -> Result<(), AppError> {
    let name = Name::parse(name, "name")?;
    let taken = version::Entity::find()
        .filter(version::Column::ApplicationId.eq(application.id))
        .filter(version::Column::Name.eq(name.as_str()))
        .one(&state.db)
        .await?
        .is_some();
    if taken {
        Err(taken_name(&name))
    } else {
        Ok(())
    }
}

fn taken_name(name: &Name) -> AppError {
    AppError::Conflict(format!(
        "This application already has a version named “{}”.",
        name.as_str()
    ))
}

/// Reads and drops what is left of a refused upload. The body is capped (`upload_limit`), so
/// this reads at most the framing allowance past the limit. Answering before the client has
/// sent its last bytes would close the connection with data unread, which resets it, and the
/// client could lose the answer (a 413 seen as a broken pipe). A body past its cap is left unread.
async fn drain(multipart: &mut multer::Multipart<'_>) {
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(_)) = field.chunk().await {}
    }
}

async fn store(
    state: &AppState,
    principal: &Principal,
    application: &application::Model,
    form: UploadForm,
) -> Result<VersionView, AppError> {
    let name = Name::parse(form.name.as_deref().unwrap_or_default(), "name")?;
    let archive = form.archive.ok_or_else(|| {
        AppError::invalid("archive", "Choose a .zip or .tar.gz archive to upload.")
    })?;
    let txn = state.db.begin().await?;
    let inserted = version::Entity::insert(version::ActiveModel {
        application_id: Set(application.id),
        name: Set(name.as_str().to_owned()),
        archive_format: Set(archive.format),
        archive_bytes: Set(i64::try_from(archive.bytes).map_err(|_| AppError::Internal)?),
        archive_sha256: Set(archive.sha256.clone()),
        archive_key: Set(archive.stored.key().to_owned()),
        created_by: Set(principal.id),
        created_at: Set(Utc::now()),
        ..Default::default()
    })
    .exec_with_returning(&txn)
    .await;
    let row = match inserted {
        // Taken meanwhile, or named after the archive (a client may send the fields in any order).
        Err(error) if matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(taken_name(&name));
        }
        other => other?,
    };
    // Checked again with the version written (on SQLite a transaction that reads before it
    // writes may fail when another commits in between): two uploads of one user at once were
    // each within the quota.
    if let Some(quota) = state.config.storage_per_user
        && stored_by(&txn, principal.id).await? > quota
    {
        return Err(quota_exceeded(quota));
    }
    // Until the commit succeeds the object is not the version's: any early return, error or
    // dropped request removes it again.
    outbox::record(
        &txn,
        &state.config,
        Event {
            kind: EventKind::VersionCreated,
            application_id: application.id,
            version_id: Some(row.id),
            job_id: None,
            actor_id: Some(principal.id),
            work: None,
        },
    )
    .await?;
    // From the commit on the object is the version's: should this request be dropped while the
    // commit is under way, the archive must not be removed under a version that committed. If
    // the commit fails, the object is removed here (and by the hourly sweep, after a crash).
    let stored = archive.stored.keep();
    if let Err(error) = txn.commit().await {
        stored.remove();
        return Err(error.into());
    }
    tracing::info!(
        version_id = row.id,
        application_id = application.id,
        bytes = archive.bytes,
        "version created"
    );
    Ok(super::versions::to_view(&row, &principal.own_name()))
}

/// Streams the `archive` field into the archive store, hashing and counting it. `None` when no
/// file was chosen (browsers then send an empty part without a file name).
async fn spool(
    mut field: multer::Field<'_>,
    state: &AppState,
    uploader: i64,
    turn: Turn,
) -> Result<Option<Spooled>, AppError> {
    let file_name = field.file_name().map(str::to_owned);
    let limit = state.config.max_archive_bytes;
    // What the uploader's quota leaves: an upload past it stops there, like one past the limit.
    let room = room_left(state, uploader).await?;
    // From here on the guard removes what was stored on every early return.
    let mut spooled = Spooled {
        stored: state.config.archives.incoming(turn),
        format: ArchiveFormat::Zip,
        bytes: 0,
        sha256: String::new(),
    };
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(4);
    while let Some(chunk) = field.chunk().await.map_err(unreadable(limit))? {
        spooled.bytes += chunk.len() as u64;
        if spooled.bytes > limit {
            return Err(AppError::TooLarge {
                limit_mb: limit.div_ceil(1024 * 1024),
            });
        }
        if let Some((left, quota)) = room
            && spooled.bytes > left
        {
            return Err(quota_exceeded(quota));
        }
        let wanted = 4usize.saturating_sub(head.len()).min(chunk.len());
        head.extend_from_slice(&chunk[..wanted]);
        hasher.update(&chunk);
        spooled.stored.write(chunk).await.map_err(store_error)?;
    }
    if spooled.bytes == 0 {
        if file_name.as_deref().is_none_or(str::is_empty) {
            return Ok(None);
        }
        return Err(AppError::invalid("archive", "The archive is empty."));
    }
    spooled.format = ArchiveFormat::sniff(&head).ok_or_else(|| {
        AppError::invalid(
            "archive",
            "This is not a .zip or .tar.gz archive. Upload the source code as one of those.",
        )
    })?;
    if let Some(named) = file_name.as_deref().and_then(ArchiveFormat::from_file_name)
        && named != spooled.format
    {
        return Err(AppError::invalid(
            "archive",
            format!(
                "The file name says .{} but the content is a {} archive.",
                named.as_str(),
                spooled.format.as_str()
            ),
        ));
    }
    spooled.sha256 = hex::encode(hasher.finalize());
    spooled.stored.finish().await.map_err(store_error)?;
    Ok(Some(spooled))
}

/// The bytes `uploader` may still store, with their quota; `None` without a quota. A user
/// already at the quota is refused before anything is stored.
async fn room_left(state: &AppState, uploader: i64) -> Result<Option<(u64, u64)>, AppError> {
    let Some(quota) = state.config.storage_per_user else {
        return Ok(None);
    };
    let used = stored_by(&state.db, uploader).await?;
    match quota.checked_sub(used) {
        Some(left) if left > 0 => Ok(Some((left, quota))),
        _ => Err(quota_exceeded(quota)),
    }
}

/// The archive bytes of every version `uploader` uploaded.
async fn stored_by(db: &impl sea_orm::ConnectionTrait, uploader: i64) -> Result<u64, AppError> {
    use sea_orm::QuerySelect;
    use sea_orm::sea_query::{Alias, Expr, Func};
    // A sum of bigints is a numeric on PostgreSQL: cast back.
    let used: Option<Option<i64>> = version::Entity::find()
        .select_only()
        .expr(Func::cast_as(
            Func::sum(Expr::col(version::Column::ArchiveBytes)),
            Alias::new("bigint"),
        ))
        .filter(version::Column::CreatedBy.eq(uploader))
        .into_tuple()
        .one(db)
        .await?;
    Ok(used
        .flatten()
        .map_or(0, |bytes| u64::try_from(bytes).unwrap_or(0)))
}

fn quota_exceeded(quota: u64) -> AppError {
    AppError::QuotaExceeded {
        quota_mb: quota / (1024 * 1024),
    }
}

/// An upload that got no turn in the archive store: the uploader's own share taken (429), or
/// every turn taken for longer than an upload waits (503).
fn no_turn(no_turn: NoTurn) -> AppError {
    crate::metrics::busy("upload");
    match no_turn {
        NoTurn::OwnShareTaken(limit) => AppError::TooManyUploads { limit },
        NoTurn::Busy => AppError::Busy {
            retry_after_secs: 5,
        },
    }
}

/// A short text field, refused when longer than `max` bytes (never buffered beyond that).
async fn read_text(
    field: &mut multer::Field<'_>,
    max: usize,
    limit: u64,
) -> Result<String, AppError> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(unreadable(limit))? {
        if bytes.len() + chunk.len() > max {
            return Err(AppError::invalid(&name, "This field is too long."));
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| AppError::invalid(&name, "This field is not valid text."))?;
    // Shown again if the upload fails (a page's form post; nothing for REST).
    crate::forms::record_field(&name, &text);
    Ok(text)
}

/// A multipart error as the client should read it; `limit` is the archive limit in bytes.
fn unreadable(limit: u64) -> impl Fn(multer::Error) -> AppError {
    move |error| {
        // The server caps upload bodies (`body_limit`); hitting the cap ends the stream with
        // an error caused by `LengthLimitError`.
        let mut cause: Option<&dyn std::error::Error> = Some(&error);
        while let Some(current) = cause {
            if current.is::<http_body_util::LengthLimitError>() {
                return AppError::TooLarge {
                    limit_mb: limit.div_ceil(1024 * 1024),
                };
            }
            cause = current.source();
        }
        AppError::invalid("archive", format!("The upload could not be read: {error}"))
    }
}

fn store_error(error: StoreError) -> AppError {
    tracing::error!(%error, "storing an upload failed");
    AppError::Internal
}
