//! libx264 (ABI build 164), opened at run time with `dlopen`, and a safe encoder on top of it.
//!
//! The host links no libx264: the tarball ships the one GStreamer's `x264enc` uses, and a host
//! without it still runs its other encoders. The library's entry point carries its ABI number
//! (`x264_encoder_open_164`), so finding that symbol is the check that the structures below
//! match the library; any other build is reported as unavailable and the host uses `x264enc`.
//!
//! Only the fields this encoder touches are laid out here (their offsets were read from
//! `x264.h` of build 164 and are checked at compile time); everything else in
//! `x264_param_t` is set by name through `x264_param_parse`, which is stable across builds.
//! `x264_picture_init` fills in the rest of a picture.

use std::ffi::{CString, c_char, c_int, c_void};
use std::sync::OnceLock;

use libloading::Library;
use selkies_x11::yuv::{FrameFormat, FrameLayout};

/// The library's file name; the ABI number is part of it.
const SONAME: &str = "libx264.so.164";
/// `x264_encoder_open` is exported under its build number.
const OPEN_SYMBOL: &[u8] = b"x264_encoder_open_164\0";

/// `sizeof(x264_param_t)` in build 164 is 1024; the buffer is larger so that a mistake in this
/// file cannot make x264 write past it.
const PARAM_BYTES: usize = 2048;
const PARAM_WIDTH: usize = 28;
const PARAM_HEIGHT: usize = 32;
const PARAM_CSP: usize = 36;
const PARAM_MB_INFO: usize = 628;
const PARAM_MB_INFO_UPDATE: usize = 632;

const CSP_I420: c_int = 0x0002;
const CSP_NV12: c_int = 0x0004;
/// `X264_TYPE_IDR`.
const TYPE_IDR: c_int = 1;
/// `X264_TYPE_AUTO`.
const TYPE_AUTO: c_int = 0;
/// The frame QPs the encoder is opened to accept (see [`options`]).
pub const QP_RANGE: (u8, u8) = (20, 60);
/// `X264_MBINFO_CONSTANT`: the macroblock is unchanged since the previous frame.
pub const MBINFO_CONSTANT: u8 = 1;

#[repr(C)]
struct Image {
    csp: c_int,
    planes: c_int,
    stride: [c_int; 4],
    plane: [*mut u8; 4],
}

#[repr(C)]
struct Properties {
    quant_offsets: *mut f32,
    quant_offsets_free: *mut c_void,
    mb_info: *mut u8,
    mb_info_free: *mut c_void,
}

/// `x264_picture_t`, 240 bytes in build 164; the fields after `prop.mb_info_free` are opaque.
#[repr(C)]
struct Picture {
    kind: c_int,
    qpplus1: c_int,
    pic_struct: c_int,
    keyframe: c_int,
    pts: i64,
    dts: i64,
    param: *mut c_void,
    img: Image,
    prop: Properties,
    rest: [u64; 14],
}

/// `x264_nal_t`; the NAL units of one frame lie back to back from the first one's payload.
#[repr(C)]
struct Nal {
    ref_idc: c_int,
    kind: c_int,
    long_startcode: c_int,
    first_mb: c_int,
    last_mb: c_int,
    payload_len: c_int,
    payload: *mut u8,
    padding: c_int,
}

const _: () = {
    assert!(std::mem::size_of::<Picture>() == 240);
    assert!(std::mem::offset_of!(Picture, pts) == 16);
    assert!(std::mem::offset_of!(Picture, img) == 40);
    assert!(std::mem::offset_of!(Picture, prop) == 96);
    assert!(std::mem::offset_of!(Picture, prop) + std::mem::offset_of!(Properties, mb_info) == 112);
    assert!(std::mem::size_of::<Nal>() == 40);
    assert!(std::mem::offset_of!(Nal, payload) == 24);
};

type ParamDefaultPreset = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> c_int;
type ParamParse = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> c_int;
type EncoderOpen = unsafe extern "C" fn(*mut c_void) -> *mut c_void;
type EncoderEncode = unsafe extern "C" fn(
    *mut c_void,
    *mut *mut Nal,
    *mut c_int,
    *mut Picture,
    *mut Picture,
) -> c_int;
type EncoderClose = unsafe extern "C" fn(*mut c_void);
type PictureInit = unsafe extern "C" fn(*mut Picture);

