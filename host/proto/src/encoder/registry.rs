//! The encoder registry: every fact about a video encoder that the host and the launcher need,
//! keyed by [`Encoder`] and free of GStreamer so both can use it.
//!
//! Each entry says which GStreamer element factories implement the encoder, which plugin file
//! provides them, how frames reach it (system memory, CUDA or VA surfaces, which also names its
//! hardware family), which codec it emits, and the low-latency property set of the legacy host
//! (docs/protocol.md §5.3/§5.4). Property values that depend on the bitrate or the framerate are
//! expressions ([`Value`], rendered by [`super::rates::RateParams`]), so a runtime `vb`/`_arg_fps`
//! change re-applies exactly the properties that depend on it. The orders in which the host
//! falls back and the launcher picks a default live here too; the host's media module only
//! instantiates what this table names.

use serde::Serialize;

use super::{Encoder, VideoCodec};

/// The hardware family of an encoder, as the launcher reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Nvenc,
    Va,
    Software,
}

/// How raw frames are brought into the encoder's memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upload {
    /// `videoconvert` to this raw format in system memory.
    System(&'static str),
    /// `cudaupload ! cudaconvert` to NV12 CUDA memory.
    Cuda,
    /// `vapostproc` to NV12 VA memory.
    Va,
}

/// A property value, computed from the current rate parameters when applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// Literal text, parsed by GStreamer according to the property's type.
    Lit(&'static str),
    /// min(4, max(1, cpus - 1)): the legacy thread count for x264/openh264/convert.
    Threads,
    /// min(cap, max(1, cpus - 1)).
    ThreadsCapped(u32),
    /// Effective bitrate B in kbit/s.
    Kbps,
    /// Effective bitrate B in bit/s.
    Bps,
    /// One frame's worth of bits × k, in kbit.
    VbvKbit,
    /// One frame's duration × k, in ms.
    VbvMs,
    /// GOP length in frames; `infinite` is used for an infinite GOP.
    Gop { infinite: &'static str },
}

impl Value {
    pub fn depends_on_bitrate(self) -> bool {
        matches!(self, Value::Kbps | Value::Bps | Value::VbvKbit)
    }

    pub fn depends_on_framerate(self) -> bool {
        matches!(self, Value::VbvKbit | Value::VbvMs | Value::Gop { .. })
    }

    /// Bit/s per kbit/s of a bitrate property; None for values that are not a bitrate.
    pub fn bits_per_kbit(self) -> Option<f64> {
        match self {
            Value::Kbps => Some(1.0),
            Value::Bps => Some(1000.0),
            _ => None,
        }
    }
}

/// One encoder of the registry.
#[derive(Debug)]
pub struct EncoderSpec {
    pub encoder: Encoder,
    /// Element factories that implement it, most preferred first.
    pub elements: &'static [&'static str],
    /// The GStreamer plugin (`libgst<plugin>.so`) that provides the elements.
    pub plugin: &'static str,
    pub upload: Upload,
    /// Caps after the encoder when they differ from the codec's usual ones.
    pub caps_override: Option<&'static str>,
    /// Properties, applied only where the element has them (element versions differ).
    pub props: &'static [(&'static str, Value)],
}

impl EncoderSpec {
    pub fn name(&self) -> &'static str {
        self.encoder.as_str()
    }

    pub fn codec(&self) -> VideoCodec {
        self.encoder.codec()
    }

    pub fn family(&self) -> Family {
        match self.upload {
            Upload::Cuda => Family::Nvenc,
            Upload::Va => Family::Va,
            Upload::System(_) => Family::Software,
        }
    }

    pub fn is_hardware(&self) -> bool {
        self.family() != Family::Software
    }

    /// Element factory names to try, the per-device names first when `gpu_id` > 0
    /// (`nvcudah264enc` → `nvcudah264device1enc`, `vah264enc` → `varenderD129h264enc`).
    pub fn element_candidates(&self, gpu_id: u32) -> Vec<String> {
        let mut out = Vec::new();
        if gpu_id > 0 {
            for el in self.elements {
                let device_name = match self.upload {
                    Upload::Cuda => el
                        .strip_prefix("nvcuda")
                        .map(|rest| ("nvcuda", rest))
                        .or_else(|| el.strip_prefix("nv").map(|rest| ("nv", rest)))
                        .map(|(prefix, rest)| {
                            let codec = rest.trim_end_matches("enc");
                            format!("{prefix}{codec}device{gpu_id}enc")
                        }),
                    Upload::Va => el
                        .strip_prefix("va")
                        .map(|rest| format!("{}{rest}", va_device_prefix(gpu_id))),
                    Upload::System(_) => None,
                };
                out.extend(device_name);
            }
        }
        out.extend(self.elements.iter().map(|s| s.to_string()));
        out
    }

    /// Elements besides the encoder that the pipeline needs, so a half-installed stack is
    /// skipped early.
    pub fn companions(&self) -> &'static [&'static str] {
        match (self.upload, self.codec()) {
            (Upload::Cuda, VideoCodec::Av1) => &["cudaupload", "cudaconvert", "rtpav1pay"],
            (Upload::Cuda, _) => &["cudaupload", "cudaconvert"],
            (Upload::Va, VideoCodec::Av1) => &["vapostproc", "rtpav1pay"],
            (Upload::Va, _) => &["vapostproc"],
            (Upload::System(_), VideoCodec::Av1) => &["videoconvert", "rtpav1pay"],
            (Upload::System(_), _) => &["videoconvert"],
        }
    }
}

