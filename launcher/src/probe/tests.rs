//! Encoder rows and default-choice vectors.

use super::*;

fn nvidia_ok(cc: [i32; 2]) -> NvidiaReport {
    NvidiaReport {
        device_nodes: vec!["/dev/nvidia0".into(), "/dev/nvidiactl".into()],
        kernel_driver_version: Some("535.104.05".into()),
        cuda: Some(CudaReport {
            library: "libcuda.so.1".into(),
            loaded: true,
            error: None,
            driver_api_version: Some(12020),
            devices: vec![CudaDevice {
                index: 0,
                name: "Fake GPU".into(),
                compute_capability: cc,
            }],
        }),
        nvenc: Some(NvencReport {
            library: "libnvidia-encode.so.1".into(),
            loaded: true,
            error: None,
            max_api_version: Some("12.1".into()),
        }),
    }
}

fn va_with(encode: &[&str]) -> VaReport {
    VaReport {
        libva_loaded: true,
        libva_error: None,
        render_nodes: vec![RenderNode {
            path: "/dev/dri/renderD128".into(),
            vendor_id: Some("0x8086".into()),
            vendor: Some("Intel".into()),
            kernel_driver: Some("i915".into()),
            va: Some(VaNodeReport {
                initialized: true,
                encode: encode.iter().map(|s| s.to_string()).collect(),
                ..VaNodeReport::default()
            }),
        }],
    }
}

fn all_plugins() -> Vec<String> {
    plugin_names(
        [
            "libgstnvcodec.so",
            "libgstva.so",
            "libgstx264.so",
            "libgstvpx.so",
            "README",
            "libgstopenh264.so",
        ]
        .iter()
        .map(|s| s.to_string()),
    )
}

fn default_for(gpu: &GpuReport, plugins: &[String]) -> &'static str {
    choose_default(&encoder_rows(gpu, plugins)).0
}

#[test]
fn plugin_file_names() {
    assert_eq!(all_plugins(), ["nvcodec", "openh264", "va", "vpx", "x264"]);
}

#[test]
fn nvenc_beats_va_beats_x264() {
    let both = GpuReport {
        nvidia: nvidia_ok([8, 6]),
        va: va_with(&["h264"]),
        libraries_probed: true,
        probe_error: None,
    };
    assert_eq!(default_for(&both, &all_plugins()), "nvh264enc");
    let va_only = GpuReport {
        va: va_with(&["h264", "h265"]),
        ..GpuReport::default()
    };
    assert_eq!(default_for(&va_only, &all_plugins()), "vah264enc");
    assert_eq!(
        default_for(&GpuReport::default(), &all_plugins()),
        "x264enc"
    );
}

#[test]
fn hardware_without_its_plugin_is_not_chosen() {
    let gpu = GpuReport {
        nvidia: nvidia_ok([8, 9]),
        va: va_with(&["h264"]),
        ..GpuReport::default()
    };
    let plugins = plugin_names(["libgstx264.so".to_string()]);
    assert_eq!(default_for(&gpu, &plugins), "x264enc");
    let rows = encoder_rows(&gpu, &plugins);
    let nv = rows.iter().find(|r| r.name == "nvh264enc").expect("row");
    assert!(!nv.usable);
    assert_eq!(nv.note, "plugin nvcodec not in the bundle");
}

#[test]
fn broken_nvidia_states_fall_back() {
    let mut no_device = nvidia_ok([8, 6]);
    if let Some(c) = no_device.cuda.as_mut() {
        c.devices.clear();
    }
    let mut cuda_error = nvidia_ok([8, 6]);
    if let Some(c) = cuda_error.cuda.as_mut() {
        c.error = Some("cuInit failed: CUDA_ERROR_NO_DEVICE (100)".into());
    }
    let mut nvenc_missing = nvidia_ok([8, 6]);
    nvenc_missing.nvenc = Some(NvencReport {
        library: "libnvidia-encode.so.1".into(),
        loaded: false,
        error: Some("cannot open".into()),
        max_api_version: None,
    });
    for (nv, why) in [
        (no_device, "CUDA reports no device"),
        (cuda_error, "CUDA: cuInit failed"),
        (nvenc_missing, "libnvidia-encode.so.1 not loaded"),
    ] {
        let gpu = GpuReport {
            nvidia: nv,
            ..GpuReport::default()
        };
        let rows = encoder_rows(&gpu, &all_plugins());
        let row = rows.iter().find(|r| r.name == "nvh264enc").expect("row");
        assert!(row.note.starts_with(why), "{} vs {why}", row.note);
        assert_eq!(choose_default(&rows).0, "x264enc");
    }
}

#[test]
fn nvenc_codecs_follow_compute_capability() {
    assert_eq!(nvenc_codecs([3, 0]), ["h264"]);
    assert_eq!(nvenc_codecs([5, 2]), ["h264", "h265"]);
    assert_eq!(nvenc_codecs([8, 6]), ["h264", "h265"]);
    assert_eq!(nvenc_codecs([8, 9]), ["h264", "h265", "av1"]);
    let gpu = GpuReport {
        nvidia: nvidia_ok([7, 5]),
        ..GpuReport::default()
    };
    let rows = encoder_rows(&gpu, &all_plugins());
    let av1 = rows.iter().find(|r| r.name == "nvav1enc").expect("row");
    assert!(!av1.usable);
    assert_eq!(av1.note, "GPU sm_75 has no NVENC av1");
}

#[test]
fn low_power_only_va_is_not_vah264enc() {
    let mut va = va_with(&[]);
    if let Some(v) = va.render_nodes[0].va.as_mut() {
        v.encode_low_power = vec!["h264".into()];
    }
    let gpu = GpuReport {
        va,
        ..GpuReport::default()
    };
    assert_eq!(default_for(&gpu, &all_plugins()), "x264enc");
}

#[test]
fn software_fallbacks_when_x264_is_missing() {
    let plugins = plugin_names(["libgstopenh264.so".to_string(), "libgstvpx.so".to_string()]);
    assert_eq!(default_for(&GpuReport::default(), &plugins), "openh264enc");
    let plugins = plugin_names(["libgstvpx.so".to_string()]);
    assert_eq!(default_for(&GpuReport::default(), &plugins), "vp8enc");
    let (name, why) = choose_default(&encoder_rows(&GpuReport::default(), &[]));
    assert_eq!(name, "x264enc");
    assert!(why.contains("no encoder plugin"), "{why}");
}

#[test]
fn report_round_trips_through_json() {
    let gpu = GpuReport {
        nvidia: nvidia_ok([8, 9]),
        va: va_with(&["h264", "av1"]),
        libraries_probed: true,
        probe_error: None,
    };
    let text = serde_json::to_string(&gpu).expect("serialise");
    let back: GpuReport = serde_json::from_str(&text).expect("parse");
    assert_eq!(back, gpu);
}
