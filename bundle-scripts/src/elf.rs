//! Reads the dynamic-linking facts the closure needs from an ELF file: its soname, `DT_NEEDED`
//! entries, `DT_RUNPATH`/`DT_RPATH` and `PT_INTERP`, plus the highest `GLIBC_x.y` symbol version
//! it requires (the ≤ 2.17 check for launcher and interposer).

use std::path::{Path, PathBuf};

use goblin::elf::Elf;

#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid ELF file: {source}")]
    Parse {
        path: PathBuf,
        source: goblin::error::Error,
    },
}

/// The dynamic section of one ELF object, reduced to what bundling needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    pub soname: Option<String>,
    pub needed: Vec<String>,
    /// RUNPATH, or RPATH when there is no RUNPATH, split on `:`.
    pub search_path: Vec<String>,
    pub interpreter: Option<String>,
    /// Highest `GLIBC_x.y` version in the required symbol versions, if any.
    pub max_glibc: Option<(u32, u32)>,
}

pub fn read(path: &Path) -> Result<ElfInfo, ElfError> {
    let bytes = std::fs::read(path).map_err(|source| ElfError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes).map_err(|source| ElfError::Parse {
        path: path.to_path_buf(),
        source,
    })
}

pub fn parse(bytes: &[u8]) -> Result<ElfInfo, goblin::error::Error> {
    let elf = Elf::parse(bytes)?;
    let runpath: Vec<String> = elf
        .runpaths
        .iter()
        .chain(if elf.runpaths.is_empty() {
            elf.rpaths.iter()
        } else {
            [].iter()
        })
        .flat_map(|p| p.split(':'))
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    let max_glibc = elf
        .verneed
        .as_ref()
        .into_iter()
        .flat_map(|v| v.iter())
        .flat_map(|need| need.iter().collect::<Vec<_>>())
        .filter_map(|aux| elf.dynstrtab.get_at(aux.vna_name))
        .filter_map(parse_glibc_version)
        .max();
    Ok(ElfInfo {
        soname: elf.soname.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        search_path: runpath,
        interpreter: elf.interpreter.map(str::to_string),
        max_glibc,
    })
}

/// `GLIBC_2.17` → `(2, 17)`; `GLIBC_PRIVATE` and other names → None.
pub fn parse_glibc_version(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("GLIBC_")?;
    let mut parts = rest.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_version_names() {
        assert_eq!(parse_glibc_version("GLIBC_2.17"), Some((2, 17)));
        assert_eq!(parse_glibc_version("GLIBC_2.2.5"), Some((2, 2)));
        assert_eq!(parse_glibc_version("GLIBC_PRIVATE"), None);
        assert_eq!(parse_glibc_version("GLIBCXX_3.4"), None);
    }

    #[test]
    fn reads_the_test_binary_itself() {
        let exe = std::env::current_exe().expect("test binary path");
        let info = read(&exe).expect("test binary is ELF");
        assert!(info.needed.iter().any(|n| n == "libc.so.6"), "{info:?}");
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
        let (major, minor) = info.max_glibc.expect("links glibc");
        assert!(major == 2 && minor >= 2, "{major}.{minor}");
    }

    #[test]
    fn reads_a_shared_library_soname() {
        let libc = [
            "/lib/x86_64-linux-gnu/libc.so.6",
            "/usr/lib/x86_64-linux-gnu/libc.so.6",
        ]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
        .expect("Debian multiarch libc");
        let info = read(libc).expect("libc parses");
        assert_eq!(info.soname.as_deref(), Some("libc.so.6"));
        assert!(info.needed.iter().any(|n| n == "ld-linux-x86-64.so.2"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(parse(b"\x7fELF garbage").is_err());
        assert!(parse(b"").is_err());
    }
}
