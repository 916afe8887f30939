//! AFL++ entry point for [`selkies_fuzz::sdp`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::sdp(data));
}
