//! The Dockerfile and docker-compose.yml cannot be built here (no Docker engine on
//! these machines), so their structure is checked instead: the compose file parses,
//! wires a one-shot ingest before three replicas over one data volume and nginx in
//! front of them, and every flag it passes is one the real `simweb` binary accepts.

use std::path::PathBuf;
use std::process::Command;

use serde_yaml::Value;

fn repo_file(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .unwrap_or_else(|| panic!("expected a list, got {value:?}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn help(subcommand: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_simweb"))
        .args([subcommand, "--help"])
        .output()
        .unwrap();
    assert!(output.status.success(), "simweb {subcommand} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn compose_runs_a_one_shot_ingest_then_replicas_behind_nginx() {
    let mut compose: Value = serde_yaml::from_str(&repo_file("docker-compose.yml")).unwrap();
    compose.apply_merge().unwrap();
    let services = &compose["services"];
    let ingest = &services["ingest"];
    assert!(ingest.is_mapping(), "services: {services:?}");
    let replicas: Vec<(&str, &Value)> = ["r1", "r2", "r3"]
        .iter()
        .enumerate()
        .map(|(i, name)| (*name, &services[format!("simweb-{}", i + 1).as_str()]))
        .collect();

    // One named volume, mounted at /data by every service but the balancer.
    assert!(compose["volumes"]["simweb-data"].is_mapping());
    for service in std::iter::once(ingest).chain(replicas.iter().map(|(_, s)| *s)) {
        assert!(strings(&service["volumes"]).contains(&"simweb-data:/data".to_string()));
    }
    // The dumps are mounted read-only into the ingest job only.
    let dumps = strings(&ingest["volumes"]);
    assert!(dumps.iter().any(|v| v.ends_with(":/dumps:ro")), "{dumps:?}");
    assert_eq!(ingest["restart"].as_str(), Some("no"));

    let serve_help = help("serve");
    let nginx = repo_file("deploy/nginx/simweb.conf");
    let mut state_dirs = Vec::new();
    for (i, (name, serve)) in replicas.iter().enumerate() {
        // Each replica starts after the ingest has finished successfully.
        assert_eq!(
            serve["depends_on"]["ingest"]["condition"].as_str(),
            Some("service_completed_successfully")
        );
        let command = strings(&serve["command"]);
        assert_eq!(command[0], "serve");
        let flag = |flag: &str| {
            let i = command
                .iter()
                .position(|c| c == flag)
                .unwrap_or_else(|| panic!("{flag} missing"));
            command[i + 1].clone()
        };
        assert_eq!(flag("--data"), "/data/corpus");
        assert_eq!(flag("--addr"), "0.0.0.0:8080");
        assert!(flag("--state-dir").starts_with("/data/"));
        state_dirs.push(flag("--state-dir"));
        // The replica's name is the one the balancer routes its episodes by.
        assert_eq!(flag("--replica"), *name);
        let host = format!("simweb-{}:8080", i + 1);
        assert!(
            nginx.contains(&format!("upstream simweb_{name} {{\n    server {host};")),
            "deploy/nginx/simweb.conf does not route {name} to {host}"
        );
        assert!(nginx.contains(&format!("~^/v1/episodes/ep-{name}- simweb_{name};")));
        assert!(serve["healthcheck"]["test"].is_sequence());
        // Every flag used exists in the real binary.
        for arg in command.iter().filter(|a| a.starts_with("--")) {
            assert!(
                serve_help.contains(arg.as_str()),
                "`simweb serve` has no {arg}"
            );
        }
    }
    state_dirs.dedup();
    assert_eq!(
        state_dirs.len(),
        3,
        "each replica keeps its own episode store"
    );

    // The balancer owns the public port, mounts the rendered config, and starts once
    // every replica is healthy.
    let lb = &services["lb"];
    assert_eq!(strings(&lb["ports"]), vec!["8080:8080".to_string()]);
    assert!(strings(&lb["volumes"])
        .contains(&"./deploy/nginx/simweb.conf:/etc/nginx/conf.d/default.conf:ro".to_string()));
    for i in 1..=3 {
        assert_eq!(
            lb["depends_on"][format!("simweb-{i}").as_str()]["condition"].as_str(),
            Some("service_healthy")
        );
    }
    let ingest_command = strings(&ingest["command"]).join(" ");
    assert!(
        ingest_command.contains("simweb ingest --out /data/corpus /dumps/*"),
        "{ingest_command}"
    );
    assert!(help("ingest").contains("--out"));
}

#[test]
fn dockerfile_is_multi_stage_with_a_slim_runtime() {
    let dockerfile = repo_file("Dockerfile");
    let stages: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(stages.len(), 2, "{stages:?}");
    assert!(stages[0].ends_with(" AS build"), "{}", stages[0]);
    assert!(
        stages[0].contains("rust:1.95"),
        "the build stage must use the pinned toolchain"
    );
    let runtime = dockerfile.split(stages[1]).nth(1).unwrap();
    assert!(runtime.contains("COPY --from=build /usr/local/bin/simweb"));
    assert!(
        !runtime.contains("cargo "),
        "the runtime stage must not build anything"
    );
    assert!(runtime.contains("ENTRYPOINT [\"simweb\"]"));
    assert!(runtime.contains("EXPOSE 8080"));
    assert!(runtime.contains("VOLUME [\"/data\"]"));
    let build = dockerfile.split(stages[1]).next().unwrap();
    assert!(build.contains("cargo build --release --locked -p simweb --bin simweb"));
    assert!(
        build.contains("bash scripts/setup.sh"),
        "the sandbox artifacts come from make setup"
    );
    assert!(
        build.contains("simweb sandbox prepare"),
        "the engines are AOT-compiled by the binary that was built"
    );
}
