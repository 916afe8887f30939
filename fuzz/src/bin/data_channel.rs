//! AFL++ entry point for [`selkies_fuzz::data_channel`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::data_channel(data));
}
