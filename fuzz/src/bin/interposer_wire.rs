//! AFL++ entry point for [`selkies_fuzz::interposer_wire`].

fn main() {
    afl::fuzz!(|data: &[u8]| selkies_fuzz::interposer_wire(data));
}
