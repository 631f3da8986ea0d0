//! The Playground page in a real browser: headless Chromium, driven
//! through WebDriver, uses the page as a student would — circle, Sigmoid,
//! Play — and reads what the page shows, while the server trains the net
//! with tapegrad. The findings of the lecture note's Task 1 must appear on
//! the page itself: Sigmoid reaches a test loss below 0.1; Linear units on
//! x₁, x₂ stay near ln 2 (a linear classifier cannot separate the circle).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). `TAPEGRAD_SCREENSHOT=docs/playground_web.png` also writes the
//! screenshot the README shows.

mod common;
#[path = "common/web.rs"]
mod web;

use std::time::Duration;

use web::{start_server, wait_for, Browser};

/// The number a `#id` element shows (`–` before the first update is `None`).
fn shown(browser: &Browser, css: &str) -> Option<f64> {
    browser.text(css).replace(',', "").trim().parse().ok()
}

#[test]
fn a_student_sees_sigmoid_learn_the_circle_and_linear_units_fail_to() {
    let (_server, address) = start_server(&[]);
    let browser = Browser::start();
    browser.goto(&format!("{address}/"));
    // the page opened its session: the first snapshot arrived
    wait_for(Duration::from_secs(30), "the first snapshot", || {
        shown(&browser, "#test-loss")
    });
    browser.click("#dataset option[value='circle']");
    browser.click("#activation option[value='sigmoid']");
    assert!(browser.is_selected("#feature-x1") && browser.is_selected("#feature-x2"));
    assert!(!browser.is_selected("#feature-x1\\^2"));
    browser.click("#play");

    // Sigmoid: the shown test loss falls below 0.1 (about 150 epochs at the
    // page's default 30 epochs a second)
    let epoch = wait_for(Duration::from_secs(120), "a test loss below 0.1", || {
        let loss = shown(&browser, "#test-loss")?;
        (loss < 0.1).then(|| shown(&browser, "#epoch").unwrap_or(0.0))
    });
    assert!(epoch > 0.0, "the epoch counter moved");
    let accuracy = browser.text("#accuracy");
    assert!(accuracy.contains("test"), "{accuracy}");
    let png = browser.screenshot();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    let target = std::env::temp_dir().join("tapegrad-playground-web.png");
    std::fs::write(&target, &png).unwrap();
    if let Ok(path) = std::env::var("TAPEGRAD_SCREENSHOT") {
        std::fs::write(&path, &png).unwrap();
    }

    // Linear with x1, x2: training starts again and the loss stays at ln 2
    browser.click("#activation option[value='linear']");
    let restarted = wait_for(Duration::from_secs(20), "training to restart", || {
        let e = shown(&browser, "#epoch")?;
        (e < epoch).then_some(e)
    });
    assert!(restarted < epoch);
    wait_for(Duration::from_secs(60), "50 epochs of Linear", || {
        (shown(&browser, "#epoch")? >= 50.0).then_some(())
    });
    let ln2 = std::f64::consts::LN_2;
    let mut seen = Vec::new();
    for _ in 0..10 {
        let loss = shown(&browser, "#test-loss").expect("a test loss");
        seen.push(loss);
        std::thread::sleep(Duration::from_millis(300));
    }
    assert!(
        seen.iter().all(|l| (l - ln2).abs() < 0.05),
        "Linear units should stay near ln 2 = {ln2:.4}: {seen:?}"
    );
    assert!(
        shown(&browser, "#epoch").unwrap() >= 50.0,
        "and it kept training"
    );
}
