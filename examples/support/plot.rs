//! SVG figures with plotters: loss curves, fitted curves and a title bar
//! (the Playground's maps are in `plane_maps`). Text stays SVG text (no
//! fonts needed to draw it); heat maps are embedded as PNG images.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_svg::SVGBackend;

/// Playground's colours: orange for class 0 (its −1), blue for class 1.
pub const ORANGE: RGBColor = RGBColor(245, 147, 34);
pub const BLUE: RGBColor = RGBColor(8, 119, 189);

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub type PlotResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// One line of text across the top of `area`, which it returns without
/// that line (a figure's settings).
pub fn title_bar<'a>(area: &Area<'a>, text: &str) -> PlotResult<Area<'a>> {
    let (top, rest) = area.split_vertically(30);
    top.draw(&Text::new(text, (10, 8), ("sans-serif", 15)))?;
    Ok(rest)
}

/// Draws into an SVG string of `size` pixels.
pub fn svg(size: (u32, u32), draw: impl FnOnce(&Area) -> PlotResult) -> PlotResult<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
    }
    // plotters-svg writes the non-standard `data:png`; browsers need the MIME type
    Ok(out.replace("href=\"data:png;base64,", "href=\"data:image/png;base64,"))
}

/// Curves over epochs, on a log scale when `log_y`.
pub fn curves(
    area: &Area,
    title: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>, RGBColor, bool)],
    log_y: bool,
) -> PlotResult {
    let n = series.iter().map(|s| s.1.len()).max().unwrap_or(1).max(2);
    let floor = 1e-4;
    let ymax = series
        .iter()
        .flat_map(|s| s.1.iter().copied())
        .fold(floor, f64::max)
        * 1.1;
    let x_range = 0f64..(n - 1) as f64;
    macro_rules! builder {
        () => {
            ChartBuilder::on(area)
                .caption(title, ("sans-serif", 15))
                .margin(6)
                .x_label_area_size(30)
                .y_label_area_size(44)
        };
    }
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .y_desc(y_desc)
                .x_label_formatter(&|x| format!("{x:.0}"))
                .label_style(("sans-serif", 10))
                .axis_desc_style(("sans-serif", 13))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()?;
            for (name, ys, color, dashed) in series {
                let pts: Vec<(f64, f64)> = ys
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| (i as f64, y.max(floor)))
                    .collect();
                let style = color.stroke_width(2);
                let legend_color = *color;
                if *dashed {
                    chart
                        .draw_series(DashedLineSeries::new(pts, 5, 4, style))?
                        .label(name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(
                                vec![(x, y), (x + 16, y)],
                                legend_color.stroke_width(2),
                            )
                        });
                } else {
                    chart
                        .draw_series(LineSeries::new(pts, style))?
                        .label(name.as_str())
                        .legend(move |(x, y)| {
                            PathElement::new(
                                vec![(x, y), (x + 16, y)],
                                legend_color.stroke_width(2),
                            )
                        });
                }
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .label_font(("sans-serif", 10))
                .draw()?;
        }};
    }
    if log_y {
        draw!(builder!().build_cartesian_2d(x_range, (floor..ymax).log_scale())?);
    } else {
        draw!(builder!().build_cartesian_2d(x_range, 0f64..ymax)?);
    }
    Ok(())
}

/// A 1-D function and its approximations over `xs`.
pub fn fitted_curves(
    area: &Area,
    title: &str,
    xs: &[f64],
    target: &[f64],
    fits: &[(String, Vec<f64>, RGBColor)],
) -> PlotResult {
    let lo = target
        .iter()
        .chain(fits.iter().flat_map(|f| f.1.iter()))
        .copied()
        .fold(f64::INFINITY, f64::min);
    let hi = target
        .iter()
        .chain(fits.iter().flat_map(|f| f.1.iter()))
        .copied()
        .fold(f64::NEG_INFINITY, f64::max);
    let pad = 0.1 * (hi - lo).max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(6)
        .x_label_area_size(34)
        .y_label_area_size(40)
        .build_cartesian_2d(xs[0]..xs[xs.len() - 1], (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .x_desc("x")
        .y_desc("f(x)")
        .label_style(("sans-serif", 10))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    chart
        .draw_series(LineSeries::new(
            xs.iter().copied().zip(target.iter().copied()),
            BLACK.stroke_width(4),
        ))?
        .label("target")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(3)));
    for (name, ys, color) in fits {
        let c = *color;
        chart
            .draw_series(LineSeries::new(
                xs.iter().copied().zip(ys.iter().copied()),
                c.stroke_width(2),
            ))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 10))
        .draw()?;
    Ok(())
}

/// A named curve of `(x, y)` points in one colour.
pub type PointSeries = (String, Vec<(f64, f64)>, RGBColor);

/// Curves of positive `(x, y)` points on log-log axes, each point marked.
pub fn log_log_curves(
    area: &Area,
    title: &str,
    (x_desc, y_desc): (&str, &str),
    series: &[PointSeries],
) -> PlotResult {
    let all = || series.iter().flat_map(|s| s.1.iter().copied());
    let range = |f: fn((f64, f64)) -> f64| {
        all()
            .map(f)
            .filter(|v| *v > 0.0)
            .fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)))
    };
    let (x_lo, x_hi) = range(|p| p.0);
    let (y_lo, y_hi) = range(|p| p.1);
    if !(x_lo.is_finite() && y_lo.is_finite()) {
        return Err("nothing positive to draw on log axes".into());
    }
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(6)
        .x_label_area_size(34)
        .y_label_area_size(48)
        .build_cartesian_2d(
            (x_lo / 1.3..x_hi * 1.3).log_scale(),
            (y_lo / 2.0..y_hi * 2.0).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v}"))
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .label_style(("sans-serif", 10))
        .axis_desc_style(("sans-serif", 13))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (name, points, color) in series {
        let c = *color;
        let positive: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.1 > 0.0).collect();
        chart
            .draw_series(LineSeries::new(positive.clone(), c.stroke_width(2)))?
            .label(name.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], c.stroke_width(2)));
        chart.draw_series(positive.into_iter().map(|p| Circle::new(p, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .label_font(("sans-serif", 10))
        .draw()?;
    Ok(())
}
