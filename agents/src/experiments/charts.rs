//! The PNG charts that `report` and `plot` draw. Learning curves: per series a mean line over
//! seeds with a shaded min-max band, optionally each seed as a thin line. Drawn with plotters
//! into an RGB buffer and encoded with `png`, with an embedded font, so no system library is
//! involved.

use std::path::Path;
use std::sync::OnceLock;

use ordergrad_core::{Objective, RankPlan};
use plotters::prelude::*;

use super::SweepError;
use super::report::BandPoint;
use crate::checkpoint::file::write_atomically;

/// DejaVu Sans 2.37 (Bitstream Vera licence, see `agents/assets/fonts/`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";
// Text sizes are even: plotters' ab_glyph renderer rounds half the size, and at odd sizes it
// lifts small glyphs such as '.' off the baseline.
const WIDTH: u32 = 900;
const HEIGHT: u32 = 540;
/// Matplotlib's "tab10" colours, so the plots look like the ones RL papers show.
const PALETTE: [RGBColor; 10] = [
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
];

/// One curve of a plot.
pub struct Series<'a> {
    pub label: String,
    pub band: &'a [BandPoint],
    /// The seeds' own curves, drawn thin beneath the mean (empty: none).
    pub seeds: &'a [&'a [(u64, f64)]],
}

/// The values of one group in a distribution plot.
pub struct Distribution {
    pub label: String,
    pub values: Vec<f64>,
}

fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded font does not parse".to_string())
        })
        .clone()
}

/// Draws `series` into a PNG at `path` (written atomically).
pub fn draw_curves(
    path: &Path,
    title: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<(), SweepError> {
    draw_png(path, |pixels| render(pixels, title, y_label, series))
}

/// Draws `groups` side by side into a PNG at `path` (written atomically): per group a box from
/// the first to the third quartile with the median, whiskers from the 5 % to the 95 % quantile,
/// every value as a dot, and a diamond at the mean of the worst 10 % (CVaR_0.1). Non-finite
/// values are left out.
pub fn draw_distributions(
    path: &Path,
    title: &str,
    y_label: &str,
    groups: &[Distribution],
) -> Result<(), SweepError> {
    draw_png(path, |pixels| {
        render_distributions(pixels, title, y_label, groups)
    })
}

/// Renders into an RGB buffer of WIDTH x HEIGHT with the embedded font, encodes it as PNG and
/// writes it atomically.
fn draw_png(
    path: &Path,
    render: impl FnOnce(&mut [u8]) -> Result<(), String>,
) -> Result<(), SweepError> {
    let fail = |message: String| SweepError::Plot {
        path: path.to_path_buf(),
        message,
    };
    register_font().map_err(fail)?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    render(&mut pixels).map_err(fail)?;
    let mut png_bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png_bytes, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|error| fail(error.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|error| fail(error.to_string()))?;
    }
    write_atomically(path, &png_bytes)?;
    Ok(())
}

/// An L-statistic of `values` (finite, not empty): `var:q` is the lower empirical quantile,
/// `cvar:beta` the mean of the worst beta share.
fn statistic(values: &[f64], objective: Objective) -> Result<f64, String> {
    let n = values.len();
    RankPlan::new(&objective, n, n)
        .and_then(|plan| plan.value(values))
        .map_err(|error| error.to_string())
}

fn render_distributions(
    pixels: &mut [u8],
    title: &str,
    y_label: &str,
    groups: &[Distribution],
) -> Result<(), String> {
    let text = |error: DrawingAreaErrorKind<_>| error.to_string();
    let finite: Vec<Vec<f64>> = groups
        .iter()
        .map(|group| {
            group
                .values
                .iter()
                .copied()
                .filter(|v| v.is_finite())
                .collect()
        })
        .collect();
    let all = finite.iter().flatten().copied();
    let (low, high) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let (low, high) = if low.is_finite() && high > low {
        let pad = (high - low) * 0.05;
        (low - pad, high + pad)
    } else if low.is_finite() {
        (low - 1.0, low + 1.0)
    } else {
        (-1.0, 1.0)
    };
    let count = groups.len().max(1) as f64;
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT_FAMILY, 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.5f64..count - 0.5, low..high)
        .map_err(text)?;
    let labels: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    let x_format = |x: &f64| {
        let index = x.round();
        if (x - index).abs() < 1e-6 && index >= 0.0 {
            labels.get(index as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let y_decimals = if high - low >= 20.0 { 0 } else { 2 };
    let y_format = |y: &f64| format!("{y:.y_decimals$}");
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .disable_x_mesh()
        .x_labels(groups.len().max(1) * 2 + 1)
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .y_desc(y_label)
        .label_style((FONT_FAMILY, 14))
        .axis_desc_style((FONT_FAMILY, 14))
        .draw()
        .map_err(text)?;
    for (index, values) in finite.iter().enumerate() {
        if values.is_empty() {
            continue;
        }
        let colour = PALETTE[index % PALETTE.len()];
        let x = index as f64;
        let [q05, q25, q50, q75, q95] =
            [0.05, 0.25, 0.5, 0.75, 0.95].map(|q| statistic(values, Objective::Var(q)));
        let (q05, q25, q50, q75, q95) = (q05?, q25?, q50?, q75?, q95?);
        // Dots first, spread sideways by a fixed pattern so identical inputs draw identically.
        chart
            .draw_series(values.iter().enumerate().map(|(i, &v)| {
                let offset = ((i * 7919) % 97) as f64 / 97.0 * 0.5 - 0.25;
                Circle::new((x + offset, v), 2, colour.mix(0.35).filled())
            }))
            .map_err(text)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x - 0.18, q25), (x + 0.18, q75)],
                colour.stroke_width(2),
            )))
            .map_err(text)?;
        let segments = [
            vec![(x - 0.18, q50), (x + 0.18, q50)],
            vec![(x, q75), (x, q95)],
            vec![(x, q25), (x, q05)],
            vec![(x - 0.08, q95), (x + 0.08, q95)],
            vec![(x - 0.08, q05), (x + 0.08, q05)],
        ];
        chart
            .draw_series(
                segments
                    .into_iter()
                    .map(|points| PathElement::new(points, colour.stroke_width(2))),
            )
            .map_err(text)?;
        let cvar = statistic(values, Objective::Cvar(0.1))?;
        let diamond = |(x, y): (f64, f64)| {
            let (half_x, half_y) = (0.06, (high - low) * 0.015);
            Polygon::new(
                vec![
                    (x - half_x, y),
                    (x, y + half_y),
                    (x + half_x, y),
                    (x, y - half_y),
                ],
                BLACK.filled(),
            )
        };
        chart
            .draw_series(std::iter::once(diamond((x + 0.3, cvar))))
            .map_err(text)?;
    }
    root.present().map_err(text)?;
    Ok(())
}

