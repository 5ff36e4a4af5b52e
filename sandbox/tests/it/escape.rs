//! The escape suite: hostile code gets a clean, typed outcome; nothing reaches the host;
//! the host stays healthy and later calls still work.

use std::time::{Duration, Instant};

use super::support::{assert_healthy, ok, opts, raised, run, run_with, sandbox};
use simweb_sandbox::{OutcomeKind, RunOptions};

fn assert_no_passwd(o: &simweb_sandbox::Outcome) {
    assert!(
        !o.stdout.contains("root:"),
        "host file leaked: {}",
        o.stdout
    );
    assert!(
        !o.stderr.contains("root:x:"),
        "host file leaked: {}",
        o.stderr
    );
}

#[tokio::test]
async fn cannot_read_etc_passwd() {
    let o = run("print(open('/etc/passwd').read())").await;
    raised(&o, "FileNotFoundError");
    assert_no_passwd(&o);
    // There is no root directory at all: only the sandbox's own mounts exist.
    let o = run("import os\nprint(os.listdir('/'))").await;
    raised(&o, "FileNotFoundError");
}

#[tokio::test]
async fn cannot_climb_out_of_scratch() {
    for code in [
        "print(open('/tmp/../etc/passwd').read())",
        "import os\nos.chdir('/tmp')\nprint(open('../../../../etc/passwd').read())",
        "print(open('/tmp/../../../../../etc/passwd').read())",
        "import os\nprint(os.listdir('/tmp/..'))",
    ] {
        let o = run(code).await;
        assert!(
            matches!(o.kind, OutcomeKind::PythonException { .. }) || !o.stdout.contains("passwd"),
            "{code}: {o:#?}"
        );
        assert_no_passwd(&o);
    }
    // `..` out of the scratch dir is refused by the capability layer.
    let o = run("import os\nos.listdir('/tmp/../..')").await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
}

#[tokio::test]
async fn scratch_is_private_and_writes_stay_inside() {
    // The scratch dir works, is empty each call, and is gone afterwards.
    let o = run("import os\nprint(os.listdir('/tmp'))\nopen('/tmp/a.txt','w').write('hi')\nprint(open('/tmp/a.txt').read())").await;
    assert_eq!(ok(&o), "[]\nhi\n");
    let o = run("import os\nprint(os.listdir('/tmp'))").await;
    assert_eq!(ok(&o), "[]\n");
    // Writing outside it: the stdlib mount is read-only, nothing else exists.
    let canary = format!("simweb-escape-{}", std::process::id());
    for code in [
        "open('/python/evil.py', 'w').write('x')".to_string(),
        format!("open('/{canary}', 'w').write('x')"),
        format!("open('/tmp/../{canary}', 'w').write('x')"),
        "import os\nos.remove('/python/json/__init__.py')".to_string(),
    ] {
        let o = run(&code).await;
        assert!(
            matches!(o.kind, OutcomeKind::PythonException { .. }),
            "{code}: {o:#?}"
        );
    }
    assert!(!std::path::Path::new(&format!("/{canary}")).exists());
    assert!(!std::env::temp_dir().join(&canary).exists());
    let stdlib = sandbox().paths().sandbox().join("std/lib");
    assert!(!stdlib.join("evil.py").exists());
    assert!(stdlib.join("json/__init__.py").exists());
}

/// Hostile probe #4: the scratch dir is a real host directory, and one call wrote 1 GiB
/// in 1.45 s. Past the per-call byte or file quota the call is stopped
/// (`ScratchLimit`), the dir is removed, and the sandbox stays healthy.
#[tokio::test]
async fn scratch_quota_stops_disk_bombs() {
    let quota = RunOptions {
        scratch_bytes: 8 << 20,
        scratch_files: 200,
        ..opts()
    };
    let bombs = [
        // Bytes: 1 MiB chunks, forever.
        ("quota_big", "chunk = b'x' * (1 << 20)\nwith open('/tmp/quota_big', 'wb') as f:\n    while True:\n        f.write(chunk)\n        f.flush()"),
        // Files: empty files, forever.
        ("quota_0", "i = 0\nwhile True:\n    open(f'/tmp/quota_{i}', 'w').close()\n    i += 1"),
    ];
    for (file, code) in bombs {
        let o = run_with(code, &quota).await;
        assert_eq!(o.kind, OutcomeKind::ScratchLimit, "{code}: {o:#?}");
        assert_eq!(o.exit_code, 153);
        assert!(
            !left_in_scratch(file),
            "the call's scratch dir was left behind"
        );
    }
    // Within the quota, /tmp works as before.
    let o = run_with(
        "open('/tmp/a', 'w').write('x' * 1000)\nprint(len(open('/tmp/a').read()))",
        &quota,
    )
    .await;
    assert_eq!(ok(&o), "1000\n");
    assert_healthy().await;
}

