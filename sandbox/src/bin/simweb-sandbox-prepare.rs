//! Setup helper: AOT-compiles the sandbox engines into `$SIMWEB_CACHE/sandbox/` so that
//! neither tests nor the server ever compile them. Run by `scripts/setup.d/20-sandbox.sh`.

fn main() {
    let paths = simweb_sandbox::Paths::resolve(None, None);
    match simweb_sandbox::prepare(&paths) {
        Ok(done) => {
            for (engine, path) in done {
                println!("{engine} {}", path.display());
            }
        }
        Err(e) => {
            eprintln!("simweb-sandbox-prepare: {e}");
            std::process::exit(1);
        }
    }
}
