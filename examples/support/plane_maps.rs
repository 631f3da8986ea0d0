//! The Playground's pictures of a trained net over the plane: the decision
//! map (the net's output as a colour, the points on top, a colour bar and a
//! legend) and the small maps of what every hidden unit computes.
//!
//! Colours follow Playground: orange for class 0 (its −1) and negative
//! values, blue for class 1 and positive values, white in between. Maps are
//! PNG images inside the SVG; points, axes and text are SVG vectors.

use plotters::prelude::*;

use nn::data::Problem;
use nn::playground::Run;

use super::plot::{Area, PlotResult, BLUE, ORANGE};

/// The colour of `t` in [0, 1] (0 orange, ½ white, 1 blue) in eight bands
/// a side (bands read like contour lines and keep the PNG small); `light`
/// keeps a background pale enough for points to stand out.
fn shade(t: f64, light: bool) -> RGBColor {
    let mix = |a: u8, s: f64| (255.0 + (a as f64 - 255.0) * s).round() as u8;
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let (c, s) = if t < 0.5 {
        (ORANGE, (0.5 - t) * 2.0)
    } else {
        (BLUE, (t - 0.5) * 2.0)
    };
    let s = ((s * 8.0).ceil() / 8.0).min(1.0) * if light { 0.6 } else { 1.0 };
    RGBColor(mix(c.0, s), mix(c.1, s), mix(c.2, s))
}

/// Where the net's output `v` sits on the colour scale: σ(margin), the
/// probability of class 1, for classification; (v + 1)/2 for a regression
/// value in [−1, 1].
fn scale_of(problem: Problem, v: f64) -> f64 {
    match problem {
        Problem::Classification => nn::autodiff::activations::sigmoid(v),
        Problem::Regression => (v + 1.0) / 2.0,
    }
}

fn pixels(values: &[f64], to_scale: impl Fn(f64) -> f64) -> Vec<u8> {
    values
        .iter()
        .flat_map(|&v| {
            let c = shade(to_scale(v), true);
            [c.0, c.1, c.2]
        })
        .collect()
}

/// The plane `[−extent, extent]²` coloured by the net's output, the
/// training points (white rim) and test points (black rim) on top, axes x1
/// and x2, a colour bar and a legend of the points.
pub fn decision_map(area: &Area, run: &Run, title: &str, extent: f64) -> PlotResult {
    let problem = run.problem();
    let (width, height) = area.dim_in_pixel();
    let (main, bar) = area.split_horizontally(width.saturating_sub(84));
    let (map_area, legend) = main.split_vertically(height.saturating_sub(24));
    let mut chart = ChartBuilder::on(&map_area)
        .caption(title, ("sans-serif", 14))
        .margin(6)
        .x_label_area_size(34)
        .y_label_area_size(40)
        .build_cartesian_2d(-extent..extent, -extent..extent)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(7)
        .y_labels(7)
        .x_desc("x1")
        .y_desc("x2")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 11))
        .axis_desc_style(("sans-serif", 13))
        .draw()?;
    let (w, h) = chart.plotting_area().dim_in_pixel();
    let values = run.output_grid(extent, w as usize, h as usize)?;
    let image = BitMapElement::with_owned_buffer(
        (-extent, extent),
        (w, h),
        pixels(&values, |v| scale_of(problem, v)),
    )
    .ok_or("decision map buffer of the wrong size")?;
    chart.draw_series(std::iter::once(image))?;
    for (points, rim) in [(&run.train, WHITE), (&run.test, BLACK)] {
        let inside = |xy: &&[f64; 2]| xy[0].abs() <= extent && xy[1].abs() <= extent;
        chart.draw_series(
            points
                .xy
                .iter()
                .zip(&points.targets)
                .filter(|(xy, _)| inside(xy))
                .map(|(xy, &target)| {
                    let fill = shade((target + 1.0) / 2.0, false);
                    EmptyElement::at((xy[0], xy[1]))
                        + Circle::new((0, 0), 3, fill.filled())
                        + Circle::new((0, 0), 3, rim.stroke_width(1))
                }),
        )?;
    }
    points_legend(&legend, problem)?;
    colour_bar(&bar, problem, height)?;
    Ok(())
}

