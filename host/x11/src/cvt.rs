//! Pure mode geometry for remote resize (docs/protocol.md §5.9): VESA CVT reduced-blanking (v1)
//! timings computed exactly as `cvt -r` (libxcvt) prints them, and the legacy rule that fits a
//! requested size into the largest mode the host accepts.
//!
//! The legacy host shelled out to `cvt -r W H 60` and fed the Modeline to `xrandr --newmode`.
//! We compute the same numbers in Rust; libxcvt does part of the arithmetic in `float`, so the
//! steps below keep `f32` where it does, otherwise pixel clocks near a 250 kHz step would round
//! differently.

/// Fixed horizontal blanking of CVT-RB v1, in pixels.
const RB_H_BLANK: u32 = 160;
/// Fixed horizontal sync width of CVT-RB v1, in pixels.
const RB_H_SYNC: u32 = 32;
/// Minimum vertical blanking interval of CVT-RB v1, in microseconds.
const RB_MIN_VBLANK_US: f32 = 460.0;
/// Vertical front porch of CVT-RB v1, in lines.
const RB_V_FPORCH: u32 = 3;
/// Minimum vertical back porch, in lines.
const MIN_V_BPORCH: u32 = 6;
/// Horizontal character cell: active widths are rounded down to it.
const H_GRANULARITY: u32 = 8;
/// Pixel clocks are rounded down to this step, in kHz.
const CLOCK_STEP_KHZ: u64 = 250;

/// The default maximum of the legacy fitting rule.
pub const MAX_RESOLUTION: (u32, u32) = (7680, 4320);
/// The legacy maximum for outputs whose name starts with `DVI` (hardware encoder limit).
pub const MAX_RESOLUTION_DVI: (u32, u32) = (2560, 1600);

/// A display mode's timing, in the units of an X modeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModeTiming {
    /// Active pixels per line.
    pub hdisplay: u32,
    /// First pixel of horizontal sync.
    pub hsync_start: u32,
    /// Pixel after horizontal sync.
    pub hsync_end: u32,
    /// Pixels per line, blanking included.
    pub htotal: u32,
    /// Active lines.
    pub vdisplay: u32,
    /// First line of vertical sync.
    pub vsync_start: u32,
    /// Line after vertical sync.
    pub vsync_end: u32,
    /// Lines per frame, blanking included.
    pub vtotal: u32,
    /// Pixel clock in kHz (a multiple of 250).
    pub dot_clock_khz: u64,
    /// `+hsync` (true) or `-hsync`.
    pub hsync_positive: bool,
    /// `+vsync` (true) or `-vsync`.
    pub vsync_positive: bool,
}

impl ModeTiming {
    /// Pixel clock in Hz, as RandR's `ModeInfo.dot_clock` wants it.
    pub fn dot_clock_hz(&self) -> u64 {
        self.dot_clock_khz * 1000
    }

    /// The refresh rate this timing really produces, in Hz.
    pub fn refresh_hz(&self) -> f64 {
        let pixels = f64::from(self.htotal) * f64::from(self.vtotal);
        if pixels == 0.0 {
            return 0.0;
        }
        self.dot_clock_khz as f64 * 1000.0 / pixels
    }

    /// The modeline parameters after the name, formatted as `cvt` prints them
    /// (`138.50  1920 1968 2000 2080  1080 1083 1088 1111 +hsync -vsync`).
    pub fn modeline_params(&self) -> String {
        format!(
            "{:.2}  {} {} {} {}  {} {} {} {} {}hsync {}vsync",
            self.dot_clock_khz as f64 / 1000.0,
            self.hdisplay,
            self.hsync_start,
            self.hsync_end,
            self.htotal,
            self.vdisplay,
            self.vsync_start,
            self.vsync_end,
            self.vtotal,
            if self.hsync_positive { '+' } else { '-' },
            if self.vsync_positive { '+' } else { '-' },
        )
    }
}

