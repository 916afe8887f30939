//! Test fixtures: a private Xvfb server started and stopped by the test itself (the one fixture
//! of `host/x11/tests/common/xvfb.rs`), and the HELLO frame of a browser.

use base64::Engine;

#[path = "../../x11/tests/common/xvfb.rs"]
mod xvfb;
#[allow(unused_imports)] // not every test binary starts an X server
pub use xvfb::Xvfb;

/// A browser's `HELLO 1 <meta>` (docs/protocol.md §3.2), with our client's takeover token when
/// given (docs/security.md).
#[allow(dead_code)]
pub fn hello(token: Option<&str>) -> String {
    let mut meta = serde_json::json!({ "res": "1280x720", "scale": 1 });
    if let Some(t) = token {
        meta["token"] = t.into();
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(meta.to_string());
    format!("HELLO 1 {b64}")
}
