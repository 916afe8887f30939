//! The `--probe` report: what the launcher found about glibc, GPUs, drivers and the bundle's
//! encoder plugins, and which encoder it would pick. Rendered as JSON for scripts and as a short
//! text for people; both come from the same struct so they never disagree.

use std::fmt::Write as _;

use serde::Serialize;

use crate::glibc::ModeDecision;
use crate::probe::{EncoderRow, GpuReport, choose_default, encoder_rows};

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub launcher_version: &'static str,
    pub bundle_root: String,
    pub glibc: ModeDecision,
    pub plugins: Vec<String>,
    pub gpu: GpuReport,
    pub encoders: Vec<EncoderRow>,
    pub default_encoder: &'static str,
    pub default_reason: String,
}

impl Report {
    pub fn new(
        bundle_root: String,
        glibc: ModeDecision,
        plugins: Vec<String>,
        gpu: GpuReport,
    ) -> Self {
        let encoders = encoder_rows(&gpu, &plugins);
        let (default_encoder, default_reason) = choose_default(&encoders);
        Self {
            launcher_version: env!("CARGO_PKG_VERSION"),
            bundle_root,
            glibc,
            plugins,
            gpu,
            encoders,
            default_encoder,
            default_reason,
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising plain data structs with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
        let _ = writeln!(s, "selkies-gstreamer-run {}", self.launcher_version);
        let _ = writeln!(s, "bundle   {}", self.bundle_root);
        let ver =
            |v: Option<crate::glibc::GlibcVersion>| v.map_or("none".to_owned(), |v| v.to_string());
        let _ = writeln!(
            s,
            "glibc    {} mode (host {}, bundled {}): {}",
            self.glibc.mode,
            ver(self.glibc.host),
            ver(self.glibc.bundled),
            self.glibc.reason
        );
        let nv = &self.gpu.nvidia;
        let nodes = if nv.device_nodes.is_empty() {
            "none".to_owned()
        } else {
            nv.device_nodes.join(" ")
        };
        let _ = writeln!(
            s,
            "NVIDIA   device nodes: {nodes}; kernel driver {}",
            opt(&nv.kernel_driver_version)
        );
        if let Some(c) = &nv.cuda {
            let state = match (&c.error, c.loaded) {
                (Some(e), _) => format!("error: {e}"),
                (None, true) => format!(
                    "CUDA driver API {}",
                    c.driver_api_version.map_or("?".to_owned(), |v| format!(
                        "{}.{}",
                        v / 1000,
                        (v % 1000) / 10
                    ))
                ),
                (None, false) => "not loaded".to_owned(),
            };
            let _ = writeln!(s, "         {}: {state}", c.library);
            for d in &c.devices {
                let _ = writeln!(
                    s,
                    "         GPU {}: {} (compute {}.{})",
                    d.index, d.name, d.compute_capability[0], d.compute_capability[1]
                );
            }
        }
        if let Some(n) = &nv.nvenc {
            let state = match (&n.error, &n.max_api_version) {
                (Some(e), _) => format!("error: {e}"),
                (None, Some(v)) => format!("NVENC API up to {v}"),
                (None, None) => "not loaded".to_owned(),
            };
            let _ = writeln!(s, "         {}: {state}", n.library);
        }
        let va = &self.gpu.va;
        let libva = match (&va.libva_error, va.libva_loaded) {
            (Some(e), _) => format!("libva: {e}"),
            (None, true) => "libva loaded".to_owned(),
            (None, false) => "libva not probed".to_owned(),
        };
        let _ = writeln!(
            s,
            "VA-API   {} render node(s); {libva}",
            va.render_nodes.len()
        );
        for n in &va.render_nodes {
            let _ = write!(
                s,
                "         {} vendor {} ({}) driver {}",
                n.path,
                opt(&n.vendor_id),
                opt(&n.vendor),
                opt(&n.kernel_driver)
            );
            match &n.va {
                Some(v) if v.initialized => {
                    let _ = writeln!(
                        s,
                        ": VA {} \"{}\" encode [{}] low-power [{}]",
                        opt(&v.api_version),
                        opt(&v.vendor_string),
                        v.encode.join(" "),
                        v.encode_low_power.join(" ")
                    );
                }
                Some(v) => {
                    let _ = writeln!(s, ": {}", opt(&v.error));
                }
                None => s.push('\n'),
            }
        }
        if let Some(e) = &self.gpu.probe_error {
            let _ = writeln!(s, "probe    library probes unavailable: {e}");
        }
        let _ = writeln!(s, "plugins  {}", self.plugins.join(" "));
        let _ = writeln!(s, "encoders");
        for r in &self.encoders {
            let mark = if r.usable { "yes" } else { "no " };
            let _ = writeln!(s, "  {mark} {:<12} {}", r.name, r.note);
        }
        let _ = writeln!(
            s,
            "default  {} ({})",
            self.default_encoder, self.default_reason
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glibc::{GlibcMode, GlibcVersion, ModeDecision};

    fn decision() -> ModeDecision {
        ModeDecision {
            mode: GlibcMode::Bundled,
            host: Some(GlibcVersion {
                major: 2,
                minor: 31,
            }),
            bundled: Some(GlibcVersion {
                major: 2,
                minor: 36,
            }),
            reason: "host glibc 2.31 is older than the bundled 2.36".to_owned(),
        }
    }

    #[test]
    fn json_and_text_agree_on_the_default() {
        let plugins = vec!["x264".to_owned(), "vpx".to_owned()];
        let r = Report::new(
            "/opt/b".to_owned(),
            decision(),
            plugins,
            GpuReport::default(),
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("valid JSON");
        assert_eq!(json["default_encoder"], "x264enc");
        assert_eq!(json["glibc"]["mode"], "bundled");
        assert_eq!(json["glibc"]["host"]["minor"], 31);
        assert_eq!(
            json["encoders"].as_array().map(Vec::len),
            Some(selkies_proto::encoder::Encoder::ALL.len())
        );
        let text = r.to_text();
        assert!(
            text.contains("default  x264enc (no usable hardware encoder)"),
            "{text}"
        );
        assert!(
            text.contains("glibc    bundled mode (host 2.31, bundled 2.36)"),
            "{text}"
        );
        assert!(
            text.contains("no  nvh264enc    plugin nvcodec not in the bundle"),
            "{text}"
        );
    }
}
