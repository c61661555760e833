//! Paper vs ours: the cells of RESULTS grouped by figure, and for each figure the cell
//! table (phase diagrams) or the value table (figures the paper gives as single numbers),
//! the claim verdicts, the setup diff and the project's defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::analysis::{Analysis, BLOCK, SUBSTITUTE};
use crate::claims::{Check, Verdict};
use crate::error::CompareError;
use crate::fig4::{Analysed, fig4_table, sequences_setup};
use crate::figure::{FigureId, identify};
use crate::phase::{PhaseRow, aggregate};
use crate::phase_compare::{heatmaps, verdicts};
use crate::reference::Reference;
use crate::results::{CellResult, ResultSet};
use crate::setup::{ProjectDefault, SetupDiff, project_defaults, setup_diff};
use crate::table::CellTable;
use crate::targets::figure_targets;
use crate::values::ValueTable;
use crate::variants::variant_table;

/// One accuracy of one figure as two heatmaps, the paper's and ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Heatmap {
    /// File stem, e.g. "fig3_composite" ("fig3_composite_2" for a second setting).
    pub name: String,
    pub title: String,
    /// (depth, gamma, value)
    pub paper: Vec<(u64, f64, f64)>,
    /// (depth, gamma, value, any seed diverged)
    pub ours: Vec<(u64, f64, f64, bool)>,
    /// No cell of ours is still training (its title says so otherwise).
    pub ours_final: bool,
}

#[derive(Debug, Clone)]
pub struct FigureComparison {
    pub figure: FigureId,
    /// The reference's description of the figure ("" when it has none).
    pub description: String,
    /// The result directories (and analysis folders) its values came from.
    pub sources: Vec<PathBuf>,
    /// Our cells compared (a phase diagram compares only final ones).
    pub cells: usize,
    /// Cells still training: compared at their last evaluation in a value table, left out
    /// of a phase diagram unless [`PaperOptions::phase_in_progress`].
    pub in_progress: usize,
    pub rows: Vec<PhaseRow>,
    /// None when the reference has no phase diagram for the figure.
    pub table: Option<CellTable>,
    /// The value table of a figure the paper gives as single numbers.
    pub values: Option<ValueTable>,
    /// (settings, check, verdict on our cells, verdict on the paper's cells)
    pub verdicts: Vec<(String, Check, Verdict, Verdict)>,
    pub setup: Vec<SetupDiff>,
    pub defaults: Vec<ProjectDefault>,
    pub heatmaps: Vec<Heatmap>,
    /// The reference's values for a figure it has numbers for but the comparer does not map.
    pub paper_values: Vec<(String, String)>,
    /// What could not be compared, in one sentence (None when everything was).
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaperComparison {
    pub citation: String,
    pub reference: PathBuf,
    pub results: PathBuf,
    pub figures: Vec<FigureComparison>,
    /// Cells that match none of the paper's figures.
    pub unmatched: usize,
    /// Planned sweep cells without any result yet.
    pub pending: usize,
    /// Cells still training (their results are from their last evaluation so far).
    pub in_progress: usize,
    /// Whether phase diagrams took the cells still training in ([`PaperOptions`]).
    pub phase_in_progress: bool,
}

/// How cells enter a phase diagram.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaperOptions {
    /// Put cells still training into the phase tables at their last evaluation, marked not
    /// final (a sweep grown over several time-boxed sessions, looked at on the way). Off: a
    /// phase diagram compares final values only.
    pub phase_in_progress: bool,
    /// Which of a cell's accuracies stands for it in a phase table.
    pub phase_value: PhaseValue,
}

/// A phase-diagram cell's value: the paper reports the end of training (SPEC 3), so the
/// final epoch is the comparison; the max over epochs is a diagnostic for runs that learn
/// a solution and lose it again (results/fig3-choices), e.g. to ask whether the paper's
/// numbers look like best epochs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PhaseValue {
    #[default]
    Final,
    Max,
}

impl FigureComparison {
    /// Cells still training that are in the phase table (0 unless opted in): its values
    /// are not final.
    pub fn interim(&self) -> usize {
        self.rows.iter().map(|r| r.not_final).sum()
    }
}

