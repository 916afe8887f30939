//! The GStreamer side of the encoder registry (`selkies_proto::encoder::registry`): the caps,
//! payloader and RTP caps of each codec, in GStreamer's own syntax (docs/protocol.md §5.4).
//! Which elements, properties and fallbacks an encoder has is the registry's; the pipeline
//! only instantiates them.

pub use selkies_proto::encoder::VideoCodec as Codec;
pub use selkies_proto::encoder::registry::{EncoderSpec, Upload, Value};

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

/// Caps between `spec`'s encoder and its payloader.
pub fn encoder_caps(spec: &EncoderSpec) -> &'static str {
    spec.caps_override
        .unwrap_or_else(|| spec.codec().encoder_caps())
}