/// `varenderD<128+gpu>`: the prefix of the VA elements bound to render node `gpu_id`.
pub fn va_device_prefix(gpu_id: u32) -> String {
    format!("varenderD{}", 128 + gpu_id)
}

/// Software encoders every browser decodes, cheapest first: the tail of every fallback order.
pub const SOFTWARE_FALLBACK: [Encoder; 4] = [
    Encoder::X264enc,
    Encoder::Openh264enc,
    Encoder::Vp8enc,
    Encoder::Vp9enc,
];

/// The launcher's default when the user named no encoder: NVENC > VA-API > x264enc, H.264
/// first (every browser decodes it), then the other software encoders the bundle has.
pub const LAUNCHER_PREFERENCE: [Encoder; 5] = [
    Encoder::Nvh264enc,
    Encoder::Vah264enc,
    Encoder::X264enc,
    Encoder::Openh264enc,
    Encoder::Vp8enc,
];

/// The order in which encoders are tried when `requested` cannot be used: the requested one,
/// then the hardware encoders of the same codec, then [`SOFTWARE_FALLBACK`].
pub fn fallback_order(requested: Encoder) -> Vec<Encoder> {
    let mut order = vec![requested];
    let same_codec = Encoder::ALL
        .into_iter()
        .filter(|e| e.codec() == requested.codec());
    for e in same_codec.chain(SOFTWARE_FALLBACK) {
        if !order.contains(&e) {
            order.push(e);
        }
    }
    order
}

const INF: &str = "2147483647";

const NV_COMMON: &[(&str, Value)] = &[
    ("bitrate", Value::Kbps),
    ("rate-control", Value::Lit("cbr")),
    ("rc-mode", Value::Lit("cbr")),
    ("gop-size", Value::Gop { infinite: "-1" }),
    ("strict-gop", Value::Lit("true")),
    ("aud", Value::Lit("false")),
    ("b-adapt", Value::Lit("false")),
    ("rc-lookahead", Value::Lit("0")),
    ("vbv-buffer-size", Value::VbvKbit),
    ("b-frames", Value::Lit("0")),
    ("bframes", Value::Lit("0")),
    ("zero-reorder-delay", Value::Lit("true")),
    ("zerolatency", Value::Lit("true")),
    ("preset", Value::Lit("low-latency-hq")),
];

const VA_COMMON: &[(&str, Value)] = &[
    ("rate-control", Value::Lit("cbr")),
    ("bitrate", Value::Kbps),
    ("cpb-size", Value::VbvKbit),
    ("target-usage", Value::Lit("6")),
    ("key-int-max", Value::Gop { infinite: "1024" }),
    ("b-frames", Value::Lit("0")),
    ("ref-frames", Value::Lit("1")),
    ("mbbrc", Value::Lit("disabled")),
    ("aud", Value::Lit("false")),
];

const VPX: &[(&str, Value)] = &[
    ("threads", Value::ThreadsCapped(16)),
    ("buffer-initial-size", Value::VbvMs),
    ("buffer-optimal-size", Value::VbvMs),
    ("buffer-size", Value::VbvMs),
    ("cpu-used", Value::Lit("-16")),
    ("deadline", Value::Lit("1")),
    ("end-usage", Value::Lit("cbr")),
    ("error-resilient", Value::Lit("default")),
    ("keyframe-mode", Value::Lit("disabled")),
    ("keyframe-max-dist", Value::Gop { infinite: INF }),
    ("lag-in-frames", Value::Lit("0")),
    ("max-intra-bitrate", Value::Lit("250")),
    ("multipass-mode", Value::Lit("first-pass")),
    ("overshoot", Value::Lit("10")),
    ("undershoot", Value::Lit("25")),
    ("static-threshold", Value::Lit("0")),
    ("tuning", Value::Lit("psnr")),
    ("target-bitrate", Value::Bps),
];

