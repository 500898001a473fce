//! Figures: line charts, heatmaps and bar charts, written as PNG files.
//!
//! Text is set in the embedded DejaVu Sans, so a figure looks the same on every machine and
//! needs no system fonts. Every input is checked before drawing: non-finite numbers, empty
//! series and mismatched heatmap dimensions are reported as [`SimError::Plot`], never a panic.
//! A figure is encoded in memory and written to a temporary file beside the target, then
//! renamed over it, so a failure never leaves a half-written PNG behind.

use std::error::Error;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontStyle, FontTransform};

use crate::{Result, SimError};

/// Width of a line or bar chart, in pixels (a heatmap is at least this wide).
pub const WIDTH: u32 = 1000;
/// Height of a line or bar chart, in pixels (a heatmap is at least this tall).
pub const HEIGHT: u32 = 650;
/// The largest side a heatmap grows to when it has many cells.
pub const MAX_SIDE: u32 = 4000;

/// One named line of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend entry.
    pub name: String,
    /// The points `(x, y)`, joined in the given order.
    pub points: Vec<(f64, f64)>,
}

/// One bar with its spread.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// The label under the bar.
    pub label: String,
    /// Height of the bar.
    pub mean: f64,
    /// Half-length of the error bar (drawn from `mean - spread` to `mean + spread`); must be ≥ 0.
    pub spread: f64,
}

/// The family name the embedded font is registered under.
const FONT: &str = "sans-serif";
const TITLE_PX: f64 = 24.0;
const DESC_PX: f64 = 17.0;
const TICK_PX: f64 = 15.0;
const LEGEND_PX: f64 = 15.0;

/// Tableau 10 plus two dark extras: distinguishable on white, and in this order the first
/// few are also tellable apart by most colour-blind readers.
const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 0),
    RGBColor(57, 59, 121),
];

/// Viridis sampled at 0, 0.1, …, 1 (matplotlib's values); linear interpolation between these
/// stays perceptually close to the full map.
const VIRIDIS: [(u8, u8, u8); 11] = [
    (0x44, 0x01, 0x54),
    (0x48, 0x24, 0x75),
    (0x41, 0x44, 0x87),
    (0x35, 0x5f, 0x8d),
    (0x2a, 0x78, 0x8e),
    (0x21, 0x91, 0x8c),
    (0x22, 0xa8, 0x84),
    (0x44, 0xbf, 0x70),
    (0x7a, 0xd1, 0x51),
    (0xbd, 0xdf, 0x26),
    (0xfd, 0xe7, 0x25),
];

const TEXT: RGBColor = RGBColor(20, 20, 20);
const GRID: RGBColor = RGBColor(222, 222, 222);
/// Minor grid lines: barely there, so the dense minor mesh plotters draws does not look like hatching.
const MINOR_GRID: RGBColor = RGBColor(246, 246, 246);
const MISSING: RGBColor = RGBColor(215, 215, 215);
const MISSING_TEXT: RGBColor = RGBColor(90, 90, 90);

/// Errors raised while drawing; turned into [`SimError::Plot`] with the path at the end.
type DrawResult<T = ()> = std::result::Result<T, Box<dyn Error>>;
type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

fn plot_error(path: &Path, reason: impl Into<String>) -> SimError {
    SimError::Plot {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Registers the embedded font with plotters, once per process; later calls return the
/// first outcome.
fn ensure_fonts() -> std::result::Result<(), String> {
    static FONTS: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "embedded DejaVu Sans (regular) is not a usable font".to_string())?;
            plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold())
                .map_err(|_| "embedded DejaVu Sans (bold) is not a usable font".to_string())
        })
        .clone()
}

fn font(px: f64) -> FontDesc<'static> {
    (FONT, px).into_font()
}

fn bold(px: f64) -> FontDesc<'static> {
    (FONT, px, FontStyle::Bold).into_font()
}

