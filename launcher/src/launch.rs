//! Wires the launcher's pure parts to the machine: locate the bundle, decide the glibc mode,
//! build the loader and environment, run the probe, start desktop services, exec.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use selkies_launcher::args::{LauncherArgs, chosen_encoder};
use selkies_launcher::bundle::{self, Bundle};
use selkies_launcher::env::{self, EnvMap, HostFacts};
use selkies_launcher::exec::Loader;
use selkies_launcher::glibc::{self, GlibcMode, ModeDecision, ModeOverride};
use selkies_launcher::probe::{self, devices};
use selkies_launcher::report::Report;
use selkies_launcher::{services, vars};

/// How long the dlopen probe may take (cuInit on a multi-GPU host takes seconds).
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Host directories where a libstdc++.so.6 may live, for the newest-wins rule.
const HOST_LIBSTDCXX: &[&str] = &[
    "/lib/x86_64-linux-gnu/libstdc++.so.6",
    "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
    "/usr/lib64/libstdc++.so.6",
    "/lib64/libstdc++.so.6",
];

/// Everything computed before anything is started.
pub struct Prepared {
    pub bundle: Bundle,
    pub decision: ModeDecision,
    pub loader: Loader,
    pub user: EnvMap,
    pub facts: HostFacts,
}

fn glibcxx_of(path: &Path) -> Option<u32> {
    std::fs::read(path)
        .ok()
        .map(|b| bundle::max_glibcxx_minor(&b))
        .filter(|v| *v > 0)
}

fn hostname() -> Vec<u8> {
    std::fs::read("/proc/sys/kernel/hostname")
        .map(|mut h| {
            h.retain(|b| !b.is_ascii_whitespace());
            h
        })
        .unwrap_or_default()
}

/// Locates the bundle and computes the loader and host facts from the user's environment.
pub fn prepare(user: EnvMap) -> anyhow::Result<Prepared> {
    let bundle = Bundle::locate().context(
        "selkies-gstreamer-run must stay inside its extracted selkies-gstreamer/ directory",
    )?;
    bundle::check_path_list_safe(&bundle.root).map_err(anyhow::Error::msg)?;
    let over = ModeOverride::parse(
        user.get(OsStr::new(vars::SELKIES_GLIBC_MODE))
            .map(|v| v.to_string_lossy())
            .as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    let host = glibc::read_version(&glibc::host_candidates(Path::new("/"))).map(|(_, v)| v);
    let bundled = bundle
        .bundled_loader()
        .is_file()
        .then(|| glibc::read_version(&[bundle.bundled_libc()]).map(|(_, v)| v))
        .flatten();
    let decision = glibc::decide(host, Path::new(glibc::HOST_LOADER).exists(), bundled, over);
    // Reading two C++ runtimes costs milliseconds: only when the bundle has lib/gcc.
    let use_gcc = bundle.gcc_dir().is_dir() && {
        let host_cxx = HOST_LIBSTDCXX.iter().find_map(|p| glibcxx_of(Path::new(p)));
        let bundled_cxx = glibcxx_of(&bundle.gcc_dir().join("libstdc++.so.6"));
        bundle::use_gcc_dir(decision.mode, bundled_cxx.or(Some(0)), host_cxx)
    };
    let loader = Loader {
        path: match decision.mode {
            GlibcMode::Host => PathBuf::from(glibc::HOST_LOADER),
            GlibcMode::Bundled => bundle.bundled_loader(),
        },
        library_path: bundle::library_path(
            &bundle,
            decision.mode,
            use_gcc,
            user.get(OsStr::new(vars::LD_LIBRARY_PATH)),
        ),
    };
    let registry = env::registry_path(
        &user,
        bundle.root.as_os_str().as_bytes(),
        decision.mode,
        &hostname(),
    );
    let facts = HostFacts {
        preload_links: preload_links(&bundle, &registry),
        registry,
        ca_file: env::CA_FILES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file()),
        libva_driver_dirs: env::LIBVA_DIRS
            .iter()
            .map(PathBuf::from)
            .filter(|p| p.is_dir())
            .collect(),
        scanner_link: bundle.scanner_link().symlink_metadata().is_ok(),
    };
    Ok(Prepared {
        bundle,
        decision,
        loader,
        user,
        facts,
    })
}

impl Prepared {
    fn bundle_env(&self, user: EnvMap) -> env::BundleEnv {
        env::bundle_env(user, &self.bundle, self.decision.mode, &self.facts)
    }

