//! Training curves: accuracy (0..1) against epoch, several runs or variants on one plot.
//! A curve's colour names its run or variant and its dash pattern names its metric, so
//! "composite vs symmetric" of one variant share a colour (the paper's Fig. 5 and 7 style).

use crate::render::xml_escape;

/// One line of the plot.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// (epoch, value); a non-finite value breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Index into the palette (one per run or variant).
    pub color: usize,
    /// Index into the dash patterns (one per metric).
    pub dash: usize,
}

/// Matplotlib's "tab10", so the figures read like the paper's.
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
];
const DASHES: [&str; 4] = ["", "7 4", "2 3", "9 3 2 3"];

const LEFT: f64 = 64.0;
const TOP: f64 = 46.0;
const PLOT_W: f64 = 480.0;
const PLOT_H: f64 = 300.0;

/// What a metrics.csv column means, for legends.
pub fn metric_label(metric: &str) -> String {
    match metric {
        "composite_test" => "composite (unseen pair, test)".into(),
        "symmetric_test" => "symmetric (unseen pair, test)".into(),
        "composite_train" => "composite (unseen pair, train group)".into(),
        "symmetric_train" => "symmetric (unseen pair, train group)".into(),
        "seen_test" => "seen pairs (test)".into(),
        "acc_ood" => "OOD".into(),
        _ => match metric.strip_prefix("acc_") {
            Some(rest) => match rest.split_once('_') {
                Some((pair, split)) => format!("pair {pair} ({split})"),
                None => rest.to_string(),
            },
            None => metric.to_string(),
        },
    }
}

/// Epoch ticks: a 1-2-5 step that gives at most 8 intervals.
fn x_step(max: f64) -> f64 {
    let mut step = 1.0;
    loop {
        for m in [1.0, 2.0, 5.0] {
            if max / (step * m) <= 8.0 {
                return step * m;
            }
        }
        step *= 10.0;
    }
}

/// The path of one curve; a non-finite value ends a segment.
fn path(points: &[(f64, f64)], x: impl Fn(f64) -> f64, y: impl Fn(f64) -> f64) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for &(e, v) in points {
        if !v.is_finite() {
            pen_down = false;
            continue;
        }
        d.push_str(&format!("{}{:.1} {:.1} ", if pen_down { "L" } else { "M" }, x(e), y(v)));
        pen_down = true;
    }
    d
}