const fn hw(
    encoder: Encoder,
    elements: &'static [&'static str],
    plugin: &'static str,
    upload: Upload,
    props: &'static [(&'static str, Value)],
) -> EncoderSpec {
    EncoderSpec {
        encoder,
        elements,
        plugin,
        upload,
        caps_override: None,
        props,
    }
}

/// The whole registry, in [`Encoder::ALL`] order (a unit test holds it there, which makes
/// [`Encoder::spec`] an index).
pub static REGISTRY: [EncoderSpec; 15] = [
    hw(
        Encoder::Nvh264enc,
        &["nvcudah264enc", "nvh264enc"],
        "nvcodec",
        Upload::Cuda,
        NV_COMMON,
    ),
    hw(
        Encoder::Nvh265enc,
        &["nvcudah265enc", "nvh265enc"],
        "nvcodec",
        Upload::Cuda,
        NV_COMMON,
    ),
    hw(
        Encoder::Nvav1enc,
        &["nvcudaav1enc", "nvav1enc"],
        "nvcodec",
        Upload::Cuda,
        NV_COMMON,
    ),
    hw(
        Encoder::Vah264enc,
        &["vah264enc", "vah264lpenc"],
        "va",
        Upload::Va,
        VA_COMMON,
    ),
    hw(
        Encoder::Vah265enc,
        &["vah265enc", "vah265lpenc"],
        "va",
        Upload::Va,
        VA_COMMON,
    ),
    hw(
        Encoder::Vavp9enc,
        &["vavp9enc", "vavp9lpenc"],
        "va",
        Upload::Va,
        VA_COMMON,
    ),
    hw(
        Encoder::Vaav1enc,
        &["vaav1enc", "vaav1lpenc"],
        "va",
        Upload::Va,
        VA_COMMON,
    ),
    hw(
        Encoder::X264enc,
        // The host's own element on libx264 first (host/src/media/x264), registered only
        // where libx264 build 164 loads; GStreamer's x264enc otherwise.
        &["selkiesx264enc", "x264enc"],
        "x264",
        Upload::System("NV12"),
        &[
            ("threads", Value::Threads),
            ("sliced-threads", Value::Lit("true")),
            ("speed-preset", Value::Lit("ultrafast")),
            ("tune", Value::Lit("zerolatency")),
            ("pass", Value::Lit("cbr")),
            ("bitrate", Value::Kbps),
            ("vbv-buf-capacity", Value::VbvMs),
            ("key-int-max", Value::Gop { infinite: INF }),
            ("bframes", Value::Lit("0")),
            ("b-adapt", Value::Lit("false")),
            ("rc-lookahead", Value::Lit("0")),
            ("sync-lookahead", Value::Lit("0")),
            ("mb-tree", Value::Lit("false")),
            ("dct8x8", Value::Lit("false")),
            ("aud", Value::Lit("false")),
            ("insert-vui", Value::Lit("true")),
            ("byte-stream", Value::Lit("true")),
        ],
    ),
    EncoderSpec {
        encoder: Encoder::Openh264enc,
        elements: &["openh264enc"],
        plugin: "openh264",
        upload: Upload::System("I420"),
        // openh264 only produces (constrained) baseline; forcing main would fail negotiation.
        caps_override: Some("video/x-h264,stream-format=byte-stream,alignment=au"),
        props: &[
            ("usage-type", Value::Lit("screen")),
            ("complexity", Value::Lit("low")),
            ("rate-control", Value::Lit("bitrate")),
            ("bitrate", Value::Bps),
            ("gop-size", Value::Gop { infinite: INF }),
            ("multi-thread", Value::Threads),
            ("slice-mode", Value::Lit("n-slices")),
            ("num-slices", Value::Threads),
            ("adaptive-quantization", Value::Lit("false")),
            ("background-detection", Value::Lit("false")),
            ("enable-frame-skip", Value::Lit("false")),
            ("scene-change-detection", Value::Lit("false")),
        ],
    },
    hw(
        Encoder::X265enc,
        &["x265enc"],
        "x265",
        Upload::System("I420"),
        &[
            (
                "option-string",
                Value::Lit("b-adapt=0:bframes=0:rc-lookahead=0:repeat-headers:pmode:wpp"),
            ),
            ("speed-preset", Value::Lit("ultrafast")),
            ("tune", Value::Lit("zerolatency")),
            ("bitrate", Value::Kbps),
            ("key-int-max", Value::Gop { infinite: INF }),
        ],
    ),
    hw(
        Encoder::Vp8enc,
        &["vp8enc"],
        "vpx",
        Upload::System("I420"),
        VPX,
    ),
    hw(
        Encoder::Vp9enc,
        &["vp9enc"],
        "vpx",
        Upload::System("I420"),
        VPX,
    ),
    hw(
        Encoder::Svtav1enc,
        &["svtav1enc"],
        "svtav1",
        Upload::System("I420"),
        &[
            ("intra-period-length", Value::Gop { infinite: "-1" }),
            ("preset", Value::Lit("10")),
            ("logical-processors", Value::ThreadsCapped(24)),
            (
                "parameters-string",
                Value::Lit(
                    "rc=2:fast-decode=1:buf-initial-sz=100:buf-optimal-sz=120:maxsection-pct=250:lookahead=0:pred-struct=1",
                ),
            ),
            ("target-bitrate", Value::Kbps),
        ],
    ),
    hw(
        Encoder::Av1enc,
        &["av1enc"],
        "aom",
        Upload::System("I420"),
        &[
            ("cpu-used", Value::Lit("10")),
            ("end-usage", Value::Lit("cbr")),
            ("keyframe-max-dist", Value::Gop { infinite: INF }),
            ("lag-in-frames", Value::Lit("0")),
            ("overshoot-pct", Value::Lit("10")),
            ("row-mt", Value::Lit("true")),
            ("usage-profile", Value::Lit("realtime")),
            ("tile-columns", Value::Lit("2")),
            ("tile-rows", Value::Lit("2")),
            ("threads", Value::ThreadsCapped(24)),
            ("target-bitrate", Value::Kbps),
        ],
    ),
    hw(
        Encoder::Rav1enc,
        &["rav1enc"],
        "rav1e",
        Upload::System("I420"),
        &[
            ("low-latency", Value::Lit("true")),
            (
                "max-key-frame-interval",
                Value::Gop {
                    infinite: "715827882",
                },
            ),
            ("rdo-lookahead-frames", Value::Lit("0")),
            ("reservoir-frame-delay", Value::Lit("12")),
            ("speed-preset", Value::Lit("10")),
            ("tiles", Value::Lit("16")),
            ("threads", Value::ThreadsCapped(24)),
            ("bitrate", Value::Bps),
        ],
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_enum_order_so_spec_is_an_index() {
        for (i, e) in Encoder::ALL.into_iter().enumerate() {
            assert_eq!(REGISTRY[i].encoder, e);
            assert_eq!(e.spec().encoder, e);
            assert_eq!(e as usize, i);
        }
    }

    #[test]
    fn families_follow_the_upload_path() {
        assert_eq!(Encoder::Nvav1enc.spec().family(), Family::Nvenc);
        assert_eq!(Encoder::Vavp9enc.spec().family(), Family::Va);
        assert_eq!(Encoder::Rav1enc.spec().family(), Family::Software);
        let nv: Vec<_> = Encoder::ALL.into_iter().filter(|e| e.is_nvidia()).collect();
        assert_eq!(
            nv,
            [Encoder::Nvh264enc, Encoder::Nvh265enc, Encoder::Nvav1enc]
        );
    }

    #[test]
    fn device_specific_element_names_come_first() {
        assert_eq!(
            Encoder::Nvh264enc.spec().element_candidates(1),
            [
                "nvcudah264device1enc",
                "nvh264device1enc",
                "nvcudah264enc",
                "nvh264enc"
            ]
        );
        assert_eq!(
            Encoder::Vah264enc.spec().element_candidates(2)[0],
            "varenderD130h264enc"
        );
        assert_eq!(
            Encoder::X264enc.spec().element_candidates(3),
            ["selkiesx264enc", "x264enc"]
        );
        assert_eq!(Encoder::Nvh264enc.spec().element_candidates(0).len(), 2);
    }

    #[test]
    fn fallback_goes_same_codec_then_software() {
        assert_eq!(
            fallback_order(Encoder::Nvh265enc),
            [
                Encoder::Nvh265enc,
                Encoder::Vah265enc,
                Encoder::X265enc,
                Encoder::X264enc,
                Encoder::Openh264enc,
                Encoder::Vp8enc,
                Encoder::Vp9enc
            ]
        );
        assert_eq!(
            fallback_order(Encoder::X264enc)[..3],
            [Encoder::X264enc, Encoder::Nvh264enc, Encoder::Vah264enc]
        );
    }

    #[test]
    fn only_openh264_overrides_caps_and_bitrate_props_convert() {
        let overriding: Vec<_> = REGISTRY
            .iter()
            .filter(|s| s.caps_override.is_some())
            .map(|s| s.encoder)
            .collect();
        assert_eq!(overriding, [Encoder::Openh264enc]);
        assert_eq!(Value::Bps.bits_per_kbit(), Some(1000.0));
        assert_eq!(Value::VbvKbit.bits_per_kbit(), None);
    }
}
