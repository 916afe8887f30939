//! Media: the encoder catalogue ([`catalogue`]), the legacy rate formulas ([`rates`]), the
//! construction of the video and audio pipelines ([`pipeline`]) and idle-frame gating ([`idle`]).

pub mod catalogue;
pub mod idle;
pub mod pipeline;
pub mod props;
pub mod rates;
