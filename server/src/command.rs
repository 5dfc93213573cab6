//! What the `server` binary is asked to do: serve (no arguments), or an operator's command run
//! on the host.
//!
//! `server admin reset-password USERNAME` is the way back in when nobody can sign in as an
//! administrator any more: it gives the account a temporary password (printed once), which
//! only lets its user choose a new one, and ends its sessions and revokes its API key, as an
//! administrator's reset does. It uses the same settings (`DATABASE_URL`, …) as the server and
//! may run while the server does.

use secrecy::SecretString;

use app::auth::ssr::accounts::Actor;

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Serve,
    ResetPassword { username: String },
    Help,
}

/// How to call it.
pub const USAGE: &str = "usage:\n  server                                  serve the console\n  \
     server admin reset-password USERNAME    print a temporary password for USERNAME\n";

impl Command {
    /// Reads the arguments after the program's name.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match args.as_slice() {
            [] => Ok(Self::Serve),
            ["help" | "--help" | "-h"] => Ok(Self::Help),
            ["admin", "reset-password", username] => Ok(Self::ResetPassword {
                username: (*username).to_owned(),
            }),
            _ => Err(format!("unknown command: {}\n{USAGE}", args.join(" "))),
        }
    }
}

/// Reads the program's arguments (after its name); one that is not text is refused.
pub fn args() -> Result<Vec<String>, String> {
    std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| format!("not a text argument: {arg:?}\n{USAGE}"))
        })
        .collect()
}

/// Resets `username`'s password on the database at `database_url` (which must be migrated to
/// this version already: the command never migrates a database a server may be using). Returns
/// the account as reset and the temporary password.
pub async fn reset_password(
    database_url: &str,
    username: &str,
) -> Result<(app::auth::UserView, SecretString), String> {
    let db = app::db::connect_migrated(database_url)
        .await
        .map_err(|error| error.to_string())?;
    let operator = Actor { id: None, ip: None };
    let result = app::admin::users::ssr::reset_password(&db, None, operator, username).await;
    let _ = db.close().await;
    result.map_err(|error| match error {
        app::error::AppError::NotFound => format!("there is no user named {username:?}"),
        other => format!("the password could not be reset: {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        Command::parse(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn commands_are_read_and_anything_else_refused() {
        assert_eq!(parse(&[]), Ok(Command::Serve));
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(
            parse(&["admin", "reset-password", "alice"]),
            Ok(Command::ResetPassword {
                username: "alice".into()
            })
        );
        for bad in [
            &["admin"][..],
            &["admin", "reset-password"],
            &["admin", "reset-password", "a", "b"],
            &["serve"],
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("usage:"), "{bad:?}: {error}");
        }
    }
}