struct Api {
    default_preset: ParamDefaultPreset,
    parse: ParamParse,
    open: EncoderOpen,
    encode: EncoderEncode,
    close: EncoderClose,
    picture_init: PictureInit,
    /// Keeps the functions above mapped for the life of the process.
    _lib: Library,
}

/// Why the encoder cannot run.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum X264Error {
    #[error("libx264 build 164 is not available: {0}")]
    Unavailable(String),
    #[error("libx264 refused option {name}={value}")]
    Option { name: String, value: String },
    #[error("libx264 could not open a {width}x{height} encoder")]
    Open { width: u32, height: u32 },
    #[error("the frame holds {got} bytes, a {width}x{height} frame needs {need}")]
    FrameSize {
        got: usize,
        need: usize,
        width: usize,
        height: usize,
    },
    #[error("libx264 failed to encode a frame")]
    Encode,
}

fn load() -> Result<Api, String> {
    // SAFETY: loading libx264 runs no initialisers with preconditions.
    let lib = unsafe { Library::new(SONAME) }.map_err(|e| e.to_string())?;
    // SAFETY: each symbol is declared with the signature x264.h of build 164 gives it, and the
    // presence of `x264_encoder_open_164` proves the library is that build.
    unsafe {
        Ok(Api {
            default_preset: *lib
                .get::<ParamDefaultPreset>(b"x264_param_default_preset\0")
                .map_err(|e| e.to_string())?,
            parse: *lib
                .get::<ParamParse>(b"x264_param_parse\0")
                .map_err(|e| e.to_string())?,
            open: *lib
                .get::<EncoderOpen>(OPEN_SYMBOL)
                .map_err(|e| e.to_string())?,
            encode: *lib
                .get::<EncoderEncode>(b"x264_encoder_encode\0")
                .map_err(|e| e.to_string())?,
            close: *lib
                .get::<EncoderClose>(b"x264_encoder_close\0")
                .map_err(|e| e.to_string())?,
            picture_init: *lib
                .get::<PictureInit>(b"x264_picture_init\0")
                .map_err(|e| e.to_string())?,
            _lib: lib,
        })
    }
}

fn api() -> Result<&'static Api, X264Error> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(load)
        .as_ref()
        .map_err(|e| X264Error::Unavailable(e.clone()))
}

/// Whether libx264 build 164 can be loaded (the reason when not).
pub fn available() -> Result<(), X264Error> {
    api().map(|_| ())
}

/// What an encoder is opened with.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub layout: FrameLayout,
    pub fps_num: u32,
    pub fps_den: u32,
    /// Slice threads (x264 `threads` with `sliced-threads`: each frame is done when `encode`
    /// returns, which the per-frame hints and QP rely on).
    pub threads: u32,
    /// The caps' colorimetry ("bt709", "bt601"), written into the VUI.
    pub colorimetry: Option<String>,
}

/// x264 options for a colorimetry the capture announces.
fn colour_options(colorimetry: Option<&str>) -> &'static [(&'static str, &'static str)] {
    match colorimetry {
        Some("bt709") => &[
            ("colorprim", "bt709"),
            ("transfer", "bt709"),
            ("colormatrix", "bt709"),
            ("fullrange", "off"),
        ],
        Some("bt601") => &[
            ("colorprim", "smpte170m"),
            ("transfer", "smpte170m"),
            ("colormatrix", "smpte170m"),
            ("fullrange", "off"),
        ],
        _ => &[],
    }
}

