//! SVG figures with plotters: Playground-style decision maps, loss curves
//! and fitted curves. Text stays SVG text (no fonts needed to draw it); heat
//! maps are embedded as PNG images.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters_svg::SVGBackend;

use nn::playground::Run;

/// Playground's colours: orange for class 0 (its −1), blue for class 1.
pub const ORANGE: RGBColor = RGBColor(245, 147, 34);
pub const BLUE: RGBColor = RGBColor(8, 119, 189);

pub type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub type PlotResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

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

/// The colour of probability `p` of class 1: orange → white → blue, in
/// eight bands a side (bands read like contour lines and keep the embedded
/// PNG small).
fn shade(p: f64) -> [u8; 3] {
    let mix = |a: u8, t: f64| (255.0 + (a as f64 - 255.0) * t).round() as u8;
    let (c, t) = if p < 0.5 {
        (ORANGE, (0.5 - p) * 2.0)
    } else {
        (BLUE, (p - 0.5) * 2.0)
    };
    let t = ((t * 8.0).ceil() / 8.0).min(1.0);
    // keep the background light so that the points stand out
    let t = 0.6 * t;
    [mix(c.0, t), mix(c.1, t), mix(c.2, t)]
}

/// The plane coloured by the net's probability of class 1, with the
/// training points (white rim) and test points (black rim) on top.
pub fn decision_map(area: &Area, run: &Run, title: &str, extent: f64) -> PlotResult {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(28)
        .build_cartesian_2d(-extent..extent, -extent..extent)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(5)
        .y_labels(5)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 10))
        .draw()?;
    let (w, h) = chart.plotting_area().dim_in_pixel();
    // The map and the points are painted into one bitmap (embedded as a
    // PNG): a few dozen kilobytes, where 500 SVG circles would be hundreds.
    let margins = run.output_grid(extent, w as usize, h as usize)?;
    let mut pixels: Vec<u8> = margins
        .iter()
        .flat_map(|&m| shade(1.0 / (1.0 + (-m).exp())))
        .collect();
    {
        let canvas = BitMapBackend::with_buffer(&mut pixels, (w, h)).into_drawing_area();
        let mut points_chart =
            ChartBuilder::on(&canvas).build_cartesian_2d(-extent..extent, -extent..extent)?;
        for (points, rim) in [(&run.train, WHITE), (&run.test, BLACK)] {
            points_chart.draw_series(points.xy.iter().zip(&points.labels).map(|(xy, &l)| {
                let fill = if l == 1 { BLUE } else { ORANGE };
                EmptyElement::at((xy[0], xy[1]))
                    + Circle::new((0, 0), 3, fill.filled())
                    + Circle::new((0, 0), 3, rim.stroke_width(1))
            }))?;
        }
        canvas.present()?;
    }
    let image = BitMapElement::with_owned_buffer((-extent, extent), (w, h), pixels)
        .ok_or("heat map buffer of the wrong size")?;
    chart.draw_series(std::iter::once(image))?;
    Ok(())
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
        .x_label_area_size(26)
        .y_label_area_size(36)
        .build_cartesian_2d(xs[0]..xs[xs.len() - 1], (lo - pad)..(hi + pad))?;
    chart
        .configure_mesh()
        .label_style(("sans-serif", 10))
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
