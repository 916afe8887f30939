//! Resizing the X screen through RandR 1.2 (docs/protocol.md §5.9), natively instead of the legacy
//! `xrandr`/`cvt` processes: pick the first connected output, reuse a mode of the requested
//! size or create one from [`cvt_reduced`], put it on the output's CRTC and set the screen
//! size to match.
//!
//! The whole change runs under a server grab so that other clients never observe a CRTC that
//! sticks out of the screen. The screen's physical size is scaled with it so the DPI that
//! `xdpyinfo` reports stays what it was (what `xrandr` does too).

use x11rb::connection::{Connection, RequestConnection as _};
use x11rb::errors::{ConnectError, ConnectionError, ReplyError};
use x11rb::protocol::randr::{self, ConnectionExt as _, ModeFlag, ModeInfo, Rotation, SetConfig};
use x11rb::protocol::xproto::{ConnectionExt as _, Window};
use x11rb::rust_connection::RustConnection;

use crate::X11Error;
use crate::cvt::{ModeTiming, cvt_reduced, fit_resolution, max_resolution_for_output};

/// Refresh rate of the modes we create; the legacy host asked `cvt` for 60 Hz too.
const REFRESH_HZ: f64 = 60.0;

/// Why a resize could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResizeError {
    /// Connecting or talking to the X server failed.
    #[error(transparent)]
    X11(#[from] X11Error),
    /// Without RandR 1.2 there are no outputs, CRTCs or user modes to work with.
    #[error("the X server lacks RandR 1.2 (it offers {0})")]
    NoRandr(String),
    /// No output reports a connected monitor.
    #[error("no connected RandR output")]
    NoOutput,
    /// The output has no CRTC of its own and every CRTC it could use is busy.
    #[error("RandR output {0} has no free CRTC")]
    NoCrtc(String),
    /// Zero or otherwise unusable dimensions.
    #[error("cannot resize the screen to {0}x{1}")]
    InvalidSize(u32, u32),
    /// The server's screen size range does not include the target.
    #[error(
        "{width}x{height} is outside the X screen's size range {min_width}x{min_height} to \
         {max_width}x{max_height} (Xvfb cannot grow past the size it was started with: start it \
         larger, e.g. `-screen 0 7680x4320x24`)"
    )]
    OutOfRange {
        /// Target width.
        width: u16,
        /// Target height.
        height: u16,
        /// Smallest width the server accepts.
        min_width: u16,
        /// Smallest height the server accepts.
        min_height: u16,
        /// Largest width the server accepts.
        max_width: u16,
        /// Largest height the server accepts.
        max_height: u16,
    },
    /// The server refused the CRTC configuration (another client changed it meanwhile, or
    /// the driver rejected the mode).
    #[error("RandR refused the CRTC configuration: {0:?}")]
    CrtcRefused(SetConfig),
}

impl From<ConnectError> for ResizeError {
    fn from(e: ConnectError) -> Self {
        Self::X11(e.into())
    }
}

impl From<ConnectionError> for ResizeError {
    fn from(e: ConnectionError) -> Self {
        Self::X11(e.into())
    }
}

impl From<ReplyError> for ResizeError {
    fn from(e: ReplyError) -> Self {
        Self::X11(e.into())
    }
}

/// The size of the root window of `display` (or `$DISPLAY`) right now, in pixels.
pub fn current_size(display: Option<&str>) -> Result<(u16, u16), X11Error> {
    let (conn, screen) = RustConnection::connect(display)?;
    let root = crate::conn::root_of(&conn, screen)?;
    let geometry = conn.get_geometry(root)?.reply()?;
    Ok((geometry.width, geometry.height))
}

