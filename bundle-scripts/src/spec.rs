//! What goes into the tarball: the Debian packages and files that seed the ELF closure, the
//! sonames that must come from the host, and where every shipped object lands in the layout
//! (docs/bundle.md). Pure data and rules, no I/O, so the policy is unit-tested.

/// Directory layout inside `selkies-gstreamer/`. The launcher relies on these exact paths.
pub mod layout {
    pub const TOP: &str = "selkies-gstreamer";
    pub const LAUNCHER: &str = "selkies-gstreamer-run";
    pub const BIN: &str = "bin";
    pub const LIBEXEC: &str = "libexec";
    pub const LIB: &str = "lib";
    pub const GLIBC: &str = "lib/glibc";
    /// libstdc++/libgcc_s: kept apart so the launcher can prefer a newer host copy (checkrt rule).
    pub const GCC: &str = "lib/gcc";
    pub const PLUGINS: &str = "lib/gstreamer-1.0";
    pub const GIO_MODULES: &str = "lib/gio/modules";
    pub const GCONV: &str = "lib/gconv";
    pub const PROBE_HELPER: &str = "libexec/selkies-gpu-probe";
    /// The TURN-REST credential service (docs/turn-rest.md); `bin/selkies-turn-rest` runs it.
    pub const TURN_REST: &str = "libexec/selkies-turn-rest";
    pub const INTERPOSER: &str = "lib/selkies_joystick_interposer.so";
    /// The webcam interposer (docs/webcam.md); the launcher exports its path.
    pub const WEBCAM_INTERPOSER: &str = "lib/selkies_v4l2_interposer.so";
    pub const WEB: &str = "share/selkies-web";
    pub const DOC: &str = "share/doc";
    pub const LICENSES: &str = "share/doc/licenses";
    pub const MANIFEST: &str = "share/selkies/bundle.json";
}

/// Debian's multiarch library directory; `/lib/...` is the same place on merged-/usr systems.
pub const MULTIARCH: &str = "usr/lib/x86_64-linux-gnu";

/// One GStreamer plugin file and the Debian package that ships it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plugin {
    pub file: &'static str,
    pub package: &'static str,
    /// Why it is shipped; printed by `--list` and kept next to the entry so nobody prunes blindly.
    pub why: &'static str,
}

const fn plugin(file: &'static str, package: &'static str, why: &'static str) -> Plugin {
    Plugin { file, package, why }
}

const BASE: &str = "gstreamer1.0-plugins-base";
const GOOD: &str = "gstreamer1.0-plugins-good";
const BAD: &str = "gstreamer1.0-plugins-bad";
const UGLY: &str = "gstreamer1.0-plugins-ugly";

/// Every plugin the host's capture, encoder catalogue, audio and WebRTC paths use.
// One row per plugin: the list reads as a table, so rustfmt must not fold long rows.
#[rustfmt::skip]
pub const PLUGINS: &[Plugin] = &[
    plugin("libgstcoreelements.so", "libgstreamer1.0-0", "queue, capsfilter, tee, fakesink"),
    plugin("libgstapp.so", BASE, "appsrc/appsink"),
    plugin("libgstvideoconvertscale.so", BASE, "videoconvert, videoscale"),
    plugin("libgstvideorate.so", BASE, "framerate control"),
    plugin("libgstvideotestsrc.so", BASE, "tests and the bundle check"),
    plugin("libgstaudiotestsrc.so", BASE, "tests"),
    plugin("libgstaudioconvert.so", BASE, "audio path"),
    plugin("libgstaudioresample.so", BASE, "audio path"),
    plugin("libgstvolume.so", BASE, "audio path"),
    plugin("libgstopus.so", BASE, "opusenc"),
    plugin("libgstximagesrc.so", GOOD, "X11 capture"),
    plugin("libgstpulseaudio.so", GOOD, "pulsesrc"),
    plugin("libgstrtp.so", GOOD, "RTP payloaders"),
    plugin("libgstrtpmanager.so", GOOD, "rtpbin for webrtcbin"),
    plugin("libgstvpx.so", GOOD, "vp8enc, vp9enc"),
    plugin("libgstvideocrop.so", GOOD, "resize/crop of the capture"),
    plugin("libgstwebrtc.so", BAD, "webrtcbin"),
    plugin("libgstdtls.so", BAD, "DTLS"),
    plugin("libgstsrtp.so", BAD, "SRTP"),
    plugin("libgstsctp.so", BAD, "data channels"),
    plugin("libgstrtpmanagerbad.so", BAD, "rtp helpers used by webrtcbin"),
    plugin("libgstvideoparsersbad.so", BAD, "h264parse, h265parse"),
    plugin("libgstopenh264.so", BAD, "openh264enc"),
    plugin("libgstx265.so", BAD, "x265enc"),
    plugin("libgstaom.so", BAD, "av1enc"),
    plugin("libgstnvcodec.so", BAD, "nvh264enc & co (driver from the host)"),
    plugin("libgstva.so", BAD, "vah264enc & co (driver from the host)"),
    plugin("libgstx264.so", UGLY, "x264enc"),
    plugin("libgstnice.so", "gstreamer1.0-nice", "ICE for webrtcbin"),
];

