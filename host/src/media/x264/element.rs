//! `selkiesx264enc`: the host's H.264 encoder element on libx264 (`ffi.rs`), used in place of
//! GStreamer's `x264enc` when libx264 build 164 loads (docs/architecture.md, "Own H.264
//! encoder"; the numbers are in docs/benchmarks.md).
//!
//! It differs from `x264enc` in two ways, both out of reach through `x264enc`'s properties:
//! - The capture's damage reaches x264 as per-macroblock "unchanged" hints (`hints.rs`), so x264
//!   does not analyse the parts of the screen that did not change.
//! - x264 runs at a constant QP chosen per frame by the host (`rate.rs`) from the bitrate and
//!   the area to code, instead of its own rate control, whose quarter-resolution planes and
//!   per-frame analysis cost memory and time on every frame.
//!
//! Otherwise it behaves like the `x264enc` the host configured before: each frame is encoded
//! before the next is taken (sliced threads, no lookahead, no B-frames), the output is a CAVLC
//! byte stream with SPS/PPS before every IDR, `bitrate` changes apply to the next frame, and an
//! upstream force-key-unit event (a browser's PLI) makes the next frame an IDR. Output
//! timestamps are the input's. The property names are `x264enc`'s, so the encoder registry
//! configures both alike; the ones `x264enc` has and this element does not (presets, tuning,
//! lookahead) are fixed here to the values the registry sets.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer::subclass::prelude::*;
use selkies_x11::yuv::{FrameFormat, FrameLayout};
use tracing::{debug, warn};

use super::ffi::{self, Encoder, Input, MBINFO_CONSTANT, Settings};
use super::hints::{Damage, DamageLog, Grid, MbQp, mb_info};
use super::rate::{self, Plan, RateControl};
use crate::sync::lock;

/// How much coarser than `qp-min` a frame carrying a change is coded at the finest.
const MOTION_QP_OFFSET: u8 = 6;

/// The factory name.
pub const NAME: &str = "selkiesx264enc";

glib::wrapper! {
    /// The element; see the module documentation.
    pub struct SelkiesX264Enc(ObjectSubclass<imp::X264Enc>) @extends gst::Element, gst::Object;
}

impl SelkiesX264Enc {
    /// Take frame damage from `log`, which the capture fills under each frame's buffer offset.
    pub fn follow_damage(&self, log: Arc<Mutex<DamageLog>>) {
        *lock(&self.imp().damage) = Some(log);
    }
}

/// Registers the element with GStreamer if libx264 build 164 can be loaded; the reason when not.
pub fn register() -> Result<(), String> {
    ffi::available().map_err(|e| e.to_string())?;
    gst::Element::register(None, NAME, gst::Rank::NONE, SelkiesX264Enc::static_type())
        .map_err(|e| e.to_string())
}

/// The stream's caps as negotiated on the sink pad.
#[derive(Debug, Clone, PartialEq)]
struct Format {
    layout: FrameLayout,
    fps: (i32, i32),
    colorimetry: Option<String>,
}

fn parse_caps(caps: &gst::CapsRef) -> Option<Format> {
    let s = caps.structure(0)?;
    let format = match s.get::<&str>("format").ok()? {
        "NV12" => FrameFormat::Nv12,
        "I420" => FrameFormat::I420,
        _ => return None,
    };
    let width = u16::try_from(s.get::<i32>("width").ok()?).ok()?;
    let height = u16::try_from(s.get::<i32>("height").ok()?).ok()?;
    let fps = s
        .get::<gst::Fraction>("framerate")
        .ok()
        .filter(|f| f.numer() > 0 && f.denom() > 0)
        .map_or((30, 1), |f| (f.numer(), f.denom()));
    Some(Format {
        layout: FrameLayout::new(format, width, height),
        fps,
        colorimetry: s.get::<String>("colorimetry").ok(),
    })
}

/// The element's settings (its properties).
#[derive(Debug, Clone, Copy)]
struct Props {
    kbps: u32,
    buffer_ms: u32,
    keyint: u32,
    threads: u32,
    qp_goal: u8,
}

impl Default for Props {
    fn default() -> Self {
        Self {
            kbps: 2048,
            buffer_ms: 600,
            keyint: 0,
            threads: 1,
            qp_goal: rate::QP_MIN,
        }
    }
}

