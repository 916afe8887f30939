//! selkies-gpu-probe: the dlopen half of the launcher's probe. The static launcher cannot load
//! host driver libraries reliably, so it runs this small dynamic program through the same
//! loader and `--library-path` as the host; the JSON it prints on stdout is a `GpuReport`.

fn main() {
    let root = selkies_launcher::probe::devices::probe_root();
    let report = selkies_launcher::probe::gather_with_libraries(&root);
    match serde_json::to_string(&report) {
        Ok(json) => println!("{json}"),
        Err(e) => {
            eprintln!("selkies-gpu-probe: {e}");
            std::process::exit(1);
        }
    }
}
