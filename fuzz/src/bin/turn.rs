//! AFL++ entry point for [`selkies_fuzz::turn`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::turn(data));
}