/// Per-stream encoding state, from caps to stop.
struct Stream {
    encoder: Encoder,
    format: Format,
    grid: Grid,
    rate: RateControl,
    mbqp: MbQp,
    /// The capture sequence number of the last frame encoded; None: the next is an IDR.
    last_sequence: Option<u64>,
    frames_since_idr: u32,
    stats: Stats,
}

/// Counters logged at debug level every [`Stats::EVERY`].
#[derive(Debug, Default)]
struct Stats {
    since: Option<Instant>,
    encoded: u32,
    skipped: u32,
    hinted: u32,
    qp_sum: u64,
    coded_mbs: u64,
    encode_time: Duration,
    bytes: u64,
}

impl Stats {
    const EVERY: Duration = Duration::from_secs(10);

    fn log(&mut self, total_mbs: usize) {
        let now = Instant::now();
        let since = *self.since.get_or_insert(now);
        if now.duration_since(since) < Self::EVERY || self.encoded == 0 {
            return;
        }
        let n = u64::from(self.encoded);
        debug!(
            encoded = self.encoded,
            skipped = self.skipped,
            hinted = self.hinted,
            mean_qp = self.qp_sum / n,
            coded_area_pct = self.coded_mbs * 100 / (n * total_mbs.max(1) as u64),
            encode_ms = format!("{:.2}", self.encode_time.as_secs_f64() * 1000.0 / n as f64),
            kbps = self.bytes * 8 / now.duration_since(since).as_millis().max(1) as u64,
            "selkiesx264enc"
        );
        *self = Self::default();
    }
}

mod imp {
    use super::*;
    use std::sync::OnceLock;

    pub struct X264Enc {
        sinkpad: gst::Pad,
        srcpad: gst::Pad,
        props: Mutex<Props>,
        stream: Mutex<Option<Stream>>,
        /// A keyframe was requested and has not been made yet.
        keyframe_wanted: AtomicBool,
        pub(super) damage: Mutex<Option<Arc<Mutex<DamageLog>>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for X264Enc {
        const NAME: &'static str = "SelkiesX264Enc";
        type Type = super::SelkiesX264Enc;
        type ParentType = gst::Element;

        fn with_class(klass: &Self::Class) -> Self {
            let (Some(sink), Some(src)) = (klass.pad_template("sink"), klass.pad_template("src"))
            else {
                unreachable!("the class declares both pad templates");
            };
            let sinkpad = gst::Pad::builder_from_template(&sink)
                .chain_function(|pad, parent, buffer| {
                    X264Enc::catch_panic_pad_function(
                        parent,
                        || Err(gst::FlowError::Error),
                        |enc| enc.chain(pad, buffer),
                    )
                })
                .event_function(|pad, parent, event| {
                    X264Enc::catch_panic_pad_function(
                        parent,
                        || false,
                        |enc| enc.sink_event(pad, event),
                    )
                })
                .build();
            let srcpad = gst::Pad::builder_from_template(&src)
                .event_function(|pad, parent, event| {
                    X264Enc::catch_panic_pad_function(
                        parent,
                        || false,
                        |enc| enc.src_event(pad, event),
                    )
                })
                .build();
            Self {
                sinkpad,
                srcpad,
                props: Mutex::default(),
                stream: Mutex::default(),
                keyframe_wanted: AtomicBool::new(false),
                damage: Mutex::default(),
            }
        }
    }

    impl X264Enc {
        fn open(&self, format: &Format) -> Result<(), String> {
            let props = *lock(&self.props);
            let settings = Settings {
                layout: format.layout,
                fps_num: format.fps.0.unsigned_abs(),
                fps_den: format.fps.1.unsigned_abs(),
                threads: props.threads.max(1),
                colorimetry: format.colorimetry.clone(),
            };
            let encoder = Encoder::open(&settings).map_err(|e| e.to_string())?;
            let grid = Grid::of(format.layout.width, format.layout.height);
            let fps = f64::from(format.fps.0) / f64::from(format.fps.1);
            let total = u32::try_from(grid.len()).unwrap_or(u32::MAX);
            *lock(&self.stream) = Some(Stream {
                encoder,
                format: format.clone(),
                grid,
                rate: RateControl::new(props.kbps, props.buffer_ms, fps, total),
                mbqp: MbQp::new(grid.len()),
                last_sequence: None,
                frames_since_idr: 0,
                stats: Stats::default(),
            });
            Ok(())
        }