/// Whether one of this process's scratch dirs still holds `file`.
fn left_in_scratch(file: &str) -> bool {
    let prefix = format!("simweb-scratch-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .any(|e| e.path().join(file).exists())
}

/// A kill -9 mid-call leaves its scratch dir behind; the next sandbox started sweeps
/// the dirs of dead processes (and leaves live ones alone).
#[test]
fn stale_scratch_dirs_of_dead_processes_are_swept() {
    let tmp = std::env::temp_dir();
    // A pid above the kernel's pid_max (2^22) cannot be alive.
    let dead = tmp.join("simweb-scratch-4294967-stale1");
    let live = tmp.join(format!("simweb-scratch-{}-live01", std::process::id()));
    for d in [&dead, &live] {
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/file"), b"left over").unwrap();
    }
    let _fresh = simweb_testkit::sandbox_with(simweb_sandbox::SandboxConfig {
        sci_engine: Some(false),
        ..simweb_sandbox::SandboxConfig::default()
    });
    assert!(!dead.exists(), "a dead process's scratch dir is swept");
    assert!(live.exists(), "a live process's scratch dir is kept");
    std::fs::remove_dir_all(&live).unwrap();
}

#[tokio::test]
async fn no_sockets() {
    // A real listener on the host: the guest must not reach it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = run(&format!(
        "import socket\ns = socket.socket()\ns.settimeout(1)\ns.connect(('127.0.0.1', {port}))\nprint('connected')"
    ))
    .await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
    assert!(!o.stdout.contains("connected"));
    assert!(
        listener.accept().is_err(),
        "the guest reached a host socket"
    );
    let o = run("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', ('127.0.0.1', 53))").await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
    let o = run("import socket\ns = socket.socket()\ns.bind(('0.0.0.0', 8080))\ns.listen()").await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
    // urllib/create_connection retry internally; they end in an exception or at the CPU
    // limit, never with a connection.
    let o =
        run("import urllib.request\nprint(urllib.request.urlopen('http://example.com', timeout=1).read())").await;
    assert!(
        matches!(
            o.kind,
            OutcomeKind::PythonException { .. } | OutcomeKind::Timeout
        ),
        "{o:#?}"
    );
    assert!(o.stdout.is_empty());
    assert!(
        listener.accept().is_err(),
        "the guest reached a host socket"
    );
}

#[tokio::test]
async fn no_dns() {
    let o = run("import socket\nprint(socket.getaddrinfo('example.com', 80))").await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
    let o = run("import socket\nprint(socket.gethostbyname('localhost'))").await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
}

#[tokio::test]
async fn host_environment_is_invisible() {
    // SAFETY: set before any guest runs in this test; other tests only read the env.
    unsafe { std::env::set_var("SIMWEB_ESCAPE_CANARY", "host-secret-7f3a") };
    let o = run("import os, sys\nprint(dict(os.environ))\nprint(sys.argv)").await;
    let out = ok(&o);
    assert!(
        !out.contains("host-secret-7f3a") && !out.contains("SIMWEB_ESCAPE_CANARY"),
        "{out}"
    );
    assert!(!out.contains("PATH"), "{out}");
    let o = run("import os\nprint(os.getenv('SIMWEB_ESCAPE_CANARY'), os.getenv('HOME'))").await;
    assert_eq!(ok(&o), "None None\n");
}

#[tokio::test]
async fn no_processes() {
    raised(
        &run("import subprocess\nsubprocess.run(['ls'])").await,
        "Error",
    );
    raised(&run("import os\nos.fork()").await, "AttributeError");
    let o = run("import os\nprint(os.system('echo pwned'))").await;
    assert!(!o.stdout.contains("pwned"), "{o:#?}");
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "os.system must not exist: {o:#?}"
    );
    raised(
        &run("import os\nos.execv('/bin/sh', ['sh'])").await,
        "Error",
    );
}

#[tokio::test]
async fn no_threads() {
    let o = run("import threading\nt = threading.Thread(target=print, args=('in thread',))\nt.start()\nt.join()").await;
    raised(&o, "RuntimeError");
    assert!(!o.stdout.contains("in thread"));
}

