//! Media: the GStreamer caps and payloaders of each codec ([`catalogue`]; the encoders
//! themselves are `selkies_proto::encoder::registry`), the legacy rate formulas ([`rates`]), the
//! construction of the video and audio pipelines ([`pipeline`]), the audio source that
//! survives PulseAudio restarts ([`audio_source`]), property values fitted to their ranges
//! ([`props`]), idle-frame gating ([`idle`]), the playout-delay RTP header extension
//! ([`playout_delay`]), the offer text sent to the browser ([`offer`]) and the host's
//! per-frame stage timings ([`stage_timing`]) and the screen capture ([`xcapture`]); the
//! WebSocket transport's pipelines ([`ws_pipeline`]); which transport's `opusenc` the host's
//! audio-bitrate changes reach ([`audio_owner`]); the audio silence gate ([`silence_gate`]).

pub mod audio_owner;
pub mod audio_source;
pub mod catalogue;
pub mod idle;
pub mod offer;
pub mod pipeline;
pub mod playout_delay;
pub mod props;
pub mod silence_gate;
pub use selkies_proto::encoder::rates;
pub mod stage_timing;
pub mod ws_pipeline;
pub mod xcapture;