/// Pixel size of `text` set at `px`.
fn measure(text: &str, px: f64) -> DrawResult<(u32, u32)> {
    Ok(font(px).box_size(text)?)
}

/// `text`, shortened with an ellipsis so that it is at most `max_w` pixels wide at `px`.
fn fit_text(text: &str, px: f64, max_w: u32) -> DrawResult<String> {
    if measure(text, px)?.0 <= max_w {
        return Ok(text.to_string());
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let candidate: String = chars.iter().collect::<String>() + "…";
        if measure(&candidate, px)?.0 <= max_w {
            return Ok(candidate);
        }
    }
    Ok("…".to_string())
}

/// The ab_glyph renderer draws text about a quarter of its size above the anchor it is given
/// (its layout box ignores the descent); this shift re-centres text drawn with `VPos::Center`.
fn baseline_fix(px: f64) -> i32 {
    (px * 0.22).round() as i32
}

/// Draws `text` centred (both ways) on `(x, y)`, correcting for the renderer's vertical offset.
fn text_centered(area: &Area<'_>, text: &str, (x, y): (i32, i32), style: &TextStyle<'_>, px: f64) -> DrawResult {
    let style = style.pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(text, &style, (x, y + baseline_fix(px)))?;
    Ok(())
}

/// Tick label: at most four decimals with trailing zeros dropped, scientific notation for
/// very large or very small magnitudes (so `0.30000000000000004` prints as `0.3`).
fn fmt_tick(v: f64) -> String {
    let a = v.abs();
    if a != 0.0 && !(1e-3..1e6).contains(&a) {
        return format!("{v:.2e}");
    }
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_string() } else { s.to_string() }
}

/// A cell or bar value with two decimals, never printing `-0.00`.
fn fmt_value(v: f64) -> String {
    let s = format!("{v:.2}");
    if s == "-0.00" { "0.00".to_string() } else { s }
}

/// `(lo - m, hi + m)` with a 5% margin; a zero-width span is widened so the axis still has
/// a scale.
fn padded(lo: f64, hi: f64) -> (f64, f64) {
    let span = hi - lo;
    if span > 0.0 && span.is_finite() {
        let m = span * 0.05;
        (lo - m, hi + m)
    } else {
        let m = if lo != 0.0 { lo.abs() * 0.1 } else { 1.0 };
        (lo - m, hi + m)
    }
}

/// Colour of `t` in `[0, 1]` on the viridis ramp (clamped outside).
fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let scaled = t * (VIRIDIS.len() - 1) as f64;
    let i = (scaled.floor() as usize).min(VIRIDIS.len() - 2);
    let f = scaled - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Black on light colours, white on dark ones (relative luminance, sRGB approximated).
fn text_on(c: RGBColor) -> RGBColor {
    let lin = |u: u8| (f64::from(u) / 255.0).powf(2.2);
    let l = 0.2126 * lin(c.0) + 0.7152 * lin(c.1) + 0.0722 * lin(c.2);
    if l > 0.25 {
        RGBColor(0, 0, 0)
    } else {
        RGBColor(255, 255, 255)
    }
}

fn check_finite(path: &Path, what: impl FnOnce() -> String, values: &[f64]) -> Result<()> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(plot_error(path, format!("{} is not finite", what())))
    }
}

/// Draws into an RGB buffer of `size` on a white background, then writes it as a PNG.
fn render<F>(path: &Path, (w, h): (u32, u32), draw: F) -> Result<()>
where
    F: FnOnce(&Area<'_>) -> DrawResult,
{
    ensure_fonts().map_err(|reason| plot_error(path, reason))?;
    let len = (w as usize)
        .checked_mul(h as usize)
        .and_then(|n| n.checked_mul(3))
        .ok_or_else(|| plot_error(path, format!("image size {w}x{h} is too large")))?;
    let mut buf = vec![0u8; len];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Box::<dyn Error>::from)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Box::<dyn Error>::from));
        drawn.map_err(|e| plot_error(path, e.to_string()))?;
    }
    write_png(path, (w, h), &buf)
}

