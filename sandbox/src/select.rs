//! `EngineChoice::Auto`: pick the sci engine only when the code imports one of the
//! packages only it has, since it starts ~10x slower.

/// Top-level packages that exist only in the sci engine.
pub const SCI_PACKAGES: &[&str] = &["numpy", "pandas", "scipy", "sympy", "mpmath"];

/// Whether `code` imports a sci-only package (`import numpy as np`, `from scipy import x`,
/// `import os, pandas`, `__import__("sympy")`). A cheap lexical scan: a false positive
/// only costs start-up time, a false negative an `ImportError` the agent can see.
pub fn needs_sci(code: &str) -> bool {
    for line in code.lines() {
        for stmt in line.split(';') {
            let stmt = stmt.trim_start();
            if let Some(rest) = stmt.strip_prefix("import ") {
                if rest
                    .split(',')
                    .any(|item| is_sci_module(item.split_whitespace().next().unwrap_or("")))
                {
                    return true;
                }
            } else if let Some(rest) = stmt.strip_prefix("from ") {
                if is_sci_module(rest.split_whitespace().next().unwrap_or("")) {
                    return true;
                }
            }
        }
    }
    SCI_PACKAGES.iter().any(|p| {
        code.contains(&format!("__import__(\"{p}\"")) || code.contains(&format!("__import__('{p}'"))
    })
}

fn is_sci_module(dotted: &str) -> bool {
    let top = dotted.split('.').next().unwrap_or("");
    SCI_PACKAGES.contains(&top)
}

#[cfg(test)]
mod tests {
    use super::needs_sci;

    #[test]
    fn detects_sci_imports() {
        assert!(needs_sci("import numpy as np\nprint(np.arange(3))"));
        assert!(needs_sci("x = 1\nfrom scipy.stats import norm"));
        assert!(needs_sci("import os, pandas"));
        assert!(needs_sci("if True:\n    import sympy"));
        assert!(needs_sci("m = __import__('mpmath')"));
        assert!(needs_sci("import json; import numpy"));
    }

    #[test]
    fn plain_code_stays_std() {
        assert!(!needs_sci("print(1+1)"));
        assert!(!needs_sci("import numbers, math\nprint('numpy')"));
        assert!(!needs_sci("from numpyish import x"));
        assert!(!needs_sci("import statistics"));
    }
}
