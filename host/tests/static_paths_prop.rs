//! Property test of the static-file path resolver (`http::resolve_static`): whatever the request
//! path (dot segments, percent-encoded separators and dots, NUL, backslashes, a symlink that
//! points outside), it resolves to nothing or to a regular file inside the web root, and plain
//! paths to files that exist resolve to those files. docs/reliability.md, "Fuzzing".
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use selkies_host::http::resolve_static;
use std::fs;
use std::path::{Path, PathBuf};

/// A web root with `index.html`, `sub/a.js`, a symlink to a file outside it and one to a
/// directory outside it, next to a `secret` file that must never be served.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("sub")).expect("mkdir");
    fs::write(root.join("index.html"), "i").expect("write");
    fs::write(root.join("sub/a.js"), "a").expect("write");
    fs::write(dir.path().join("secret"), "s").expect("write");
    std::os::unix::fs::symlink(dir.path().join("secret"), root.join("leak")).expect("symlink");
    std::os::unix::fs::symlink(dir.path(), root.join("up")).expect("symlink");
    (dir, root)
}

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            ".",
            "..",
            "%2e%2e",
            "%2E.",
            "%2f",
            "%5c..",
            "..\\..",
            "%00",
            "%",
            "%zz",
            "sub",
            "a.js",
            "index.html",
            "leak",
            "up",
            "secret",
            "root",
            "%2fetc%2fpasswd",
            "/",
        ])
        .prop_map(str::to_owned),
        "[ -~]{0,8}",
    ]
}

fn inside(root: &Path, p: &Path) -> bool {
    let real_root = root.canonicalize().expect("root");
    p.starts_with(&real_root) && p.is_file()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn never_leaves_the_web_root(segments in prop::collection::vec(segment(), 0..6), lead: bool) {
        let (_dir, root) = fixture();
        let path = format!("{}{}", if lead { "/" } else { "" }, segments.join("/"));
        if let Some(p) = resolve_static(&root, &path) {
            prop_assert!(inside(&root, &p), "{path:?} resolved to {}", p.display());
            prop_assert_ne!(fs::read_to_string(&p).expect("read"), "s", "{:?} served the secret", path);
        }
    }
}

#[test]
fn plain_paths_resolve_to_their_files() {
    let (_dir, root) = fixture();
    let real = root.canonicalize().expect("root");
    assert_eq!(resolve_static(&root, "/"), Some(real.join("index.html")));
    assert_eq!(
        resolve_static(&root, "/sub/a.js"),
        Some(real.join("sub/a.js"))
    );
    assert_eq!(
        resolve_static(&root, "/sub/%61.js"),
        Some(real.join("sub/a.js"))
    );
    assert_eq!(resolve_static(&root, "/leak"), None);
    assert_eq!(resolve_static(&root, "/up/secret"), None);
}