/// Encodes an RGB8 buffer and moves it into place atomically (temp file + rename).
fn write_png(path: &Path, (w, h): (u32, u32), rgb: &[u8]) -> Result<()> {
    let mut encoded = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut encoded, w, h);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let png_error = |e: png::EncodingError| plot_error(path, format!("PNG encoding failed: {e}"));
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(rgb).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
    }
    let name = path
        .file_name()
        .ok_or_else(|| plot_error(path, "the path has no file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir).map_err(|source| SimError::Io {
        path: dir.clone(),
        source,
    })?;
    // Unique per process and call, so concurrent writers never share a temporary file.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{}.{}-{n}.tmp", name.to_string_lossy(), std::process::id()));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(&encoded)?;
        f.sync_all()
    });
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(SimError::Io { path: tmp, source });
    }
    fs::rename(&tmp, path).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        SimError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Series with more points than this are drawn as plain lines: markers would merge into a
/// thick smear.
const MAX_MARKED_POINTS: usize = 50;

/// Draws series marker `index` (the shape cycles with the colour index) at backend pixel `at`.
fn draw_marker(area: &Area<'_>, index: usize, at: (i32, i32), colour: RGBColor) -> DrawResult {
    match index % 3 {
        0 => area.draw(&Circle::new(at, 4, colour.filled()))?,
        1 => area.draw(&TriangleMarker::new(at, 6, colour.filled()))?,
        _ => area.draw(&Cross::new(at, 5, colour.stroke_width(2)))?,
    }
    Ok(())
}

/// Line chart: axes fitted to the data with a 5% margin, one coloured line per series (with
/// point markers when a series has at most 50 points), the legend in a panel right of the
/// plot so it never covers data. The image is [`WIDTH`]×[`HEIGHT`].
pub fn line_chart(path: &Path, title: &str, x_label: &str, y_label: &str, series: &[Series]) -> Result<()> {
    if series.is_empty() {
        return Err(plot_error(path, "line chart has no series"));
    }
    let (mut x_lo, mut x_hi, mut y_lo, mut y_hi) = (f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY, f64::NEG_INFINITY);
    for s in series {
        if s.points.is_empty() {
            return Err(plot_error(path, format!("series {:?} has no points", s.name)));
        }
        for (i, &(x, y)) in s.points.iter().enumerate() {
            check_finite(path, || format!("series {:?} point {i} ({x}, {y})", s.name), &[x, y])?;
            x_lo = x_lo.min(x);
            x_hi = x_hi.max(x);
            y_lo = y_lo.min(y);
            y_hi = y_hi.max(y);
        }
    }
    let (x0, x1) = padded(x_lo, x_hi);
    let (y0, y1) = padded(y_lo, y_hi);
    render(path, (WIDTH, HEIGHT), |root| {
        // The top margin keeps the title off the edge (the renderer draws text a little high).
        let body = root.margin(8, 0, 0, 0).titled(title, bold(TITLE_PX).color(&TEXT))?;
        // Legend width follows the longest name, within bounds that leave the plot most room.
        let mut widest = 0;
        for s in series {
            widest = widest.max(measure(&s.name, LEGEND_PX)?.0);
        }
        let legend_w = (widest + 70).clamp(150, 300);
        let (plot_area, legend_area) = body.split_horizontally(WIDTH - legend_w);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(15)
            .x_label_area_size(55)
            .y_label_area_size(85)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(font(TICK_PX).color(&TEXT))
            .axis_desc_style(font(DESC_PX).color(&TEXT))
            .light_line_style(MINOR_GRID)
            .bold_line_style(GRID)
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&|v| fmt_tick(*v))
            .draw()?;
        for (i, s) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            chart.draw_series(LineSeries::new(s.points.iter().copied(), colour.stroke_width(2)))?;
            if s.points.len() <= MAX_MARKED_POINTS {
                let at: Vec<(i32, i32)> = s.points.iter().map(|p| chart.backend_coord(p)).collect();
                for p in at {
                    draw_marker(root, i, p, colour)?;
                }
            }
        }
        // Legend rows start level with the top of the plotting area.
        let top = chart.plotting_area().get_pixel_range().1.start - legend_area.get_base_pixel().1 + 5;
        let available = legend_area.dim_in_pixel().1 as i32 - top - 10;
        let row_h = (available / series.len() as i32).clamp(8, 24);
        let name_w = legend_w.saturating_sub(60);
        let legend_font_px = if row_h < 18 { f64::from(row_h) * 0.8 } else { LEGEND_PX };
        let (ox, oy) = legend_area.get_base_pixel();
        for (i, s) in series.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let y = top + row_h * i as i32 + row_h / 2;
            legend_area.draw(&PathElement::new(vec![(8, y), (40, y)], colour.stroke_width(2)))?;
            if s.points.len() <= MAX_MARKED_POINTS {
                draw_marker(root, i, (ox + 24, oy + y), colour)?;
            }
            let name = fit_text(&s.name, legend_font_px, name_w)?;
            let style = font(legend_font_px)
                .color(&TEXT)
                .pos(Pos::new(HPos::Left, VPos::Center));
            legend_area.draw_text(&name, &style, (48, y + baseline_fix(legend_font_px)))?;
        }
        let bottom = top + row_h * series.len() as i32 + 4;
        legend_area.draw(&Rectangle::new(
            [(2, top - 4), (legend_w as i32 - 8, bottom)],
            RGBColor(190, 190, 190),
        ))?;
        Ok(())
    })
}