#[tokio::test]
async fn infinite_loop_hits_the_cpu_limit() {
    let o = run_with(
        "while True:\n    pass",
        &RunOptions {
            cpu_ms: 300,
            ..opts()
        },
    )
    .await;
    assert_eq!(
        (o.kind.clone(), o.exit_code),
        (OutcomeKind::Timeout, 124),
        "{o:#?}"
    );
    assert_healthy().await;
}

#[tokio::test]
async fn sleep_is_cut_at_the_wall_limit() {
    let started = Instant::now();
    let o = run_with(
        "import time\nprint('start', flush=True)\ntime.sleep(3600)",
        &RunOptions {
            wall_ms: 500,
            ..opts()
        },
    )
    .await;
    assert_eq!(o.kind, OutcomeKind::Timeout, "{o:#?}");
    assert_eq!(o.stdout, "start\n", "output before the timeout is kept");
    // Functional bound (not a benchmark): an hour-long sleep must not hold the worker.
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_healthy().await;
}

#[tokio::test]
async fn memory_bombs_hit_the_memory_cap() {
    let o = run("x = bytearray(10**9)\nprint('allocated')").await;
    assert!(
        matches!(o.kind, OutcomeKind::MemoryLimit),
        "bytearray(10**9): {o:#?}"
    );
    assert!(o.stderr.contains("MemoryError"), "{o:#?}");
    let o = run("x = []\nwhile True:\n    x.append(bytearray(1 << 20))").await;
    assert!(
        matches!(o.kind, OutcomeKind::MemoryLimit),
        "growing list: {o:#?}"
    );
    let o = run("x = []\nwhile True:\n    x.append('y' * 1000 + str(len(x)))").await;
    assert!(
        matches!(o.kind, OutcomeKind::MemoryLimit | OutcomeKind::Timeout),
        "many small objects: {o:#?}"
    );
    // Caught MemoryError: the program recovers and ends normally.
    let o =
        run("try:\n    x = bytearray(10**9)\nexcept MemoryError:\n    print('recovered')").await;
    assert_eq!(ok(&o), "recovered\n");
    assert_healthy().await;
}

#[tokio::test]
async fn huge_string_is_refused() {
    let o = run("s = 'a' * 10**10\nprint(len(s))").await;
    assert!(
        matches!(&o.kind, OutcomeKind::PythonException { traceback } if traceback.contains("OverflowError") || traceback.contains("MemoryError"))
            || o.kind == OutcomeKind::MemoryLimit,
        "{o:#?}"
    );
}

#[tokio::test]
async fn deep_recursion() {
    raised(
        &run("def f(n):\n    return f(n + 1)\nf(0)").await,
        "RecursionError",
    );
    // With the recursion limit lifted, the wasm stack limit stops it instead.
    let o =
        run("import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)").await;
    assert!(o.kind != OutcomeKind::Ok, "{o:#?}");
    assert_healthy().await;
}

#[tokio::test]
async fn hundred_megabytes_of_output_is_truncated_and_marked() {
    let o = run("import sys\nchunk = 'x' * 1000 + '\\n'\nfor _ in range(100_000):\n    sys.stdout.write(chunk)").await;
    assert_eq!(
        o.kind,
        OutcomeKind::OutputTruncated,
        "{:?} {}",
        o.kind,
        o.stderr
    );
    assert!(o.stdout.len() <= 1 << 20);
    assert!(o.stdout.len() > 1000);
    let o = run("print('y' * 100_000_000)").await;
    assert_eq!(o.kind, OutcomeKind::OutputTruncated);
    assert!(o.stdout.len() <= 1 << 20);
    let o = run_with(
        "import sys\nfor _ in range(10**6):\n    sys.stderr.write('e' * 1000)",
        &RunOptions {
            output_cap: 4096,
            ..opts()
        },
    )
    .await;
    assert_eq!(o.kind, OutcomeKind::OutputTruncated);
    assert!(o.stderr.len() <= 4096);
    assert_healthy().await;
}

