//! Matrices as annotated heatmap panels side by side (fig4's per-layer SSM matrices, the
//! supplementary conv-tap similarities): signed values on a blue-white-red scale symmetric
//! around 0, a caption line of text under each panel (e.g. the logit lens of that layer).

use crate::render::xml_escape;

/// One panel: a titled matrix with labelled rows and columns.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixPanel {
    pub title: String,
    pub row_labels: Vec<String>,
    pub col_labels: Vec<String>,
    /// values[i][j] for row i, column j; NaN draws an empty (grey) cell.
    pub values: Vec<Vec<f64>>,
    /// Lines of text under the panel.
    pub caption: Vec<String>,
}

/// The blue-white-red colour of v in [-1, 1] (ColorBrewer RdBu end points).
pub fn diverging_color(v: f64) -> (u8, u8, u8) {
    let v = if v.is_finite() { v.clamp(-1.0, 1.0) } else { 0.0 };
    let (neg, mid, pos) = ((33.0, 102.0, 172.0), (255.0, 255.0, 255.0), (178.0, 24.0, 43.0));
    let (a, b, t): ((f64, f64, f64), (f64, f64, f64), f64) = if v < 0.0 { (mid, neg, -v) } else { (mid, pos, v) };
    (
        (a.0 + (b.0 - a.0) * t) as u8,
        (a.1 + (b.1 - a.1) * t) as u8,
        (a.2 + (b.2 - a.2) * t) as u8,
    )
}

const CELL: f64 = 44.0;
const LABEL_W: f64 = 70.0;
const GAP: f64 = 40.0;
const TOP: f64 = 76.0;

/// The panels in one row as an SVG document. Each panel is coloured on its own scale,
/// +-max|v| of that panel (given in its title line), so that a layer with small entries
/// still shows its pattern; the annotations give the values themselves.
pub fn matrix_panels_svg(panels: &[MatrixPanel], title: &str) -> String {
    let width_of = |p: &MatrixPanel| LABEL_W + CELL * p.col_labels.len() as f64;
    let rows = panels.iter().map(|p| p.row_labels.len()).max().unwrap_or(0) as f64;
    let captions = panels.iter().map(|p| p.caption.len()).max().unwrap_or(0) as f64;
    let w =
        (panels.iter().map(|p| width_of(p) + GAP).sum::<f64>() + 20.0).max(8.0 * title.chars().count() as f64 + 40.0);
    let h = TOP + CELL * rows + 70.0 + 16.0 * captions;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"24\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        w / 2.0,
        xml_escape(title)
    );
    let mut x0 = 10.0;
    for p in panels {
        panel(&mut s, p, x0);
        x0 += width_of(p) + GAP;
    }
    s.push_str("</svg>\n");
    s
}

fn panel(s: &mut String, p: &MatrixPanel, x0: f64) {
    let scale = p
        .values
        .iter()
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let left = x0 + LABEL_W;
    let ncols = p.col_labels.len() as f64;
    s.push_str(&format!(
        "<text x=\"{}\" y=\"46\" font-size=\"13\" text-anchor=\"middle\">{}</text>\n\
         <text x=\"{}\" y=\"62\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">colour scale +-{scale:.3}</text>\n",
        left + CELL * ncols / 2.0,
        xml_escape(&p.title),
        left + CELL * ncols / 2.0,
    ));
    for (i, row) in p.values.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let (x, y) = (left + CELL * j as f64, TOP + CELL * i as f64);
            let fill = if v.is_finite() {
                let (r, g, b) = diverging_color(if scale > 0.0 { v / scale } else { 0.0 });
                format!("rgb({r},{g},{b})")
            } else {
                "#eeeeee".to_string()
            };
            s.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{CELL}\" height=\"{CELL}\" fill=\"{fill}\" stroke=\"#dddddd\"/>\n"
            ));
            if v.is_finite() {
                s.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{}</text>\n",
                    x + CELL / 2.0,
                    y + CELL / 2.0 + 4.0,
                    short(v)
                ));
            }
        }
    }
    for (i, label) in p.row_labels.iter().enumerate() {
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>\n",
            left - 6.0,
            TOP + CELL * (i as f64 + 0.5) + 4.0,
            xml_escape(label)
        ));
    }
    let bottom = TOP + CELL * p.values.len() as f64;
    for (j, label) in p.col_labels.iter().enumerate() {
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>\n",
            left + CELL * (j as f64 + 0.5),
            bottom + 16.0,
            xml_escape(label)
        ));
    }
    for (k, line) in p.caption.iter().enumerate() {
        s.push_str(&format!(
            "<text x=\"{x0}\" y=\"{}\" font-size=\"11\">{}</text>\n",
            bottom + 40.0 + 16.0 * k as f64,
            xml_escape(line)
        ));
    }
}

/// A value in at most four characters' worth of digits: 0.12, -1.3, 12, 1e3.
fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 999.5 {
        format!("{v:.0e}")
    } else if a >= 9.95 {
        format!("{v:.0}")
    } else if a >= 0.995 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::png;

    #[test]
    fn colours_run_blue_white_red_and_values_are_annotated() {
        assert_eq!(diverging_color(0.0), (255, 255, 255));
        assert_eq!(diverging_color(1.0), (178, 24, 43));
        assert_eq!(diverging_color(-1.0), (33, 102, 172));
        let p = MatrixPanel {
            title: "layer 0".into(),
            row_labels: vec!["a".into(), "b".into()],
            col_labels: vec!["a".into(), "b".into()],
            values: vec![vec![0.5, f64::NAN], vec![-0.25, 12.3]],
            caption: vec!["lens: 7 9".into()],
        };
        let svg = matrix_panels_svg(&[p.clone(), p], "S");
        assert_eq!(svg.matches("fill=\"rgb(").count(), 6);
        assert_eq!(svg.matches("#eeeeee").count(), 2);
        assert!(svg.contains(">0.50<") && svg.contains(">-0.25<") && svg.contains(">12<"));
        assert!(svg.contains("lens: 7 9") && svg.contains("+-12.300"));
        assert_eq!(&png(&svg).unwrap()[1..4], b"PNG");
    }
}
