//! LD_PRELOAD joystick interposer (work in progress).
