//! Finding a writable `v4l2loopback` device: where one exists (a privileged container, a
//! desktop with the module loaded), the host writes the camera there and every V4L2 application
//! sees it without the interposer. Detection first reads sysfs ([`loopback_nodes`]: only
//! v4l2loopback gives its video devices a `max_openers` attribute), keeps the nodes the host's
//! user may write, then confirms with `VIDIOC_QUERYCAP` (parsed by [`is_loopback_output`], which
//! is pure). Without sysfs (some containers) every `/dev/video*` is asked.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use selkies_v4l2_wire::abi::{self, Request};

/// `V4L2_CAP_VIDEO_OUTPUT`.
const CAP_VIDEO_OUTPUT: u32 = 0x0000_0002;

/// Whether a `struct v4l2_capability` describes a v4l2loopback device that accepts output.
pub fn is_loopback_output(cap: &[u8]) -> bool {
    if cap.len() < abi::CAPABILITY_LEN {
        return false;
    }
    let driver = &cap[..16];
    let name_end = driver.iter().position(|b| *b == 0).unwrap_or(16);
    let u32_at = |at: usize| u32::from_le_bytes([cap[at], cap[at + 1], cap[at + 2], cap[at + 3]]);
    let caps = u32_at(84);
    // device_caps when the driver fills them, otherwise the whole device's capabilities.
    let dev = if caps & abi::CAP_DEVICE_CAPS != 0 {
        u32_at(88)
    } else {
        caps
    };
    &driver[..name_end] == b"v4l2 loopback" && dev & CAP_VIDEO_OUTPUT != 0
}

/// `VIDIOC_QUERYCAP` of `path`, if it opens and answers.
fn querycap(path: &Path) -> Option<Vec<u8>> {
    let c = CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: open with a valid path; the fd is closed below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    let mut cap = vec![0u8; abi::CAPABILITY_LEN];
    // SAFETY: QUERYCAP writes exactly CAPABILITY_LEN bytes into our buffer.
    let rc = unsafe {
        libc::ioctl(
            fd,
            abi::encode(Request::QueryCap) as libc::c_ulong,
            cap.as_mut_ptr(),
        )
    };
    // SAFETY: closing the fd opened above.
    unsafe { libc::close(fd) };
    (rc == 0).then_some(cap)
}

/// The video nodes (`video3`) that sysfs under `sys_root` (normally `/sys`) says belong to
/// v4l2loopback, sorted; None when sysfs has no video4linux class (not mounted, no V4L2).
pub fn loopback_nodes(sys_root: &Path) -> Option<Vec<String>> {
    let class = sys_root.join("class/video4linux");
    let mut nodes: Vec<String> = std::fs::read_dir(class)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("max_openers").exists())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_video_node(n))
        .collect();
    nodes.sort();
    Some(nodes)
}

fn is_video_node(name: &str) -> bool {
    name.strip_prefix("video")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn writable(path: &Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: access() with a valid C string.
    unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
}

/// The first writable v4l2loopback device under `/dev`, if any.
pub fn find_writable() -> Option<PathBuf> {
    let nodes: Vec<PathBuf> = match loopback_nodes(Path::new("/sys")) {
        Some(names) => names.iter().map(|n| Path::new("/dev").join(n)).collect(),
        None => {
            let mut all: Vec<PathBuf> = std::fs::read_dir("/dev")
                .ok()?
                .filter_map(|e| e.ok())
                .filter(|e| e.file_name().to_str().is_some_and(is_video_node))
                .map(|e| e.path())
                .collect();
            all.sort();
            all
        }
    };
    nodes
        .into_iter()
        .filter(|p| writable(p))
        .find(|p| querycap(p).is_some_and(|cap| is_loopback_output(&cap)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(driver: &str, caps: u32, device_caps: u32) -> Vec<u8> {
        let mut c = vec![0u8; abi::CAPABILITY_LEN];
        c[..driver.len()].copy_from_slice(driver.as_bytes());
        c[84..88].copy_from_slice(&caps.to_le_bytes());
        c[88..92].copy_from_slice(&device_caps.to_le_bytes());
        c
    }

    #[test]
    fn only_a_loopback_output_device_is_chosen() {
        // As v4l2loopback 0.12 answers with exclusive_caps=1 before a writer attaches.
        assert!(is_loopback_output(&cap(
            "v4l2 loopback",
            0x8520_0002,
            0x0520_0002
        )));
        // A real camera (uvcvideo) and the interposer's own device are capture-only.
        assert!(!is_loopback_output(&cap(
            "uvcvideo",
            0x84a0_0001,
            0x0420_0001
        )));
        assert!(!is_loopback_output(&cap(
            "selkies-webcam",
            0x8500_0001,
            0x0500_0001
        )));
        // Loopback busy as capture only (exclusive_caps with a writer elsewhere).
        assert!(!is_loopback_output(&cap(
            "v4l2 loopback",
            0x8520_0001,
            0x0520_0001
        )));
        assert!(!is_loopback_output(&[0; 10]));
    }

    #[test]
    fn sysfs_names_only_v4l2loopback_nodes() {
        let root = std::env::temp_dir().join(format!("selkies-sysfs-{}", std::process::id()));
        let class = root.join("class/video4linux");
        // A sysfs without the video4linux class: no answer, /dev is scanned instead.
        std::fs::create_dir_all(&root).unwrap();
        assert_eq!(loopback_nodes(&root), None);
        // A UVC camera (video0, video1 metadata), two v4l2loopback devices (video10, video3)
        // as the module lays them out, and a loopback-like entry that is no video node.
        for (node, attrs) in [
            ("video0", &["name", "index", "dev"][..]),
            ("video1", &["name", "index", "dev"][..]),
            (
                "video10",
                &["name", "dev", "format", "buffers", "max_openers"][..],
            ),
            (
                "video3",
                &["name", "dev", "format", "buffers", "max_openers"][..],
            ),
            ("v4l-subdev0", &["name", "max_openers"][..]),
        ] {
            let dir = class.join(node);
            std::fs::create_dir_all(&dir).unwrap();
            for a in attrs {
                std::fs::write(dir.join(a), "x\n").unwrap();
            }
        }
        assert_eq!(
            loopback_nodes(&root),
            Some(vec!["video10".to_string(), "video3".to_string()])
        );
        assert!(is_video_node("video12") && !is_video_node("video") && !is_video_node("videoX"));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
