//! The figures of SPEC section 4 that `msym reproduce` knows: which config trains them and
//! how they are drawn. Phase figures are heatmaps of phase.csv; curve figures draw the
//! named metrics.csv columns against epoch, one colour per variant. fig4 and supp are
//! analyses of trained models: reproducing them trains those models, draws their training
//! curves and then runs `msym analyze` on them (analyze_cmd::after_reproduce).

/// How a figure is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Drawing {
    /// Composite and symmetric heatmaps over depth x gamma.
    Phase,
    /// These metrics against epoch.
    Curves(&'static [&'static str]),
}

/// One figure: its id (= the config's file stem in configs/), title and drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figure {
    pub id: &'static str,
    pub title: &'static str,
    pub drawing: Drawing,
}

const UNSEEN: &[&str] = &["composite_test", "symmetric_test"];

pub const FIGURES: [Figure; 9] = [
    Figure {
        id: "fig3",
        title: "Fig. 3: Mamba2 phase diagram",
        drawing: Drawing::Phase,
    },
    Figure {
        id: "fig4",
        title: "Fig. 4: the model whose information flow is analysed",
        drawing: Drawing::Curves(UNSEEN),
    },
    Figure {
        id: "fig5a",
        title: "Fig. 5a: full-symmetry task, pair 34 vs pair 43",
        drawing: Drawing::Curves(&["acc_34_test", "acc_43_test"]),
    },
    Figure {
        id: "fig5b",
        title: "Fig. 5b: all-ones frozen convolution vs standard",
        drawing: Drawing::Curves(UNSEEN),
    },
    Figure {
        id: "fig5c",
        title: "Fig. 5c: positional encoding vs standard",
        drawing: Drawing::Curves(UNSEEN),
    },
    Figure {
        id: "fig6",
        title: "Fig. 6: Transformer + convolution phase diagram",
        drawing: Drawing::Phase,
    },
    Figure {
        id: "fig7",
        title: "Fig. 7: inverse sequence matching",
        drawing: Drawing::Curves(&["acc_train", "acc_test", "acc_ood"]),
    },
    Figure {
        id: "supp",
        title: "Supplementary: the models whose conv kernels are compared",
        drawing: Drawing::Curves(UNSEEN),
    },
    Figure {
        id: "ref",
        title: "Reference: plain Transformer phase diagram",
        drawing: Drawing::Phase,
    },
];

/// The figure named `id`, or one sentence listing the known ones.
pub fn find(id: &str) -> Result<&'static Figure, String> {
    FIGURES.iter().find(|f| f.id == id).ok_or_else(|| {
        let ids: Vec<&str> = FIGURES.iter().map(|f| f.id).collect();
        format!("'{id}' is not a figure; reproduce one of {}", ids.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spec_figure_is_known_and_matches_the_config_schema_ids() {
        let ids: Vec<&str> = FIGURES.iter().map(|f| f.id).collect();
        assert_eq!(ids, msym_config::FIGURES);
        assert_eq!(find("fig6").unwrap().drawing, Drawing::Phase);
        assert_eq!(
            find("fig8").unwrap_err(),
            "'fig8' is not a figure; reproduce one of fig3, fig4, fig5a, fig5b, fig5c, fig6, fig7, supp, ref"
        );
    }
}
