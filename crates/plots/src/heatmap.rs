//! Phase heatmaps in the paper's style: gamma on x, depth on y, each cell annotated, a
//! red-yellow-green scale over 0..1, diverged cells hatched.

use std::collections::BTreeSet;

use crate::render::xml_escape;

/// One cell of a heatmap.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatCell {
    pub depth: u64,
    pub gamma: f64,
    pub value: f64,
    pub diverged: bool,
}

/// The red-yellow-green colour of v in [0, 1] (ColorBrewer RdYlGn end and mid points).
pub fn color(v: f64) -> (u8, u8, u8) {
    let v = if v.is_finite() { v.clamp(0.0, 1.0) } else { 0.0 };
    let (lo, mid, hi) = ((215.0, 48.0, 39.0), (255.0, 255.0, 191.0), (26.0, 152.0, 80.0));
    let mix = |a: (f64, f64, f64), b: (f64, f64, f64), t: f64| {
        (
            (a.0 + (b.0 - a.0) * t) as u8,
            (a.1 + (b.1 - a.1) * t) as u8,
            (a.2 + (b.2 - a.2) * t) as u8,
        )
    };
    if v < 0.5 {
        mix(lo, mid, v * 2.0)
    } else {
        mix(mid, hi, (v - 0.5) * 2.0)
    }
}

const CELL: f64 = 56.0;
const LEFT: f64 = 80.0;
const TOP: f64 = 50.0;

/// The heatmap as an SVG document.
pub fn heatmap_svg(cells: &[HeatCell], title: &str) -> String {
    let gammas: Vec<f64> = {
        let mut g: Vec<f64> = cells.iter().map(|c| c.gamma).collect();
        g.sort_by(f64::total_cmp);
        g.dedup();
        g
    };
    let depths: Vec<u64> = cells
        .iter()
        .map(|c| c.depth)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    // Wide enough for the title too (about 9 px a character at 16 px DejaVu Sans).
    let w = (LEFT + CELL * gammas.len() as f64 + 20.0).max(9.0 * title.chars().count() as f64 + 40.0);
    let h = TOP + CELL * depths.len() as f64 + 60.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans\">\n\
         <defs><pattern id=\"hatch\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"black\" stroke-width=\"2\"/></pattern></defs>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"28\" font-size=\"16\" text-anchor=\"middle\">{}</text>\n",
        w / 2.0,
        xml_escape(title)
    );
    for c in cells {
        let (Some(i), Some(j)) = (
            gammas.iter().position(|g| *g == c.gamma),
            depths.iter().position(|d| *d == c.depth),
        ) else {
            continue;
        };
        let (x, y) = (LEFT + CELL * i as f64, TOP + CELL * j as f64);
        let (r, g, b) = color(c.value);
        s.push_str(&format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"rgb({r},{g},{b})\" stroke=\"white\"/>\n"
        ));
        if c.diverged {
            s.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"url(#hatch)\" opacity=\"0.5\"/>\n"
            ));
        }
        let label = if c.value.is_finite() {
            format!("{:.2}", c.value)
        } else {
            "nan".into()
        };
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"14\" text-anchor=\"middle\">{label}</text>\n",
            x + CELL / 2.0,
            y + CELL / 2.0 + 5.0
        ));
    }
    for (i, g) in gammas.iter().enumerate() {
        let x = LEFT + CELL * (i as f64 + 0.5);
        let y = TOP + CELL * depths.len() as f64 + 18.0;
        s.push_str(&format!(
            "<text x=\"{x}\" y=\"{y}\" font-size=\"12\" text-anchor=\"middle\">{g}</text>\n"
        ));
    }
    for (j, d) in depths.iter().enumerate() {
        let y = TOP + CELL * (j as f64 + 0.5) + 4.0;
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{y}\" font-size=\"12\" text-anchor=\"end\">{d}</text>\n",
            LEFT - 8.0
        ));
    }
    let bottom = TOP + CELL * depths.len() as f64 + 44.0;
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{bottom}\" font-size=\"13\" text-anchor=\"middle\">gamma (initialization rate)</text>\n\
         <text x=\"20\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 20 {})\">depth</text>\n</svg>\n",
        LEFT + CELL * gammas.len() as f64 / 2.0,
        TOP + CELL * depths.len() as f64 / 2.0,
        TOP + CELL * depths.len() as f64 / 2.0
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::png;

    #[test]
    fn colours_run_red_yellow_green() {
        assert_eq!(color(0.0), (215, 48, 39));
        assert_eq!(color(0.5), (255, 255, 191));
        assert_eq!(color(1.0), (26, 152, 80));
        assert_eq!(color(f64::NAN), color(0.0));
    }

    #[test]
    fn heatmap_has_one_annotated_cell_per_point_and_renders_text() {
        let cells = [
            HeatCell {
                depth: 2,
                gamma: 0.5,
                value: 0.25,
                diverged: false,
            },
            HeatCell {
                depth: 2,
                gamma: 1.0,
                value: 0.94,
                diverged: false,
            },
            HeatCell {
                depth: 3,
                gamma: 0.5,
                value: 0.0,
                diverged: true,
            },
            HeatCell {
                depth: 3,
                gamma: 1.0,
                value: 0.61,
                diverged: false,
            },
        ];
        let svg = heatmap_svg(&cells, "composite");
        assert_eq!(svg.matches("fill=\"rgb(").count(), 4);
        assert!(svg.contains(">0.94<") && svg.contains(">0.25<") && svg.contains("url(#hatch)"));
        let bytes = png(&svg).unwrap();
        assert_eq!(&bytes[1..4], b"PNG");
        let with_text = bytes.len();
        let blank = png(&svg.replace("DejaVu Sans", "NoSuchFont").replace(">0.94<", "><"))
            .unwrap()
            .len();
        assert_ne!(with_text, blank, "text was drawn with the bundled font");
    }
}
