//! Debian packages as the only binary source: `apt-get download` into a cache, `dpkg-deb -x`
//! into a per-package tree, and `dpkg-query` to learn which package ships a host path and at
//! which version it is installed (so bundled libraries match the headers we built against).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum AptError {
    #[error("running {cmd}: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("{cmd} failed ({status}): {stderr}")]
    Failed {
        cmd: String,
        status: String,
        stderr: String,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("apt-get download {package} produced no .deb in {dir}")]
    NoDeb { package: String, dir: PathBuf },
}

/// A package extracted on disk.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub package: String,
    pub version: String,
    pub root: PathBuf,
}

/// Download + extraction cache under `<cache>/debs` and `<cache>/extract`.
pub struct Apt {
    debs: PathBuf,
    extract: PathBuf,
    extracted: HashMap<String, Extracted>,
    /// package → candidate version, for every installed package (one apt-cache call).
    candidates: Option<HashMap<String, String>>,
    /// path → package from dpkg's file lists, built on first use.
    owners: Option<HashMap<String, String>>,
}

const DPKG_INFO: &str = "/var/lib/dpkg/info";

/// `libx11-6:amd64.list` → `libx11-6`; other files in dpkg's info dir → None.
pub fn package_of_list(file_name: &str) -> Option<&str> {
    let stem = file_name.strip_suffix(".list")?;
    Some(stem.split(':').next().unwrap_or(stem))
}

/// Reads every `<pkg>.list` under dpkg's info dir into a path → package map. Only `.so`
/// paths are kept: the closure asks about nothing else.
fn read_dpkg_lists(dir: &Path) -> std::io::Result<HashMap<String, String>> {
    let mut map = HashMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(pkg) = package_of_list(&name.to_string_lossy()).map(str::to_string) else {
            continue;
        };
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in text.lines().filter(|l| l.contains(".so")) {
            map.entry(line.to_string()).or_insert_with(|| pkg.clone());
        }
    }
    Ok(map)
}

