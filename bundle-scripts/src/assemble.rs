//! The build sequence: glibc and gconv from libc6, plugins and tools from their packages,
//! workspace binaries, the ELF closure, NSS's dlopened modules, web client, licences and the
//! manifest the launcher reads. Each step logs a numbered progress line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::apt::{Apt, Extracted};
use crate::closure::{self, Root};
use crate::elf;
use crate::resolve::DebResolver;
use crate::spec::{self, Skip, layout};
use crate::stage::{self, Stage};

/// Everything the builder takes from outside Debian.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub version: String,
    pub host: Option<PathBuf>,
    /// `selkies-turn-rest` (dynamic, runs through the loader like the host).
    pub turn_rest: Option<PathBuf>,
    pub launcher: Option<PathBuf>,
    pub interposer: Option<PathBuf>,
    /// The webcam interposer (portable build, GLIBC ≤ 2.17 like the joystick one).
    pub webcam_interposer: Option<PathBuf>,
    /// The launcher's dlopen-capable probe helper (dynamic, runs through the loader).
    pub probe_helper: Option<PathBuf>,
    pub web: Option<PathBuf>,
    /// Directories of local library rebuilds that replace Debian's (libnice without UPnP).
    pub override_libs: Vec<PathBuf>,
    /// Extra plugin files built here (gst-plugins-rs).
    pub extra_plugins: Vec<PathBuf>,
    /// `name → copyright file` for local builds.
    pub licences: Vec<(String, PathBuf)>,
    /// Documentation copied to `share/doc/`.
    pub docs: Vec<PathBuf>,
}

/// `share/selkies/bundle.json`: facts the launcher and the checks read instead of guessing.
#[derive(Debug, Serialize)]
pub struct Manifest {
    pub format: u32,
    pub version: String,
    /// Upstream glibc release of `lib/glibc` (also in `lib/glibc/VERSION`).
    pub glibc: String,
    pub loader: String,
    /// Library directories in search order, relative to the bundle root.
    pub library_dirs: Vec<&'static str>,
    /// Directories holding newest-wins candidates (checkrt rule).
    pub newest_wins_dirs: Vec<&'static str>,
    pub host: Option<&'static str>,
    pub plugin_scanner: &'static str,
    pub tools: Vec<&'static str>,
    pub plugins: Vec<String>,
    pub host_only_sonames: Vec<String>,
    pub packages: BTreeMap<String, String>,
}

const STEPS: usize = 7;

fn step(n: usize, what: &str) {
    tracing::info!("[{n}/{STEPS}] {what}");
}

fn root_of(name: &str, path: &std::path::Path) -> Result<Root> {
    let info = elf::read(path)?;
    Ok(Root {
        name: name.to_string(),
        info,
    })
}

fn walk(
    apt: &mut Apt,
    roots: &[Root],
    glibc_sonames: &[String],
    inputs: &Inputs,
) -> Result<closure::Closure> {
    let mut resolver = DebResolver {
        apt,
        overrides: inputs.override_libs.clone(),
    };
    Ok(closure::walk(roots, glibc_sonames, &mut resolver)?)
}

