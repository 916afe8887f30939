//! AFL++ entry point for [`selkies_fuzz::signalling`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::signalling(data));
}
