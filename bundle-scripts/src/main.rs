//! `selkies-bundle`: builds `dist/selkies-gstreamer-portable-v<version>_amd64.tar.gz` from
//! Debian 12 packages, the workspace's release binaries and the built web client, then prints a
//! size breakdown. `bundle-scripts/build.sh` builds the inputs and calls this.

mod apt;
mod archive;
mod assemble;
mod closure;
mod elf;
mod report;
mod resolve;
mod spec;
mod stage;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(version, about = "Build the portable selkies-gstreamer tarball")]
struct Cli {
    /// Version in the tarball name.
    #[arg(long = "bundle-version", default_value = env!("CARGO_PKG_VERSION"))]
    bundle_version: String,
    /// Cache for downloaded .debs, extracted packages and the staging tree.
    #[arg(long, default_value = ".cache/bundle")]
    cache: PathBuf,
    /// Where the tarball goes.
    #[arg(long, default_value = "dist")]
    out_dir: PathBuf,
    /// Host binary (default: target/release/selkies-gstreamer when it exists).
    #[arg(long)]
    host: Option<PathBuf>,
    /// TURN-REST service (default: target/release/selkies-turn-rest when it exists).
    #[arg(long)]
    turn_rest: Option<PathBuf>,
    /// Launcher binary, static or GLIBC ≤ 2.17.
    #[arg(long)]
    launcher: Option<PathBuf>,
    /// Joystick interposer (default: target/release/libselkies_joystick_interposer.so if built).
    #[arg(long)]
    interposer: Option<PathBuf>,
    /// Webcam interposer (default: the portable build under target/x86_64-unknown-linux-gnu).
    #[arg(long)]
    webcam_interposer: Option<PathBuf>,
    /// The launcher's probe helper (default: target/release/selkies-gpu-probe when built).
    #[arg(long)]
    probe_helper: Option<PathBuf>,
    /// Built web client (default: web/dist when it exists).
    #[arg(long)]
    web: Option<PathBuf>,
    /// Directory of rebuilt libraries that replace Debian's (repeatable).
    #[arg(long = "override-libs")]
    override_libs: Vec<PathBuf>,
    /// Extra plugin file built here, e.g. gst-plugins-rs (repeatable).
    #[arg(long = "extra-plugin")]
    extra_plugins: Vec<PathBuf>,
    /// Licence of a local build as NAME=FILE (repeatable).
    #[arg(long = "licence", value_parser = parse_licence)]
    licences: Vec<(String, PathBuf)>,
    /// Fail instead of warning when the host, TURN-REST service, launcher or web client is missing.
    #[arg(long)]
    require_all: bool,
    /// Compressed-size budget in MB (10^6 bytes); exceeding it fails the build.
    #[arg(long, default_value_t = 30)]
    budget_mb: u64,
}

fn parse_licence(s: &str) -> Result<(String, PathBuf), String> {
    let (name, path) = s
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=FILE, got {s}"))?;
    Ok((name.to_string(), PathBuf::from(path)))
}

/// An explicit path must exist; a default one is used only when it does.
fn input(explicit: Option<PathBuf>, default: &str, what: &str) -> Result<Option<PathBuf>> {
    match explicit {
        Some(p) if p.exists() => Ok(Some(p)),
        Some(p) => bail!("{what} {} does not exist", p.display()),
        None => Ok(Some(PathBuf::from(default)).filter(|p| p.exists())),
    }
}

fn check_tools() -> Result<()> {
    for tool in ["apt-get", "apt-cache", "dpkg-deb", "dpkg-query"] {
        which::which(tool).with_context(|| format!("{tool} not found: build on Debian 12"))?;
    }
    Ok(())
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_target(false)
        .init();
    let cli = Cli::parse();
    check_tools()?;
    let inputs = assemble::Inputs {
        version: cli.bundle_version.clone(),
        host: input(cli.host, "target/release/selkies-gstreamer", "host")?,
        turn_rest: input(
            cli.turn_rest,
            "target/release/selkies-turn-rest",
            "TURN-REST service",
        )?,
        launcher: input(cli.launcher, "", "launcher")?,
        interposer: input(
            cli.interposer,
            "target/release/libselkies_joystick_interposer.so",
            "interposer",
        )?,
        webcam_interposer: input(
            cli.webcam_interposer,
            "target/x86_64-unknown-linux-gnu/release/libselkies_v4l2_interposer.so",
            "webcam interposer",
        )?,
        probe_helper: input(
            cli.probe_helper,
            "target/release/selkies-gpu-probe",
            "probe helper",
        )?,
        web: input(cli.web, "web/dist", "web client")?,
        override_libs: cli.override_libs,
        extra_plugins: cli.extra_plugins,
        licences: cli.licences,
        docs: [
            "README.md",
            "docs/configuration.md",
            "docs/bundle.md",
            "docs/turn-rest.md",
        ]
        .iter()
        .map(PathBuf::from)
        .filter(|p| p.exists())
        .collect(),
    };
    if cli.require_all {
        for (what, present) in [
            ("host binary", inputs.host.is_some()),
            ("TURN-REST service", inputs.turn_rest.is_some()),
            ("launcher", inputs.launcher.is_some()),
            ("web client", inputs.web.is_some()),
        ] {
            if !present {
                bail!("--require-all: {what} missing");
            }
        }
    }
    let start = std::time::Instant::now();
    let mut apt = apt::Apt::new(&cli.cache)?;
    let stage = stage::Stage::create(cli.cache.join("stage").join(spec::layout::TOP))?;
    let manifest = assemble::assemble(&mut apt, &stage, &inputs)?;

    std::fs::create_dir_all(&cli.out_dir)
        .with_context(|| format!("creating {}", cli.out_dir.display()))?;
    let tarball = cli.out_dir.join(spec::tarball_name(&cli.bundle_version));
    tracing::info!(tarball = %tarball.display(), "writing tarball (gzip -9)");
    let entries = archive::write_tar_gz(&stage.root, spec::layout::TOP, &tarball)?;
    let compressed = std::fs::metadata(&tarball)?.len();
    let budget = cli.budget_mb * 1_000_000;
    print!(
        "{}",
        report::render(&report::Summary {
            entries: &entries,
            compressed,
            budget,
            tarball: &tarball.display().to_string(),
        })
    );
    println!(
        "bundle: {} plugins, {} packages, glibc {}, built in {:.0} s",
        manifest.plugins.len(),
        manifest.packages.len(),
        manifest.glibc,
        start.elapsed().as_secs_f64()
    );
    println!("stage: {}", display_abs(&stage.root));
    println!("tarball: {}", display_abs(&tarball));
    if compressed > budget {
        bail!("tarball is {compressed} bytes, over the {budget}-byte budget");
    }
    Ok(())
}

fn display_abs(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "selkies-bundle",
            "--licence",
            "libnice=/x/copyright",
            "--extra-plugin",
            "/a/libgstrsrtp.so",
        ])
        .expect("parses");
        assert_eq!(
            cli.licences,
            [("libnice".to_string(), PathBuf::from("/x/copyright"))]
        );
        assert!(Cli::try_parse_from(["selkies-bundle", "--licence", "nofile"]).is_err());
    }
}