/// Resizes the screen of `display` (or `$DISPLAY`) so the first connected output shows
/// `width`×`height`, after the legacy fitting rule ([`fit_resolution`]: odd sizes rounded up
/// to even, 7680×4320 at most, 2560×1600 on `DVI*` outputs). Returns the size set, which is
/// what the host reports as `system resolution`. A size equal to the current one changes
/// nothing. On Xvfb the maximum is the size it was started with.
pub fn resize_screen(
    display: Option<&str>,
    width: u32,
    height: u32,
) -> Result<(u16, u16), ResizeError> {
    let (conn, screen) = RustConnection::connect(display)?;
    let root = crate::conn::root_of(&conn, screen)?;
    check_randr(&conn)?;

    // From the first read to the last write, so no other client's change slips in between.
    let _grab = ServerGrab::new(&conn)?;
    let resources = conn.randr_get_screen_resources_current(root)?.reply()?;
    let (output, info) = first_connected_output(&conn, &resources)?;
    let output_name = String::from_utf8_lossy(&info.name).into_owned();

    let (w, h) = fit_resolution(width, height, max_resolution_for_output(&output_name));
    if w == 0 || h == 0 {
        return Err(ResizeError::InvalidSize(width, height));
    }
    let range = conn.randr_get_screen_size_range(root)?.reply()?;
    if w < range.min_width || h < range.min_height || w > range.max_width || h > range.max_height {
        return Err(ResizeError::OutOfRange {
            width: w,
            height: h,
            min_width: range.min_width,
            min_height: range.min_height,
            max_width: range.max_width,
            max_height: range.max_height,
        });
    }

    let geometry = conn.get_geometry(root)?.reply()?;
    let crtc = pick_crtc(&conn, &resources, &info, &output_name)?;
    let crtc_info = conn
        .randr_get_crtc_info(crtc, resources.config_timestamp)?
        .reply()?;
    let current_mode = resources.modes.iter().find(|m| m.id == crtc_info.mode);
    if current_mode.is_some_and(|m| (m.width, m.height) == (w, h))
        && (geometry.width, geometry.height) == (w, h)
    {
        tracing::debug!(output = %output_name, "screen already {w}x{h}");
        return Ok((w, h));
    }

    let mode = ensure_mode(&conn, root, output, &output_name, &resources, &info, (w, h))?;

    let screen_info = &conn.setup().roots[screen];
    let mm = |px: u16| {
        scale_mm(
            px,
            geometry.width,
            geometry.height,
            screen_info.width_in_millimeters,
            screen_info.height_in_millimeters,
        )
    };
    // Grow first so the new CRTC fits the screen, shrink last so the old one still did.
    let grown = (geometry.width.max(w), geometry.height.max(h));
    if grown != (geometry.width, geometry.height) {
        let (mm_w, mm_h) = (mm(grown.0).0, mm(grown.1).1);
        conn.randr_set_screen_size(root, grown.0, grown.1, mm_w, mm_h)?
            .check()?;
    }
    let rotation = if crtc_info.rotation.bits() == 0 {
        Rotation::ROTATE0
    } else {
        crtc_info.rotation
    };
    let status = conn
        .randr_set_crtc_config(
            crtc,
            x11rb::CURRENT_TIME,
            resources.config_timestamp,
            0,
            0,
            mode,
            rotation,
            &[output],
        )?
        .reply()?
        .status;
    if status != SetConfig::SUCCESS {
        return Err(ResizeError::CrtcRefused(status));
    }
    if grown != (w, h) {
        conn.randr_set_screen_size(root, w, h, mm(w).0, mm(h).1)?
            .check()?;
    }
    tracing::info!(output = %output_name, "screen resized to {w}x{h}");

    if let Some(old) = current_mode.filter(|m| m.id != mode && looks_like_ours(m, &resources)) {
        forget_mode(&conn, output, old);
    }
    Ok((w, h))
}

/// A mode of `size` on `output`: an existing one (added to the output when needed) or a new
/// CVT-RB one named `WxH`.
fn ensure_mode(
    conn: &RustConnection,
    root: Window,
    output: randr::Output,
    output_name: &str,
    resources: &randr::GetScreenResourcesCurrentReply,
    info: &randr::GetOutputInfoReply,
    (w, h): (u16, u16),
) -> Result<randr::Mode, ResizeError> {
    if let Some(found) = find_mode(&resources.modes, &info.modes, w, h) {
        if !info.modes.contains(&found) {
            conn.randr_add_output_mode(output, found)?.check()?;
        }
        return Ok(found);
    }
    let timing = mode_timing(w, h)?;
    let name = format!("{w}x{h}");
    let created = conn
        .randr_create_mode(root, mode_info(&timing, &name)?, name.as_bytes())?
        .reply()?
        .mode;
    conn.randr_add_output_mode(output, created)?.check()?;
    tracing::info!(output = %output_name, "created mode {name}: {}", timing.modeline_params());
    Ok(created)
}

/// Removes a mode we created for an earlier size; otherwise they would pile up, one per
/// browser window size. Failure (another output still uses it) only keeps it alive.
fn forget_mode(conn: &RustConnection, output: randr::Output, old: &ModeInfo) {
    let removed = conn
        .randr_delete_output_mode(output, old.id)
        .map_err(ReplyError::from)
        .and_then(|c| c.check())
        .and_then(|()| conn.randr_destroy_mode(old.id)?.check());
    if let Err(e) = removed {
        tracing::debug!("kept the previous mode {}x{}: {e}", old.width, old.height);
    }
}

fn check_randr(conn: &RustConnection) -> Result<(), ResizeError> {
    if conn
        .extension_information(randr::X11_EXTENSION_NAME)?
        .is_none()
    {
        return Err(ResizeError::NoRandr("none".into()));
    }
    let version = conn.randr_query_version(1, 6)?.reply()?;
    if (version.major_version, version.minor_version) < (1, 2) {
        return Err(ResizeError::NoRandr(format!(
            "{}.{}",
            version.major_version, version.minor_version
        )));
    }
    Ok(())
}