/// The curves as an SVG document: axes 0..max epoch and 0..1, a light grid, and a legend
/// to the right of the plot.
pub fn curves_svg(curves: &[Curve], title: &str, y_label: &str) -> String {
    let max_epoch = curves
        .iter()
        .flat_map(|c| c.points.iter().map(|p| p.0))
        .fold(1.0_f64, f64::max);
    let x = |e: f64| LEFT + PLOT_W * e / max_epoch;
    let y = |v: f64| TOP + PLOT_H * (1.0 - v.clamp(0.0, 1.0));
    // About 7 px a character at 12 px DejaVu Sans, plus the line sample.
    let legend_w = curves.iter().map(|c| c.label.chars().count()).max().unwrap_or(0) as f64 * 7.0 + 60.0;
    let w = (LEFT + PLOT_W + 20.0 + legend_w).max(9.0 * title.chars().count() as f64 + 40.0);
    let h = TOP + PLOT_H + 56.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"26\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
        w / 2.0,
        xml_escape(title)
    );
    for i in 0..=5 {
        let v = i as f64 / 5.0;
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#dddddd\"/>\n\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{v:.1}</text>\n",
            LEFT + PLOT_W,
            LEFT - 6.0,
            y(v) + 4.0,
            y0 = y(v),
        ));
    }
    let step = x_step(max_epoch);
    let mut e = 0.0;
    while e <= max_epoch + 1e-9 {
        s.push_str(&format!(
            "<line x1=\"{x0:.1}\" x2=\"{x0:.1}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#eeeeee\"/>\n\
             <text x=\"{x0:.1}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{e}</text>\n",
            TOP + PLOT_H,
            TOP + PLOT_H + 18.0,
            x0 = x(e),
        ));
        e += step;
    }
    s.push_str(&format!(
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{PLOT_W}\" height=\"{PLOT_H}\" fill=\"none\" stroke=\"black\"/>\n\
         <text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\">epoch</text>\n\
         <text x=\"18\" y=\"{yc}\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 18 {yc})\">{}</text>\n",
        LEFT + PLOT_W / 2.0,
        TOP + PLOT_H + 40.0,
        xml_escape(y_label),
        yc = TOP + PLOT_H / 2.0,
    ));
    for (i, c) in curves.iter().enumerate() {
        let stroke = PALETTE[c.color % PALETTE.len()];
        let dash = match DASHES[c.dash % DASHES.len()] {
            "" => String::new(),
            d => format!(" stroke-dasharray=\"{d}\""),
        };
        s.push_str(&format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"2\"{dash}/>\n",
            path(&c.points, x, y).trim_end()
        ));
        let (lx, ly) = (LEFT + PLOT_W + 20.0, TOP + 10.0 + 20.0 * i as f64);
        s.push_str(&format!(
            "<line x1=\"{lx}\" x2=\"{}\" y1=\"{ly}\" y2=\"{ly}\" stroke=\"{stroke}\" stroke-width=\"2\"{dash}/>\n\
             <text x=\"{}\" y=\"{}\" font-size=\"12\">{}</text>\n",
            lx + 34.0,
            lx + 42.0,
            ly + 4.0,
            xml_escape(&c.label)
        ));
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::png;

    fn curve(label: &str, values: &[f64], color: usize, dash: usize) -> Curve {
        Curve {
            label: label.into(),
            points: values.iter().enumerate().map(|(e, v)| (e as f64, *v)).collect(),
            color,
            dash,
        }
    }

    #[test]
    fn one_path_per_curve_with_its_colour_dash_and_legend() {
        let svg = curves_svg(
            &[
                curve("standard: composite", &[0.0, 0.5, 0.9], 0, 0),
                curve("standard: symmetric", &[0.0, 0.1, 0.0], 0, 1),
                curve("all-ones <conv>", &[0.1, 0.6, 1.0], 1, 0),
            ],
            "fig5b",
            "accuracy",
        );
        assert_eq!(svg.matches("<path ").count(), 3);
        assert_eq!(
            svg.matches("stroke=\"#1f77b4\"").count(),
            4,
            "two paths and two legend lines"
        );
        assert_eq!(svg.matches("stroke-dasharray=\"7 4\"").count(), 2);
        assert!(svg.contains(">all-ones &lt;conv&gt;<"), "legend text is escaped");
        // epoch 2 of 2 is the right edge, value 1.0 the top.
        assert!(svg.contains(&format!("L{:.1} {:.1}", LEFT + PLOT_W, TOP)), "{svg}");
        assert_eq!(&png(&svg).unwrap()[1..4], b"PNG");
    }

    #[test]
    fn a_missing_value_breaks_the_line() {
        let d = path(&[(0.0, 0.1), (1.0, f64::NAN), (2.0, 0.3), (3.0, 0.4)], |e| e, |v| v);
        assert_eq!(d, "M0.0 0.1 M2.0 0.3 L3.0 0.4 ");
    }

    #[test]
    fn epoch_ticks_and_labels() {
        assert_eq!(x_step(8.0), 1.0);
        assert_eq!(x_step(20.0), 5.0);
        assert_eq!(x_step(210.0), 50.0);
        assert_eq!(metric_label("acc_34_test"), "pair 34 (test)");
        assert_eq!(metric_label("acc_ood"), "OOD");
        assert_eq!(metric_label("acc_test"), "test");
        assert_eq!(metric_label("symmetric_test"), "symmetric (unseen pair, test)");
    }
}
