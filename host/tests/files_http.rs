//! File transfer over the real accept loop (`selkies_host::server`) and router (docs/files.md):
//! a 64 MiB upload (1 GiB in ci/checks/77-intake.sh) cut off mid-chunk by a dropped connection
//! and resumed from the offset the host reports, the upload rate limit's achieved rate, hostile
//! names that must stay inside the upload directory, no overwrite, size
//! limits, a 1 GiB download streamed with the process RSS printed before and after (and
//! bounded), ranges, and every route refused without auth and absent when the feature is off.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod files_common;

use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use files_common::*;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_upload_resumes_after_a_dropped_connection() {
    let _serial = SERIAL.lock().await;
    let size = upload_test_size();
    let h = start(true, true, Some(size / MIB + 1)).await;
    let started = Instant::now();
    let r = start_upload(&h, "big.bin", size).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let chunk = 16 * MIB;
    let put = |offset: u64, end: u64| {
        let id = id.clone();
        async move {
            send(
                h.addr,
                "PUT",
                &format!("/files/upload/{id}?offset={offset}"),
                pattern_at(offset, (end - offset) as usize),
                true,
            )
            .await
        }
    };
    // Up to the middle, then a chunk cut off by a dropped connection.
    let middle = (size / 2 / chunk).max(1) * chunk;
    let mut offset = 0;
    while offset < middle {
        let r = put(offset, offset + chunk).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
        offset += chunk;
        assert_eq!(r.json()["offset"], offset);
    }
    let sent_before_drop = 5 * MIB;
    let mut s = TcpStream::connect(h.addr).await.unwrap();
    let head = format!(
        "PUT /files/upload/{id}?offset={offset} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH}\r\n\
         Content-Length: {chunk}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&pattern_at(offset, sent_before_drop as usize))
        .await
        .unwrap();
    s.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(s);

    // Ask how much arrived; the host may still be finishing the cut-off chunk.
    let deadline = Instant::now() + Duration::from_secs(20);
    let have = loop {
        let r = send(h.addr, "HEAD", &format!("/files/upload/{id}"), vec![], true).await;
        assert_eq!(r.status, StatusCode::OK);
        let get = send(h.addr, "GET", &format!("/files/upload/{id}"), vec![], true).await;
        let have: u64 = r.headers["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        if get.json()["busy"] != true {
            break have;
        }
        assert!(Instant::now() < deadline, "upload stays busy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!(
        "after the disconnect the host holds {have} bytes ({} sent before it)",
        offset + sent_before_drop
    );
    assert!(have >= offset && have <= offset + sent_before_drop);

    // A stale offset is refused with the right one.
    let r = put(0, 10).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.json()["offset"], have);

    let mut offset = have;
    while offset < size {
        let end = (offset + chunk).min(size);
        let r = put(offset, end).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
        offset = end;
        if offset == size {
            assert_eq!(r.json()["done"], true);
            assert_eq!(r.json()["name"], "big.bin");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "upload of {} MiB with a resume: {secs:.1} s ({:.0} MiB/s)",
        size / MIB,
        (size / MIB) as f64 / secs
    );
    // Compare chunk by chunk.
    let mut f = std::fs::File::open(h.up.join("big.bin")).unwrap();
    assert_eq!(f.metadata().unwrap().len(), size);
    let mut at = 0;
    while at < size {
        let n = chunk.min(size - at) as usize;
        let mut buf = vec![0; n];
        std::io::Read::read_exact(&mut f, &mut buf).unwrap();
        assert!(
            buf == pattern_at(at, n),
            "the resumed upload differs at {at}"
        );
        at += n as u64;
    }
    let leftovers: Vec<_> = std::fs::read_dir(&h.up)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "partial files left: {leftovers:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_rate_limit_bounds_the_achieved_rate() {
    let _serial = SERIAL.lock().await;
    // --file_upload_rate_kib=1024; 4 MiB in 1 MiB chunks, as the client sends them.
    let limit = 1024 * 1024;
    let (size, chunk) = (4 * MIB, MIB);
    let h = start_with(true, true, None, Some(limit)).await;
    let r = start_upload(&h, "paced.bin", size).await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let started = Instant::now();
    let mut offset = 0;
    while offset < size {
        let path = format!("/files/upload/{id}?offset={offset}");
        let r = send(
            h.addr,
            "PUT",
            &path,
            pattern_at(offset, chunk as usize),
            true,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json());
        offset += chunk;
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = size as f64 / secs;
    println!(
        "upload of {} MiB at --file_upload_rate_kib=1024: {secs:.2} s, {:.0} KiB/s",
        size / MIB,
        rate / 1024.0
    );
    // Generous: only a limiter that does not pace at all gets near the loopback's GB/s.
    assert!(rate <= 2.0 * limit as f64, "{rate:.0} B/s over 2x {limit}");
    assert_eq!(
        std::fs::metadata(h.up.join("paced.bin")).unwrap().len(),
        size
    );
    h.stop().await;
}

fn inside(dir: &Path, name: &str) -> bool {
    let p = dir.join(name);
    p.parent() == Some(dir) && p.is_file()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_stay_inside_and_nothing_is_overwritten() {
    let _serial = SERIAL.lock().await;
    let h = start(true, true, None).await;
    let outside = h.dir.path().join("etc");
    let long = "é".repeat(300);
    let cases: [(&str, &str); 9] = [
        ("../../etc/passwd", "passwd"),
        ("/etc/passwd", "passwd (1)"),
        ("..\\..\\boot.ini", "boot.ini"),
        ("a\0b.txt", "ab.txt"),
        ("..", "upload"),
        (".hidden", "hidden"),
        ("Résumé 履歴書 😀.txt", "Résumé 履歴書 😀.txt"),
        ("line\nbreak.txt", "linebreak.txt"),
        (&long, ""),
    ];
    for (raw, expected) in cases {
        let name = upload(&h, raw, raw.as_bytes()).await;
        if !expected.is_empty() {
            assert_eq!(name, expected, "for {raw:?}");
        }
        assert!(name.len() <= 255 && !name.contains('/'), "{name:?}");
        assert!(inside(&h.up, &name), "{raw:?} became {name:?}");
        assert_eq!(std::fs::read(h.up.join(&name)).unwrap(), raw.as_bytes());
    }
    assert!(!outside.exists());
    // The same name again never replaces the first file.
    assert_eq!(upload(&h, "same.txt", b"one").await, "same.txt");
    assert_eq!(upload(&h, "same.txt", b"two").await, "same (1).txt");
    assert_eq!(upload(&h, "empty", b"").await, "empty");
    assert_eq!(std::fs::read(h.up.join("same.txt")).unwrap(), b"one");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_and_bad_chunks_are_refused() {
    let _serial = SERIAL.lock().await;
    let h = start(true, true, Some(1)).await;
    let r = start_upload(&h, "big", 2 * MIB).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = start_upload(&h, "small", 10).await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let put = |off: u64, body: Vec<u8>| {
        let id = id.clone();
        async move {
            send(
                h.addr,
                "PUT",
                &format!("/files/upload/{id}?offset={off}"),
                body,
                true,
            )
            .await
        }
    };
    assert_eq!(
        put(0, vec![1; 11]).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(put(5, vec![1; 5]).await.status, StatusCode::CONFLICT);
    assert_eq!(put(0, vec![1; 4]).await.status, StatusCode::OK);
    let r = send(
        h.addr,
        "DELETE",
        &format!("/files/upload/{id}"),
        vec![],
        true,
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = send(h.addr, "GET", &format!("/files/upload/{id}"), vec![], true).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(std::fs::read_dir(&h.up).unwrap().count(), 0);
    let r = send(h.addr, "PUT", "/files/upload/nope?offset=0", vec![1], true).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    h.stop().await;
}

/// Resident set size of this process in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_stream_with_ranges_and_flat_memory() {
    let _serial = SERIAL.lock().await;
    let h = start(true, true, None).await;
    std::fs::write(h.down.join("hello.txt"), b"0123456789").unwrap();
    std::fs::write(h.down.join(".secret"), b"x").unwrap();
    std::fs::write(h.dir.path().join("outside.txt"), b"x").unwrap();
    std::os::unix::fs::symlink(h.dir.path().join("outside.txt"), h.down.join("link.txt")).unwrap();
    // 1 GiB, sparse: larger than the memory bound asserted below, cheap on disk.
    let big = std::fs::File::create(h.down.join("big.iso")).unwrap();
    big.set_len(1 << 30).unwrap();
    drop(big);

    let list = send(h.addr, "GET", "/files/list", vec![], true).await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<String> = list.json()["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["big.iso", "hello.txt"]);

    let r = send(h.addr, "GET", "/files/download/hello.txt", vec![], true).await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (StatusCode::OK, &b"0123456789"[..])
    );
    assert_eq!(r.headers["accept-ranges"], "bytes");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("hello.txt")
    );
    let addr = h.addr;
    let range = |spec: &'static str| async move {
        send_with(
            addr,
            "GET",
            "/files/download/hello.txt",
            vec![],
            true,
            &[("range", spec)],
        )
        .await
    };
    let r = range("bytes=2-4").await;
    assert_eq!(
        (r.status, r.body.as_slice()),
        (StatusCode::PARTIAL_CONTENT, &b"234"[..])
    );
    assert_eq!(r.headers["content-range"], "bytes 2-4/10");
    let r = range("bytes=-3").await;
    assert_eq!(r.body, b"789");
    let r = range("bytes=10-").await;
    assert_eq!(r.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(r.headers["content-range"], "bytes */10");
    for bad in [
        "/files/download/..%2Foutside.txt",
        "/files/download/%2E%2E",
        "/files/download/.secret",
        "/files/download/link.txt",
        "/files/download/missing",
        "/files/download/..%2F..%2Fetc%2Fpasswd",
    ] {
        let r = send(h.addr, "GET", bad, vec![], true).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}");
    }

    // The 1 GiB file, read and dropped as it arrives.
    let before = rss();
    let stream = TcpStream::connect(h.addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::get("/files/download/big.iso")
        .header("host", "x")
        .header("authorization", AUTH)
        .body(Full::new(Bytes::new()))
        .unwrap();
    let mut body = sender.send_request(req).await.unwrap().into_body();
    let (mut total, mut peak) = (0u64, before);
    let mut frames = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            total += data.len() as u64;
        }
        frames += 1;
        if frames.is_multiple_of(1024) {
            peak = peak.max(rss());
        }
    }
    let after = rss();
    println!(
        "1 GiB download: RSS before {} MiB, peak {} MiB, after {} MiB",
        before / MIB,
        peak / MIB,
        after / MIB
    );
    assert_eq!(total, 1 << 30);
    assert!(peak < before + 64 * MIB, "RSS grew from {before} to {peak}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_needs_auth_and_is_absent_when_disabled() {
    let _serial = SERIAL.lock().await;
    let routes = [
        ("GET", "/files/list"),
        ("GET", "/files/download/a.txt"),
        ("HEAD", "/files/download/a.txt"),
        ("POST", "/files/upload?name=a&size=1"),
        ("GET", "/files/upload/abc"),
        ("HEAD", "/files/upload/abc"),
        ("PUT", "/files/upload/abc?offset=0"),
        ("DELETE", "/files/upload/abc"),
        ("GET", "/files/"),
    ];
    let h = start(true, true, None).await;
    std::fs::write(h.down.join("a.txt"), b"a").unwrap();
    for (m, p) in routes {
        let r = send(h.addr, m, p, vec![1], false).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{m} {p}");
        assert!(r.headers.contains_key("www-authenticate"));
    }
    assert_eq!(std::fs::read_dir(&h.up).map(|d| d.count()).unwrap_or(0), 0);
    // With the right credentials the same routes answer.
    let r = send(h.addr, "GET", "/files/download/a.txt", vec![], true).await;
    assert_eq!(r.status, StatusCode::OK);
    h.stop().await;

    let h = start(false, false, None).await;
    std::fs::write(h.down.join("a.txt"), b"a").unwrap();
    for (m, p) in routes {
        let r = send(h.addr, m, p, vec![1], false).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{m} {p} with file transfer off"
        );
    }
    h.stop().await;
}
