//! Starts the console: settings from the environment, then the server until Ctrl-C or SIGTERM.

use std::process::ExitCode;

use server::settings::Settings;
use server::startup::Application;

#[tokio::main]
async fn main() -> ExitCode {
    server::telemetry::init();
    let result = async {
        let settings = Settings::from_env()?;
        let application = Application::build(settings).await?;
        tracing::info!(address = %application.address(), "console listening");
        application.run_until_stopped().await?;
        Ok::<_, server::startup::StartupError>(())
    };
    match result.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("console: {error}");
            ExitCode::FAILURE
        }
    }
}
