//! AFL++ entry point for [`selkies_fuzz::rtc_config`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::rtc_config(data));
}
