//! The encoder catalogue: every video encoder the host can drive, as data.
//!
//! Each entry says which GStreamer element(s) implement it, how frames reach it (system memory,
//! CUDA or VA surfaces), which codec and RTP payloader follow it, and the low-latency property set of
//! the legacy host (docs/protocol.md §5.3/§5.4). Property values that depend on the bitrate or the
//! framerate are expressions, so a runtime `vb`/`_arg_fps` change re-applies exactly the properties
//! that depend on it, and nothing is duplicated between start-up and runtime paths.

pub use selkies_proto::encoder::VideoCodec as Codec;

/// What the media pipeline needs to know about a codec besides its name.
pub trait CodecMedia {
    /// Caps between the encoder and the payloader (§5.4).
    fn encoder_caps(self) -> &'static str;
    /// Payloader with its properties (all payloaders use mtu=1200).
    fn payloader(self) -> &'static str;
    fn payload_type(self) -> u32;
    /// RTP caps in front of webrtcbin; webrtcbin needs them to build the offer.
    fn rtp_caps(self) -> String;
}

impl CodecMedia for Codec {
    fn encoder_caps(self) -> &'static str {
        match self {
            Codec::H264 => "video/x-h264,profile=main,stream-format=byte-stream",
            Codec::H265 => "video/x-h265,profile=main,stream-format=byte-stream",
            Codec::Vp8 => "video/x-vp8",
            Codec::Vp9 => "video/x-vp9",
            Codec::Av1 => "video/x-av1,parsed=true,stream-format=obu-stream",
        }
    }

    fn payloader(self) -> &'static str {
        match self {
            Codec::H264 => "rtph264pay aggregate-mode=zero-latency config-interval=-1 mtu=1200",
            Codec::H265 => "rtph265pay aggregate-mode=zero-latency config-interval=-1 mtu=1200",
            Codec::Vp8 => "rtpvp8pay picture-id-mode=15-bit mtu=1200",
            Codec::Vp9 => "rtpvp9pay picture-id-mode=15-bit mtu=1200",
            Codec::Av1 => "rtpav1pay mtu=1200",
        }
    }

    fn payload_type(self) -> u32 {
        match self {
            Codec::H264 => 97,
            Codec::H265 => 100,
            Codec::Vp8 | Codec::Av1 => 96,
            Codec::Vp9 => 98,
        }
    }

    fn rtp_caps(self) -> String {
        format!(
            "application/x-rtp,media=video,clock-rate=90000,encoding-name={},payload={},\
             rtcp-fb-nack-pli=true,rtcp-fb-ccm-fir=true,rtcp-fb-x-gstreamer-fir-as-repair=true",
            self.encoding_name(),
            self.payload_type()
        )
    }
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
}

/// One encoder of the seed's table.
#[derive(Debug)]
pub struct EncoderSpec {
    /// The `--encoder` value.
    pub name: &'static str,
    /// Element factories that implement it, most preferred first.
    pub elements: &'static [&'static str],
    pub codec: Codec,
    pub upload: Upload,
    /// Properties, applied only where the element has them (element versions differ).
    pub props: &'static [(&'static str, Value)],
}