        fn set_caps(&self, caps: &gst::CapsRef) -> bool {
            let Some(format) = parse_caps(caps) else {
                warn!(%caps, "selkiesx264enc: unsupported input caps");
                return false;
            };
            let reused = match lock(&self.stream).as_mut() {
                Some(s)
                    if s.format.layout == format.layout
                        && s.format.colorimetry == format.colorimetry =>
                {
                    // A new nominal frame rate only changes the frame budget.
                    s.rate
                        .set_fps(f64::from(format.fps.0) / f64::from(format.fps.1));
                    s.format = format.clone();
                    true
                }
                _ => false,
            };
            if !reused && let Err(e) = self.open(&format) {
                warn!("selkiesx264enc: {e}");
                return false;
            }
            let l = format.layout;
            let out = gst::Caps::builder("video/x-h264")
                .field("stream-format", "byte-stream")
                .field("alignment", "au")
                // x264 writes a constrained-baseline SPS (no CABAC, no B-frames, no 8x8
                // transform), which conforms to Main and says so (constraint_set1).
                .field("profile", "main")
                .field("width", l.width as i32)
                .field("height", l.height as i32)
                .field("framerate", gst::Fraction::new(format.fps.0, format.fps.1))
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build();
            self.srcpad.push_event(gst::event::Caps::new(&out))
        }

        fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
            match event.view() {
                gst::EventView::Caps(c) => self.set_caps(c.caps()),
                gst::EventView::CustomDownstream(_) if is_force_key_unit(&event) => {
                    self.keyframe_wanted.store(true, Ordering::Relaxed);
                    true
                }
                _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
            }
        }

        fn src_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
            if is_force_key_unit(&event) {
                self.keyframe_wanted.store(true, Ordering::Relaxed);
                return true;
            }
            gst::Pad::event_default(pad, Some(&*self.obj()), event)
        }

