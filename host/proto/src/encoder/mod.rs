//! The 15 legacy `--encoder` names (docs/protocol.md §1), the codec each produces, and the
//! [`registry`] of everything else known about them (elements, properties, fallback order,
//! launcher preference) with the [`rates`] formulas their properties are computed from.
//!
//! GStreamer-free: the host's media module instantiates what the registry names.

pub mod rates;
pub mod registry;

use std::fmt;
use std::str::FromStr;

/// RTP video codec of an encoder; drives SDP munging (§5.6) and payloader choice (§5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VideoCodec {
    H264,
    H265,
    Vp8,
    Vp9,
    Av1,
}

impl VideoCodec {
    /// The RTP `encoding-name`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "H264",
            VideoCodec::H265 => "H265",
            VideoCodec::Vp8 => "VP8",
            VideoCodec::Vp9 => "VP9",
            VideoCodec::Av1 => "AV1",
        }
    }

    /// Lower-case name, as the launcher's report and the VA/NVENC probes spell codecs.
    pub fn short_name(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "h265",
            VideoCodec::Vp8 => "vp8",
            VideoCodec::Vp9 => "vp9",
            VideoCodec::Av1 => "av1",
        }
    }
}

/// A legacy `--encoder` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoder {
    Nvh264enc,
    Nvh265enc,
    Nvav1enc,
    Vah264enc,
    Vah265enc,
    Vavp9enc,
    Vaav1enc,
    X264enc,
    Openh264enc,
    X265enc,
    Vp8enc,
    Vp9enc,
    Svtav1enc,
    Av1enc,
    Rav1enc,
}

impl Encoder {
    /// Every encoder, in the legacy documentation order.
    pub const ALL: [Encoder; 15] = [
        Encoder::Nvh264enc,
        Encoder::Nvh265enc,
        Encoder::Nvav1enc,
        Encoder::Vah264enc,
        Encoder::Vah265enc,
        Encoder::Vavp9enc,
        Encoder::Vaav1enc,
        Encoder::X264enc,
        Encoder::Openh264enc,
        Encoder::X265enc,
        Encoder::Vp8enc,
        Encoder::Vp9enc,
        Encoder::Svtav1enc,
        Encoder::Av1enc,
        Encoder::Rav1enc,
    ];

    /// The legacy flag spelling, also sent to the browser as `system encoder,<name>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoder::Nvh264enc => "nvh264enc",
            Encoder::Nvh265enc => "nvh265enc",
            Encoder::Nvav1enc => "nvav1enc",
            Encoder::Vah264enc => "vah264enc",
            Encoder::Vah265enc => "vah265enc",
            Encoder::Vavp9enc => "vavp9enc",
            Encoder::Vaav1enc => "vaav1enc",
            Encoder::X264enc => "x264enc",
            Encoder::Openh264enc => "openh264enc",
            Encoder::X265enc => "x265enc",
            Encoder::Vp8enc => "vp8enc",
            Encoder::Vp9enc => "vp9enc",
            Encoder::Svtav1enc => "svtav1enc",
            Encoder::Av1enc => "av1enc",
            Encoder::Rav1enc => "rav1enc",
        }
    }

    /// The codec the encoder emits.
    pub fn codec(self) -> VideoCodec {
        match self {
            Encoder::Nvh264enc | Encoder::Vah264enc | Encoder::X264enc | Encoder::Openh264enc => {
                VideoCodec::H264
            }
            Encoder::Nvh265enc | Encoder::Vah265enc | Encoder::X265enc => VideoCodec::H265,
            Encoder::Vp8enc => VideoCodec::Vp8,
            Encoder::Vavp9enc | Encoder::Vp9enc => VideoCodec::Vp9,
            Encoder::Nvav1enc
            | Encoder::Vaav1enc
            | Encoder::Svtav1enc
            | Encoder::Av1enc
            | Encoder::Rav1enc => VideoCodec::Av1,
        }
    }

    /// Everything the registry knows about this encoder.
    pub fn spec(self) -> &'static registry::EncoderSpec {
        // REGISTRY is in declaration order (unit-tested), so the discriminant is the index.
        &registry::REGISTRY[self as usize]
    }

    pub fn family(self) -> registry::Family {
        self.spec().family()
    }

    /// NVENC encoders (the only ones for which the legacy host sends `gpu_stats`).
    pub fn is_nvidia(self) -> bool {
        self.family() == registry::Family::Nvenc
    }

    /// VA-API encoders.
    pub fn is_vaapi(self) -> bool {
        self.family() == registry::Family::Va
    }
}

impl fmt::Display for Encoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An encoder name outside the legacy list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown encoder {0:?}")]
pub struct UnknownEncoder(pub String);

impl FromStr for Encoder {
    type Err = UnknownEncoder;

    /// Case-insensitive, like the legacy JSON overlay which lower-cases the name.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Encoder::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownEncoder(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_reference_list() {
        let reference = "nvh264enc nvh265enc nvav1enc vah264enc vah265enc vavp9enc vaav1enc \
                         x264enc openh264enc x265enc vp8enc vp9enc svtav1enc av1enc rav1enc";
        let names: Vec<&str> = Encoder::ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.join(" "), reference);
        for e in Encoder::ALL {
            assert_eq!(e.as_str().parse::<Encoder>(), Ok(e));
        }
        assert_eq!("X264ENC".parse::<Encoder>(), Ok(Encoder::X264enc));
        assert!("h264".parse::<Encoder>().is_err());
    }

    #[test]
    fn classification() {
        assert_eq!(Encoder::Openh264enc.codec(), VideoCodec::H264);
        assert_eq!(Encoder::Vavp9enc.codec(), VideoCodec::Vp9);
        assert_eq!(Encoder::Rav1enc.codec(), VideoCodec::Av1);
        assert!(Encoder::Nvav1enc.is_nvidia() && !Encoder::Nvav1enc.is_vaapi());
        assert!(Encoder::Vaav1enc.is_vaapi());
    }
}