/// The options the encoder is opened with, in order (x264's names, as its command line takes
/// them): low-latency, CAVLC, one reference, no lookahead, constant QP (the QP of each frame is
/// chosen by `rate.rs`), headers before every keyframe.
pub fn options(s: &Settings) -> Vec<(&'static str, String)> {
    let mut opts: Vec<(&'static str, String)> = vec![
        ("fps", format!("{}/{}", s.fps_num.max(1), s.fps_den.max(1))),
        ("threads", s.threads.max(1).to_string()),
        ("sliced-threads", "1".into()),
        // Keyframes only when the element asks (requests, its own `key-int-max` count).
        ("keyint", "infinite".into()),
        ("bframes", "0".into()),
        ("rc-lookahead", "0".into()),
        ("sync-lookahead", "0".into()),
        ("mbtree", "0".into()),
        ("scenecut", "0".into()),
        ("8x8dct", "0".into()),
        ("aud", "0".into()),
        ("annexb", "1".into()),
        ("repeat-headers", "1".into()),
        // In constant-QP mode x264 accepts frame QPs only within the constant's I and B
        // offsets (`ipratio`, `pbratio`, at most 10: ±20 QP). A constant of 40 opens the range
        // the host's rate control uses, 20..=60 (above 51 x264 discards more coefficients:
        // what keeps a window of noise near a low bitrate).
        ("qp", "40".into()),
        ("ipratio", "10".into()),
        ("pbratio", "10".into()),
        ("log", "0".into()),
    ];
    for (name, value) in colour_options(s.colorimetry.as_deref()) {
        opts.push((name, (*value).into()));
    }
    opts
}

/// One frame's input planes.
pub struct Input<'a> {
    pub data: &'a [u8],
    pub layout: FrameLayout,
}

/// One encoded frame: an H.264 byte-stream access unit.
pub struct Output<'a> {
    pub data: &'a [u8],
    pub keyframe: bool,
}

/// An open libx264 encoder.
pub struct Encoder {
    api: &'static Api,
    handle: *mut c_void,
    layout: FrameLayout,
}

// SAFETY: an x264 encoder may be used from any thread, one call at a time (`&mut self`).
unsafe impl Send for Encoder {}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("layout", &self.layout)
            .finish_non_exhaustive()
    }
}

fn put_int(param: &mut [u8], offset: usize, value: c_int) {
    param[offset..offset + 4].copy_from_slice(&value.to_ne_bytes());
}

impl Encoder {
    /// Opens an encoder for `settings` (NV12 or I420 frames).
    pub fn open(settings: &Settings) -> Result<Self, X264Error> {
        let api = api()?;
        let layout = settings.layout;
        let csp = match layout.format {
            FrameFormat::Nv12 => CSP_NV12,
            FrameFormat::I420 => CSP_I420,
            FrameFormat::Bgrx => {
                return Err(X264Error::Unavailable("BGRx input is not supported".into()));
            }
        };
        let mut param = vec![0u8; PARAM_BYTES];
        let p = param.as_mut_ptr().cast::<c_void>();
        // SAFETY: `param` is larger than x264_param_t; the strings are NUL-terminated.
        let rc = unsafe { (api.default_preset)(p, c"ultrafast".as_ptr(), c"zerolatency".as_ptr()) };
        if rc < 0 {
            return Err(X264Error::Option {
                name: "preset".into(),
                value: "ultrafast/zerolatency".into(),
            });
        }
        for (name, value) in options(settings) {
            let refused = || X264Error::Option {
                name: name.into(),
                value: value.clone(),
            };
            let (n, v) = (
                CString::new(name).map_err(|_| refused())?,
                CString::new(value.as_str()).map_err(|_| refused())?,
            );
            // SAFETY: as above.
            if unsafe { (api.parse)(p, n.as_ptr(), v.as_ptr()) } != 0 {
                return Err(refused());
            }
        }
        let dims = |v: usize| c_int::try_from(v).unwrap_or(c_int::MAX);
        put_int(&mut param, PARAM_WIDTH, dims(layout.width));
        put_int(&mut param, PARAM_HEIGHT, dims(layout.height));
        put_int(&mut param, PARAM_CSP, csp);
        put_int(&mut param, PARAM_MB_INFO, 1);
        put_int(&mut param, PARAM_MB_INFO_UPDATE, 0);
        // SAFETY: `param` holds a parameter set x264 initialised; x264 copies it.
        let handle = unsafe { (api.open)(p) };
        if handle.is_null() {
            return Err(X264Error::Open {
                width: layout.width as u32,
                height: layout.height as u32,
            });
        }
        Ok(Self {
            api,
            handle,
            layout,
        })
    }