/// The size of one heatmap cell along an axis: fill `preferred` pixels, but never less
/// than `min` per cell, and never more than [`MAX_SIDE`] in all; an error when even
/// 2-pixel cells do not fit.
fn fit_cells(preferred: i32, margins: i32, count: usize, min: i32, what: &str) -> std::result::Result<i32, String> {
    let n = count as i32;
    let mut cell = ((preferred - margins) / n).max(min);
    if margins + cell * n > MAX_SIDE as i32 {
        cell = (MAX_SIDE as i32 - margins) / n;
    }
    if cell < 2 {
        return Err(format!("{count} {what} do not fit in {MAX_SIDE} pixels"));
    }
    Ok(cell)
}

/// Heatmap: row `r` is `y_ticks[r]` (top to bottom as given), column `c` is `x_ticks[c]`,
/// `values[r][c]` is the cell (`None` is drawn light grey with "n/a"). Colours follow a
/// viridis ramp over `range` (values outside it get the end colour but their own
/// annotation); every cell shows its value to two decimals when the cell is big enough for
/// legible text; a colour bar on the right gives the scale. The image is at least
/// [`WIDTH`]×[`HEIGHT`] and grows (up to [`MAX_SIDE`]) so that cells stay at least ~60×28 px.
// Eight arguments: the figure needs every one, and experiment code calls this shape.
#[allow(clippy::too_many_arguments)]
pub fn heatmap(
    path: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    x_ticks: &[String],
    y_ticks: &[String],
    values: &[Vec<Option<f64>>],
    range: (f64, f64),
) -> Result<()> {
    let (cols, rows) = (x_ticks.len(), y_ticks.len());
    if cols == 0 || rows == 0 {
        return Err(plot_error(
            path,
            format!("heatmap needs at least one column and row, got {cols}x{rows} ticks"),
        ));
    }
    if values.len() != rows {
        return Err(plot_error(
            path,
            format!("heatmap has {} value rows but {rows} y ticks", values.len()),
        ));
    }
    for (r, row) in values.iter().enumerate() {
        if row.len() != cols {
            return Err(plot_error(
                path,
                format!("heatmap row {r} has {} values but {cols} x ticks", row.len()),
            ));
        }
        for (c, v) in row.iter().enumerate() {
            if let Some(v) = v {
                check_finite(path, || format!("heatmap value at row {r}, column {c} ({v})"), &[*v])?;
            }
        }
    }
    let (lo, hi) = range;
    check_finite(path, || format!("heatmap range ({lo}, {hi})"), &[lo, hi])?;
    if lo > hi {
        return Err(plot_error(path, format!("heatmap range ({lo}, {hi}) has lo > hi")));
    }
    ensure_fonts().map_err(|reason| plot_error(path, reason))?;
    let layout = HeatmapLayout::new(x_ticks, y_ticks, range).map_err(|e| plot_error(path, e.to_string()))?;
    render(path, (layout.width, layout.height), |root| {
        layout.draw(root, title, x_label, y_label, values)
    })
}

