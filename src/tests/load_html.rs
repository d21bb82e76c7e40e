//! The HTML report opened in headless Chromium: the screenshot must show the charts drawn
//! (bars in the outcome colours, the p99 line, the distribution bars), with no network.
//! Needs `chromium` on PATH (`apt-get install -y chromium`); set XINVOKE_CHROMIUM to use
//! another binary.

use crate::tests::load_support::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use xinvoke::load::engine::Model;
use xinvoke::load::pacing::Pacing;
use xinvoke::load::report::html;

fn chromium() -> PathBuf {
    if let Ok(p) = std::env::var("XINVOKE_CHROMIUM") {
        return PathBuf::from(p);
    }
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("sh").args(["-c", &format!("command -v {name}")]).output() {
            let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if out.status.success() && !path.is_empty() {
                return PathBuf::from(path);
            }
        }
    }
    panic!("this test needs headless Chromium: apt-get install -y chromium (or set XINVOKE_CHROMIUM)");
}

fn screenshot(page: &Path, png: &Path) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1600")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(png.exists(), "no screenshot: {}", String::from_utf8_lossy(&out.stderr));
}

/// Pixels (RGB) within `tol` of each colour.
fn count_colours(png: &Path, colours: &[(u8, u8, u8)], tol: i32) -> Vec<usize> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let step = match info.color_type {
        png::ColorType::Rgba => 4,
        png::ColorType::Rgb => 3,
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    let mut counts = vec![0; colours.len()];
    for px in buf[..info.buffer_size()].chunks(step) {
        for (i, (r, g, b)) in colours.iter().enumerate() {
            if (i32::from(px[0]) - i32::from(*r)).abs() <= tol
                && (i32::from(px[1]) - i32::from(*g)).abs() <= tol
                && (i32::from(px[2]) - i32::from(*b)).abs() <= tol
            {
                counts[i] += 1;
            }
        }
    }
    counts
}

fn rgb(hex: &str) -> (u8, u8, u8) {
    let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
    ((v >> 16) as u8, (v >> 8) as u8, v as u8)
}

#[tokio::test(start_paused = true)]
async fn the_html_report_renders_its_charts_offline_in_headless_chromium() {
    let list = [
        json!({"stall_ms": 40}),
        json!({"stall_ms": 5}),
        json!({"fail": "EC2ThrottledException"}),
        json!({"stall_ms": 120}),
        json!({"fail": "ENILimitReachedException"}),
    ];
    let p = plan(Model::Open(Pacing::parse_ramp("20:200:4s").unwrap()), Some(4000), None);
    let (_tx, stop) = stop_signal();
    let (_, _, m) = run(&p, fake_target(false), &payloads(&list), stop).await;
    let page = html::render(&m.finish());
    for external in ["<script", "<link", "@import", "url(", "src="] {
        assert!(
            !page.contains(external),
            "the page must be self-contained: found {external}"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let (file, png) = (dir.path().join("report.html"), dir.path().join("shot.png"));
    std::fs::write(&file, &page).unwrap();
    screenshot(&file, &png);
    let colours = [
        rgb(html::colour("ok")),
        rgb(html::colour("ec2_throttled")),
        rgb(html::colour("eni_limit")),
        rgb(html::P99),
        rgb("#5c6bc0"),
    ];
    let counts = count_colours(&png, &colours, 10);
    let names = [
        "ok bars",
        "ec2_throttled bars",
        "eni_limit bars",
        "p99 line",
        "distribution bars",
    ];
    for (name, n) in names.iter().zip(&counts) {
        assert!(*n > 150, "{name}: only {n} pixels drawn ({counts:?})");
    }
    // The stacked ok bars dominate the outcome chart.
    assert!(counts[0] > 5_000, "{counts:?}");
}