    /// Macroblock columns and rows of a frame.
    pub fn mb_grid(&self) -> (usize, usize) {
        (
            self.layout.width.div_ceil(16),
            self.layout.height.div_ceil(16),
        )
    }

    /// Encodes one frame at `qp`, as an IDR picture when `idr`. `mb_info` (one byte per
    /// macroblock, [`MBINFO_CONSTANT`] where it did not change since the previous frame given
    /// to this encoder) lets x264 skip the unchanged ones without analysing them; it must
    /// have [`Self::mb_grid`]'s size, otherwise it is not used.
    pub fn encode(
        &mut self,
        input: &Input<'_>,
        pts: i64,
        idr: bool,
        qp: u8,
        mb_info: Option<&[u8]>,
    ) -> Result<Option<Output<'_>>, X264Error> {
        let l = self.layout;
        if input.layout != l || input.data.len() < l.size {
            return Err(X264Error::FrameSize {
                got: input.data.len(),
                need: l.size,
                width: l.width,
                height: l.height,
            });
        }
        let (mbw, mbh) = self.mb_grid();
        let mb_info = mb_info.filter(|m| m.len() == mbw * mbh && !idr);
        let base = input.data.as_ptr().cast_mut();
        let planes = if l.format == FrameFormat::Nv12 { 2 } else { 3 };
        let mut pic = std::mem::MaybeUninit::<Picture>::zeroed();
        // SAFETY: x264_picture_init writes a whole x264_picture_t (240 bytes, size checked).
        unsafe { (self.api.picture_init)(pic.as_mut_ptr()) };
        // SAFETY: initialised just above.
        let mut pic = unsafe { pic.assume_init() };
        pic.kind = if idr { TYPE_IDR } else { TYPE_AUTO };
        pic.qpplus1 = c_int::from(qp.clamp(QP_RANGE.0, QP_RANGE.1)) + 1;
        pic.pts = pts;
        pic.img.csp = if l.format == FrameFormat::Nv12 {
            CSP_NV12
        } else {
            CSP_I420
        };
        pic.img.planes = planes;
        for i in 0..planes as usize {
            let (offset, stride) = l.planes[i];
            pic.img.stride[i] = c_int::try_from(stride).unwrap_or(c_int::MAX);
            // x264 only reads the input (it copies it into its own frame first), so the
            // pointer may come from a shared slice.
            pic.img.plane[i] = base.wrapping_add(offset);
        }
        if let Some(m) = mb_info {
            // x264 reads the map during this call only (no frame threads, no lookahead) and
            // does not write it (`b_mb_info_update` is off); no free function is given.
            pic.prop.mb_info = m.as_ptr().cast_mut();
        }
        let mut out = std::mem::MaybeUninit::<Picture>::zeroed();
        let mut nals: *mut Nal = std::ptr::null_mut();
        let mut count: c_int = 0;
        // SAFETY: `pic` points into `input.data` and `mb_info`, both alive for the call; the
        // output picture is 240 writable bytes.
        let size = unsafe {
            (self.api.encode)(
                self.handle,
                &mut nals,
                &mut count,
                &mut pic,
                out.as_mut_ptr(),
            )
        };
        if size < 0 {
            return Err(X264Error::Encode);
        }
        if size == 0 || count <= 0 || nals.is_null() {
            return Ok(None);
        }
        // SAFETY: x264 returned `count` NAL units whose payloads are contiguous and `size`
        // bytes long in total, valid until the next call on this encoder (borrowed as such).
        let data = unsafe {
            let first = &*nals;
            std::slice::from_raw_parts(first.payload, size as usize)
        };
        // SAFETY: x264 filled the output picture when it returned a frame.
        let keyframe = unsafe { out.assume_init_ref().keyframe != 0 };
        Ok(Some(Output { data, keyframe }))
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: the handle came from x264_encoder_open and is closed once.
        unsafe { (self.api.close)(self.handle) };
    }
}