impl PaperComparison {
    /// Every failed tolerance, failed claim and value not final yet, one sentence each (what
    /// --strict acts on).
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for f in &self.figures {
            let id = &f.figure.id;
            if let Some(t) = &f.table {
                out.extend(t.tolerance_failures().into_iter().map(|s| format!("{id}: {s}")));
                if f.interim() > 0 {
                    out.push(format!(
                        "{id}: {} cells of the phase table are not final (their runs are still training)",
                        f.interim()
                    ));
                }
            }
            for (settings, check, ours, _) in &f.verdicts {
                if ours.holds == Some(false) {
                    let at = if settings.is_empty() {
                        String::new()
                    } else {
                        format!(" ({settings})")
                    };
                    out.push(format!("{id}{at}: claim fails: {}", check.claim));
                }
            }
            if let Some(v) = &f.values {
                out.extend(v.failures().into_iter().map(|s| format!("{id}: {s}")));
            }
        }
        out
    }
}

/// What one figure gathers from the result sets.
struct Group {
    figure: FigureId,
    finals: Vec<CellResult>,
    running: Vec<CellResult>,
    sources: BTreeSet<PathBuf>,
    /// Each set's analyses, and whether its model had finished (None: analyses alone).
    analyses: Vec<(Analysis, Option<bool>)>,
}

impl Group {
    fn new(figure: FigureId) -> Self {
        Self {
            figure,
            finals: Vec::new(),
            running: Vec::new(),
            sources: BTreeSet::new(),
            analyses: Vec::new(),
        }
    }
}

/// Compares every figure found in `sets` with `reference`, phase diagrams on final cells
/// only. Fails when a fig4 result set lacks the analysis files its comparison needs.
pub fn compare_to_paper(
    results: &Path,
    sets: &[ResultSet],
    reference: &Reference,
    reference_path: &Path,
) -> Result<PaperComparison, CompareError> {
    compare_to_paper_with(results, sets, reference, reference_path, PaperOptions::default())
}

/// [`compare_to_paper`] with the choice of how cells still training enter phase diagrams.
pub fn compare_to_paper_with(
    results: &Path,
    sets: &[ResultSet],
    reference: &Reference,
    reference_path: &Path,
    opts: PaperOptions,
) -> Result<PaperComparison, CompareError> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    let mut unmatched = 0;
    for set in sets {
        let finals = set.cells.iter().map(|c| (c, true));
        for (cell, is_final) in finals.chain(set.in_progress.iter().map(|c| (c, false))) {
            let Some(fig) = identify(&cell.config) else {
                unmatched += 1;
                continue;
            };
            let g = groups.entry(fig.id.clone()).or_insert_with(|| Group::new(fig));
            if is_final {
                g.finals.push(cell.clone());
            } else {
                g.running.push(cell.clone());
            }
            g.sources.insert(set.path.clone());
        }
        add_analysis(set, &mut groups)?;
    }
    Ok(PaperComparison {
        citation: reference.citation.clone(),
        reference: reference_path.to_path_buf(),
        results: results.to_path_buf(),
        figures: groups
            .into_values()
            .map(|g| compare_figure(g, reference, opts))
            .collect(),
        unmatched,
        pending: sets.iter().map(|s| s.pending).sum(),
        in_progress: sets.iter().map(|s| s.in_progress.len()).sum(),
        phase_in_progress: opts.phase_in_progress,
    })
}

/// Files the fig4 analyses of `set` (`analysis/`) to fig4; a set of fig4 cells must have both.
fn add_analysis(set: &ResultSet, groups: &mut BTreeMap<String, Group>) -> Result<(), CompareError> {
    let is_fig4 = set
        .all_cells()
        .any(|c| identify(&c.config).is_some_and(|f| f.id == "fig4"));
    let dir = set
        .analysis
        .as_ref()
        .map_or_else(|| set.path.join("analysis"), |a| a.dir.clone());
    if is_fig4 {
        let have = set.analysis.as_ref();
        for ((file, _), present, cmd) in [
            (BLOCK, have.is_some_and(|a| a.block.is_some()), "block"),
            (SUBSTITUTE, have.is_some_and(|a| a.substitute.is_some()), "substitute"),
        ] {
            if !present {
                return Err(CompareError::Missing {
                    path: dir.join(file),
                    message: format!(
                        "fig4 compares the analyses of the trained model; run `msym analyze {cmd} {}` (msym reproduce fig4 runs it)",
                        set.path.display()
                    ),
                });
            }
        }
    }
    let Some(a) = &set.analysis else {
        return Ok(());
    };
    let how = format!(
        "the analyses in {} (block.csv, substitute.csv) are fig4's",
        a.dir.display()
    );
    let g = groups
        .entry("fig4".into())
        .or_insert_with(|| Group::new(FigureId { id: "fig4".into(), how }));
    let is_final = (!set.cells.is_empty() || !set.in_progress.is_empty()).then_some(set.in_progress.is_empty());
    g.analyses.push((a.clone(), is_final));
    g.sources.insert(a.dir.clone());
    Ok(())
}

