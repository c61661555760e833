//! The fig4 analyses as `msym analyze` writes them: `block.csv` (fig4a: per anchor pair, of
//! `n` sequences, how many keep their output when S from the key and anchors is blocked,
//! column `unchanged`) and `substitute.csv` (fig4b: of `n`, how many collapse to the 43
//! sequence's output, column `collapsed`). Shares are recomputed from the counts, not read
//! from the rounded share columns. The variants `block_after_anchors.csv` and
//! `substitute_first_layer.csv` are not the paper's protocol and are not compared.

use std::path::{Path, PathBuf};

use crate::error::{CompareError, read};

/// Fig4a's file and the column counting the outputs that stayed the same.
pub const BLOCK: (&str, &str) = ("block.csv", "unchanged");
/// Fig4b's file and the column counting the outputs that became the 43 output.
pub const SUBSTITUTE: (&str, &str) = ("substitute.csv", "collapsed");

/// One anchor pair's count: `k` of `n` sequences.
#[derive(Debug, Clone, PartialEq)]
pub struct PairShare {
    /// "43" (the pair as two digits, as the CSV writes it).
    pub pair: String,
    /// Whether the pair was trained on (false for the unseen pair).
    pub trained: bool,
    pub n: u64,
    pub k: u64,
    /// The unmodified model's accuracy on these sequences (block.csv's `acc_plain`), where
    /// the file has it: agreement means little for a model that has not learned the task.
    pub acc_plain: Option<f64>,
}

impl PairShare {
    /// k / n; NaN for a pair without sequences.
    pub fn share(&self) -> f64 {
        if self.n == 0 {
            f64::NAN
        } else {
            self.k as f64 / self.n as f64
        }
    }
}

/// The analyses found in one folder; a file that is absent is None.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub dir: PathBuf,
    pub block: Option<Vec<PairShare>>,
    pub substitute: Option<Vec<PairShare>>,
}

/// Whether `dir` holds block.csv or substitute.csv.
pub(crate) fn holds_analysis(dir: &Path) -> bool {
    dir.join(BLOCK.0).is_file() || dir.join(SUBSTITUTE.0).is_file()
}

/// The analyses in `dir`, None when it holds neither file.
pub(crate) fn read_analysis(dir: &Path) -> Result<Option<Analysis>, CompareError> {
    if !holds_analysis(dir) {
        return Ok(None);
    }
    let file = |(name, column): (&str, &str)| -> Result<Option<Vec<PairShare>>, CompareError> {
        let p = dir.join(name);
        if p.is_file() {
            parse_shares(&read(&p)?, column, &p).map(Some)
        } else {
            Ok(None)
        }
    };
    Ok(Some(Analysis {
        dir: dir.to_path_buf(),
        block: file(BLOCK)?,
        substitute: file(SUBSTITUTE)?,
    }))
}

/// Parses a per-pair CSV with columns `pair`, `trained`, `n` and `count`; `path` names
/// the file in errors.
pub fn parse_shares(text: &str, count: &str, path: &Path) -> Result<Vec<PairShare>, CompareError> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let col = |name: &str| {
        header.iter().position(|h| *h == name).ok_or_else(|| {
            CompareError::format(
                path,
                format!("has no column '{name}' (its header: {})", header.join(",")),
            )
        })
    };
    let (pair, trained, n, k) = (col("pair")?, col("trained")?, col("n")?, col(count)?);
    let acc = header.iter().position(|h| *h == "acc_plain");
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split(',').collect();
        let bad = |what: &str| CompareError::format(path, format!("line {}: {what}", i + 2));
        if f.len() != header.len() {
            return Err(bad(&format!(
                "{} fields where the header has {}",
                f.len(),
                header.len()
            )));
        }
        let whole = |j: usize, name: &str| {
            f[j].parse::<u64>()
                .map_err(|_| bad(&format!("{name} must be a whole number, not '{}'", f[j])))
        };
        let acc_plain = match acc.map(|j| f[j]) {
            // An empty share: a pair without sequences.
            None | Some("") => None,
            Some(x) => Some(
                x.parse::<f64>()
                    .map_err(|_| bad(&format!("acc_plain must be a number, not '{x}'")))?,
            ),
        };
        let row = PairShare {
            pair: f[pair].to_string(),
            trained: f[trained] == "true",
            n: whole(n, "n")?,
            k: whole(k, count)?,
            acc_plain,
        };
        if row.k > row.n {
            return Err(bad(&format!("{count} {} exceeds n {}", row.k, row.n)));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(CompareError::format(path, "has no rows"));
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_come_from_the_counts_and_bad_rows_are_one_sentence() {
        let p = Path::new("a/block.csv");
        let csv = "pair,trained,n,unchanged,share_unchanged,acc_plain\n12,true,3,2,0.6667,1.0000\n43,false,0,0,,\n";
        let rows = parse_shares(csv, "unchanged", p).unwrap();
        assert_eq!(
            (rows[0].k, rows[0].n, rows[0].trained, rows[0].acc_plain),
            (2, 3, true, Some(1.0))
        );
        assert_eq!(rows[1].acc_plain, None);
        assert_eq!(rows[0].share(), 2.0 / 3.0);
        assert!(rows[1].share().is_nan() && !rows[1].trained);
        let err = |text: &str| parse_shares(text, "unchanged", p).unwrap_err().to_string();
        assert_eq!(
            err("pair,trained,n\n12,true,3\n"),
            "a/block.csv: has no column 'unchanged' (its header: pair,trained,n)"
        );
        assert_eq!(
            err("pair,trained,n,unchanged\n12,true,3,x\n"),
            "a/block.csv: line 2: unchanged must be a whole number, not 'x'"
        );
        assert_eq!(
            err("pair,trained,n,unchanged\n12,true,3,4\n"),
            "a/block.csv: line 2: unchanged 4 exceeds n 3"
        );
        assert_eq!(err("pair,trained,n,unchanged\n"), "a/block.csv: has no rows");
    }
}