        fn chain(
            &self,
            _pad: &gst::Pad,
            buffer: gst::Buffer,
        ) -> Result<gst::FlowSuccess, gst::FlowError> {
            let props = *lock(&self.props);
            let damage = lock(&self.damage).clone();
            let mut guard = lock(&self.stream);
            let Some(s) = guard.as_mut() else {
                return Err(gst::FlowError::NotNegotiated);
            };
            let sequence = Some(buffer.offset()).filter(|o| *o != u64::MAX);
            let keyint_due = props.keyint > 0 && s.frames_since_idr + 1 >= props.keyint;
            let idr = s.last_sequence.is_none()
                || keyint_due
                || self.keyframe_wanted.swap(false, Ordering::Relaxed);
            let changes = match (idr, sequence, s.last_sequence, &damage) {
                (false, Some(seq), Some(last), Some(log)) => lock(log).since(last, seq),
                _ => None,
            };
            let hinted = changes.is_some();
            let changed = s.grid.changed(changes.as_ref().unwrap_or(&Damage::All));
            let at = Duration::from_nanos(buffer.pts().map_or(0, |t| t.nseconds()));
            // x264 also codes the macroblocks last coded coarser than the frame's QP: the
            // rate control counts them for each QP it considers.
            let by_qp = s.mbqp.to_code_by_qp(&changed);
            let coded_at = |qp: u8| by_qp[usize::from(qp)];
            let still = !changed.iter().any(|c| *c);
            let refining = !idr && still && !s.mbqp.settled(props.qp_goal);
            let plan = if refining {
                // Nothing changed but some region is still coarse: a refining frame.
                Plan::Encode(s.rate.plan_refine_by(at, &coded_at))
            } else {
                s.rate.plan_by(at, idr, &coded_at)
            };
            // A change is coded no finer than MOTION_QP_OFFSET above the goal: the eye takes in
            // less detail of what is moving, and the finest QPs cost the most encoder time. Once
            // the screen is still, refining frames take it down to the goal.
            let floor = if refining || idr {
                props.qp_goal
            } else {
                props.qp_goal.saturating_add(MOTION_QP_OFFSET)
            };
            let qp = match plan {
                Plan::Encode(qp) => qp.max(floor.min(rate::QP_MAX)),
                Plan::Skip => {
                    // Its change goes out with the next frame: the damage log keeps it.
                    s.stats.skipped += 1;
                    return Ok(gst::FlowSuccess::Ok);
                }
            };
            let info = hinted.then(|| mb_info(&changed, MBINFO_CONSTANT));
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            let input = Input {
                data: map.as_slice(),
                layout: s.format.layout,
            };
            let pts = buffer.pts().map_or(0, |t| t.nseconds() as i64);
            let started = Instant::now();
            let out = match s.encoder.encode(&input, pts, idr, qp, info.as_deref()) {
                Ok(Some(out)) => out,
                Ok(None) => return Ok(gst::FlowSuccess::Ok),
                Err(e) => {
                    gst::element_imp_error!(self, gst::StreamError::Encode, ["{e}"]);
                    return Err(gst::FlowError::Error);
                }
            };
            let elapsed = started.elapsed();
            let coded = coded_at(qp);
            let keyframe = out.keyframe || idr;
            let mut outbuf = gst::Buffer::from_slice(out.data.to_vec());
            drop(map);
            let bytes = outbuf.size();
            s.rate.update(qp, coded, keyframe, bytes);
            if keyframe {
                s.mbqp.coded(&vec![true; s.grid.len()], qp);
                s.frames_since_idr = 0;
            } else {
                s.mbqp.coded(&changed, qp);
                s.frames_since_idr += 1;
            }
            s.last_sequence = Some(sequence.unwrap_or(0));
            s.stats.encoded += 1;
            s.stats.hinted += u32::from(hinted);
            s.stats.qp_sum += u64::from(qp);
            s.stats.coded_mbs += u64::from(coded);
            s.stats.encode_time += elapsed;
            s.stats.bytes += bytes as u64;
            s.stats.log(s.grid.len());
            drop(guard);
            if let Some(b) = outbuf.get_mut() {
                b.set_pts(buffer.pts());
                b.set_dts(buffer.pts());
                b.set_duration(buffer.duration());
                b.set_offset(buffer.offset());
                if !keyframe {
                    b.set_flags(gst::BufferFlags::DELTA_UNIT);
                }
            }
            self.srcpad.push(outbuf)
        }

