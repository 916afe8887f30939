//! The staging tree: file operations that place things at their bundle path (copying with
//! permissions, directory trees, symlinks), plus the glibc, gconv and licence steps whose inputs
//! are whole package trees rather than single sonames.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::apt::Extracted;
use crate::elf;
use crate::resolve::file_in_tree;
use crate::spec::{self, layout};

/// The tree that becomes `selkies-gstreamer/` in the tarball.
pub struct Stage {
    pub root: PathBuf,
}

impl Stage {
    /// Starts from an empty directory so nothing from an earlier build survives.
    pub fn create(root: PathBuf) -> Result<Self> {
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("clearing stage {}", root.display()))?;
        }
        for dir in [
            layout::BIN,
            layout::LIBEXEC,
            layout::GLIBC,
            layout::GCC,
            layout::PLUGINS,
            layout::GIO_MODULES,
            layout::GCONV,
            layout::LICENSES,
            "share/selkies",
        ] {
            std::fs::create_dir_all(root.join(dir))
                .with_context(|| format!("creating {}", root.join(dir).display()))?;
        }
        Ok(Self { root })
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// Copies one file (dereferenced) to `rel`, keeping its permission bits.
    pub fn copy_file(&self, source: &Path, rel: &str) -> Result<PathBuf> {
        let dest = self.path(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::copy(source, &dest)
            .with_context(|| format!("copying {} to {}", source.display(), dest.display()))?;
        Ok(dest)
    }

    /// Copies a directory tree (the web client), dereferencing symlinks.
    pub fn copy_tree(&self, source: &Path, rel: &str) -> Result<u64> {
        let mut count = 0;
        let mut stack = vec![(source.to_path_buf(), rel.to_string())];
        while let Some((dir, rel_dir)) = stack.pop() {
            std::fs::create_dir_all(self.path(&rel_dir))?;
            for entry in
                std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
            {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let child_rel = format!("{rel_dir}/{name}");
                let meta = std::fs::metadata(entry.path())?;
                if meta.is_dir() {
                    stack.push((entry.path(), child_rel));
                } else {
                    self.copy_file(&entry.path(), &child_rel)?;
                    count += 1;
                }
            }
        }
        Ok(count)
    }

    pub fn symlink(&self, target: &str, rel: &str) -> Result<()> {
        let link = self.path(rel);
        std::os::unix::fs::symlink(target, &link)
            .with_context(|| format!("linking {} -> {target}", link.display()))
    }

    pub fn write(&self, rel: &str, contents: &[u8]) -> Result<()> {
        let dest = self.path(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&dest, contents).with_context(|| format!("writing {}", dest.display()))
    }
}

/// `2.36-9+deb12u10` → `2.36`: the glibc release the launcher compares the host's against.
pub fn upstream_version(debian_version: &str) -> &str {
    let no_epoch = debian_version
        .split_once(':')
        .map_or(debian_version, |(_, v)| v);
    no_epoch.split(['-', '+', '~']).next().unwrap_or(no_epoch)
}

/// Copies every shared object of the libc6 package into `lib/glibc` and returns their sonames.
pub fn stage_glibc(stage: &Stage, libc6: &Extracted) -> Result<Vec<String>> {
    let dir = libc6.root.join("lib/x86_64-linux-gnu");
    let dir = if dir.is_dir() {
        dir
    } else {
        libc6.root.join(spec::MULTIARCH)
    };
    let mut sonames = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = std::fs::metadata(entry.path())?;
        if !meta.is_file() || !name.contains(".so") {
            continue;
        }
        let info = elf::read(&entry.path())?;
        stage.copy_file(&entry.path(), &format!("{}/{name}", layout::GLIBC))?;
        sonames.push(info.soname.unwrap_or(name));
    }
    if !sonames.iter().any(|s| s == spec::GLIBC_LOADER) {
        bail!(
            "libc6 package has no {} in {}",
            spec::GLIBC_LOADER,
            dir.display()
        );
    }
    stage.write(
        &format!("{}/VERSION", layout::GLIBC),
        format!("{}\n", upstream_version(&libc6.version)).as_bytes(),
    )?;
    Ok(sonames)
}