/// Pixel geometry of a heatmap, computed before the buffer is allocated since the image size
/// depends on the number of cells and the tick label widths.
struct HeatmapLayout {
    width: u32,
    height: u32,
    /// Top-left corner of the grid.
    grid_x: i32,
    grid_y: i32,
    cell_w: i32,
    cell_h: i32,
    cols: usize,
    rows: usize,
    x_ticks: Vec<String>,
    y_ticks: Vec<String>,
    /// Whether x tick labels are set vertically because they are wider than a cell.
    rotate_x: bool,
    /// Height taken by the x tick labels.
    x_tick_h: i32,
    /// Width taken by the y tick labels.
    y_tick_w: i32,
    range: (f64, f64),
    /// Colour-bar tick values and labels.
    bar_ticks: Vec<(f64, String)>,
}

const MAX_TICK_LABEL_W: u32 = 260;
const MIN_CELL_H: i32 = 28;
const TITLE_H: i32 = 50;

impl HeatmapLayout {
    fn new(x_ticks: &[String], y_ticks: &[String], range: (f64, f64)) -> DrawResult<Self> {
        let (cols, rows) = (x_ticks.len(), y_ticks.len());
        let fit_all = |ticks: &[String]| -> DrawResult<Vec<String>> {
            ticks.iter().map(|t| fit_text(t, TICK_PX, MAX_TICK_LABEL_W)).collect()
        };
        let (x_ticks, y_ticks) = (fit_all(x_ticks)?, fit_all(y_ticks)?);
        let (mut x_tick_w, mut x_tick_h, mut y_tick_w) = (0, 0, 0);
        for t in &x_ticks {
            let (w, h) = measure(t, TICK_PX)?;
            x_tick_w = x_tick_w.max(w as i32);
            x_tick_h = x_tick_h.max(h as i32);
        }
        for t in &y_ticks {
            y_tick_w = y_tick_w.max(measure(t, TICK_PX)?.0 as i32);
        }
        let (lo, hi) = range;
        let bar_ticks: Vec<(f64, String)> = if hi > lo {
            (0..5)
                .map(|k| lo + (hi - lo) * f64::from(k) / 4.0)
                .map(|v| (v, fmt_value(v)))
                .collect()
        } else {
            vec![(lo, fmt_value(lo))]
        };
        let mut bar_label_w = 0;
        for (_, t) in &bar_ticks {
            bar_label_w = bar_label_w.max(measure(t, TICK_PX)?.0 as i32);
        }
        let min_cell_w = (measure("-00.00", 14.0)?.0 as i32 + 14).max(48);

        let left = 15 + 24 + 12 + y_tick_w + 10;
        let right = 25 + 22 + 8 + bar_label_w + 20;
        let cell_w = fit_cells(WIDTH as i32, left + right, cols, min_cell_w, "columns")?;
        let rotate_x = x_tick_w + 8 > cell_w;
        let x_tick_span = if rotate_x { x_tick_w } else { x_tick_h };
        let bottom = 10 + x_tick_span + 14 + 24 + 12;
        let cell_h = fit_cells(HEIGHT as i32, TITLE_H + bottom, rows, MIN_CELL_H, "rows")?;
        let needed_w = left + right + cell_w * cols as i32;
        let needed_h = TITLE_H + bottom + cell_h * rows as i32;
        let width = needed_w.max(WIDTH as i32);
        let height = needed_h.max(HEIGHT as i32);
        // Integer division leaves a few spare pixels; centre the figure in them.
        let grid_x = left + (width - needed_w) / 2;
        let grid_y = TITLE_H + (height - needed_h) / 2;
        Ok(Self {
            width: width as u32,
            height: height as u32,
            grid_x,
            grid_y,
            cell_w,
            cell_h,
            cols,
            rows,
            x_ticks,
            y_ticks,
            rotate_x,
            x_tick_h: x_tick_span,
            y_tick_w,
            range,
            bar_ticks,
        })
    }

