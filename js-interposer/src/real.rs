//! The real libc functions behind each hook, resolved once with `dlsym(RTLD_NEXT)` and cached.
//!
//! Resolution is lazy (first call) rather than in a constructor because another preloaded
//! library's constructor may call `open` before ours runs.

selkies_interposer_rt::reals! { fd_hooks; }
