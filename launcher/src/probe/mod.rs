//! The GPU/encoder probe: report types, the encoder rows (rated from the host's encoder registry,
//! `selkies_proto::encoder::registry`), the default-encoder rule and the
//! human-readable rendering. Pure: the facts come from [`devices`] (files under /dev, /sys,
//! /proc) and from the dlopen probes in [`nvidia`] and [`va`], which only ever run inside the
//! dynamic `selkies-gpu-probe` helper (see docs/launcher.md "Probes").

pub mod devices;
pub mod nvidia;
pub mod va;

use selkies_proto::encoder::Encoder;
use selkies_proto::encoder::registry::{LAUNCHER_PREFERENCE, REGISTRY};
use serde::{Deserialize, Serialize};

/// Everything known about the machine's GPUs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GpuReport {
    pub nvidia: NvidiaReport,
    pub va: VaReport,
    /// Whether the library probes ran (false: device files only).
    pub libraries_probed: bool,
    /// Why the library probes did not run or failed as a whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_error: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NvidiaReport {
    pub device_nodes: Vec<String>,
    pub kernel_driver_version: Option<String>,
    pub cuda: Option<CudaReport>,
    pub nvenc: Option<NvencReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CudaReport {
    pub library: String,
    pub loaded: bool,
    pub error: Option<String>,
    /// `cuDriverGetVersion`, e.g. 12020 for CUDA 12.2.
    pub driver_api_version: Option<i32>,
    pub devices: Vec<CudaDevice>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CudaDevice {
    pub index: i32,
    pub name: String,
    pub compute_capability: [i32; 2],
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NvencReport {
    pub library: String,
    pub loaded: bool,
    pub error: Option<String>,
    /// `NvEncodeAPIGetMaxSupportedVersion`, as `major.minor`.
    pub max_api_version: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VaReport {
    /// Whether libva.so.2 + libva-drm.so.2 loaded, and why not.
    pub libva_loaded: bool,
    pub libva_error: Option<String>,
    pub render_nodes: Vec<RenderNode>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RenderNode {
    pub path: String,
    pub vendor_id: Option<String>,
    pub vendor: Option<String>,
    pub kernel_driver: Option<String>,
    pub va: Option<VaNodeReport>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VaNodeReport {
    pub initialized: bool,
    pub error: Option<String>,
    pub api_version: Option<String>,
    pub vendor_string: Option<String>,
    /// Codecs with a full encode entrypoint (`VAEntrypointEncSlice`).
    pub encode: Vec<String>,
    /// Codecs with only the low-power entrypoint (`VAEntrypointEncSliceLP`).
    pub encode_low_power: Vec<String>,
}

/// How an encoder row is backed: the registry's hardware family.
pub use selkies_proto::encoder::registry::Family as Backend;

/// Plugin names from the file names in `lib/gstreamer-1.0` (`libgstx264.so` → `x264`).
pub fn plugin_names<I: IntoIterator<Item = String>>(file_names: I) -> Vec<String> {
    let mut names: Vec<String> = file_names
        .into_iter()
        .filter_map(|f| {
            f.strip_prefix("libgst")
                .and_then(|s| s.strip_suffix(".so"))
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// NVENC codecs by compute capability: every NVENC GPU does H.264; HEVC arrived with second
/// generation Maxwell (sm_52), AV1 with Ada (sm_89). NVENC's own capability query needs an
/// encode session on a CUDA context, which a probe should not open; this table is the inference.
pub fn nvenc_codecs(cc: [i32; 2]) -> Vec<&'static str> {
    let mut codecs = vec!["h264"];
    if cc >= [5, 2] {
        codecs.push("h265");
    }
    if cc >= [8, 9] {
        codecs.push("av1");
    }
    codecs
}

impl NvidiaReport {
    /// NVENC is usable when CUDA initialised with a device and libnvidia-encode answered.
    pub fn usable(&self) -> Result<[i32; 2], String> {
        let cuda = self.cuda.as_ref().ok_or("libcuda.so.1 not probed")?;
        if !cuda.loaded {
            return Err(format!("{} not loaded", cuda.library));
        }
        if let Some(e) = &cuda.error {
            return Err(format!("CUDA: {e}"));
        }
        let best = cuda
            .devices
            .iter()
            .map(|d| d.compute_capability)
            .max()
            .ok_or("CUDA reports no device")?;
        let nvenc = self
            .nvenc
            .as_ref()
            .ok_or("libnvidia-encode.so.1 not probed")?;
        match (&nvenc.error, &nvenc.max_api_version, nvenc.loaded) {
            (_, _, false) => Err(format!("{} not loaded", nvenc.library)),
            (Some(e), _, _) => Err(format!("NVENC: {e}")),
            (None, None, _) => Err("NVENC reports no API version".to_owned()),
            (None, Some(_), true) => Ok(best),
        }
    }
}

impl VaReport {
    /// Codecs with a full encode entrypoint on any initialised render node.
    pub fn encode_codecs(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .render_nodes
            .iter()
            .filter_map(|n| n.va.as_ref())
            .filter(|v| v.initialized)
            .flat_map(|v| v.encode.iter().cloned())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// One row of the encoder table in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncoderRow {
    pub name: &'static str,
    pub backend: Backend,
    pub codec: &'static str,
    pub plugin_present: bool,
    pub usable: bool,
    pub note: String,
}

/// Rates every encoder of the registry against the GPUs and the bundle's plugins.
pub fn encoder_rows(gpu: &GpuReport, plugins: &[String]) -> Vec<EncoderRow> {
    let nv = gpu.nvidia.usable();
    let va_codecs = gpu.va.encode_codecs();
    REGISTRY
        .iter()
        .map(|spec| {
            let (name, plugin, backend) = (spec.name(), spec.plugin, spec.family());
            let codec = spec.codec().short_name();
            let plugin_present = plugins.iter().any(|p| p == plugin);
            let hw: Result<(), String> = match backend {
                Backend::Software => Ok(()),
                Backend::Nvenc => match &nv {
                    Ok(cc) if nvenc_codecs(*cc).contains(&codec) => Ok(()),
                    Ok(cc) => Err(format!("GPU sm_{}{} has no NVENC {codec}", cc[0], cc[1])),
                    Err(e) => Err(e.clone()),
                },
                Backend::Va if va_codecs.iter().any(|c| c == codec) => Ok(()),
                Backend::Va => Err(format!("no VA-API {codec} encode entrypoint")),
            };
            let (usable, note) = match (plugin_present, hw) {
                (false, _) => (false, format!("plugin {plugin} not in the bundle")),
                (true, Err(e)) => (false, e),
                (true, Ok(())) => (true, String::new()),
            };
            EncoderRow {
                name,
                backend,
                codec,
                plugin_present,
                usable,
                note,
            }
        })
        .collect()
}

/// The default when the user named no encoder: the first usable one of the registry's
/// [`LAUNCHER_PREFERENCE`].
pub fn choose_default(rows: &[EncoderRow]) -> (&'static str, String) {
    for encoder in LAUNCHER_PREFERENCE {
        if let Some(row) = rows.iter().find(|r| r.name == encoder.as_str() && r.usable) {
            let why = match row.backend {
                Backend::Nvenc => "NVIDIA GPU with NVENC",
                Backend::Va => "VA-API H.264 encode on a render node",
                Backend::Software => "no usable hardware encoder",
            };
            return (row.name, why.to_owned());
        }
    }
    (
        Encoder::X264enc.as_str(),
        "no encoder plugin found in the bundle; x264enc is the host's default".to_owned(),
    )
}

/// The GPU facts readable from device files under `root`; loads no library, so the static
/// launcher can call it (and its binary never references dlopen).
pub fn gather_files(root: &std::path::Path) -> GpuReport {
    GpuReport {
        nvidia: devices::nvidia(root),
        va: devices::render_nodes(root),
        libraries_probed: false,
        probe_error: None,
    }
}

/// Device files plus the driver libraries, loaded with libloading. Only the dynamic
/// `selkies-gpu-probe` helper calls this.
pub fn gather_with_libraries(root: &std::path::Path) -> GpuReport {
    let mut report = gather_files(root);
    report.libraries_probed = true;
    report.nvidia.cuda = Some(nvidia::probe_cuda(nvidia::CUDA_LIB));
    report.nvidia.nvenc = Some(nvidia::probe_nvenc(nvidia::NVENC_LIB));
    va::probe(&mut report.va, root);
    report
}

#[cfg(test)]
mod tests;
