//! Starts the console: settings from the environment, then the server until Ctrl-C or SIGTERM.
//! Or runs an operator's command ([`server::command`]).

use std::process::ExitCode;
use std::time::Duration;

use secrecy::ExposeSecret;
use server::command::{self, Command};
use server::settings::Settings;
use server::startup::Application;

/// Rendering a page allocates and frees a great deal, from every worker thread at once; glibc's
/// allocator spent a fifth of a page's time there, waiting on its arena locks among other things
/// (`perf`, see the README's benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Work still on the blocking pool when the server has stopped (a job that was handed back and
/// has not noticed yet) is abandoned after this.
const ABANDON_BLOCKING_WORK: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    // What the server creates is its user's alone: the database, the secret, spooled mail and
    // archives 0600, their directories 0700 (a reader of the data dir would find sessions and
    // mail there). Files and directories that already exist keep their modes.
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
    let command = match command::args().and_then(|args| Command::parse(&args)) {
        Ok(command) => command,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    if command == Command::Help {
        print!("{}", command::USAGE);
        return ExitCode::SUCCESS;
    }
    server::connections::raise_file_limit();
    if let Err(error) = server::telemetry::init() {
        eprintln!("console: {error}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("console: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    if let Command::ResetPassword { username } = command {
        return runtime.block_on(reset_password(&username));
    }
    let result = runtime.block_on(async {
        let settings = Settings::from_env()?;
        let application = Application::build(settings).await?;
        tracing::info!(
            address = %application.address(),
            metrics = ?application.metrics_address(),
            "console listening"
        );
        application.run_until_stopped().await?;
        Ok::<_, server::startup::StartupError>(())
    });
    runtime.shutdown_timeout(ABANDON_BLOCKING_WORK);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("console: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `server admin reset-password USERNAME`: prints the temporary password on standard output.
async fn reset_password(username: &str) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("console: {error}");
            return ExitCode::FAILURE;
        }
    };
    match command::reset_password(&settings.database_url, username).await {
        Ok((user, temporary)) => {
            println!(
                "Temporary password for {username}: {}",
                temporary.expose_secret()
            );
            println!(
                "It only lets them choose a new password. Their sessions have ended and their API \
                 key was revoked."
            );
            if user.disabled {
                println!(
                    "The account is disabled: it cannot sign in until an administrator enables it."
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("console: {error}");
            ExitCode::FAILURE
        }
    }
}
