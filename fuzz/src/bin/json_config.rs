//! AFL++ entry point for [`selkies_fuzz::json_config`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::json_config(data));
}
