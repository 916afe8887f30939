//! selkies-gstreamer-run: the portable bundle's entry point. Finds the bundle from
//! `/proc/self/exe`, chooses host or bundled glibc, sets the bundle environment, probes GPUs,
//! starts Xvfb/PulseAudio when the desktop lacks them, and execs the host with its arguments
//! byte for byte. Under another name (`bin/gst-plugin-scanner`, `bin/gst-inspect-1.0`, ...) it
//! runs `libexec/<name>` the same way. See docs/launcher.md.

mod launch;

use std::ffi::OsString;

use selkies_launcher::args::{self, Action};
use selkies_launcher::env;

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .init();
    let mut argv = std::env::args_os();
    let argv0 = argv
        .next()
        .unwrap_or_else(|| OsString::from("selkies-gstreamer-run"));
    let rest: Vec<OsString> = argv.collect();
    if let Err(e) = real_main(&argv0, &rest) {
        launch::fail(&e);
    }
}

fn real_main(argv0: &OsString, rest: &[OsString]) -> anyhow::Result<()> {
    // The environment the user started us with, even when a bundled process (the host
    // spawning its plugin scanner) re-enters the launcher.
    let user = env::user_env(&env::current());
    let located = launch::prepare(user);
    if let Ok(prepared) = &located
        && let Some(tool) = launch::tool_name(argv0, &prepared.bundle)
    {
        return Err(prepared.exec_tool(&tool, rest));
    }
    let parsed = args::parse(rest).map_err(|e| anyhow::anyhow!("{e} (see --help)"))?;
    match parsed.action {
        Action::Help => {
            println!("{}", args::help_text());
            Ok(())
        }
        Action::Version => {
            println!("selkies-gstreamer-run {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Action::Probe { json } => {
            let report = located?.report();
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            Ok(())
        }
        Action::Run => match located?.run(&parsed)? {},
    }
}
