//! Shares per category as bars (fig4a: per anchor pair, the share of outputs unchanged by
//! blocking; fig4b: the share that collapse to the 43 output), on a 0..1 axis with the
//! paper's reference level as a dashed line and the value printed above each bar.

use crate::render::xml_escape;

/// One bar; `highlight` draws it in another colour (the unseen pair).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub highlight: bool,
}

const BAR: f64 = 40.0;
const LEFT: f64 = 60.0;
const TOP: f64 = 50.0;
const PLOT_H: f64 = 240.0;

/// The bars as an SVG document; `reference` draws a dashed level with its label.
pub fn bars_svg(bars: &[Bar], title: &str, x_label: &str, y_label: &str, reference: Option<(f64, &str)>) -> String {
    let w = (LEFT + BAR * bars.len() as f64 + 30.0).max(8.0 * title.chars().count() as f64 + 40.0);
    let h = TOP + PLOT_H + 70.0;
    let y_of = |v: f64| TOP + PLOT_H * (1.0 - v.clamp(0.0, 1.0));
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"DejaVu Sans\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"26\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        w / 2.0,
        xml_escape(title)
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let y = y_of(tick);
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#e0e0e0\"/>\n\
             <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{tick}</text>\n",
            LEFT + BAR * bars.len() as f64,
            LEFT - 6.0,
            y + 4.0
        ));
    }
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + BAR * i as f64 + 6.0;
        let fill = if b.highlight { "#d7301f" } else { "#4575b4" };
        if b.value.is_finite() {
            let y = y_of(b.value);
            s.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"{fill}\"/>\n\
                 <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"middle\">{:.2}</text>\n",
                BAR - 12.0,
                TOP + PLOT_H - y,
                x + (BAR - 12.0) / 2.0,
                y - 4.0,
                b.value
            ));
        }
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n",
            x + (BAR - 12.0) / 2.0,
            TOP + PLOT_H + 18.0,
            xml_escape(&b.label)
        ));
    }
    if let Some((level, label)) = reference {
        let y = y_of(level);
        s.push_str(&format!(
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"black\" stroke-dasharray=\"6 4\"/>\n\
             <text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{}</text>\n",
            LEFT + BAR * bars.len() as f64,
            LEFT + BAR * bars.len() as f64,
            y - 4.0,
            xml_escape(label)
        ));
    }
    s.push_str(&format!(
        "<text x=\"16\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">{}</text>\n\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n</svg>\n",
        TOP + PLOT_H / 2.0,
        TOP + PLOT_H / 2.0,
        xml_escape(y_label),
        LEFT + BAR * bars.len() as f64 / 2.0,
        TOP + PLOT_H + 44.0,
        xml_escape(x_label)
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::png;

    #[test]
    fn one_bar_per_value_with_its_label_and_the_reference_line() {
        let bars = [
            Bar {
                label: "12".into(),
                value: 0.99,
                highlight: false,
            },
            Bar {
                label: "43".into(),
                value: 0.5,
                highlight: true,
            },
            Bar {
                label: "21".into(),
                value: f64::NAN,
                highlight: false,
            },
        ];
        let svg = bars_svg(
            &bars,
            "blocking",
            "anchor pair",
            "share unchanged",
            Some((0.98, "paper >= 0.98")),
        );
        assert_eq!(svg.matches("<rect x=").count(), 2, "NaN draws no bar");
        assert!(svg.contains(">0.99<") && svg.contains(">0.50<") && svg.contains("#d7301f"));
        assert!(svg.contains("stroke-dasharray") && svg.contains("paper &gt;= 0.98"));
        assert_eq!(&png(&svg).unwrap()[1..4], b"PNG");
    }
}