/// A Debian file that seeds the closure, addressed inside its package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedFile {
    pub package: &'static str,
    /// Path inside the package, without the leading `/`.
    pub path: &'static str,
    /// Path inside the bundle.
    pub dest: &'static str,
}

/// GStreamer's helper and tools, shipped as real ELFs under `libexec/` and reached through the
/// launcher.
pub const TOOLS: &[SeedFile] = &[
    SeedFile {
        package: "libgstreamer1.0-0",
        path: "usr/lib/x86_64-linux-gnu/gstreamer1.0/gstreamer-1.0/gst-plugin-scanner",
        dest: "libexec/gst-plugin-scanner",
    },
    SeedFile {
        package: "gstreamer1.0-tools",
        path: "usr/bin/gst-launch-1.0",
        dest: "libexec/gst-launch-1.0",
    },
    SeedFile {
        package: "gstreamer1.0-tools",
        path: "usr/bin/gst-inspect-1.0",
        dest: "libexec/gst-inspect-1.0",
    },
];

/// The package whose shared objects form the bundled glibc (all of them, see
/// docs/bundle.md R4: partial sets break older host drivers on `GLIBC_PRIVATE`).
pub const GLIBC_PACKAGE: &str = "libc6";
pub const GLIBC_LOADER: &str = "ld-linux-x86-64.so.2";
pub const GCC_S: &str = "libgcc_s.so.1";

/// gconv modules for bundled-glibc mode: the Unicode family GLib and GStreamer convert through,
/// plus the common single-byte sets. UTF-8/ASCII/Latin-1 are built into libc itself.
pub const GCONV_MODULES: &[&str] = &[
    "UTF-16.so",
    "UTF-32.so",
    "UTF-7.so",
    "UNICODE.so",
    "ISO8859-15.so",
    "ISO8859-2.so",
    "CP1252.so",
    "IBM850.so",
];

/// NSS loads these with dlopen from next to libnss3 (libsrtp2 links NSS); without them SRTP
/// fails with "Could not initialize SRTP encoder (err: 5)".
pub const NSS_DLOPENED: &[&str] = &[
    "libsoftokn3.so",
    "libsoftokn3.chk",
    "libfreeblpriv3.so",
    "libfreeblpriv3.chk",
    "libfreebl3.so",
    "libfreebl3.chk",
];
pub const NSS_SONAME: &str = "libnss3.so";
pub const NSS_PACKAGE: &str = "libnss3";

/// Why a soname is not followed into the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Provided by `lib/glibc` (or the host's glibc).
    Glibc,
    /// Must come from the host: GPU drivers and GL vendor libraries.
    HostOnly,
}

