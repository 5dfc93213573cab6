//! Starts the console: settings from the environment, then the server until Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use server::settings::Settings;
use server::startup::Application;

/// Work still on the blocking pool when the server has stopped (a job that was handed back and
/// has not noticed yet) is abandoned after this.
const ABANDON_BLOCKING_WORK: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
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