fn render(
    pixels: &mut [u8],
    title: &str,
    y_label: &str,
    series: &[Series<'_>],
) -> Result<(), String> {
    let text = |error: DrawingAreaErrorKind<_>| error.to_string();
    let points = || series.iter().flat_map(|s| s.band.iter());
    let x_max = points().map(|p| p.step).max().unwrap_or(1).max(1) as f64;
    let seed_values = series
        .iter()
        .flat_map(|s| s.seeds.iter().flat_map(|c| c.iter().map(|&(_, v)| v)));
    let (low, high) = points()
        .flat_map(|p| [p.low, p.high])
        .chain(seed_values)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let (low, high) = if low.is_finite() && high > low {
        let pad = (high - low) * 0.05;
        (low - pad, high + pad)
    } else if low.is_finite() {
        (low - 1.0, low + 1.0)
    } else {
        (-1.0, 1.0)
    };

    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(text)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FONT_FAMILY, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..x_max, low..high)
        .map_err(text)?;
    let y_decimals = if high - low >= 20.0 { 0 } else { 2 };
    let x_format = |x: &f64| format!("{x:.0}");
    let y_format = |y: &f64| format!("{y:.y_decimals$}");
    chart
        .configure_mesh()
        .light_line_style(WHITE.mix(0.0))
        .x_label_formatter(&x_format)
        .y_label_formatter(&y_format)
        .x_desc("environment step")
        .y_desc(y_label)
        .label_style((FONT_FAMILY, 14))
        .axis_desc_style((FONT_FAMILY, 14))
        .draw()
        .map_err(text)?;
    for (index, series) in series.iter().enumerate() {
        let colour = PALETTE[index % PALETTE.len()];
        if series.band.len() >= 2 {
            let upper = series.band.iter().map(|p| (p.step as f64, p.high));
            let lower = series.band.iter().rev().map(|p| (p.step as f64, p.low));
            chart
                .draw_series(std::iter::once(Polygon::new(
                    upper.chain(lower).collect::<Vec<_>>(),
                    colour.mix(0.18),
                )))
                .map_err(text)?;
        }
        for seed in series.seeds.iter().filter(|c| !c.is_empty()) {
            chart
                .draw_series(LineSeries::new(
                    seed.iter().map(|&(step, value)| (step as f64, value)),
                    colour.mix(0.45).stroke_width(1),
                ))
                .map_err(text)?;
        }
        let mean = series.band.iter().map(|p| (p.step as f64, p.mean));
        chart
            .draw_series(LineSeries::new(mean, colour.stroke_width(2)))
            .map_err(text)?
            .label(series.label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT_FAMILY, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(text)?;
    root.present().map_err(text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiments::report::band;

    #[test]
    fn distributions_are_drawn_into_a_png() {
        let dir = std::env::temp_dir().join(format!("ordergrad-dist-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("returns.png");
        let groups = [
            Distribution {
                label: "mean".into(),
                values: (0..50).map(|i| -150.0 - (i * i) as f64).collect(),
            },
            Distribution {
                label: "cvar".into(),
                values: (0..50).map(|i| -200.0 - i as f64).collect(),
            },
        ];
        draw_distributions(&path, "eval returns", "episode return", &groups).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(
            bytes.len() > 5_000,
            "more than a blank image: {}",
            bytes.len()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn curves_are_drawn_into_a_png() {
        let dir = std::env::temp_dir().join(format!("ordergrad-plot-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = [(199u64, -1200.0), (399, -900.0), (599, -600.0)];
        let b = [(199u64, -1300.0), (399, -1100.0), (599, -500.0)];
        let curves: [&[(u64, f64)]; 2] = [&a, &b];
        let band = band(&curves, 50);
        let path = dir.join("curve.png");
        draw_curves(
            &path,
            "test: a=1 (2 seeds)",
            "episodic return",
            &[Series {
                label: "mean ± band".into(),
                band: &band,
                seeds: &curves,
            }],
        )
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert!(
            bytes.len() > 5_000,
            "more than a blank image: {}",
            bytes.len()
        );
    }
}
