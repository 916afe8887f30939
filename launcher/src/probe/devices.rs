//! GPU facts readable from files, without loading any library: NVIDIA device nodes and kernel
//! module version, DRM render nodes with their PCI vendor and kernel driver. Safe to run in the
//! static launcher itself.
//!
//! All paths are taken under a root (normally `/`). Tests point `SELKIES_PROBE_ROOT` at a fake
//! tree so the NVIDIA and VA branches run on machines without a GPU.

use std::path::{Path, PathBuf};

use super::{NvidiaReport, RenderNode, VaReport};

/// The root to read device files under.
pub fn probe_root() -> PathBuf {
    // Unset in production; tests point it at a fake tree.
    std::env::var_os(crate::vars::SELKIES_PROBE_ROOT)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn under(root: &Path, abs: &str) -> PathBuf {
    root.join(abs.trim_start_matches('/'))
}

/// The version in `/proc/driver/nvidia/version`'s first line, e.g.
/// `NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023`
/// (also "Open Kernel Module"): the first dotted numeric token after "Module".
pub fn parse_nvidia_proc_version(text: &str) -> Option<String> {
    let line = text.lines().next()?;
    let after = &line[line.find("Module")? + "Module".len()..];
    after
        .split_whitespace()
        .find(|t| {
            t.contains('.')
                && t.chars().all(|c| c.is_ascii_digit() || c == '.')
                && t.starts_with(|c: char| c.is_ascii_digit())
        })
        .map(str::to_owned)
}

/// Human name for a PCI vendor id.
pub fn vendor_name(id: &str) -> Option<&'static str> {
    match id.trim().to_ascii_lowercase().as_str() {
        "0x8086" => Some("Intel"),
        "0x1002" => Some("AMD"),
        "0x10de" => Some("NVIDIA"),
        "0x1af4" => Some("virtio"),
        "0x15ad" => Some("VMware"),
        _ => None,
    }
}

/// Sorts `nvidia0`, `nvidia2`, `nvidia10` numerically and keeps control/uvm nodes.
fn is_nvidia_node(name: &str) -> bool {
    name == "nvidiactl"
        || name == "nvidia-uvm"
        || name == "nvidia-modeset"
        || name
            .strip_prefix("nvidia")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn sorted_dir_names(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| keep(n))
        .collect();
    names.sort_by_key(|n| {
        let digits: String = n.chars().filter(char::is_ascii_digit).collect();
        (digits.parse::<u64>().unwrap_or(u64::MAX), n.clone())
    });
    names
}

/// NVIDIA device nodes and the kernel module version.
pub fn nvidia(root: &Path) -> NvidiaReport {
    let dev = under(root, "/dev");
    let device_nodes = sorted_dir_names(&dev, is_nvidia_node)
        .into_iter()
        .map(|n| format!("/dev/{n}"))
        .collect();
    let kernel_driver_version = std::fs::read_to_string(under(root, "/proc/driver/nvidia/version"))
        .ok()
        .and_then(|t| parse_nvidia_proc_version(&t))
        .or_else(|| {
            std::fs::read_to_string(under(root, "/sys/module/nvidia/version"))
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        });
    NvidiaReport {
        device_nodes,
        kernel_driver_version,
        cuda: None,
        nvenc: None,
    }
}

/// `/dev/dri/renderD*` with vendor and driver from `/sys/class/drm/<node>/device`.
pub fn render_nodes(root: &Path) -> VaReport {
    let nodes = sorted_dir_names(&under(root, "/dev/dri"), |n| n.starts_with("renderD"))
        .into_iter()
        .map(|name| {
            let sys = under(root, "/sys/class/drm").join(&name).join("device");
            let vendor_id = std::fs::read_to_string(sys.join("vendor"))
                .ok()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
            let kernel_driver = std::fs::read_link(sys.join("driver"))
                .ok()
                .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()));
            RenderNode {
                path: format!("/dev/dri/{name}"),
                vendor: vendor_id
                    .as_deref()
                    .and_then(vendor_name)
                    .map(str::to_owned),
                vendor_id,
                kernel_driver,
                va: None,
            }
        })
        .collect();
    VaReport {
        libva_loaded: false,
        libva_error: None,
        render_nodes: nodes,
    }
}

/// The file actually opened for a reported node path (re-rooted like every other read).
pub fn node_file(root: &Path, reported: &str) -> PathBuf {
    under(root, reported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvidia_proc_version_lines() {
        let proprietary = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\nGCC version:  gcc version 12.2.0";
        assert_eq!(
            parse_nvidia_proc_version(proprietary).as_deref(),
            Some("535.104.05")
        );
        let open = "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  550.54.14  Release Build  (dvs-builder@U16-I3-B03-4-3)  Thu Feb 22 01:25:25 UTC 2024";
        assert_eq!(
            parse_nvidia_proc_version(open).as_deref(),
            Some("550.54.14")
        );
        assert_eq!(parse_nvidia_proc_version("garbage"), None);
        assert_eq!(parse_nvidia_proc_version(""), None);
    }

    #[test]
    fn vendors() {
        assert_eq!(vendor_name("0x8086\n"), Some("Intel"));
        assert_eq!(vendor_name("0x1002"), Some("AMD"));
        assert_eq!(vendor_name("0x10DE"), Some("NVIDIA"));
        assert_eq!(vendor_name("0x1234"), None);
    }

    #[test]
    fn fake_tree_is_read() {
        let root = std::env::temp_dir().join(format!("sl-devices-{}", std::process::id()));
        for d in [
            "dev/dri",
            "proc/driver/nvidia",
            "sys/class/drm/renderD129/device",
        ] {
            std::fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in [
            "dev/nvidia10",
            "dev/nvidia2",
            "dev/nvidiactl",
            "dev/nvidiafoo",
            "dev/dri/renderD129",
            "dev/dri/renderD128",
            "dev/dri/card0",
        ] {
            std::fs::write(root.join(f), b"").expect("touch");
        }
        std::fs::write(
            root.join("proc/driver/nvidia/version"),
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  470.256.02  Thu May  2 14:37:44 UTC 2024\n",
        )
        .expect("write");
        std::fs::write(
            root.join("sys/class/drm/renderD129/device/vendor"),
            "0x1002\n",
        )
        .expect("write");
        std::os::unix::fs::symlink(
            "../../bus/pci/drivers/amdgpu",
            root.join("sys/class/drm/renderD129/device/driver"),
        )
        .expect("symlink");

        let nv = nvidia(&root);
        assert_eq!(
            nv.device_nodes,
            ["/dev/nvidia2", "/dev/nvidia10", "/dev/nvidiactl"]
        );
        assert_eq!(nv.kernel_driver_version.as_deref(), Some("470.256.02"));
        let va = render_nodes(&root);
        let paths: Vec<&str> = va.render_nodes.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["/dev/dri/renderD128", "/dev/dri/renderD129"]);
        assert_eq!(va.render_nodes[0].vendor_id, None);
        assert_eq!(va.render_nodes[1].vendor.as_deref(), Some("AMD"));
        assert_eq!(va.render_nodes[1].kernel_driver.as_deref(), Some("amdgpu"));
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