/// "○ training points  ● test points", and what the colours mean.
fn points_legend(area: &Area, problem: Problem) -> PlotResult {
    let marker = |x: i32, rim: RGBColor| {
        EmptyElement::at((x, 10))
            // on the map's pale background, as the points are
            + Rectangle::new([(-8, -8), (8, 8)], shade(0.2, true).filled())
            + Circle::new((0, 0), 4, BLUE.filled())
            + Circle::new((0, 0), 4, rim.stroke_width(1))
    };
    let font = ("sans-serif", 12);
    area.draw(&marker(50, WHITE))?;
    area.draw(&Text::new("training points", (62, 3), font))?;
    area.draw(&marker(170, BLACK))?;
    area.draw(&Text::new("test points", (182, 3), font))?;
    let colours = match problem {
        Problem::Classification => "blue: class 1, orange: class 0",
        Problem::Regression => "colour: target value",
    };
    area.draw(&Text::new(colours, (265, 3), font))?;
    Ok(())
}

/// A vertical bar of the colour scale with its values.
fn colour_bar(area: &Area, problem: Problem, height: u32) -> PlotResult {
    let (name, lo, hi) = match problem {
        Problem::Classification => ("P(class 1)", 0.0, 1.0),
        Problem::Regression => ("predicted value", -1.0, 1.0),
    };
    let mut chart = ChartBuilder::on(area)
        .margin_top(30)
        .margin_bottom((height / 8).max(40))
        .margin_left(4)
        .set_label_area_size(LabelAreaPosition::Right, 44)
        .build_cartesian_2d(0f64..1f64, lo..hi)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_desc(name)
        .label_style(("sans-serif", 11))
        .axis_desc_style(("sans-serif", 12))
        .draw()?;
    let steps = 64;
    chart.draw_series((0..steps).map(|i| {
        let (a, b) = (i as f64 / steps as f64, (i + 1) as f64 / steps as f64);
        let (y0, y1) = (lo + (hi - lo) * a, lo + (hi - lo) * b);
        Rectangle::new([(0.0, y0), (1.0, y1)], shade(a, true).filled())
    }))?;
    Ok(())
}

/// One small map per hidden unit, a column per hidden layer (Playground's
/// neurons): the unit's activation over the plane, on its own symmetric
/// scale (white 0, blue the largest positive value, orange the most
/// negative), with its range under it.
pub fn unit_maps(area: &Area, run: &Run, extent: f64) -> PlotResult {
    let (width, height) = area.dim_in_pixel();
    let font = ("sans-serif", 12);
    area.draw(&Text::new(
        "what each hidden unit computes",
        (10, 6),
        ("sans-serif", 14),
    ))?;
    let hidden = &run.config.hidden;
    if hidden.is_empty() {
        area.draw(&Text::new(
            "(no hidden layers: the output is a weighted sum of the inputs)",
            (10, 40),
            font,
        ))?;
        return Ok(());
    }
    let (top, bottom) = (28u32, 40u32);
    let column = width / hidden.len() as u32;
    let rows = *hidden.iter().max().expect("not empty") as u32;
    let label = 13;
    let cell = ((height - top - bottom) / rows)
        .saturating_sub(label + 4)
        .min(column.saturating_sub(12))
        .clamp(12, 110);
    let grids = run.hidden_unit_grids(extent, cell as usize, cell as usize)?;
    for (l, layer) in grids.iter().enumerate() {
        let x0 = (l as u32 * column + (column - cell) / 2) as i32;
        area.draw(&Text::new(
            format!("layer {}", l + 1),
            (x0, top as i32 - 4),
            font,
        ))?;
        for (j, values) in layer.iter().enumerate() {
            let y0 = (top + 12 + j as u32 * (cell + label + 4)) as i32;
            let largest = values.iter().fold(1e-12f64, |m, v| m.max(v.abs()));
            let image = BitMapElement::with_owned_buffer(
                (x0, y0),
                (cell, cell),
                pixels(values, |v| 0.5 + v / (2.0 * largest)),
            )
            .ok_or("unit map buffer of the wrong size")?;
            area.draw(&image)?;
            area.draw(&Rectangle::new(
                [(x0, y0), (x0 + cell as i32, y0 + cell as i32)],
                RGBColor(160, 160, 160).stroke_width(1),
            ))?;
            let (lo, hi) = values
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                    (a.min(v), b.max(v))
                });
            area.draw(&Text::new(
                format!("{lo:.2} … {hi:.2}"),
                (x0, y0 + cell as i32 + 2),
                ("sans-serif", 10),
            ))?;
        }
    }
    area.draw(&Text::new(
        format!("each map: the unit's activation over x1, x2 ∈ [−{extent}, {extent}],"),
        (10, height as i32 - 34),
        ("sans-serif", 11),
    ))?;
    area.draw(&Text::new(
        "blue > 0 > orange, scaled to its own largest |value|; its range beneath",
        (10, height as i32 - 19),
        ("sans-serif", 11),
    ))?;
    Ok(())
}
