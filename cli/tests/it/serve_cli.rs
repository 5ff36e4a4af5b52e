//! `simweb serve` as a process: prints its effective config, listens, answers, and
//! exits cleanly on SIGTERM after draining.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `simweb serve --no-python` child, its address, and what it printed before listening.
struct Served {
    child: Child,
    addr: String,
    printed: String,
    drain: std::thread::JoinHandle<()>,
}

fn serve(data: &Path, state: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args(["serve", "--no-python", "--addr", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--state-dir")
        .arg(state)
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
            .unwrap_or_else(|| panic!("serve exited before listening:\n{printed}"))
            .unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(addr) = line.strip_prefix("simweb listening on http://") {
            break addr.to_string();
        }
    };
    // Keep draining stderr so the child never blocks on a full pipe.
    let drain = std::thread::spawn(move || for _ in lines {});
    Served {
        child,
        addr,
        printed,
        drain,
    }
}

impl Served {
    /// SIGTERM, then the exit status once the server has drained.
    fn stop(mut self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "serve did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(status.success(), "{status:?}");
        self.drain.join().unwrap();
    }
}

async fn search(http: &reqwest::Client, addr: &str, query: &str) -> serde_json::Value {
    let response = http
        .post(format!("http://{addr}/v1/tools/search"))
        .json(&serde_json::json!({"arguments": {"query": [query]}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

#[test]
fn serve_binary_starts_answers_and_stops_on_sigterm() {
    let data = simweb_testkit::corpus_dir(simweb_testkit::Sample::Enwiki2025);
    let state = tempfile::tempdir().unwrap();
    let served = serve(&data, state.path());
    let printed = &served.printed;
    assert!(
        printed.contains("# simweb serve: effective configuration"),
        "{printed}"
    );
    assert!(
        printed.contains("[http]") && printed.contains("body_limit_bytes"),
        "{printed}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let health = http
            .get(format!("http://{}/healthz", served.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(health.status(), 200);
        search(&http, &served.addr, "Albedo").await;
    });
    served.stop();
}

/// A published corpus is read-only and opens in any number of processes: two server
/// replicas and the CLI read one data dir at once, with the same answers, while an
/// ingest that would replace it under them is refused.
#[test]
fn two_servers_and_the_cli_share_one_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("corpus");
    let dump = simweb_testkit::sample("enwiki-20250201-head70.xml.bz2");
    let ingest = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_simweb"))
            .args(["ingest", "--out"])
            .arg(out)
            .arg(&dump)
            .env_remove("SIMWEB_DATA")
            .output()
            .unwrap()
    };
    assert!(ingest(&data).status.success());
    let (state_a, state_b) = (dir.path().join("a"), dir.path().join("b"));
    let a = serve(&data, &state_a);
    let b = serve(&data, &state_b);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let from_a = search(&http, &a.addr, "Albedo").await;
        let from_b = search(&http, &b.addr, "Albedo").await;
        assert_eq!(from_a["text"], from_b["text"]);
        assert!(from_a["text"].as_str().unwrap().contains("Albedo"));
    });
    let cli = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_simweb"))
            .args(args)
            .arg("--data")
            .arg(&data)
            .arg("Albedo")
            .env_remove("SIMWEB_DATA")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {stderr}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    assert!(cli(&["search"]).contains("Albedo"));
    assert!(cli(&["corpus", "get"]).contains("Albedo"));
    let refused = ingest(&data);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("open in another process"), "{stderr}");
    a.stop();
    b.stop();
    // With every reader gone, the corpus can be replaced.
    assert!(ingest(&data).status.success());
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