/// The gconv subset plus its configuration; the cache file is left out because it would list
/// modules that are not shipped.
pub fn stage_gconv(stage: &Stage, libc6: &Extracted) -> Result<usize> {
    let src = libc6.root.join(spec::MULTIARCH).join("gconv");
    let mut n = 0;
    for module in spec::GCONV_MODULES {
        stage.copy_file(&src.join(module), &format!("{}/{module}", layout::GCONV))?;
        n += 1;
    }
    stage.copy_file(
        &src.join("gconv-modules"),
        &format!("{}/gconv-modules", layout::GCONV),
    )?;
    let extra = src.join("gconv-modules.d");
    if extra.is_dir() {
        stage.copy_tree(&extra, &format!("{}/gconv-modules.d", layout::GCONV))?;
    }
    Ok(n)
}

/// Copies `usr/share/doc/<pkg>/copyright` of every package used; returns packages without one.
pub fn stage_licences(stage: &Stage, packages: &[Extracted]) -> Result<Vec<String>> {
    let mut missing = Vec::new();
    for p in packages {
        let rel = format!("usr/share/doc/{}/copyright", p.package);
        match file_in_tree(&p.root, &rel) {
            Some(src) => {
                stage.copy_file(
                    &src,
                    &format!("{}/{}.copyright", layout::LICENSES, p.package),
                )?;
            }
            None => missing.push(p.package.clone()),
        }
    }
    Ok(missing)
}

/// Replaces each licence file whose text equals an earlier one (by name) with a relative
/// symlink to it. Debian ships the same copyright file in every binary package of a source
/// (`libnice10` and `gstreamer1.0-nice`, the three plugins-base packages), and gzip cannot share
/// text between files tens of kilobytes apart: the copies cost ~100 KB of the compressed tarball.
/// Returns how many files became links.
pub fn link_duplicate_licences(stage: &Stage) -> Result<usize> {
    let dir = stage.path(layout::LICENSES);
    if !dir.is_dir() {
        return Ok(0);
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()?;
    names.sort();
    let mut seen: std::collections::HashMap<Vec<u8>, String> = std::collections::HashMap::new();
    let mut linked = 0;
    for name in names {
        let path = dir.join(&name);
        if std::fs::symlink_metadata(&path)?.file_type().is_symlink() {
            continue;
        }
        let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        match seen.get(&text) {
            Some(first) => {
                std::fs::remove_file(&path)?;
                std::os::unix::fs::symlink(first, &path)
                    .with_context(|| format!("linking {} to {first}", path.display()))?;
                linked += 1;
            }
            None => {
                seen.insert(text, name);
            }
        }
    }
    Ok(linked)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_licences_become_links_to_the_first() {
        let tmp = tempfile::tempdir().expect("tmp");
        let stage = Stage::create(tmp.path().join("stage")).expect("stage");
        let dir = stage.path(layout::LICENSES);
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::write(dir.join("libnice10.copyright"), "nice").expect("write");
        std::fs::write(dir.join("gstreamer1.0-nice.copyright"), "nice").expect("write");
        std::fs::write(dir.join("libx264.copyright"), "x264").expect("write");
        assert_eq!(link_duplicate_licences(&stage).expect("link"), 1);
        let link = dir.join("libnice10.copyright");
        assert_eq!(
            std::fs::read_link(&link).expect("a link"),
            Path::new("gstreamer1.0-nice.copyright")
        );
        assert_eq!(std::fs::read_to_string(&link).expect("read"), "nice");
        assert!(
            !std::fs::symlink_metadata(dir.join("libx264.copyright"))
                .expect("meta")
                .file_type()
                .is_symlink()
        );
        // Idempotent: links are left alone.
        assert_eq!(link_duplicate_licences(&stage).expect("again"), 0);
    }

    #[test]
    fn debian_versions_to_upstream() {
        assert_eq!(upstream_version("2.36-9+deb12u10"), "2.36");
        assert_eq!(upstream_version("1:2.36-9"), "2.36");
        assert_eq!(upstream_version("2.41"), "2.41");
    }

    #[test]
    fn tree_copy_and_fresh_stage() {
        let tmp = tempfile::tempdir().expect("tmp");
        let web = tmp.path().join("web dist");
        std::fs::create_dir_all(web.join("assets")).expect("mkdir");
        std::fs::write(web.join("index.html"), "<html>").expect("write");
        std::fs::write(web.join("assets/app.js"), "x").expect("write");
        let stage = Stage::create(tmp.path().join("stage")).expect("stage");
        assert_eq!(stage.copy_tree(&web, layout::WEB).expect("copy"), 2);
        assert!(stage.path("share/selkies-web/assets/app.js").is_file());
        assert!(stage.path(layout::GIO_MODULES).is_dir());
        std::fs::write(stage.path("stale"), "old").expect("write");
        let stage = Stage::create(tmp.path().join("stage")).expect("stage again");
        assert!(!stage.path("stale").exists());
    }
}