/// CVT-RB v1 timing for `width`×`height` at `refresh` Hz, identical to `cvt -r W H refresh`
/// (progressive, no margins). Like the `cvt` tool, the active width is first rounded *up* to
/// a multiple of 8 (1366 gives a 1368-pixel mode): a caller that needs the exact width may
/// narrow `hdisplay` back, the blanking after it only grows. `cvt -r` itself refuses refresh
/// rates that are not multiples of 60; libxcvt's formula, used here, accepts any. `refresh` is clamped to 1..=500 Hz (outside it the formula breaks
/// down: the 460 µs blanking would exceed the frame).
pub fn cvt_reduced(width: u16, height: u16, refresh: f64) -> ModeTiming {
    let refresh = if refresh.is_finite() {
        refresh.clamp(1.0, 500.0)
    } else {
        60.0
    };
    let hdisplay = u32::from(width).div_ceil(H_GRANULARITY) * H_GRANULARITY;
    let vdisplay = u32::from(height);
    let vsync = vsync_width(hdisplay, vdisplay);

    // libxcvt: hperiod = ((float)(1000000.0 / vfield_rate - MIN_VBLANK)) / vdisplay, where
    // vfield_rate is a float; the subtraction is done in double and then narrowed.
    let field_rate = f64::from(refresh as f32);
    let hperiod_us: f32 = ((1_000_000.0 / field_rate - f64::from(RB_MIN_VBLANK_US)) as f32)
        / (vdisplay.max(1) as f32);
    let vbi_lines =
        ((RB_MIN_VBLANK_US / hperiod_us + 1.0) as u32).max(RB_V_FPORCH + vsync + MIN_V_BPORCH);

    let htotal = hdisplay + RB_H_BLANK;
    let hsync_end = hdisplay + RB_H_BLANK / 2;
    let vsync_start = vdisplay + RB_V_FPORCH;

    let clock = (f64::from(htotal) * 1000.0 / f64::from(hperiod_us)) as u64;
    let mut timing = ModeTiming {
        hdisplay,
        hsync_start: hsync_end - RB_H_SYNC,
        hsync_end,
        htotal,
        vdisplay,
        vsync_start,
        vsync_end: vsync_start + vsync,
        vtotal: vdisplay + vbi_lines,
        dot_clock_khz: clock - clock % CLOCK_STEP_KHZ,
        hsync_positive: true,
        vsync_positive: false,
    };
    // libxcvt's special case for the common 1366x768 panel: the 1360-pixel cell-aligned mode
    // is widened to 1366 and its sync moved one pixel left.
    if timing.hdisplay == 1360 && timing.vdisplay == 768 {
        timing.hdisplay = 1366;
        timing.hsync_start -= 1;
        timing.hsync_end -= 1;
    }
    timing
}

/// CVT encodes the aspect ratio in the vertical sync width; anything else is "custom" (10).
fn vsync_width(h: u32, v: u32) -> u32 {
    if v.is_multiple_of(3) && v * 4 / 3 == h {
        4
    } else if v.is_multiple_of(9) && v * 16 / 9 == h {
        5
    } else if v.is_multiple_of(10) && v * 16 / 10 == h {
        6
    } else if (v.is_multiple_of(4) && v * 5 / 4 == h) || (v.is_multiple_of(9) && v * 15 / 9 == h) {
        7
    } else {
        10
    }
}

/// The legacy fitting rule (§4.1 `r` and §5.9): odd dimensions are first rounded up to even;
/// a size that is not strictly smaller than `max` in both dimensions is then shrunk by
/// repeated ×0.9999 steps (keeping the aspect ratio) until it fits, and each dimension is
/// rounded up to even. The result is clamped to what an X screen can address.
pub fn fit_resolution(width: u32, height: u32, max: (u32, u32)) -> (u16, u16) {
    let w = width.saturating_add(width % 2);
    let h = height.saturating_add(height % 2);
    let (max_w, max_h) = max;
    let (w, h) = if w < max_w && h < max_h {
        (w, h)
    } else {
        let (mut fw, mut fh) = (f64::from(w), f64::from(h));
        while fw > f64::from(max_w) || fh > f64::from(max_h) {
            fw *= 0.9999;
            fh *= 0.9999;
        }
        let even_up = |v: f64| {
            let i = v as u32;
            i + i % 2
        };
        (even_up(fw), even_up(fh))
    };
    // 32766: the largest even value an X screen dimension (INT16 coordinates) can take.
    let clamp = |v: u32| u16::try_from(v.min(32766)).unwrap_or(32766);
    (clamp(w), clamp(h))
}