impl EncoderSpec {
    pub fn is_hardware(&self) -> bool {
        !matches!(self.upload, Upload::System(_))
    }
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

/// The whole catalogue, in the legacy flag order.
pub static CATALOGUE: &[EncoderSpec] = &[
    EncoderSpec {
        name: "nvh264enc",
        elements: &["nvcudah264enc", "nvh264enc"],
        codec: Codec::H264,
        upload: Upload::Cuda,
        props: NV_COMMON,
    },
    EncoderSpec {
        name: "nvh265enc",
        elements: &["nvcudah265enc", "nvh265enc"],
        codec: Codec::H265,
        upload: Upload::Cuda,
        props: NV_COMMON,
    },
    EncoderSpec {
        name: "nvav1enc",
        elements: &["nvcudaav1enc", "nvav1enc"],
        codec: Codec::Av1,
        upload: Upload::Cuda,
        props: NV_COMMON,
    },
    EncoderSpec {
        name: "vah264enc",
        elements: &["vah264enc", "vah264lpenc"],
        codec: Codec::H264,
        upload: Upload::Va,
        props: VA_COMMON,
    },
    EncoderSpec {
        name: "vah265enc",
        elements: &["vah265enc", "vah265lpenc"],
        codec: Codec::H265,
        upload: Upload::Va,
        props: VA_COMMON,
    },
    EncoderSpec {
        name: "vavp9enc",
        elements: &["vavp9enc", "vavp9lpenc"],
        codec: Codec::Vp9,
        upload: Upload::Va,
        props: VA_COMMON,
    },
    EncoderSpec {
        name: "vaav1enc",
        elements: &["vaav1enc", "vaav1lpenc"],
        codec: Codec::Av1,
        upload: Upload::Va,
        props: VA_COMMON,
    },
    EncoderSpec {
        name: "x264enc",
        elements: &["x264enc"],
        codec: Codec::H264,
        upload: Upload::System("NV12"),
        props: &[
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
    },
    EncoderSpec {
        name: "openh264enc",
        elements: &["openh264enc"],
        codec: Codec::H264,
        upload: Upload::System("I420"),
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
    EncoderSpec {
        name: "x265enc",
        elements: &["x265enc"],
        codec: Codec::H265,
        upload: Upload::System("I420"),
        props: &[
            (
                "option-string",
                Value::Lit("b-adapt=0:bframes=0:rc-lookahead=0:repeat-headers:pmode:wpp"),
            ),
            ("speed-preset", Value::Lit("ultrafast")),
            ("tune", Value::Lit("zerolatency")),
            ("bitrate", Value::Kbps),
            ("key-int-max", Value::Gop { infinite: INF }),
        ],
    },
    EncoderSpec {
        name: "vp8enc",
        elements: &["vp8enc"],
        codec: Codec::Vp8,
        upload: Upload::System("I420"),
        props: VPX,
    },
    EncoderSpec {
        name: "vp9enc",
        elements: &["vp9enc"],
        codec: Codec::Vp9,
        upload: Upload::System("I420"),
        props: VPX,
    },
    EncoderSpec {
        name: "svtav1enc",
        elements: &["svtav1enc"],
        codec: Codec::Av1,
        upload: Upload::System("I420"),
        props: &[
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
    },
    EncoderSpec {
        name: "av1enc",
        elements: &["av1enc"],
        codec: Codec::Av1,
        upload: Upload::System("I420"),
        props: &[
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
    },
    EncoderSpec {
        name: "rav1enc",
        elements: &["rav1enc"],
        codec: Codec::Av1,
        upload: Upload::System("I420"),
        props: &[
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
    },
];

/// Look up an encoder by its `--encoder` name.
pub fn spec(name: &str) -> Option<&'static EncoderSpec> {
    CATALOGUE.iter().find(|s| s.name == name)
}

/// The order in which encoders are tried when `requested` cannot be used: the requested one,
/// then the hardware encoders of the same codec, then the software encoders that every browser
/// decodes, cheapest first.
pub fn fallback_order(requested: &str) -> Vec<&'static EncoderSpec> {
    let mut order: Vec<&'static EncoderSpec> = Vec::new();
    let mut push = |s: &'static EncoderSpec| {
        if !order.iter().any(|o| o.name == s.name) {
            order.push(s);
        }
    };
    if let Some(req) = spec(requested) {
        push(req);
        for s in CATALOGUE.iter().filter(|s| s.codec == req.codec) {
            push(s);
        }
    }
    for name in ["x264enc", "openh264enc", "vp8enc", "vp9enc"] {
        if let Some(s) = spec(name) {
            push(s);
        }
    }
    order
}
