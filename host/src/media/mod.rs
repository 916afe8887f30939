//! Media: the GStreamer caps and payloaders of each codec ([`catalogue`]; the encoders
//! themselves are `selkies_proto::encoder::registry`), the legacy rate formulas ([`rates`]), the
//! construction of the video and audio pipelines ([`pipeline`]), the audio source that
//! survives PulseAudio restarts ([`audio_source`]), property values fitted to their ranges
//! ([`props`]), idle-frame gating ([`idle`]), the playout-delay RTP header extension
//! ([`playout_delay`]) and the capture-time one ([`abs_capture_time`]), their ids ([`extmap`]),
//! the keyframe at connection ([`first_frame`]), repeat pictures for an unchanged screen
//! ([`repeat_frame`]), the offer text sent to the browser ([`offer`])
//! and the host's per-frame stage timings ([`stage_timing`], webrtcbin's send path:
//! [`wire_timing`]) and the screen capture
//! ([`xcapture`], its pooled frames [`frame_pool`]); the WebSocket transport's pipelines
//! ([`ws_pipeline`]); which transport's `opusenc` the host's audio-bitrate changes reach
//! ([`audio_owner`]); the audio silence gate ([`silence_gate`]) and the capture pause while
//! nothing plays ([`audio_idle`], asking PulseAudio through [`pulse_streams`]); `--congestion_control`: the
//! adaptive-bitrate policy ([`abr`]) and its GStreamer side ([`congestion`]); the header
//! extensions' shared GStreamer subclass ([`hdrext`]) and receive-only m-lines ([`receive`]).

pub mod abr;
pub mod abs_capture_time;
pub mod audio_idle;
pub mod audio_owner;
pub mod audio_source;
mod capture_plan;
mod capture_thread;
pub mod catalogue;
pub mod congestion;
pub mod extmap;
pub mod first_frame;
pub mod frame_pool;
pub mod hdrext;
pub mod idle;
pub mod offer;
pub mod pipeline;
pub mod playout_delay;
pub mod props;
pub mod pulse_streams;
pub mod receive;
pub mod repeat_frame;
pub mod silence_gate;
pub use selkies_proto::encoder::rates;
pub mod stage_timing;
pub mod video_stages;
pub mod wire_timing;
pub mod ws_pipeline;
pub mod x264;
pub mod xcapture;