fn first_connected_output(
    conn: &RustConnection,
    resources: &randr::GetScreenResourcesCurrentReply,
) -> Result<(randr::Output, randr::GetOutputInfoReply), ResizeError> {
    for &output in &resources.outputs {
        let info = conn
            .randr_get_output_info(output, resources.config_timestamp)?
            .reply()?;
        if info.connection == randr::Connection::CONNECTED {
            return Ok((output, info));
        }
    }
    Err(ResizeError::NoOutput)
}

/// The output's current CRTC, or else the first CRTC it may use that drives nothing.
fn pick_crtc(
    conn: &RustConnection,
    resources: &randr::GetScreenResourcesCurrentReply,
    info: &randr::GetOutputInfoReply,
    output_name: &str,
) -> Result<randr::Crtc, ResizeError> {
    if info.crtc != x11rb::NONE {
        return Ok(info.crtc);
    }
    for &crtc in &info.crtcs {
        let crtc_info = conn
            .randr_get_crtc_info(crtc, resources.config_timestamp)?
            .reply()?;
        if crtc_info.outputs.is_empty() {
            return Ok(crtc);
        }
    }
    Err(ResizeError::NoCrtc(output_name.to_owned()))
}

/// A mode of exactly `w`×`h`, preferring one the output already lists.
fn find_mode(
    modes: &[ModeInfo],
    output_modes: &[randr::Mode],
    w: u16,
    h: u16,
) -> Option<randr::Mode> {
    let sized = || modes.iter().filter(|m| (m.width, m.height) == (w, h));
    sized()
        .find(|m| output_modes.contains(&m.id))
        .or_else(|| sized().next())
        .map(|m| m.id)
}

/// The CVT-RB timing for an exact `w`×`h`: CVT widens to a multiple of 8, we narrow the
/// active width back so the screen is exactly the requested size.
fn mode_timing(w: u16, h: u16) -> Result<ModeTiming, ResizeError> {
    let mut timing = cvt_reduced(w, h, REFRESH_HZ);
    if timing.hdisplay < u32::from(w) {
        return Err(ResizeError::InvalidSize(w.into(), h.into()));
    }
    timing.hdisplay = u32::from(w);
    Ok(timing)
}

fn mode_info(timing: &ModeTiming, name: &str) -> Result<ModeInfo, ResizeError> {
    let invalid = || ResizeError::InvalidSize(timing.hdisplay, timing.vdisplay);
    let u16_of = |v: u32| u16::try_from(v).map_err(|_| invalid());
    let mut flags = ModeFlag::from(0u32);
    flags |= if timing.hsync_positive {
        ModeFlag::HSYNC_POSITIVE
    } else {
        ModeFlag::HSYNC_NEGATIVE
    };
    flags |= if timing.vsync_positive {
        ModeFlag::VSYNC_POSITIVE
    } else {
        ModeFlag::VSYNC_NEGATIVE
    };
    Ok(ModeInfo {
        id: 0,
        width: u16_of(timing.hdisplay)?,
        height: u16_of(timing.vdisplay)?,
        dot_clock: u32::try_from(timing.dot_clock_hz()).map_err(|_| invalid())?,
        hsync_start: u16_of(timing.hsync_start)?,
        hsync_end: u16_of(timing.hsync_end)?,
        htotal: u16_of(timing.htotal)?,
        hskew: 0,
        vsync_start: u16_of(timing.vsync_start)?,
        vsync_end: u16_of(timing.vsync_end)?,
        vtotal: u16_of(timing.vtotal)?,
        name_len: u16::try_from(name.len()).map_err(|_| invalid())?,
        mode_flags: flags,
    })
}

/// Whether `mode` is one [`resize_screen`] creates: named `WxH` with exactly our timing.
/// Modes that came from the driver or a user keep living.
fn looks_like_ours(mode: &ModeInfo, resources: &randr::GetScreenResourcesCurrentReply) -> bool {
    let expected_name = format!("{}x{}", mode.width, mode.height);
    let name_matches = mode_name(mode, resources) == Some(expected_name.as_bytes());
    let timing_matches = mode_timing(mode.width, mode.height)
        .and_then(|t| mode_info(&t, &expected_name))
        .is_ok_and(|ours| same_timing(&ours, mode));
    name_matches && timing_matches
}

fn same_timing(a: &ModeInfo, b: &ModeInfo) -> bool {
    let key = |m: &ModeInfo| {
        (
            (m.width, m.height, m.dot_clock, m.hskew),
            (m.hsync_start, m.hsync_end, m.htotal),
            (m.vsync_start, m.vsync_end, m.vtotal),
            u32::from(m.mode_flags),
        )
    };
    key(a) == key(b)
}

