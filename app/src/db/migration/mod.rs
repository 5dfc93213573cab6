//! Schema migrations, applied in order at start-up. Never edit a released migration; add a new one.

mod m0001_accounts;
mod m0002_api_keys;
mod m0003_work;
mod m0004_outbox;
mod m0005_mail_server;
mod m0006_owner_scoped_names;
mod m0007_archive_keys;
mod m0008_throttles;
mod m0009_notifications_need_an_address;
mod m0010_account_management;
mod m0011_verified_email;
mod m0012_list_indexes;
mod m0013_session_owner;
mod m0014_session_digests;
mod m0015_usernames_any_case;
mod m0016_versions_by_uploader;

use sea_orm_migration::prelude::*;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_accounts::Migration),
            Box::new(m0002_api_keys::Migration),
            Box::new(m0003_work::Migration),
            Box::new(m0004_outbox::Migration),
            Box::new(m0005_mail_server::Migration),
            Box::new(m0006_owner_scoped_names::Migration),
            Box::new(m0007_archive_keys::Migration),
            Box::new(m0008_throttles::Migration),
            Box::new(m0009_notifications_need_an_address::Migration),
            Box::new(m0010_account_management::Migration),
            Box::new(m0011_verified_email::Migration),
            Box::new(m0012_list_indexes::Migration),
            Box::new(m0013_session_owner::Migration),
            Box::new(m0014_session_digests::Migration),
            Box::new(m0015_usernames_any_case::Migration),
            Box::new(m0016_versions_by_uploader::Migration),
        ]
    }
}
