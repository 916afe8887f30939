//! Media: the encoder catalogue ([`catalogue`]), the legacy rate formulas ([`rates`]) and the
//! construction of the video and audio pipelines ([`pipeline`]).

pub mod catalogue;
pub mod pipeline;
pub mod rates;