/// Mode names are packed back to back in `names`, in the order of `modes`.
fn mode_name<'a>(
    mode: &ModeInfo,
    resources: &'a randr::GetScreenResourcesCurrentReply,
) -> Option<&'a [u8]> {
    let mut offset = 0usize;
    for m in &resources.modes {
        let end = offset + usize::from(m.name_len);
        if m.id == mode.id {
            return resources.names.get(offset..end);
        }
        offset = end;
    }
    None
}

/// Physical size for a new pixel size at the current DPI; 96 DPI when the server reports
/// no physical size. Returns (mm for `px` as a width, mm for `px` as a height).
fn scale_mm(px: u16, cur_w: u16, cur_h: u16, cur_mm_w: u16, cur_mm_h: u16) -> (u32, u32) {
    let per_px = |mm: u16, cur: u16| {
        if mm == 0 || cur == 0 {
            25.4 / 96.0
        } else {
            f64::from(mm) / f64::from(cur)
        }
    };
    let to_mm = |ratio: f64| (f64::from(px) * ratio).round().max(1.0) as u32;
    (
        to_mm(per_px(cur_mm_w, cur_w)),
        to_mm(per_px(cur_mm_h, cur_h)),
    )
}

/// Holds the server grab for the lifetime of the value; dropping it releases the grab even
/// when the resize stops half way with an error.
struct ServerGrab<'a>(&'a RustConnection);

impl<'a> ServerGrab<'a> {
    fn new(conn: &'a RustConnection) -> Result<Self, ConnectionError> {
        conn.grab_server()?;
        Ok(Self(conn))
    }
}

impl Drop for ServerGrab<'_> {
    fn drop(&mut self) {
        let released = self.0.ungrab_server().and_then(|_| self.0.flush());
        if let Err(e) = released {
            tracing::warn!("cannot release the X server grab: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(id: u32, width: u16, height: u16) -> ModeInfo {
        ModeInfo {
            id,
            width,
            height,
            ..ModeInfo::default()
        }
    }

    #[test]
    fn prefers_a_mode_the_output_already_has() {
        let modes = [mode(1, 1280, 720), mode(2, 1280, 720), mode(3, 1920, 1080)];
        assert_eq!(find_mode(&modes, &[2, 3], 1280, 720), Some(2));
        assert_eq!(find_mode(&modes, &[3], 1280, 720), Some(1));
        assert_eq!(find_mode(&modes, &[1, 2, 3], 1366, 768), None);
    }

    #[test]
    fn created_modes_have_the_exact_requested_width() {
        let t = mode_timing(1366, 768).expect("timing");
        assert_eq!((t.hdisplay, t.vdisplay), (1366, 768));
        // The blanking is CVT's for 1368: sync starts after the active area.
        assert_eq!((t.hsync_start, t.hsync_end, t.htotal), (1416, 1448, 1528));
        let info = mode_info(&t, "1366x768").expect("mode info");
        assert_eq!(info.dot_clock, 72_250_000);
        assert_eq!(
            info.mode_flags,
            ModeFlag::HSYNC_POSITIVE | ModeFlag::VSYNC_NEGATIVE
        );
        assert_eq!(info.name_len, 8);
    }

    #[test]
    fn physical_size_keeps_the_dpi() {
        // Xvfb 3840x2160 reports 975x549 mm (≈100 DPI); 1280x720 keeps ≈100 DPI.
        assert_eq!(scale_mm(1280, 3840, 2160, 975, 549), (325, 325));
        assert_eq!(scale_mm(720, 3840, 2160, 975, 549).1, 183);
        // No physical size known: 96 DPI.
        assert_eq!(scale_mm(960, 0, 0, 0, 0), (254, 254));
    }

    #[test]
    fn names_are_sliced_in_mode_order() {
        let resources = randr::GetScreenResourcesCurrentReply {
            modes: vec![
                ModeInfo {
                    name_len: 9,
                    ..mode(7, 3840, 2160)
                },
                ModeInfo {
                    name_len: 8,
                    ..mode(9, 1280, 720)
                },
            ],
            names: b"3840x21601280x720".to_vec(),
            ..Default::default()
        };
        assert_eq!(
            mode_name(&resources.modes[1], &resources),
            Some(&b"1280x720"[..])
        );
        assert!(
            !looks_like_ours(&resources.modes[1], &resources),
            "no CVT timing"
        );
        let ours =
            mode_info(&mode_timing(1280, 720).expect("timing"), "1280x720").expect("mode info");
        let resources = randr::GetScreenResourcesCurrentReply {
            modes: vec![ModeInfo { id: 9, ..ours }],
            names: b"1280x720".to_vec(),
            ..Default::default()
        };
        assert!(looks_like_ours(&resources.modes[0], &resources));
    }
}
