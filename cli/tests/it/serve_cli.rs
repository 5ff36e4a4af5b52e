//! `simweb serve` as a process: prints its effective config, listens, answers, and
//! exits cleanly on SIGTERM after draining.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn serve_binary_starts_answers_and_stops_on_sigterm() {
    let data = simweb_testkit::corpus_dir(simweb_testkit::Sample::Enwiki2025);
    let state = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args(["serve", "--no-python", "--addr", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--state-dir")
        .arg(state.path())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let mut printed = String::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("serve exited before listening")
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(addr) = line.strip_prefix("simweb listening on http://") {
            break addr.to_string();
        }
    };
    assert!(
        printed.contains("# simweb serve: effective configuration"),
        "{printed}"
    );
    assert!(
        printed.contains("[http]") && printed.contains("body_limit_bytes"),
        "{printed}"
    );
    // Keep draining stderr so the child never blocks on a full pipe.
    let drain = std::thread::spawn(move || for _ in lines {});

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let health = http
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        let search = http
            .post(format!("http://{addr}/v1/tools/search"))
            .json(&serde_json::json!({"arguments": {"query": ["Albedo"]}}))
            .send()
            .await
            .unwrap();
        assert_eq!(search.status(), 200);
    });

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "serve did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    drain.join().unwrap();
}

#[test]
fn serve_without_data_fails_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args(["serve", "--no-python", "--addr", "127.0.0.1:0"])
        .env_remove("SIMWEB_DATA")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--data"), "{stderr}");
}