/// Says wherever a phase comparison shows it that its rows hold best epochs (`--value max`):
/// the project's defaults, the note, and the heatmaps, which are named to go beside, not
/// over, the final-epoch figures of the same results.
fn mark_max(out: &mut FigureComparison) {
    crate::setup::mark_value(
        &mut out.defaults,
        "max over the evaluated epochs, mean over seeds (--value max)",
    );
    for h in &mut out.heatmaps {
        h.name.push_str("_max");
        h.title.push_str(", max over epochs");
    }
    let max = "ours are each seed's max over its evaluated epochs (--value max), not the final epoch that the paper reports: a diagnostic, not a reproduction";
    out.note = Some(match out.note.take() {
        Some(n) => format!("{max}; {n}"),
        None => max.to_string(),
    });
}

fn compare_figure(g: Group, reference: &Reference, opts: PaperOptions) -> FigureComparison {
    let all: Vec<&CellResult> = g.finals.iter().chain(&g.running).collect();
    let finals: Vec<&CellResult> = g.finals.iter().collect();
    let mut out = FigureComparison {
        description: String::new(),
        sources: g.sources.into_iter().collect(),
        cells: all.len(),
        in_progress: g.running.len(),
        rows: aggregate(&finals),
        table: None,
        values: None,
        verdicts: Vec::new(),
        setup: Vec::new(),
        defaults: project_defaults(&all),
        heatmaps: Vec::new(),
        paper_values: Vec::new(),
        note: None,
        figure: g.figure,
    };
    let id = out.figure.id.clone();
    if let Some(fig) = reference.phase_figure(&id) {
        let interim = opts.phase_in_progress && !g.running.is_empty();
        let used = if interim { &all } else { &finals };
        if interim {
            out.rows = aggregate(used);
        }
        let mut paper_setup = reference.training_setup.clone();
        paper_setup.extend(fig.setup.clone());
        let seeds: Vec<usize> = out.rows.iter().map(|r| r.seeds).collect();
        out.setup = setup_diff(&paper_setup, used, fig.seeds, &seeds);
        out.description = fig.description.clone();
        out.cells = used.len();
        if opts.phase_value == PhaseValue::Max {
            for r in &mut out.rows {
                (r.composite, r.symmetric) = (r.composite_max, r.symmetric_max);
            }
        }
        out.table = Some(CellTable::build(fig, &out.rows));
        out.verdicts = verdicts(fig, &out.rows);
        out.heatmaps = heatmaps(fig, &out.rows);
        if interim {
            let epochs: Vec<u64> = g.running.iter().filter_map(|c| c.epoch).collect();
            let (lo, hi) = (epochs.iter().min(), epochs.iter().max());
            let at = match (lo, hi, g.running[0].planned_epochs()) {
                (Some(lo), Some(hi), Some(of)) if lo == hi => format!(" (epoch {lo} of {of})"),
                (Some(lo), Some(hi), Some(of)) => format!(" (epochs {lo}-{hi} of {of})"),
                _ => String::new(),
            };
            out.note = Some(format!(
                "{} cells still training are in this table at their last evaluation{at}: these values are not final",
                g.running.len()
            ));
        } else if out.in_progress > 0 {
            out.note = Some(format!(
                "{} cells still training are left out: a phase diagram compares final values only",
                out.in_progress
            ));
        }
        if opts.phase_value == PhaseValue::Max {
            mark_max(&mut out);
        }
    } else if let Some(fig) = reference.value_figure(&id) {
        let mut paper_setup = reference.training_setup.clone();
        paper_setup.extend(fig.setup.clone());
        out.setup = setup_diff(&paper_setup, &all, 0, &[]);
        out.description = fig.description.clone();
        if id == "fig4" {
            let models: Vec<Analysed> = g
                .analyses
                .iter()
                .map(|(analysis, is_final)| Analysed {
                    analysis,
                    is_final: *is_final,
                })
                .collect();
            out.setup.extend(sequences_setup(fig, &models));
            out.values = Some(fig4_table(fig, &models));
        } else if let Some(targets) = figure_targets(&id) {
            out.values = Some(variant_table(fig, targets, &all));
        }
    } else if let Some((description, values)) = reference.other.get(&id) {
        out.description = description.clone();
        out.paper_values = values.clone();
        out.note = Some(format!(
            "the comparer does not map the reference's values for {id} to ours: they are listed beside ours, without a table or verdicts"
        ));
    } else {
        out.note = Some(format!("the reference holds no numbers for {id}"));
    }
    out
}
