//! Re-exports gst-plugin-rav1e so its `gst_plugin_rav1e_get_desc` entry point ends up in a
//! cdylib; build.sh installs it as `libgstrav1e.so`.
pub use gstrav1e::*;