        /// Whether the screen as last encoded is at its best quality; otherwise an unchanged
        /// frame should be encoded (not repeated) to refine it.
        fn settled(&self) -> bool {
            let goal = lock(&self.props).qp_goal;
            lock(&self.stream)
                .as_ref()
                .is_none_or(|s| s.mbqp.settled(goal))
        }
    }

    fn is_force_key_unit(event: &gst::Event) -> bool {
        matches!(
            event.type_(),
            gst::EventType::CustomUpstream | gst::EventType::CustomDownstream
        ) && event
            .structure()
            .is_some_and(|s| s.name() == "GstForceKeyUnit")
    }

    impl ObjectImpl for X264Enc {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            for pad in [&self.sinkpad, &self.srcpad] {
                if let Err(e) = obj.add_pad(pad) {
                    warn!("selkiesx264enc: cannot add a pad: {e}");
                }
            }
        }

        fn properties() -> &'static [glib::ParamSpec] {
            static PROPS: OnceLock<Vec<glib::ParamSpec>> = OnceLock::new();
            PROPS.get_or_init(|| {
                let d = Props::default();
                vec![
                    glib::ParamSpecUInt::builder("bitrate")
                        .nick("Bitrate")
                        .blurb("Target bitrate in kbit/s; applies from the next frame")
                        .minimum(1)
                        .maximum(2_048_000)
                        .default_value(d.kbps)
                        .mutable_playing()
                        .build(),
                    glib::ParamSpecUInt::builder("vbv-buf-capacity")
                        .nick("Buffer size")
                        .blurb("Bits a frame may take beyond the average, in ms of the bitrate")
                        .minimum(0)
                        .maximum(10_000)
                        .default_value(d.buffer_ms)
                        .mutable_playing()
                        .build(),
                    glib::ParamSpecUInt::builder("key-int-max")
                        .nick("Keyframe interval")
                        .blurb("An IDR every this many frames; 0 or 2147483647: only on request")
                        .default_value(d.keyint)
                        .mutable_playing()
                        .build(),
                    glib::ParamSpecUInt::builder("threads")
                        .nick("Threads")
                        .blurb("Slice threads (0: one); applies when the encoder is opened")
                        .maximum(64)
                        .default_value(d.threads)
                        .build(),
                    glib::ParamSpecUInt::builder("qp-min")
                        .nick("Best QP")
                        .blurb("The finest quantizer; a still screen converges to it")
                        .minimum(u32::from(rate::QP_MIN))
                        .maximum(u32::from(rate::QP_MAX))
                        .default_value(u32::from(d.qp_goal))
                        .mutable_playing()
                        .build(),
                    glib::ParamSpecBoolean::builder("settled")
                        .nick("Settled")
                        .blurb(
                            "The screen as last encoded is at the best quality the bitrate allows",
                        )
                        .read_only()
                        .build(),
                ]
            })
        }

        fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
            let v = value.get::<u32>().unwrap_or_default();
            let mut props = lock(&self.props);
            match pspec.name() {
                "bitrate" => props.kbps = v.max(1),
                "vbv-buf-capacity" => props.buffer_ms = v,
                "key-int-max" => props.keyint = if v >= i32::MAX as u32 { 0 } else { v },
                "threads" => props.threads = v.max(1),
                "qp-min" => props.qp_goal = u8::try_from(v).unwrap_or(rate::QP_MAX),
                _ => return,
            }
            let p = *props;
            drop(props);
            // The bucket follows the bitrate and its size at once; the rest applies per frame
            // or when the encoder is next opened.
            if matches!(pspec.name(), "bitrate" | "vbv-buf-capacity")
                && let Some(s) = lock(&self.stream).as_mut()
            {
                s.rate.set_kbps(p.kbps);
                s.rate.set_buffer_ms(p.buffer_ms);
            }
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            let p = *lock(&self.props);
            match pspec.name() {
                "bitrate" => p.kbps.to_value(),
                "vbv-buf-capacity" => p.buffer_ms.to_value(),
                "key-int-max" => p.keyint.to_value(),
                "threads" => p.threads.to_value(),
                "qp-min" => u32::from(p.qp_goal).to_value(),
                "settled" => self.settled().to_value(),
                _ => glib::Value::from_type(pspec.value_type()),
            }
        }
    }

    impl GstObjectImpl for X264Enc {}

    impl ElementImpl for X264Enc {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: OnceLock<gst::subclass::ElementMetadata> = OnceLock::new();
            Some(META.get_or_init(|| {
                gst::subclass::ElementMetadata::new(
                    "H.264 encoder (libx264, damage hints, host rate control)",
                    "Codec/Encoder/Video",
                    "Encodes screen frames with libx264, skipping what the capture reports unchanged",
                    "selkies-gstreamer",
                )
            }))
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: OnceLock<Vec<gst::PadTemplate>> = OnceLock::new();
            TEMPLATES.get_or_init(|| {
                let sink = gst::Caps::builder("video/x-raw")
                    .field("format", gst::List::new(["NV12", "I420"]))
                    .field("width", gst::IntRange::new(16, 16384))
                    .field("height", gst::IntRange::new(16, 16384))
                    .field(
                        "framerate",
                        gst::FractionRange::new(
                            gst::Fraction::new(0, 1),
                            gst::Fraction::new(i32::MAX, 1),
                        ),
                    )
                    .build();
                let src = gst::Caps::builder("video/x-h264")
                    .field("stream-format", "byte-stream")
                    .field("alignment", "au")
                    .build();
                [
                    gst::PadTemplate::new(
                        "sink",
                        gst::PadDirection::Sink,
                        gst::PadPresence::Always,
                        &sink,
                    ),
                    gst::PadTemplate::new(
                        "src",
                        gst::PadDirection::Src,
                        gst::PadPresence::Always,
                        &src,
                    ),
                ]
                .into_iter()
                .filter_map(Result::ok)
                .collect()
            })
        }

        fn change_state(
            &self,
            transition: gst::StateChange,
        ) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
            let result = self.parent_change_state(transition)?;
            if transition == gst::StateChange::PausedToReady {
                *lock(&self.stream) = None;
                self.keyframe_wanted.store(false, Ordering::Relaxed);
            }
            Ok(result)
        }
    }
}
