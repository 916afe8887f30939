//! Re-exports gst-plugin-rtp so its `gst_plugin_rsrtp_get_desc` entry point ends up in a
//! cdylib; build.sh installs it as `libgstrsrtp.so`, the name GStreamer derives the symbol from.
pub use gstrsrtp::*;