    fn colour_of(&self, v: f64) -> RGBColor {
        let (lo, hi) = self.range;
        if hi > lo {
            viridis((v - lo) / (hi - lo))
        } else {
            viridis(0.5)
        }
    }

    fn draw(
        &self,
        root: &Area<'_>,
        title: &str,
        x_label: &str,
        y_label: &str,
        values: &[Vec<Option<f64>>],
    ) -> DrawResult {
        let (gx, gy, cw, ch) = (self.grid_x, self.grid_y, self.cell_w, self.cell_h);
        let grid_w = cw * self.cols as i32;
        let grid_h = ch * self.rows as i32;
        let title_text = fit_text(title, TITLE_PX, self.width.saturating_sub(20))?;
        text_centered(
            root,
            &title_text,
            (self.width as i32 / 2, TITLE_H / 2),
            &bold(TITLE_PX).color(&TEXT),
            TITLE_PX,
        )?;

        // Annotation size: as large as the cell allows, up to 18 px; below 8 px it is unreadable
        // and left out.
        let mut anno_px = (f64::from(ch) * 0.45).min(18.0);
        let (sample_w, _) = measure("-00.00", anno_px)?;
        if sample_w as i32 > cw - 6 {
            anno_px *= f64::from(cw - 6) / f64::from(sample_w.max(1));
        }
        let annotate = anno_px >= 8.0;

        for (r, row) in values.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let x = gx + cw * c as i32;
                let y = gy + ch * r as i32;
                let (fill, label, ink) = match v {
                    Some(v) => {
                        let fill = self.colour_of(*v);
                        (fill, fmt_value(*v), text_on(fill))
                    }
                    None => (MISSING, "n/a".to_string(), MISSING_TEXT),
                };
                root.draw(&Rectangle::new([(x, y), (x + cw, y + ch)], fill.filled()))?;
                if annotate {
                    text_centered(
                        root,
                        &label,
                        (x + cw / 2, y + ch / 2),
                        &font(anno_px).color(&ink),
                        anno_px,
                    )?;
                }
            }
        }
        // Thin white separators, drawn after the fills so every cell edge is crisp.
        if cw >= 6 && ch >= 6 {
            for c in 1..self.cols as i32 {
                root.draw(&PathElement::new(
                    vec![(gx + cw * c, gy), (gx + cw * c, gy + grid_h)],
                    WHITE,
                ))?;
            }
            for r in 1..self.rows as i32 {
                root.draw(&PathElement::new(
                    vec![(gx, gy + ch * r), (gx + grid_w, gy + ch * r)],
                    WHITE,
                ))?;
            }
        }
        root.draw(&Rectangle::new(
            [(gx, gy), (gx + grid_w, gy + grid_h)],
            RGBColor(120, 120, 120),
        ))?;

        // Tick labels are thinned when cells are smaller than the text, so they never overlap.
        let tick_style = font(TICK_PX).color(&TEXT);
        let y_step = (22 / ch.max(1) + 1) as usize;
        for (r, t) in self.y_ticks.iter().enumerate().step_by(y_step) {
            let style = tick_style.pos(Pos::new(HPos::Right, VPos::Center));
            root.draw_text(t, &style, (gx - 8, gy + ch * r as i32 + ch / 2 + baseline_fix(TICK_PX)))?;
        }
        let x_step = if self.rotate_x {
            (22 / cw.max(1) + 1) as usize
        } else {
            1
        };
        for (c, t) in self.x_ticks.iter().enumerate().step_by(x_step) {
            let cx = gx + cw * c as i32 + cw / 2;
            if self.rotate_x {
                // Rotated 270°: reads bottom to top, its end touching the grid.
                let style = tick_style
                    .pos(Pos::new(HPos::Right, VPos::Center))
                    .transform(FontTransform::Rotate270);
                root.draw_text(t, &style, (cx - baseline_fix(TICK_PX), gy + grid_h + 8))?;
            } else {
                let style = tick_style.pos(Pos::new(HPos::Center, VPos::Top));
                root.draw_text(t, &style, (cx, gy + grid_h + 8))?;
            }
        }
        let desc_style = font(DESC_PX).color(&TEXT);
        let x_desc_y = gy + grid_h + 10 + self.x_tick_h + 14 + 10;
        text_centered(root, x_label, (gx + grid_w / 2, x_desc_y), &desc_style, DESC_PX)?;
        let y_desc_x = gx - 10 - self.y_tick_w - 12 - 12;
        let style = desc_style
            .pos(Pos::new(HPos::Center, VPos::Center))
            .transform(FontTransform::Rotate270);
        root.draw_text(y_label, &style, (y_desc_x - baseline_fix(DESC_PX), gy + grid_h / 2))?;

        self.draw_colour_bar(root, gx + grid_w + 25, gy, grid_h.min(500))
    }

    /// Vertical colour bar with `hi` at the top, `lo` at the bottom and labelled ticks.
    fn draw_colour_bar(&self, root: &Area<'_>, x: i32, y: i32, h: i32) -> DrawResult {
        let (lo, hi) = self.range;
        let h = h.max(60);
        const BAR_W: i32 = 22;
        for k in 0..h {
            let t = 1.0 - f64::from(k) / f64::from((h - 1).max(1));
            let colour = if hi > lo { viridis(t) } else { viridis(0.5) };
            root.draw(&Rectangle::new([(x, y + k), (x + BAR_W, y + k + 1)], colour.filled()))?;
        }
        root.draw(&Rectangle::new([(x, y), (x + BAR_W, y + h)], RGBColor(120, 120, 120)))?;
        let style = font(TICK_PX).color(&TEXT).pos(Pos::new(HPos::Left, VPos::Center));
        for (v, label) in &self.bar_ticks {
            let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
            let ty = y + ((1.0 - t) * f64::from(h - 1)).round() as i32;
            root.draw(&PathElement::new(vec![(x + BAR_W, ty), (x + BAR_W + 5, ty)], TEXT))?;
            root.draw_text(label, &style, (x + BAR_W + 8, ty + baseline_fix(TICK_PX)))?;
        }
        Ok(())
    }
}

