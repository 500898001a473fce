//! Figures: each chart kind writes a decodable PNG of the documented size with real content,
//! and bad input is an error, not a panic.
//!
//! Set `POQ_SIM_PLOT_DIR` to keep the images in that directory for a look.

use std::collections::HashSet;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use poq_sim::SimError;
use poq_sim::plot::{Bar, HEIGHT, MAX_SIDE, Series, WIDTH, bar_chart, heatmap, line_chart};

/// A scratch directory removed on drop (also when a test fails), unless kept on request.
struct Scratch {
    dir: PathBuf,
    keep: bool,
}

impl Scratch {
    fn new(name: &str) -> Self {
        if let Some(dir) = std::env::var_os("POQ_SIM_PLOT_DIR") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).unwrap();
            return Self { dir, keep: true };
        }
        let dir = std::env::temp_dir().join(format!("poq-sim-plot-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir, keep: false }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Checks the signature, decodes, and returns (width, height, distinct colours).
fn inspect(path: &Path) -> (u32, u32, usize) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a]),
        "not a PNG: {path:?}"
    );
    let mut reader = png::Decoder::new(Cursor::new(bytes)).read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels: HashSet<&[u8]> = buf[..info.buffer_size()].chunks_exact(3).collect();
    (info.width, info.height, pixels.len())
}

/// No temporary file is left beside the figure.
fn only_pngs(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".tmp"), "leftover {name:?}");
    }
}

fn is_plot_error(r: poq_sim::Result<()>, needle: &str) {
    match r {
        Err(SimError::Plot { reason, .. }) => assert!(reason.contains(needle), "{reason:?} lacks {needle:?}"),
        other => panic!("expected a plot error mentioning {needle:?}, got {other:?}"),
    }
}

fn twelve_series() -> Vec<Series> {
    (0..12)
        .map(|k| Series {
            name: format!("attacker share {:.2}", 0.05 * f64::from(k)),
            points: (0..=20)
                .map(|i| {
                    (
                        f64::from(i) * 50.0,
                        (f64::from(i) * 0.3 + f64::from(k)).sin() * 0.4 + 0.5,
                    )
                })
                .collect(),
        })
        .collect()
}

#[test]
fn line_chart_writes_png() {
    let scratch = Scratch::new("line");
    let path = scratch.path("line.png");
    line_chart(
        &path,
        "Honest reward share over rounds",
        "round",
        "reward share",
        &twelve_series(),
    )
    .unwrap();
    let (w, h, colours) = inspect(&path);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    assert!(colours > 100, "only {colours} colours");
    only_pngs(&scratch.dir);

    // A long, dense series (no markers) and a single-point, constant series still draw.
    let dense = Series {
        name: "dense".into(),
        points: (0..2000).map(|i| (f64::from(i), f64::from(i).sqrt())).collect(),
    };
    let single = Series {
        name: "single".into(),
        points: vec![(3.0, 7.0)],
    };
    let path = scratch.path("line-edge.png");
    line_chart(&path, "edge", "x", "y", &[dense, single]).unwrap();
    assert_eq!(inspect(&path).0, WIDTH);
    // Overwriting an existing figure works.
    let path = scratch.path("line.png");
    line_chart(&path, "again", "x", "y", &twelve_series()[..2]).unwrap();
    assert_eq!(inspect(&path).1, HEIGHT);
}