    /// Runs the full probe: device files here, driver libraries in the helper.
    pub fn report(&self) -> Report {
        let plugins = probe::plugin_names(
            std::fs::read_dir(self.bundle.plugin_dir())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok()),
        );
        let helper_env = self.bundle_env(self.user.clone()).finish();
        let gpu = match self.loader.run_probe_helper(
            &self.bundle.probe_helper(),
            &helper_env,
            PROBE_TIMEOUT,
        ) {
            Ok(gpu) => gpu,
            Err(e) => {
                tracing::warn!("GPU library probe unavailable: {e}");
                let mut gpu = probe::gather_files(&devices::probe_root());
                gpu.probe_error = Some(e);
                gpu
            }
        };
        Report::new(
            self.bundle.root.display().to_string(),
            self.decision.clone(),
            plugins,
            gpu,
        )
    }

    /// Execs `libexec/<name>` with the bundle environment (tools, the plugin scanner).
    pub fn exec_tool(&self, name: &str, args: &[OsString]) -> anyhow::Error {
        let target = self.bundle.libexec(name);
        let env = self.bundle_env(self.user.clone()).finish();
        let err = self.loader.exec(OsStr::new(name), &target, args, &env);
        anyhow::Error::new(err).context(format!(
            "exec {} via {}",
            target.display(),
            self.loader.path.display()
        ))
    }

    /// Starts what the desktop lacks, picks the encoder, and execs the host.
    pub fn run(mut self, args: &LauncherArgs) -> anyhow::Result<std::convert::Infallible> {
        let host = self.bundle.host();
        if !host.is_file() {
            bail!("the bundle has no host binary at {}", host.display());
        }
        tracing::info!(
            "bundle {} on {} glibc ({})",
            self.bundle.root.display(),
            self.decision.mode,
            self.decision.reason
        );
        if !self.user.contains_key(OsStr::new(vars::DISPLAY)) {
            self.user.insert(vars::DISPLAY.into(), ":0".into());
        }
        let display = self
            .user
            .get(OsStr::new(vars::DISPLAY))
            .map(|d| d.to_string_lossy().into_owned());
        if args.start_xvfb
            && let Some(n) = display.as_deref().and_then(services::local_display)
            && let Some(s) =
                services::ensure_x(n, args.xvfb_size, &self.user).map_err(anyhow::Error::msg)?
        {
            let (w, h) = args.xvfb_size;
            tracing::info!(
                "started {} on :{n} ({w}x{h}, pid {}, log {})",
                s.name,
                s.pid,
                s.log.display()
            );
        }
        if args.start_pulseaudio
            && let Some(socket) = services::pulse_socket(&self.user)
            && let Some(s) =
                services::ensure_pulse(&socket, &self.user).map_err(anyhow::Error::msg)?
        {
            tracing::info!(
                "started {} at {} (pid {}, log {})",
                s.name,
                socket.display(),
                s.pid,
                s.log.display()
            );
            if !self.user.contains_key(OsStr::new(vars::PULSE_SERVER)) {
                let mut server = OsString::from("unix:");
                server.push(&socket);
                self.user.insert(vars::PULSE_SERVER.into(), server);
            }
        }
        let mut benv = self.bundle_env(self.user.clone());
        let user_choice = chosen_encoder(
            &args.host_args,
            self.user
                .get(OsStr::new(vars::SELKIES_ENCODER))
                .map(OsString::as_os_str),
        );
        if user_choice.is_none() {
            let report = self.report();
            tracing::info!(
                "encoder {} ({}); --encoder or SELKIES_ENCODER overrides",
                report.default_encoder,
                report.default_reason
            );
            benv.set(vars::SELKIES_ENCODER, report.default_encoder);
        }
        if let Some(dir) = self.facts.registry.parent() {
            // GStreamer writes the registry itself; a missing directory only costs the cache.
            let _ = std::fs::create_dir_all(dir);
        }
        let env = benv.finish();
        let err = self.loader.exec(
            OsStr::new("selkies-gstreamer"),
            &host,
            &args.host_args,
            &env,
        );
        Err(anyhow::Error::new(err).context(format!(
            "exec {} via {}",
            host.display(),
            self.loader.path.display()
        )))
    }
}

/// The program name the launcher was started as, when it names a bundled tool.
pub fn tool_name(argv0: &OsStr, bundle: &Bundle) -> Option<String> {
    let name = Path::new(argv0).file_name()?.to_str()?;
    (name != "selkies-gstreamer-run" && bundle.libexec(name).is_file()).then(|| name.to_owned())
}

/// Reports a fatal error consistently.
pub fn fail(err: &anyhow::Error) -> ! {
    eprintln!("selkies-gstreamer-run: {err:#}");
    std::process::exit(1)
}

/// For a bundle whose path cannot stand in `LD_PRELOAD` (spaces, colons): links to its
/// interposers in a user-owned directory beside the registry, made afresh on each start (the
/// bundle may have moved). None when the bundle's path is fine, or when that directory's path
/// is no better or cannot be written (the interposers are then exported as they are, with a
/// warning).
fn preload_links(bundle: &Bundle, registry: &Path) -> Option<PathBuf> {
    let files = [bundle.joystick_interposer(), bundle.webcam_interposer()];
    if files.iter().all(|f| env::preloadable(f)) {
        return None;
    }
    let dir = env::preload_link_dir(registry);
    let made = (|| -> std::io::Result<()> {
        if !env::preloadable(&dir) {
            return Err(std::io::Error::other("its path has spaces or colons too"));
        }
        std::fs::create_dir_all(&dir)?;
        for file in files.iter().filter(|f| f.is_file()) {
            let Some(name) = file.file_name() else {
                continue;
            };
            let link = dir.join(name);
            match std::fs::remove_file(&link) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
            std::os::unix::fs::symlink(file, &link)?;
        }
        Ok(())
    })();
    match made {
        Ok(()) => Some(dir),
        Err(e) => {
            tracing::warn!(
                "the bundle's path has spaces or colons, which LD_PRELOAD cannot carry, and no \
                 link directory could be made at {} ({e}): extract it elsewhere to preload \
                 the interposers",
                dir.display()
            );
            None
        }
    }
}
