//! The real libc functions behind each hook, resolved once with `dlsym(RTLD_NEXT)` and cached.
//!
//! Resolution is lazy (first call) rather than in a constructor because another preloaded
//! library's constructor may call `open` before ours runs.

use selkies_interposer_rt::hooks::{
    CloseFn, FopenFn, IoctlFn, OpenFn, OpenatFn, ReadChkFn, ReadFn,
};

selkies_interposer_rt::reals! {
    OPEN: c"open" => OpenFn;
    OPEN64: c"open64" => OpenFn;
    OPEN_2: c"__open_2" => OpenFn;
    OPEN64_2: c"__open64_2" => OpenFn;
    OPENAT: c"openat" => OpenatFn;
    OPENAT64: c"openat64" => OpenatFn;
    OPENAT_2: c"__openat_2" => OpenatFn;
    OPENAT64_2: c"__openat64_2" => OpenatFn;
    FOPEN: c"fopen" => FopenFn;
    FOPEN64: c"fopen64" => FopenFn;
    CLOSE: c"close" => CloseFn;
    IOCTL: c"ioctl" => IoctlFn;
    READ: c"read" => ReadFn;
    READ_CHK: c"__read_chk" => ReadChkFn;
}
