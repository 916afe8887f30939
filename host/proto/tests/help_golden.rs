//! Golden test of `selkies-gstreamer --help`: the flag surface is a compatibility contract, so
//! any change to it must show up as a reviewed diff of `tests/help.golden.txt`.
//! Rendered with `term_width(0)` (never wrap) so the text does not depend on clap's optional
//! `wrap_help` feature being unified in by another workspace crate.
//! Regenerate with `UPDATE_GOLDEN=1 cargo test -p selkies-proto --test help_golden`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use clap::CommandFactory;
use selkies_proto::config::Args;

#[test]
fn help_text_matches_golden() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/help.golden.txt");
    let actual = Args::command().term_width(0).render_help().to_string();
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("read golden file");
    assert_eq!(
        actual, expected,
        "--help changed; review and rerun with UPDATE_GOLDEN=1"
    );
}

#[test]
fn every_flag_has_its_selkies_env_var() {
    let cmd = Args::command();
    for arg in cmd.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "debug" | "help") {
            continue;
        }
        let env = arg.get_env().and_then(|e| e.to_str()).unwrap_or_default();
        assert_eq!(env, format!("SELKIES_{}", long.to_uppercase()), "--{long}");
    }
}

#[test]
fn docs_mention_every_flag_and_env_var() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let docs = std::fs::read_to_string(&path).expect("read docs/configuration.md");
    for arg in Args::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if long == "help" {
            continue;
        }
        assert!(
            docs.contains(&format!("`--{long}`")),
            "--{long} undocumented"
        );
        if let Some(env) = arg.get_env().and_then(|e| e.to_str()) {
            assert!(docs.contains(&format!("`{env}`")), "{env} undocumented");
        }
    }
}
