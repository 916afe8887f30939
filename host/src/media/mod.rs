//! Media: the encoder catalogue ([`catalogue`]), the legacy rate formulas ([`rates`]), the
//! construction of the video and audio pipelines ([`pipeline`]), the audio source that
//! survives PulseAudio restarts ([`audio_source`]), property values fitted to their ranges ([`props`]) and idle-frame gating ([`idle`]).

pub mod audio_source;
pub mod catalogue;
pub mod idle;
pub mod pipeline;
pub mod props;
pub mod rates;