/// Builds the staging tree; returns the manifest it wrote.
pub fn assemble(apt: &mut Apt, stage: &Stage, inputs: &Inputs) -> Result<Manifest> {
    let mut used: Vec<Extracted> = Vec::new();

    step(1, "glibc: the whole libc6 set, loader and gconv modules");
    let libc6 = apt.fetch(spec::GLIBC_PACKAGE)?;
    let glibc_sonames = stage::stage_glibc(stage, &libc6)?;
    let gconv = stage::stage_gconv(stage, &libc6)?;
    tracing::info!(objects = glibc_sonames.len(), gconv, version = %libc6.version, "glibc staged");
    used.push(libc6.clone());

    step(2, "GStreamer plugins and tools from Debian packages");
    let mut roots = Vec::new();
    let mut plugins = Vec::new();
    for p in spec::PLUGINS {
        let pkg = apt.fetch(p.package)?;
        let src = pkg
            .root
            .join(spec::MULTIARCH)
            .join("gstreamer-1.0")
            .join(p.file);
        let dest = stage.copy_file(&src, &format!("{}/{}", layout::PLUGINS, p.file))?;
        roots.push(root_of(p.file, &dest)?);
        plugins.push(p.file.to_string());
        used.push(pkg);
    }
    for t in spec::TOOLS {
        let pkg = apt.fetch(t.package)?;
        let dest = stage.copy_file(&pkg.root.join(t.path), t.dest)?;
        roots.push(root_of(t.dest, &dest)?);
        used.push(pkg);
    }
    for extra in &inputs.extra_plugins {
        let name = extra
            .file_name()
            .context("plugin path has no file name")?
            .to_string_lossy()
            .into_owned();
        let dest = stage.copy_file(extra, &format!("{}/{name}", layout::PLUGINS))?;
        roots.push(root_of(&name, &dest)?);
        plugins.push(name);
    }

    step(
        3,
        "workspace binaries: host, TURN-REST service, launcher, interposers",
    );
    let host = match &inputs.host {
        Some(h) => {
            let dest = stage.copy_file(h, "libexec/selkies-gstreamer")?;
            roots.push(root_of("selkies-gstreamer", &dest)?);
            Some("libexec/selkies-gstreamer")
        }
        None => {
            tracing::warn!("no host binary: the tarball carries GStreamer and tools only");
            None
        }
    };
    let turn_rest = match &inputs.turn_rest {
        Some(t) => {
            let dest = stage.copy_file(t, layout::TURN_REST)?;
            roots.push(root_of("selkies-turn-rest", &dest)?);
            Some(layout::TURN_REST)
        }
        None => {
            tracing::warn!("no selkies-turn-rest binary: the tarball has no TURN-REST service");
            None
        }
    };
    match &inputs.launcher {
        Some(l) => {
            stage.copy_file(l, layout::LAUNCHER)?;
            // The launcher runs `libexec/<argv0 name>` under the right loader; GStreamer spawns
            // `bin/gst-plugin-scanner` through it (docs/launcher.md).
            // `bin/selkies-gstreamer` runs the host with the bundle environment but without the
            // launcher's services (Xvfb, PulseAudio): for `--help` and checks.
            // `bin/selkies-turn-rest` likewise runs the TURN-REST service.
            for tool in spec::TOOLS
                .iter()
                .map(|t| t.dest)
                .chain(host)
                .chain(turn_rest)
            {
                let name = tool.rsplit('/').next().unwrap_or(tool);
                stage.symlink(&format!("../{}", layout::LAUNCHER), &format!("bin/{name}"))?;
            }
        }
        None => tracing::warn!("no launcher binary: selkies-gstreamer-run is missing"),
    }
    match &inputs.probe_helper {
        Some(p) => {
            let dest = stage.copy_file(p, layout::PROBE_HELPER)?;
            roots.push(root_of("selkies-gpu-probe", &dest)?);
        }
        None => tracing::warn!("no selkies-gpu-probe: the launcher's probe has no dlopen half"),
    }
    if let Some(i) = &inputs.interposer {
        stage.copy_file(i, layout::INTERPOSER)?;
    }
    if let Some(i) = &inputs.webcam_interposer {
        stage.copy_file(i, layout::WEBCAM_INTERPOSER)?;
    }

    step(4, "ELF closure (DT_NEEDED) through Debian packages");
    let mut closure = walk(apt, &roots, &glibc_sonames, inputs)?;
    // NSS (linked by Debian's libsrtp2) dlopens softokn/freebl from next to libnss3; they have
    // their own dependencies (sqlite), so they join the roots and the walk runs again.
    if closure.libraries.contains_key(spec::NSS_SONAME) {
        tracing::info!("libnss3 in the closure: adding its dlopen()ed softokn/freebl");
        let nss = apt.fetch(spec::NSS_PACKAGE)?;
        for f in spec::NSS_DLOPENED {
            let dest = stage.copy_file(
                &nss.root.join(spec::MULTIARCH).join(f),
                &format!("{}/{f}", layout::LIB),
            )?;
            if f.ends_with(".so") {
                roots.push(root_of(f, &dest)?);
            }
        }
        closure = walk(apt, &roots, &glibc_sonames, inputs)?;
    }
    if !closure.missing.is_empty() {
        let list: Vec<String> = closure
            .missing
            .iter()
            .map(|(s, by)| format!("{s} (needed by {by})"))
            .collect();
        bail!("unresolved libraries: {}", list.join(", "));
    }
    let mut origins: BTreeMap<String, usize> = BTreeMap::new();
    for (soname, found) in &closure.libraries {
        stage.copy_file(
            &found.source,
            &format!("{}/{soname}", spec::library_dir(soname)),
        )?;
        *origins.entry(found.origin.clone()).or_default() += 1;
        tracing::debug!(soname, origin = %found.origin, by = %closure.pulled_in_by[soname], "bundled");
    }
    // Rust binaries NEED libgcc_s; with the bundled glibc it must load even where the newest-wins
    // rule leaves lib/gcc off (docs/launcher.md), so lib/glibc carries a copy too.
    if let Some(gcc_s) = closure.libraries.get(spec::GCC_S) {
        stage.copy_file(&gcc_s.source, &format!("{}/{}", layout::GLIBC, spec::GCC_S))?;
    }
    for origin in origins.keys() {
        if !origin.starts_with("local build") {
            used.push(apt.fetch(origin)?);
        }
    }
    let host_only: Vec<String> = closure
        .skipped
        .iter()
        .filter(|(_, r)| **r == Skip::HostOnly)
        .map(|(s, _)| s.clone())
        .collect();
    tracing::info!(
        libraries = closure.libraries.len(),
        packages = origins.len(),
        host_only = ?host_only,
        "closure complete"
    );

    step(5, "web client and documentation");
    match &inputs.web {
        Some(w) => {
            let n = stage.copy_tree(w, layout::WEB)?;
            tracing::info!(files = n, "web client staged");
        }
        None => tracing::warn!("no web client (web/dist): share/selkies-web is missing"),
    }
    for doc in &inputs.docs {
        let name = doc.file_name().context("doc path has no name")?;
        stage.copy_file(doc, &format!("{}/{}", layout::DOC, name.to_string_lossy()))?;
    }

    step(6, "licences");
    used.sort_by(|a, b| a.package.cmp(&b.package));
    used.dedup_by(|a, b| a.package == b.package);
    let mut missing = Vec::new();
    for package in stage::stage_licences(stage, &used)? {
        // Debian points some doc dirs at their source's base package (libgcc-s1 → gcc-12-base).
        let doc = used
            .iter()
            .find(|e| e.package == package)
            .map(|e| e.root.join("usr/share/doc").join(&package));
        let target = doc.and_then(|d| std::fs::read_link(d).ok());
        let base = target.and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()));
        match base {
            Some(base) => {
                let pkg = apt.fetch(&base)?;
                let rel = format!("usr/share/doc/{base}/copyright");
                let src = crate::resolve::file_in_tree(&pkg.root, &rel)
                    .with_context(|| format!("{base} has no copyright file"))?;
                stage.copy_file(&src, &format!("{}/{package}.copyright", layout::LICENSES))?;
            }
            None => missing.push(package),
        }
    }
    if !missing.is_empty() {
        tracing::warn!(?missing, "packages without a copyright file");
    }
    for (name, path) in &inputs.licences {
        stage.copy_file(path, &format!("{}/{name}.copyright", layout::LICENSES))?;
    }
    let linked = stage::link_duplicate_licences(stage)?;
    tracing::info!(linked, "identical licence texts stored once");

    step(7, "manifest");
    let manifest = Manifest {
        format: 1,
        version: inputs.version.clone(),
        glibc: stage::upstream_version(&libc6.version).to_string(),
        loader: format!("{}/{}", layout::GLIBC, spec::GLIBC_LOADER),
        library_dirs: vec![layout::GLIBC, layout::LIB, layout::GCC],
        newest_wins_dirs: vec![layout::GCC],
        host,
        plugin_scanner: "libexec/gst-plugin-scanner",
        tools: spec::TOOLS.iter().map(|t| t.dest).collect(),
        plugins,
        host_only_sonames: host_only,
        packages: used
            .iter()
            .map(|e| (e.package.clone(), e.version.clone()))
            .collect(),
    };
    let json = serde_json::to_vec_pretty(&manifest)?;
    stage.write(layout::MANIFEST, &json)?;
    Ok(manifest)
}