/// Bar chart with error bars (`mean ± spread`), one bar per label, left to right as given.
/// The y axis runs from `min(0, lowest mean - spread)` to a 8% margin above the highest
/// `mean + spread`; each bar is annotated with its mean when there is room. Long labels are
/// set vertically (shortened with "…" beyond 200 px). The image is [`WIDTH`]×[`HEIGHT`].
pub fn bar_chart(path: &Path, title: &str, y_label: &str, bars: &[Bar]) -> Result<()> {
    if bars.is_empty() {
        return Err(plot_error(path, "bar chart has no bars"));
    }
    let (mut lo, mut hi) = (0.0f64, 0.0f64);
    for (i, b) in bars.iter().enumerate() {
        check_finite(
            path,
            || format!("bar {i} {:?} (mean {}, spread {})", b.label, b.mean, b.spread),
            &[b.mean, b.spread],
        )?;
        if b.spread < 0.0 {
            return Err(plot_error(
                path,
                format!("bar {i} {:?} has negative spread {}", b.label, b.spread),
            ));
        }
        lo = lo.min(b.mean - b.spread);
        hi = hi.max(b.mean + b.spread);
    }
    let span = if hi > lo { hi - lo } else { 1.0 };
    let y1 = hi + span * 0.08;
    // Only a negative lowest value gets a margin below; otherwise the axis starts at 0.
    let y0 = if lo < 0.0 { lo - span * 0.05 } else { 0.0 };
    let n = bars.len();
    render(path, (WIDTH, HEIGHT), |root| {
        // The top margin keeps the title off the edge (the renderer draws text a little high).
        let body = root.margin(8, 0, 0, 0).titled(title, bold(TITLE_PX).color(&TEXT))?;
        // Slot width is estimated before the chart exists, from the fixed margins below.
        let slot = (WIDTH as i32 - 85 - 30) / n as i32;
        let labels: Vec<String> = bars
            .iter()
            .map(|b| fit_text(&b.label, TICK_PX, 200))
            .collect::<DrawResult<_>>()?;
        let mut widest = 0;
        for l in &labels {
            widest = widest.max(measure(l, TICK_PX)?.0 as i32);
        }
        let rotate = widest + 6 > slot;
        let label_area = if rotate { widest + 20 } else { 40 };
        let mut chart = ChartBuilder::on(&body)
            .margin(15)
            .margin_right(30)
            .x_label_area_size(label_area)
            .y_label_area_size(85)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), y0..y1)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_desc(y_label)
            .label_style(font(TICK_PX).color(&TEXT))
            .axis_desc_style(font(DESC_PX).color(&TEXT))
            .light_line_style(MINOR_GRID)
            .bold_line_style(GRID)
            .y_label_formatter(&|v| fmt_tick(*v))
            .draw()?;
        let fill = PALETTE[0].mix(0.85);
        chart.draw_series(
            bars.iter()
                .enumerate()
                .map(|(i, b)| Rectangle::new([(i as f64 - 0.35, 0.0), (i as f64 + 0.35, b.mean)], fill.filled())),
        )?;
        if y0 < 0.0 {
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(-0.5, 0.0), (n as f64 - 0.5, 0.0)],
                TEXT,
            )))?;
        }
        let whisker = TEXT.stroke_width(2);
        for (i, b) in bars.iter().enumerate().filter(|(_, b)| b.spread > 0.0) {
            let x = i as f64;
            let (a, z) = (b.mean - b.spread, b.mean + b.spread);
            chart.draw_series([
                PathElement::new(vec![(x, a), (x, z)], whisker),
                PathElement::new(vec![(x - 0.12, a), (x + 0.12, a)], whisker),
                PathElement::new(vec![(x - 0.12, z), (x + 0.12, z)], whisker),
            ])?;
        }
        let value_style = font(13.0).color(&TEXT).pos(Pos::new(HPos::Center, VPos::Bottom));
        for (i, b) in bars.iter().enumerate() {
            let top = if b.mean >= 0.0 {
                b.mean + b.spread
            } else {
                b.mean.max(0.0)
            };
            let label = fmt_value(b.mean);
            if measure(&label, 13.0)?.0 as i32 + 4 <= slot {
                let (px, py) = chart.backend_coord(&(i as f64, top));
                root.draw_text(&label, &value_style, (px, py - 7 + baseline_fix(13.0)))?;
            }
            let (px, py) = chart.backend_coord(&(i as f64, y0));
            if rotate {
                let style = font(TICK_PX)
                    .color(&TEXT)
                    .pos(Pos::new(HPos::Right, VPos::Center))
                    .transform(FontTransform::Rotate270);
                root.draw_text(&labels[i], &style, (px - baseline_fix(TICK_PX), py + 8))?;
            } else {
                let style = font(TICK_PX).color(&TEXT).pos(Pos::new(HPos::Center, VPos::Top));
                root.draw_text(&labels[i], &style, (px, py + 8))?;
            }
        }
        Ok(())
    })
}
