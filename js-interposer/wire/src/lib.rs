//! selkies-js-wire (work in progress).