#[test]
fn heatmap_writes_png() {
    let scratch = Scratch::new("heat");
    let xs: Vec<String> = (1..=6).map(|k| format!("{}%", k * 5)).collect();
    let ys: Vec<String> = ["median", "trimmed mean", "mean", "MAD filter"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let values: Vec<Vec<Option<f64>>> = (0..ys.len())
        .map(|r| {
            (0..xs.len())
                .map(|c| {
                    if (r, c) == (2, 5) {
                        None
                    } else {
                        Some((r * xs.len() + c) as f64 / 23.0 - 0.1)
                    }
                })
                .collect()
        })
        .collect();
    let path = scratch.path("heatmap.png");
    heatmap(
        &path,
        "Quality error by aggregator",
        "attacker share",
        "aggregator",
        &xs,
        &ys,
        &values,
        (0.0, 1.0),
    )
    .unwrap();
    let (w, h, colours) = inspect(&path);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    assert!(colours > 100, "only {colours} colours");
    only_pngs(&scratch.dir);

    // Many cells: the image grows beyond the default size, and a constant range is accepted.
    let xs: Vec<String> = (0..30).map(|k| format!("committee size {k}")).collect();
    let ys: Vec<String> = (0..40).map(|k| format!("r{k}")).collect();
    let values = vec![vec![Some(0.5); 30]; 40];
    let path = scratch.path("heatmap-big.png");
    heatmap(&path, "big", "x", "y", &xs, &ys, &values, (0.5, 0.5)).unwrap();
    let (w, h, _) = inspect(&path);
    assert!(w > WIDTH && h > HEIGHT, "{w}x{h}");

    // Too many cells for legible text: the image stops growing at MAX_SIDE and still draws.
    let xs: Vec<String> = (0..300).map(|k| k.to_string()).collect();
    let ys: Vec<String> = (0..3).map(|k| k.to_string()).collect();
    let values: Vec<Vec<Option<f64>>> = (0..3)
        .map(|r| (0..300).map(|c| Some(f64::from(c * r))).collect())
        .collect();
    let path = scratch.path("heatmap-huge.png");
    heatmap(&path, "huge", "x", "y", &xs, &ys, &values, (-10.0, 900.0)).unwrap();
    let (w, h, _) = inspect(&path);
    assert!(w <= MAX_SIDE && h == HEIGHT, "{w}x{h}");
    let xs: Vec<String> = (0..5000).map(|k| k.to_string()).collect();
    let values = vec![vec![None; 5000]];
    let result = heatmap(&path, "t", "x", "y", &xs, &ys[..1], &values, (0.0, 1.0));
    assert!(matches!(result, Err(SimError::Plot { .. })), "{result:?}");
}

#[test]
fn bar_chart_writes_png() {
    let scratch = Scratch::new("bar");
    let bars: Vec<Bar> = ["median", "trimmed mean", "mean", "MAD filter", "no defence"]
        .iter()
        .enumerate()
        .map(|(i, l)| Bar {
            label: l.to_string(),
            mean: 0.2 * i as f64 - 0.15,
            spread: 0.04 * (i + 1) as f64,
        })
        .collect();
    let path = scratch.path("bars.png");
    bar_chart(&path, "Final error by aggregator", "mean absolute error", &bars).unwrap();
    let (w, h, colours) = inspect(&path);
    assert_eq!((w, h), (WIDTH, HEIGHT));
    assert!(colours > 100, "only {colours} colours");

    // Many bars with long labels are set vertically.
    let many: Vec<Bar> = (0..25)
        .map(|i| Bar {
            label: format!("scenario number {i}"),
            mean: f64::from(i),
            spread: 0.0,
        })
        .collect();
    let path = scratch.path("bars-many.png");
    bar_chart(&path, "many", "value", &many).unwrap();
    assert_eq!(inspect(&path).0, WIDTH);
    only_pngs(&scratch.dir);
}

#[test]
fn bad_input_is_an_error() {
    let scratch = Scratch::new("bad");
    let path = scratch.path("bad.png");
    let xs = vec!["a".to_string(), "b".to_string()];
    let ys = vec!["r".to_string()];

    is_plot_error(
        heatmap(&path, "t", "x", "y", &xs, &ys, &[vec![Some(1.0)]], (0.0, 1.0)),
        "x ticks",
    );
    is_plot_error(heatmap(&path, "t", "x", "y", &xs, &ys, &[], (0.0, 1.0)), "y ticks");
    is_plot_error(
        heatmap(
            &path,
            "t",
            "x",
            "y",
            &xs,
            &ys,
            &[vec![Some(f64::NAN), None]],
            (0.0, 1.0),
        ),
        "not finite",
    );
    is_plot_error(
        heatmap(
            &path,
            "t",
            "x",
            "y",
            &xs,
            &ys,
            &[vec![None, None]],
            (0.0, f64::INFINITY),
        ),
        "not finite",
    );
    is_plot_error(
        heatmap(&path, "t", "x", "y", &xs, &ys, &[vec![None, None]], (1.0, 0.0)),
        "lo > hi",
    );
    is_plot_error(heatmap(&path, "t", "x", "y", &[], &[], &[], (0.0, 1.0)), "at least one");

    is_plot_error(line_chart(&path, "t", "x", "y", &[]), "no series");
    let empty = Series {
        name: "quiet".into(),
        points: vec![],
    };
    is_plot_error(line_chart(&path, "t", "x", "y", &[empty]), "\"quiet\" has no points");
    let nan = Series {
        name: "bad".into(),
        points: vec![(0.0, 1.0), (1.0, f64::NAN)],
    };
    is_plot_error(line_chart(&path, "t", "x", "y", &[nan]), "not finite");

    is_plot_error(bar_chart(&path, "t", "y", &[]), "no bars");
    let bar = |mean, spread| Bar {
        label: "b".into(),
        mean,
        spread,
    };
    is_plot_error(bar_chart(&path, "t", "y", &[bar(f64::NAN, 0.1)]), "not finite");
    is_plot_error(bar_chart(&path, "t", "y", &[bar(1.0, f64::INFINITY)]), "not finite");
    is_plot_error(bar_chart(&path, "t", "y", &[bar(1.0, -0.1)]), "negative spread");

    assert!(!path.exists(), "a rejected figure must not be written");
}

#[test]
fn unwritable_target_is_an_io_error() {
    let scratch = Scratch::new("io");
    // The target is an existing directory, so the final rename fails.
    let path = scratch.path("taken.png");
    std::fs::create_dir_all(&path).unwrap();
    let s = Series {
        name: "s".into(),
        points: vec![(0.0, 0.0), (1.0, 1.0)],
    };
    match line_chart(&path, "t", "x", "y", &[s]) {
        Err(SimError::Io { .. }) => {}
        other => panic!("expected an I/O error, got {other:?}"),
    }
    only_pngs(&scratch.dir);
    std::fs::remove_dir(&path).unwrap();
}