/// The legacy per-output maximum: 2560×1600 for `DVI*` outputs, 7680×4320 otherwise.
pub fn max_resolution_for_output(output_name: &str) -> (u32, u32) {
    if output_name.starts_with("DVI") {
        MAX_RESOLUTION_DVI
    } else {
        MAX_RESOLUTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(width: u16, height: u16) -> ModeTiming {
        cvt_reduced(width, height, 60.0)
    }

    #[test]
    fn published_1080p_reduced_blanking_modeline() {
        assert_eq!(
            timing(1920, 1080).modeline_params(),
            "138.50  1920 1968 2000 2080  1080 1083 1088 1111 +hsync -vsync"
        );
    }

    /// `cvt -r W H 60` output (xcvt 0.1.2, Debian 12), parameters after the mode name.
    const CVT_TOOL_VECTORS: &[(u16, u16, &str)] = &[
        (
            640,
            480,
            "23.50  640 688 720 800  480 483 487 494 +hsync -vsync",
        ),
        (
            800,
            600,
            "35.50  800 848 880 960  600 603 607 618 +hsync -vsync",
        ),
        (
            1024,
            768,
            "56.00  1024 1072 1104 1184  768 771 775 790 +hsync -vsync",
        ),
        (
            1280,
            720,
            "63.75  1280 1328 1360 1440  720 723 728 741 +hsync -vsync",
        ),
        (
            1280,
            800,
            "71.00  1280 1328 1360 1440  800 803 809 823 +hsync -vsync",
        ),
        (
            1440,
            900,
            "88.75  1440 1488 1520 1600  900 903 909 926 +hsync -vsync",
        ),
        (
            1600,
            900,
            "97.50  1600 1648 1680 1760  900 903 908 926 +hsync -vsync",
        ),
        (
            1680,
            1050,
            "119.00  1680 1728 1760 1840  1050 1053 1059 1080 +hsync -vsync",
        ),
        (
            2560,
            1440,
            "241.50  2560 2608 2640 2720  1440 1443 1448 1481 +hsync -vsync",
        ),
        (
            2560,
            1600,
            "268.50  2560 2608 2640 2720  1600 1603 1609 1646 +hsync -vsync",
        ),
        (
            3840,
            2160,
            "533.00  3840 3888 3920 4000  2160 2163 2168 2222 +hsync -vsync",
        ),
        (
            7680,
            4320,
            "2089.75  7680 7728 7760 7840  4320 4323 4328 4443 +hsync -vsync",
        ),
        (
            1918,
            1002,
            "128.50  1920 1968 2000 2080  1002 1005 1015 1031 +hsync -vsync",
        ),
        (
            390,
            844,
            "28.50  392 440 472 552  844 847 857 868 +hsync -vsync",
        ),
    ];

    #[test]
    fn matches_recorded_cvt_tool_output() {
        for &(w, h, expected) in CVT_TOOL_VECTORS {
            assert_eq!(timing(w, h).modeline_params(), expected, "{w}x{h}");
        }
    }

    #[test]
    fn widths_round_up_to_the_character_cell_before_the_aspect_check() {
        // `cvt -r 1279 720`: the tool widens to 1280 first, so the mode is 16:9 (vsync 5).
        assert_eq!(
            timing(1279, 720).modeline_params(),
            "63.75  1280 1328 1360 1440  720 723 728 741 +hsync -vsync"
        );
        // `cvt -r 1366 768`: 1368 is not 16:9 (768*16/9 = 1365), so vsync is custom (10).
        assert_eq!(
            timing(1366, 768).modeline_params(),
            "72.25  1368 1416 1448 1528  768 771 781 790 +hsync -vsync"
        );
    }

    #[test]
    fn libxcvt_widens_1360x768_to_1366() {
        // `cvt -r 1354 768` and `cvt -r 1360 768` both print this (mode name "1360x768R").
        for w in [1354, 1360] {
            assert_eq!(
                timing(w, 768).modeline_params(),
                "72.00  1366 1407 1439 1520  768 771 781 790 +hsync -vsync"
            );
        }
    }

    #[test]
    fn refresh_is_near_the_request() {
        for (w, h) in [(1280, 720), (1920, 1080), (3840, 2160), (800, 600)] {
            let t = timing(w, h);
            assert!(
                (t.refresh_hz() - 60.0).abs() < 0.5,
                "{w}x{h}: {}",
                t.refresh_hz()
            );
        }
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let _ = cvt_reduced(0, 0, 60.0);
        let _ = cvt_reduced(u16::MAX, u16::MAX, f64::NAN);
        let _ = cvt_reduced(8, 1, -5.0);
    }

    #[test]
    fn fit_keeps_sizes_below_the_maximum() {
        assert_eq!(fit_resolution(1920, 1080, MAX_RESOLUTION), (1920, 1080));
        assert_eq!(fit_resolution(1367, 769, MAX_RESOLUTION), (1368, 770));
        assert_eq!(fit_resolution(0, 0, MAX_RESOLUTION), (0, 0));
    }

    #[test]
    fn fit_at_exactly_the_maximum_is_unchanged() {
        assert_eq!(fit_resolution(7680, 4320, MAX_RESOLUTION), (7680, 4320));
        assert_eq!(fit_resolution(2560, 1600, MAX_RESOLUTION_DVI), (2560, 1600));
    }

    #[test]
    fn fit_shrinks_like_the_legacy_python() {
        // Expected values computed with the legacy `fit_res` (×0.9999 loop, int(), odd + 1),
        // after the `r` handler's odd + 1.
        let cases = [
            ((15360, 8640), MAX_RESOLUTION, (7680, 4320)),
            ((3840, 2160), MAX_RESOLUTION_DVI, (2560, 1440)),
            ((8000, 3000), MAX_RESOLUTION, (7680, 2880)),
            ((7682, 4320), MAX_RESOLUTION, (7680, 4318)),
            ((2560, 1601), MAX_RESOLUTION_DVI, (2556, 1600)),
        ];
        for ((w, h), max, expected) in cases {
            assert_eq!(fit_resolution(w, h, max), expected, "{w}x{h} in {max:?}");
        }
    }

    #[test]
    fn dvi_outputs_get_the_smaller_maximum() {
        assert_eq!(max_resolution_for_output("DVI-D-0"), MAX_RESOLUTION_DVI);
        assert_eq!(max_resolution_for_output("screen"), MAX_RESOLUTION);
        assert_eq!(max_resolution_for_output("HDMI-0"), MAX_RESOLUTION);
    }

    /// Sweeps sizes through the real `cvt` tool (package xcvt); run with
    /// `cargo test -p selkies-x11 --lib cvt -- --ignored` where `cvt` is installed.
    #[test]
    #[ignore = "needs the cvt tool (apt install xcvt)"]
    fn matches_the_cvt_tool_on_a_sweep() {
        let mut checked = 0;
        for w in (320..=7680).step_by(94) {
            for h in [
                200, 480, 600, 720, 768, 800, 900, 1024, 1080, 1200, 1440, 1600, 2160, 4320,
            ] {
                let out = std::process::Command::new("cvt")
                    .args(["-r", &w.to_string(), &h.to_string(), "60"])
                    .output()
                    .expect("cvt must be installed");
                let text = String::from_utf8_lossy(&out.stdout);
                let line = text
                    .lines()
                    .find(|l| l.starts_with("Modeline"))
                    .expect("modeline");
                let params = line.split_once("R\"").expect("name").1.trim();
                let ours = cvt_reduced(w, h, 60.0).modeline_params();
                assert_eq!(
                    params.split_whitespace().collect::<Vec<_>>(),
                    ours.split_whitespace().collect::<Vec<_>>(),
                    "{w}x{h}"
                );
                checked += 1;
            }
        }
        assert!(checked > 1000);
    }
}
