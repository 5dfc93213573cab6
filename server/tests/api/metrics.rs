//! Prometheus metrics on a listener of their own: requests by route template and status with
//! latency histograms, authentication failures, throttling, jobs and mail; JSON log lines.

use reqwest::StatusCode;

use crate::archives::{sample_project, tar_gz};
use crate::helpers::{Backend, RUNTIME, TestApp, TestDatabase, rest_user_with_key_from};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap()
        .port()
}

/// The value of the series `series` (name and labels, exactly as rendered).
fn value(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}

#[test]
fn metrics_count_requests_failures_jobs_and_mail_on_their_own_listener() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Sqlite).await;
        let port = free_port();
        let metrics_addr = format!("127.0.0.1:{port}");
        let app = TestApp::binary(
            &database,
            &[
                ("CONSOLE_METRICS_ADDR", &metrics_addr),
                ("CONSOLE_AUTH_FAILURE_BURST", "2"),
                ("CONSOLE_LOG_FORMAT", "json"),
                ("RUST_LOG", "info"),
            ],
        )
        .await;
        let tool = app.tool("counted", "user").await;
        let application = tool.create_application("Counted").await;
        let version = tool
            .create_version(application, "1", ("p.tar.gz", tar_gz(&sample_project())))
            .await;
        let job = tool.start_analysis(application, version).await;
        tool.wait_for(job, &["succeeded"]).await;
        for attempt in 0..4 {
            let bad = format!("badbadba.{attempt:032}");
            rest_user_with_key_from(&app.address, &bad, Some([127, 0, 0, 5].into())).await;
        }
        assert_eq!(tool.get("/rest/user").await.0, StatusCode::OK);
        // Not on the public address.
        assert_eq!(
            reqwest::get(app.url("/metrics")).await.unwrap().status(),
            StatusCode::NOT_FOUND
        );

        let scraped = reqwest::get(format!("http://{metrics_addr}/metrics"))
            .await
            .unwrap();
        assert_eq!(scraped.status(), StatusCode::OK);
        let metrics = scraped.text().await.unwrap();
        let series = |text: &str| value(&metrics, text);
        assert_eq!(
            series(r#"console_http_requests_total{method="GET",route="/rest/user",status="200"}"#),
            Some(1.0),
            "{metrics}"
        );
        assert_eq!(
            series(r#"console_http_requests_total{method="GET",route="/rest/user",status="401"}"#),
            Some(2.0)
        );
        assert_eq!(
            series(r#"console_http_requests_total{method="GET",route="/rest/user",status="429"}"#),
            Some(2.0)
        );
        // The route is the template, not the path.
        assert!(metrics.contains(r#"route="/rest/jobs/{id}""#), "{metrics}");
        assert!(!metrics.contains(&format!("/rest/jobs/{job}\"")));
        assert!(
            series(
                r#"console_http_request_duration_seconds_bucket{method="GET",route="/rest/user",status="200",le="+Inf"}"#
            ) == Some(1.0),
            "{metrics}"
        );
        assert_eq!(
            series(r#"console_auth_failures_total{kind="api_key"}"#),
            Some(3.0)
        );
        assert_eq!(series(r#"console_throttled_requests_total{kind="rest"}"#), Some(2.0));
        assert_eq!(series(r#"console_jobs_started_total"#), Some(1.0));
        assert_eq!(
            series(r#"console_jobs_finished_total{outcome="succeeded"}"#),
            Some(1.0)
        );
        assert_eq!(series(r#"console_jobs{status="queued"}"#), Some(0.0));
        assert_eq!(series(r#"console_jobs{status="running"}"#), Some(0.0));
        assert!(series(r#"console_mail{state="due"}"#).is_some(), "{metrics}");
        assert!(metrics.contains("# HELP console_mail_sent_total"));

        // Every log line is one JSON object.
        let log = app.log();
        let lines: Vec<&str> = log.lines().filter(|line| !line.trim().is_empty()).collect();
        assert!(!lines.is_empty());
        for line in lines {
            let parsed: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|error| panic!("{error}: {line}"));
            assert!(parsed["level"].is_string() && parsed["timestamp"].is_string(), "{line}");
        }
    });
}

#[test]
fn an_unknown_log_format_or_metrics_address_is_refused_at_start() {
    RUNTIME.block_on(async {
        let database = TestDatabase::new(Backend::Sqlite).await;
        let printed = TestApp::binary_refuses(&database, &[("CONSOLE_LOG_FORMAT", "xml")]).await;
        assert!(
            printed.contains("CONSOLE_LOG_FORMAT must be text or json"),
            "{printed}"
        );
        let printed =
            TestApp::binary_refuses(&database, &[("CONSOLE_METRICS_ADDR", "everywhere")]).await;
        assert!(
            printed.contains("CONSOLE_METRICS_ADDR must be an address"),
            "{printed}"
        );
    });
}