fn run(cmd: &mut Command) -> Result<String, AptError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|source| AptError::Spawn {
        cmd: shown.clone(),
        source,
    })?;
    if !out.status.success() {
        return Err(AptError::Failed {
            cmd: shown,
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Parses `dpkg-query -S` output for one path: `pkg:arch[, pkg2]: /path`. Diversion lines and
/// other paths are ignored.
pub fn parse_owner(output: &str, path: &str) -> Option<String> {
    output.lines().find_map(|line| {
        let (pkgs, p) = line.rsplit_once(": ")?;
        if p.trim() != path || line.starts_with("diversion ") {
            return None;
        }
        let first = pkgs.split(", ").next()?.trim();
        Some(first.split(':').next().unwrap_or(first).to_string())
    })
}

/// The `Candidate:` line of `apt-cache policy`.
pub fn parse_candidate(policy: &str) -> Option<String> {
    policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate: "))
        .filter(|v| *v != "(none)")
        .map(str::to_string)
}

/// `apt-cache policy a b …` output → package → candidate. Blocks start with `name:` (arch
/// qualified names are reduced to the package name) at column 0.
pub fn parse_policy_blocks(policy: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut current: Option<String> = None;
    for line in policy.lines() {
        if !line.starts_with(' ') {
            current = line
                .strip_suffix(':')
                .map(|n| n.split(':').next().unwrap_or(n).to_string());
        } else if let (Some(pkg), Some(v)) = (&current, line.trim().strip_prefix("Candidate: "))
            && v != "(none)"
        {
            out.insert(pkg.clone(), v.to_string());
        }
    }
    out
}

/// Debian's merged-/usr aliasing: a library may be registered as `/lib/...` or `/usr/lib/...`.
pub fn path_aliases(path: &str) -> Vec<String> {
    let mut out = vec![path.to_string()];
    if let Some(rest) = path.strip_prefix("/usr/lib/") {
        out.push(format!("/lib/{rest}"));
    } else if let Some(rest) = path.strip_prefix("/lib/") {
        out.push(format!("/usr/lib/{rest}"));
    }
    out
}

/// apt escapes the epoch colon in file names (`1:2.3` → `1%3a2.3`).
pub fn deb_file_prefix(package: &str, version: &str) -> String {
    format!("{package}_{}_", version.replace(':', "%3a"))
}

impl Apt {
    pub fn new(cache: &Path) -> Result<Self, AptError> {
        let debs = cache.join("debs");
        let extract = cache.join("extract");
        std::fs::create_dir_all(&debs)?;
        std::fs::create_dir_all(&extract)?;
        Ok(Self {
            debs,
            extract,
            extracted: HashMap::new(),
            candidates: None,
            owners: None,
        })
    }

    /// apt's candidate (the newest stable/security build), else the installed version for
    /// packages apt no longer offers.
    pub fn version(&mut self, package: &str) -> Result<String, AptError> {
        if self.candidates.is_none() {
            self.candidates = Some(self.installed_candidates().unwrap_or_default());
        }
        if let Some(v) = self.candidates.as_ref().and_then(|c| c.get(package)) {
            return Ok(v.clone());
        }
        let policy = run(Command::new("apt-cache").args(["policy", package]))?;
        if let Some(v) = parse_candidate(&policy) {
            return Ok(v);
        }
        let out = run(Command::new("dpkg-query").args(["-W", "-f=${Status}|${Version}", package]))?;
        match out.split_once('|') {
            Some((status, version)) if status.ends_with(" installed") && !version.is_empty() => {
                Ok(version.to_string())
            }
            _ => Err(AptError::Failed {
                cmd: format!("apt-cache policy {package}"),
                status: "no candidate".into(),
                stderr: "package unknown to apt (run apt-get update?)".into(),
            }),
        }
    }

    /// Candidates of every installed package in one `apt-cache policy` call: the closure
    /// resolves through installed packages, and one call per package costs ~0.5 s each.
    fn installed_candidates(&self) -> Result<HashMap<String, String>, AptError> {
        let names = run(Command::new("dpkg-query").args(["-W", "-f=${Package}\n"]))?;
        let names: Vec<&str> = names.lines().filter(|l| !l.is_empty()).collect();
        let policy = run(Command::new("apt-cache").arg("policy").args(&names))?;
        Ok(parse_policy_blocks(&policy))
    }

    /// The package that ships `path` on this (build) host, trying both merged-/usr spellings.
    /// Looked up in dpkg's file lists (read once), with `dpkg-query -S` as the fallback for
    /// anything the lists do not answer (diversions, unusual admin dirs).
    pub fn owner(&mut self, path: &str) -> Option<String> {
        if self.owners.is_none() {
            self.owners = Some(read_dpkg_lists(Path::new(DPKG_INFO)).unwrap_or_default());
        }
        let aliases = path_aliases(path);
        if let Some(owners) = &self.owners
            && let Some(pkg) = aliases.iter().find_map(|p| owners.get(p))
        {
            return Some(pkg.clone());
        }
        aliases.iter().find_map(|p| {
            let out = Command::new("dpkg-query").args(["-S", p]).output().ok()?;
            parse_owner(&String::from_utf8_lossy(&out.stdout), p)
        })
    }

    /// Downloads (once) and extracts (once per version) a package.
    pub fn fetch(&mut self, package: &str) -> Result<Extracted, AptError> {
        if let Some(e) = self.extracted.get(package) {
            return Ok(e.clone());
        }
        let version = self.version(package)?;
        let root = self.extract.join(format!("{package}_{version}"));
        let stamp = root.join(".extracted");
        if !stamp.exists() {
            let deb = self.download(package, &version)?;
            if root.exists() {
                std::fs::remove_dir_all(&root)?;
            }
            std::fs::create_dir_all(&root)?;
            run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))?;
            std::fs::write(&stamp, &version)?;
        }
        tracing::info!(package, version, "package ready");
        let e = Extracted {
            package: package.to_string(),
            version,
            root,
        };
        self.extracted.insert(package.to_string(), e.clone());
        Ok(e)
    }

    fn find_deb(&self, package: &str, version: &str) -> Result<Option<PathBuf>, AptError> {
        let prefix = deb_file_prefix(package, version);
        for entry in std::fs::read_dir(&self.debs)? {
            let entry = entry?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && name.ends_with(".deb") {
                return Ok(Some(entry.path()));
            }
        }
        Ok(None)
    }

    fn download(&self, package: &str, version: &str) -> Result<PathBuf, AptError> {
        if let Some(deb) = self.find_deb(package, version)? {
            return Ok(deb);
        }
        tracing::info!(package, version, "apt-get download");
        run(Command::new("apt-get")
            .current_dir(&self.debs)
            .args(["download", "-q"])
            .arg(format!("{package}={version}")))?;
        self.find_deb(package, version)?
            .ok_or_else(|| AptError::NoDeb {
                package: package.to_string(),
                dir: self.debs.clone(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_lines() {
        let out = "libx11-6:amd64: /usr/lib/x86_64-linux-gnu/libX11.so.6\n";
        assert_eq!(
            parse_owner(out, "/usr/lib/x86_64-linux-gnu/libX11.so.6").as_deref(),
            Some("libx11-6")
        );
        let multi = "libfoo1:amd64, libfoo1:i386: /usr/lib/libfoo.so.1\n";
        assert_eq!(
            parse_owner(multi, "/usr/lib/libfoo.so.1").as_deref(),
            Some("libfoo1")
        );
        let diverted = "diversion by foo from: /usr/lib/x.so\nbar: /usr/lib/x.so\n";
        assert_eq!(
            parse_owner(diverted, "/usr/lib/x.so").as_deref(),
            Some("bar")
        );
        assert_eq!(parse_owner("", "/x"), None);
        assert_eq!(parse_owner("a: /other\n", "/x"), None);
    }

    #[test]
    fn candidate_lines() {
        let p = "libssl3:\n  Installed: 3.0.19-1~deb12u2\n  Candidate: 3.0.22-1~deb12u2\n";
        assert_eq!(parse_candidate(p).as_deref(), Some("3.0.22-1~deb12u2"));
        assert_eq!(parse_candidate("x:\n  Candidate: (none)\n"), None);
    }

    #[test]
    fn policy_blocks_for_many_packages() {
        let p = "libssl3:\n  Installed: 3.0.19\n  Candidate: 3.0.22\n  Version table:\n \
                 *** 3.0.19 100\nlibfoo1:amd64:\n  Installed: 1\n  Candidate: (none)\n\
                 libz1:amd64:\n  Installed: 1.2\n  Candidate: 1.3\n";
        let m = parse_policy_blocks(p);
        assert_eq!(m["libssl3"], "3.0.22");
        assert_eq!(m["libz1"], "1.3");
        assert!(!m.contains_key("libfoo1"));
    }

    #[test]
    fn merged_usr_aliases() {
        assert_eq!(
            path_aliases("/usr/lib/x86_64-linux-gnu/libc.so.6"),
            [
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/lib/x86_64-linux-gnu/libc.so.6"
            ]
        );
        assert_eq!(path_aliases("/lib/a.so"), ["/lib/a.so", "/usr/lib/a.so"]);
        assert_eq!(path_aliases("/opt/a.so"), ["/opt/a.so"]);
    }

    #[test]
    fn dpkg_list_names() {
        assert_eq!(package_of_list("libx11-6:amd64.list"), Some("libx11-6"));
        assert_eq!(package_of_list("libc6.list"), Some("libc6"));
        assert_eq!(package_of_list("libc6:amd64.md5sums"), None);
    }

    #[test]
    fn dpkg_lists_map_libraries_to_packages() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::write(
            tmp.path().join("libz1:amd64.list"),
            "/.\n/usr/lib/x86_64-linux-gnu/libz.so.1\n/usr/share/doc/libz1/copyright\n",
        )
        .expect("write");
        std::fs::write(
            tmp.path().join("libz1:amd64.md5sums"),
            "x  usr/lib/libq.so\n",
        )
        .expect("write");
        let map = read_dpkg_lists(tmp.path()).expect("read");
        assert_eq!(map["/usr/lib/x86_64-linux-gnu/libz.so.1"], "libz1");
        assert_eq!(map.len(), 1);
    }

    #[test]
    fn epoch_is_escaped_in_deb_names() {
        assert_eq!(
            deb_file_prefix("libx264-164", "2:0.164"),
            "libx264-164_2%3a0.164_"
        );
        assert_eq!(deb_file_prefix("libc6", "2.36-9"), "libc6_2.36-9_");
    }

    #[test]
    fn real_dpkg_database_knows_libc6() {
        let mut apt =
            Apt::new(&std::env::temp_dir().join("selkies-bundle-apt-test")).expect("cache");
        assert_eq!(
            apt.owner("/usr/lib/x86_64-linux-gnu/libc.so.6").as_deref(),
            Some("libc6")
        );
        assert!(apt.version("libc6").expect("installed").starts_with("2."));
        assert!(apt.candidates.as_ref().is_some_and(|c| c.len() > 100));
    }
}
