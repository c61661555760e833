//! Which pending cells of a sweep train in this call, and in which runs: `--only FIELD=V,..`
//! keeps the cells whose swept FIELD takes one of the values (so a sweep too long for one
//! machine grows across calls into one directory, one depth at a time), and
//! `--max-replicas N` cuts a shape group into runs of at most N replicas (so one group can
//! spread over several GPUs, or fit a smaller one). Cutting never changes a cell's numbers:
//! replicas of one run do not interact.

use clap::Args;
use msym_config::Cell;

use crate::error::CliError;

#[derive(Args, Clone, Debug, Default)]
pub struct Scheduling {
    /// Train only the cells whose swept FIELD has one of these values, e.g.
    /// `--only model.depth=2,3` (repeatable: a cell must match every --only). The sweep
    /// directory keeps the whole plan; later calls train the rest.
    #[arg(long, value_name = "FIELD=V[,V..]")]
    pub only: Vec<Only>,
    /// Cut each shape group into runs of at most N replicas, of near-equal size. Keep N
    /// when resuming: a run's checkpoint belongs to its exact set of cells.
    #[arg(long, value_name = "N")]
    pub max_replicas: Option<usize>,
    /// Train only the runs that have a checkpoint to resume: finish what earlier calls
    /// started and start no new run (a time-boxed session's last call, so that few
    /// unfinished runs' checkpoints are left to carry to the next session).
    #[arg(long)]
    pub started_only: bool,
}

/// One `--only FIELD=V,..`.
#[derive(Clone, Debug, PartialEq)]
pub struct Only {
    pub field: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Only {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("'{s}' is not a filter; write FIELD=V[,V..], e.g. model.depth=2,3");
        let (field, values) = s.split_once('=').ok_or_else(bad)?;
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if field.trim().is_empty() || values.iter().any(String::is_empty) {
            return Err(bad());
        }
        Ok(Only {
            field: field.trim().to_string(),
            values,
        })
    }
}

/// A cell's sweep sets as (field, value).
fn sets(cell: &Cell) -> impl Iterator<Item = (&str, &str)> {
    cell.sets.iter().filter_map(|s| s.split_once('='))
}

/// The value a cell's sweep sets give FIELD, if the sweep varies it.
fn value_of<'a>(cell: &'a Cell, field: &str) -> Option<&'a str> {
    sets(cell).find(|(f, _)| *f == field).map(|(_, v)| v)
}

/// Equal as numbers where both are numbers (`1` matches `1.0`), else as text.
fn same(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a.trim_matches('"') == b.trim_matches('"'),
    }
}

impl Scheduling {
    /// Refuses a filter that names no swept field or a value no cell has, and N = 0.
    pub fn check(&self, all: &[Cell]) -> Result<(), CliError> {
        if self.max_replicas == Some(0) {
            return Err(CliError::input("--max-replicas 0: a run needs at least 1 replica"));
        }
        for only in &self.only {
            let mut seen: Vec<&str> = Vec::new();
            for v in all.iter().filter_map(|c| value_of(c, &only.field)) {
                if !seen.iter().any(|s| same(s, v)) {
                    seen.push(v); // in the grid's order
                }
            }
            if seen.is_empty() {
                let mut fields: Vec<&str> = all.iter().flat_map(|c| sets(c).map(|(f, _)| f)).collect();
                fields.sort();
                fields.dedup();
                return Err(CliError::input(format!(
                    "--only {}: the sweep does not vary {} (it varies: {})",
                    only.field,
                    only.field,
                    fields.join(", ")
                )));
            }
            if let Some(v) = only.values.iter().find(|v| !seen.iter().any(|s| same(s, v))) {
                return Err(CliError::input(format!(
                    "--only {}={v}: no cell of the sweep has that value (its values: {})",
                    only.field,
                    seen.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Whether `cell` passes every --only.
    pub fn selects(&self, cell: &Cell) -> bool {
        self.only
            .iter()
            .all(|o| value_of(cell, &o.field).is_some_and(|v| o.values.iter().any(|w| same(v, w))))
    }

    /// `groups` with each group cut into runs of at most --max-replicas cells, of sizes
    /// that differ by at most one, in the cells' order.
    pub fn cut<'a>(&self, groups: Vec<Vec<&'a Cell>>) -> Vec<Vec<&'a Cell>> {
        let Some(max) = self.max_replicas else {
            return groups;
        };
        let mut runs = Vec::new();
        for group in groups {
            let k = group.len().div_ceil(max.max(1));
            let (base, extra) = (group.len() / k, group.len() % k);
            let mut rest = &group[..];
            for i in 0..k {
                let (head, tail) = rest.split_at(base + usize::from(i < extra));
                runs.push(head.to_vec());
                rest = tail;
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells() -> Vec<Cell> {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.toml");
        std::fs::write(
            &f,
            "[task]\nkind = \"composite\"\n[model]\nkind = \"mamba2\"\n[sweep]\ngrid = { \"model.depth\" = [2, 3], \"init.gamma\" = [0.5, 1.0], seed = [1, 2, 3] }\n",
        )
        .unwrap();
        msym_config::expand(&f, &[]).unwrap()
    }

    #[test]
    fn only_parses_and_selects_by_value_numbers_compared_as_numbers() {
        let all = cells();
        let s = Scheduling {
            only: vec!["model.depth=3".parse().unwrap(), "init.gamma=1".parse().unwrap()],
            max_replicas: None,
            started_only: false,
        };
        assert!(s.check(&all).is_ok());
        let picked: Vec<&Cell> = all.iter().filter(|c| s.selects(c)).collect();
        assert_eq!(picked.len(), 3, "depth 3, gamma 1.0, seeds 1..3");
        assert!(picked.iter().all(|c| c.sets.contains(&"model.depth=3".to_string())));
        assert!("model.depth".parse::<Only>().is_err());
        assert!("model.depth=2,".parse::<Only>().is_err());
    }

    #[test]
    fn a_filter_on_an_unswept_field_or_an_absent_value_is_refused_with_what_exists() {
        let all = cells();
        let s = |o: &str| Scheduling {
            only: vec![o.parse().unwrap()],
            max_replicas: None,
            started_only: false,
        };
        let e = s("model.d_model=32").check(&all).err().unwrap().message;
        assert!(
            e.contains("does not vary model.d_model (it varies: init.gamma, model.depth, seed)"),
            "{e}"
        );
        let e = s("model.depth=2,9").check(&all).err().unwrap().message;
        assert!(
            e.contains("--only model.depth=9: no cell of the sweep has that value (its values: 2, 3)"),
            "{e}"
        );
        let zero = Scheduling {
            only: vec![],
            max_replicas: Some(0),
            started_only: false,
        };
        assert!(zero.check(&all).is_err());
    }

    #[test]
    fn cutting_keeps_every_cell_once_in_order_in_near_equal_runs() {
        let all = cells();
        let group: Vec<&Cell> = all.iter().collect(); // 12 cells
        for (max, sizes) in [(12, vec![12]), (5, vec![4, 4, 4]), (7, vec![6, 6]), (1, vec![1; 12])] {
            let s = Scheduling {
                only: vec![],
                max_replicas: Some(max),
                started_only: false,
            };
            let runs = s.cut(vec![group.clone()]);
            assert_eq!(runs.iter().map(Vec::len).collect::<Vec<_>>(), sizes, "max {max}");
            let flat: Vec<&str> = runs.iter().flatten().map(|c| c.id.as_str()).collect();
            assert_eq!(flat, group.iter().map(|c| c.id.as_str()).collect::<Vec<_>>());
        }
    }
}