/// Sonames that must never be bundled: driver libraries match the host kernel module and GPU,
/// and vendor GL libraries are chosen by the host's libglvnd.
pub fn host_only(soname: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "libcuda.so",
        "libnvidia-",
        "libnvcuvid.so",
        "libnvrtc",
        "libGLX_",
        "libEGL_",
        "libGLESv1_CM_",
        "libGLESv2_",
        "libvdpau_",
        "libigdgmm",
        "libmfx",
        "libvpl",
    ];
    PREFIXES.iter().any(|p| soname.starts_with(p))
        || soname.ends_with("_drv_video.so")
        || soname.ends_with("_dri.so")
}

/// Classifies a soname given the glibc set read from the libc6 package.
pub fn skip_reason(soname: &str, glibc_sonames: &[String]) -> Option<Skip> {
    if glibc_sonames.iter().any(|g| g == soname) {
        Some(Skip::Glibc)
    } else if host_only(soname) {
        Some(Skip::HostOnly)
    } else {
        None
    }
}

/// Where a closure library lands in the bundle.
pub fn library_dir(soname: &str) -> &'static str {
    if soname.starts_with("libstdc++.so") || soname.starts_with("libgcc_s.so") {
        layout::GCC
    } else {
        layout::LIB
    }
}

/// `selkies-gstreamer-portable-v<version>_amd64.tar.gz`, the legacy release name.
pub fn tarball_name(version: &str) -> String {
    format!("selkies-gstreamer-portable-v{version}_amd64.tar.gz")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glibc() -> Vec<String> {
        [
            "libc.so.6",
            "libm.so.6",
            "libpthread.so.0",
            "ld-linux-x86-64.so.2",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn driver_and_vendor_gl_libraries_stay_on_the_host() {
        for s in [
            "libcuda.so.1",
            "libnvidia-encode.so.1",
            "libnvcuvid.so.1",
            "libGLX_mesa.so.0",
            "libEGL_nvidia.so.0",
            "iHD_drv_video.so",
            "radeonsi_drv_video.so",
        ] {
            assert_eq!(skip_reason(s, &glibc()), Some(Skip::HostOnly), "{s}");
        }
    }

    #[test]
    fn glvnd_dispatch_and_ordinary_libraries_are_bundled() {
        for s in [
            "libGL.so.1",
            "libEGL.so.1",
            "libGLdispatch.so.0",
            "libva.so.2",
            "libx264.so.164",
        ] {
            assert_eq!(skip_reason(s, &glibc()), None, "{s}");
        }
    }

    #[test]
    fn glibc_sonames_come_from_the_glibc_dir() {
        assert_eq!(skip_reason("libpthread.so.0", &glibc()), Some(Skip::Glibc));
        assert_eq!(skip_reason("libc.so.6", &glibc()), Some(Skip::Glibc));
    }

    #[test]
    fn gcc_runtime_is_kept_apart() {
        assert_eq!(library_dir("libstdc++.so.6"), "lib/gcc");
        assert_eq!(library_dir("libgcc_s.so.1"), "lib/gcc");
        assert_eq!(library_dir("libgstreamer-1.0.so.0"), "lib");
    }

    #[test]
    fn plugin_list_covers_the_issue_and_has_no_duplicates() {
        for needed in [
            "x264",
            "openh264",
            "x265",
            "vpx",
            "aom",
            "opus",
            "ximagesrc",
            "pulseaudio",
            "webrtc",
            "nice",
            "dtls",
            "srtp",
            "sctp",
            "rtp",
            "rtpmanager",
            "videoconvertscale",
            "app",
            "nvcodec",
            "va",
        ] {
            let file = format!("libgst{needed}.so");
            assert!(PLUGINS.iter().any(|p| p.file == file), "{file} missing");
        }
        let mut files: Vec<_> = PLUGINS.iter().map(|p| p.file).collect();
        files.sort_unstable();
        files.dedup();
        assert_eq!(files.len(), PLUGINS.len());
    }

    #[test]
    fn release_name_matches_legacy() {
        assert_eq!(
            tarball_name("0.1.0"),
            "selkies-gstreamer-portable-v0.1.0_amd64.tar.gz"
        );
    }
}