#[tokio::test]
async fn os_exit_and_sys_exit() {
    // WASI preview 2 `exit` carries only success/failure: os._exit(n != 0) exits with 1.
    let o = run("import os\nprint('x', flush=True)\nos._exit(7)").await;
    assert_eq!(
        (o.kind.clone(), o.exit_code, o.stdout.as_str()),
        (OutcomeKind::Ok, 1, "x\n")
    );
    let o = run("import os\nos._exit(0)").await;
    assert_eq!((o.kind.clone(), o.exit_code), (OutcomeKind::Ok, 0));
    let o = run("import sys\nsys.exit(3)").await;
    assert_eq!((o.kind.clone(), o.exit_code), (OutcomeKind::Ok, 3));
    assert_healthy().await;
}

#[tokio::test]
async fn syntax_errors() {
    let o = run("def f(:\n    pass").await;
    raised(&o, "SyntaxError");
    assert!(o.stderr.contains("<user>"), "{}", o.stderr);
    raised(&run("x = 1\n  y = 2").await, "IndentationError");
    raised(&run("print('a\0b')").await, "SyntaxError");
}

#[tokio::test]
async fn megabyte_of_code() {
    let mut code = String::from("total = 0\n");
    while code.len() < 1 << 20 {
        code.push_str("total += 1  # padding padding padding padding padding\n");
    }
    code.push_str("print(total)");
    let lines = code.lines().count() - 2;
    let o = run_with(
        &code,
        &RunOptions {
            cpu_ms: 20_000,
            wall_ms: 30_000,
            ..opts()
        },
    )
    .await;
    assert_eq!(ok(&o), format!("{lines}\n"));
    // Past the size limit: refused without running.
    let too_big = "#".repeat(simweb_sandbox::MAX_CODE_BYTES + 1);
    let o = run(&too_big).await;
    assert!(matches!(o.kind, OutcomeKind::EngineError { .. }), "{o:#?}");
}

#[tokio::test]
async fn non_utf8_code_is_a_clean_syntax_error() {
    let code: &[u8] = b"print('caf\xe9')\n";
    let o = sandbox().run_bytes(code, &opts()).await.unwrap();
    raised(&o, "SyntaxError: Non-UTF-8 code starting with '\\xe9'");
    let o = sandbox()
        .run_bytes(b"print('fine')", &opts())
        .await
        .unwrap();
    assert_eq!(ok(&o), "fine\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_hostile_calls() {
    let hostile = [
        ("while True: pass", "timeout"),
        ("import time\ntime.sleep(3600)", "timeout"),
        ("x = bytearray(10**9)", "memory_limit"),
        ("print('z' * 5_000_000)", "output_truncated"),
        ("open('/etc/passwd').read()", "python_exception"),
        (
            // A blocking connect to a refused address waits until the wall limit.
            "import socket\ns = socket.socket()\ns.connect(('127.0.0.1', 22))",
            "python_exception|timeout",
        ),
        ("import os\nos._exit(5)", "ok"),
        ("def f(): f()\nf()", "python_exception"),
        ("print(sum(range(1000)))", "ok"),
        (
            "import threading\nthreading.Thread(target=print).start()",
            "python_exception",
        ),
    ];
    let limits = RunOptions {
        cpu_ms: 300,
        wall_ms: 5_000,
        memory_bytes: 128 << 20,
        output_cap: 64 << 10,
        ..opts()
    };
    let mut tasks = Vec::new();
    for i in 0..200 {
        let (code, want) = hostile[i % hostile.len()];
        let limits = limits.clone();
        tasks.push(tokio::spawn(async move {
            let o = sandbox().run(code, &limits).await.expect("no host error");
            (code, want, o)
        }));
    }
    // Each hostile kind's exact outcome is asserted one at a time by the tests above. Here
    // 200 calls compete for 2 cores with the other tests of this file, so the epoch-based
    // CPU budget can starve a quick call into a clean `timeout`; anything else (a host
    // error, a panic, a wrong kind) fails, and most calls must still get their exact kind.
    let mut exact = 0;
    for t in tasks {
        let (code, want, o) = t.await.expect("task must not panic");
        let name = o.kind.name();
        assert!(
            want.split('|').any(|w| w == name) || name == "timeout",
            "{code}: want {want} (or timeout when starved), got {o:#?}"
        );
        if want.split('|').any(|w| w == name) {
            exact += 1;
        }
        if code.contains("sum(range") && name == "ok" {
            assert_eq!(o.stdout, "499500\n");
        }
    }
    assert!(
        exact >= 150,
        "only {exact}/200 calls got their exact outcome"
    );
    assert_healthy().await;
    let o = run("import json\nprint(json.dumps([1, 2]))").await;
    assert_eq!(ok(&o), "[1, 2]\n");
}
