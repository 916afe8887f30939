//! The ELF closure: starting from the shipped executables and plugins, follow `DT_NEEDED` until
//! every soname is either bundled, provided by the bundled glibc, or deliberately left to the
//! host. The walk is pure over a [`Resolver`], so the policy is tested on small graphs; the real
//! resolver (Debian packages) lives in `resolve.rs`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;

use crate::elf::ElfInfo;
use crate::spec::{self, Skip};

/// A library found for a soname: where its bytes are and what it needs in turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub source: PathBuf,
    /// The Debian package (or local build) it comes from, for licences and the report.
    pub origin: String,
    pub info: ElfInfo,
}

/// Finds sonames. `search_path` is the requester's RUNPATH, honoured like ld.so would.
pub trait Resolver {
    type Error;
    fn resolve(
        &mut self,
        soname: &str,
        search_path: &[String],
    ) -> Result<Option<Found>, Self::Error>;
}

/// One object that seeds the walk (a plugin, a tool, a workspace binary).
#[derive(Debug, Clone)]
pub struct Root {
    pub name: String,
    pub info: ElfInfo,
}

#[derive(Debug, Default)]
pub struct Closure {
    /// soname → library, in soname order (deterministic output).
    pub libraries: BTreeMap<String, Found>,
    /// soname → first object that needed it, so the report can say who pulled a library in.
    pub pulled_in_by: BTreeMap<String, String>,
    /// Sonames left to the host, with the reason.
    pub skipped: BTreeMap<String, Skip>,
    /// Sonames nobody could provide, with their first requester.
    pub missing: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClosureError<E> {
    #[error("resolving {soname} (needed by {by}): {source}")]
    Resolve {
        soname: String,
        by: String,
        source: E,
    },
}

/// Walks breadth-first so `pulled_in_by` names the shortest chain's parent.
pub fn walk<R: Resolver>(
    roots: &[Root],
    glibc_sonames: &[String],
    resolver: &mut R,
) -> Result<Closure, ClosureError<R::Error>> {
    let mut out = Closure::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, String, Vec<String>)> = VecDeque::new();
    for root in roots {
        if let Some(soname) = &root.info.soname {
            seen.insert(soname.clone());
        }
        for needed in &root.info.needed {
            queue.push_back((
                needed.clone(),
                root.name.clone(),
                root.info.search_path.clone(),
            ));
        }
    }
    while let Some((soname, by, search_path)) = queue.pop_front() {
        if !seen.insert(soname.clone()) {
            continue;
        }
        if let Some(reason) = spec::skip_reason(&soname, glibc_sonames) {
            out.skipped.insert(soname, reason);
            continue;
        }
        let found =
            resolver
                .resolve(&soname, &search_path)
                .map_err(|source| ClosureError::Resolve {
                    soname: soname.clone(),
                    by: by.clone(),
                    source,
                })?;
        match found {
            Some(found) => {
                for needed in &found.info.needed {
                    queue.push_back((
                        needed.clone(),
                        soname.clone(),
                        found.info.search_path.clone(),
                    ));
                }
                out.pulled_in_by.insert(soname.clone(), by);
                out.libraries.insert(soname, found);
            }
            None => {
                out.missing.insert(soname, by);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Graph {
        libs: HashMap<&'static str, Vec<&'static str>>,
        asked: Vec<String>,
    }

    impl Resolver for Graph {
        type Error = String;
        fn resolve(&mut self, soname: &str, _: &[String]) -> Result<Option<Found>, String> {
            self.asked.push(soname.to_string());
            if soname == "libbroken.so.1" {
                return Err("unreadable".into());
            }
            Ok(self.libs.get(soname).map(|needed| Found {
                source: PathBuf::from(format!("/x/{soname}")),
                origin: "pkg".into(),
                info: ElfInfo {
                    soname: Some(soname.to_string()),
                    needed: needed.iter().map(|s| s.to_string()).collect(),
                    ..ElfInfo::default()
                },
            }))
        }
    }

    fn root(name: &str, needed: &[&str]) -> Root {
        Root {
            name: name.into(),
            info: ElfInfo {
                needed: needed.iter().map(|s| s.to_string()).collect(),
                ..ElfInfo::default()
            },
        }
    }

    fn glibc() -> Vec<String> {
        vec!["libc.so.6".into(), "libm.so.6".into()]
    }

    #[test]
    fn follows_needed_transitively_once_each() {
        let mut g = Graph {
            libs: HashMap::from([
                ("liba.so.1", vec!["libb.so.2", "libc.so.6"]),
                ("libb.so.2", vec!["liba.so.1", "libm.so.6"]),
            ]),
            asked: vec![],
        };
        let c = walk(
            &[root("plugin", &["liba.so.1", "libb.so.2"])],
            &glibc(),
            &mut g,
        )
        .expect("walk");
        assert_eq!(
            c.libraries.keys().collect::<Vec<_>>(),
            ["liba.so.1", "libb.so.2"]
        );
        assert_eq!(g.asked, ["liba.so.1", "libb.so.2"]);
        assert_eq!(c.pulled_in_by["libb.so.2"], "plugin");
        assert_eq!(c.skipped["libc.so.6"], Skip::Glibc);
        assert!(c.missing.is_empty());
    }

    #[test]
    fn host_only_libraries_are_not_followed() {
        let mut g = Graph {
            libs: HashMap::from([("libcuda.so.1", vec!["libevil.so.1"])]),
            asked: vec![],
        };
        let c = walk(&[root("nvcodec", &["libcuda.so.1"])], &glibc(), &mut g).expect("walk");
        assert!(c.libraries.is_empty());
        assert!(g.asked.is_empty());
        assert_eq!(c.skipped["libcuda.so.1"], Skip::HostOnly);
    }

    #[test]
    fn unresolved_sonames_are_reported_with_their_requester() {
        let mut g = Graph {
            libs: HashMap::from([("liba.so.1", vec!["libgone.so.3"])]),
            asked: vec![],
        };
        let c = walk(&[root("tool", &["liba.so.1"])], &glibc(), &mut g).expect("walk");
        assert_eq!(c.missing["libgone.so.3"], "liba.so.1");
    }

    #[test]
    fn resolver_errors_name_the_chain() {
        let mut g = Graph {
            libs: HashMap::new(),
            asked: vec![],
        };
        let err = walk(&[root("tool", &["libbroken.so.1"])], &glibc(), &mut g).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("libbroken.so.1") && msg.contains("tool"),
            "{msg}"
        );
    }

    #[test]
    fn a_root_that_is_itself_a_library_is_not_bundled_twice() {
        let mut g = Graph {
            libs: HashMap::from([("libself.so.1", vec![])]),
            asked: vec![],
        };
        let mut r = root("libself", &["libself.so.1"]);
        r.info.soname = Some("libself.so.1".into());
        let c = walk(&[r], &glibc(), &mut g).expect("walk");
        assert!(c.libraries.is_empty());
    }
}
