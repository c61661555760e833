//! Reading metrics.csv (crates/trainer/src/metrics.rs writes it): the fixed columns
//! epoch, step, replica, seed, gamma, lr_peak, lr, train_loss, status, then one column per
//! metric; one row per replica per evaluation. Empty and `nan` fields read as NaN.

use std::collections::BTreeMap;

/// A parsed metrics.csv.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricsTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl MetricsTable {
    /// Parses the text; every row must have as many fields as the header.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let header: Vec<String> = lines
            .next()
            .ok_or("it is empty")?
            .split(',')
            .map(str::to_string)
            .collect();
        for fixed in ["epoch", "replica"] {
            if !header.iter().any(|h| h == fixed) {
                return Err(format!(
                    "its header has no '{fixed}' column, so it is not a metrics.csv"
                ));
            }
        }
        let mut rows = Vec::new();
        for (i, line) in lines.enumerate() {
            let row: Vec<String> = line.split(',').map(str::to_string).collect();
            if row.len() != header.len() {
                return Err(format!(
                    "row {} has {} fields where the header has {}",
                    i + 2,
                    row.len(),
                    header.len()
                ));
            }
            rows.push(row);
        }
        Ok(Self { header, rows })
    }

    fn col(&self, name: &str) -> Result<usize, String> {
        self.header.iter().position(|h| h == name).ok_or_else(|| {
            let metrics: Vec<&str> = self.header.iter().skip(9).map(String::as_str).collect();
            format!("it has no column '{name}' (its metrics: {})", metrics.join(", "))
        })
    }

    /// The replica indices present, in order.
    pub fn replicas(&self) -> Vec<u64> {
        let r = self.col("replica").expect("checked in parse");
        let mut v: Vec<u64> = self.rows.iter().filter_map(|row| row[r].parse().ok()).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// The value of column `name` in the first row of `replica` (e.g. its seed or gamma).
    pub fn replica_field(&self, replica: u64, name: &str) -> Option<String> {
        let (r, c) = (self.col("replica").ok()?, self.col(name).ok()?);
        self.rows
            .iter()
            .find(|row| row[r].parse() == Ok(replica))
            .map(|row| row[c].clone())
    }

    /// (epoch, value) of `metric` for each replica, in file order.
    pub fn curves(&self, metric: &str) -> Result<BTreeMap<u64, Vec<(f64, f64)>>, String> {
        let (e, r, m) = (self.col("epoch")?, self.col("replica")?, self.col(metric)?);
        let mut out: BTreeMap<u64, Vec<(f64, f64)>> = BTreeMap::new();
        for row in &self.rows {
            let replica = row[r]
                .parse()
                .map_err(|_| format!("replica '{}' is not a number", row[r]))?;
            let epoch = row[e]
                .parse()
                .map_err(|_| format!("epoch '{}' is not a number", row[e]))?;
            out.entry(replica)
                .or_default()
                .push((epoch, row[m].parse().unwrap_or(f64::NAN)));
        }
        Ok(out)
    }
}

/// The mean of several curves (e.g. seeds) at the epochs that all of them have.
pub fn mean_curve(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let Some(first) = curves.first() else { return Vec::new() };
    first
        .iter()
        .filter_map(|&(epoch, _)| {
            let values: Option<Vec<f64>> = curves
                .iter()
                .map(|c| c.iter().find(|p| p.0 == epoch).map(|p| p.1))
                .collect();
            values.map(|v| (epoch, v.iter().sum::<f64>() / v.len() as f64))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "epoch,step,replica,seed,gamma,lr_peak,lr,train_loss,status,composite_test,symmetric_test\n\
        0,0,0,1,1,0.001,0.00001,nan,training,0.01,0.02\n\
        0,0,1,2,0.5,0.001,0.00001,nan,training,0.03,\n\
        1,10,0,1,1,0.001,0.001,4.1,training,0.5,0.0\n\
        1,10,1,2,0.5,0.001,0.001,4.3,training,0.25,0.125\n";

    #[test]
    fn curves_per_replica_with_missing_values_as_nan() {
        let t = MetricsTable::parse(CSV).unwrap();
        assert_eq!(t.replicas(), vec![0, 1]);
        assert_eq!(t.replica_field(1, "gamma").as_deref(), Some("0.5"));
        let c = t.curves("composite_test").unwrap();
        assert_eq!(c[&0], vec![(0.0, 0.01), (1.0, 0.5)]);
        assert_eq!(c[&1], vec![(0.0, 0.03), (1.0, 0.25)]);
        let s = t.curves("symmetric_test").unwrap();
        assert!(s[&1][0].1.is_nan() && s[&1][1].1 == 0.125);
        let err = t.curves("acc_ood").unwrap_err();
        assert_eq!(
            err,
            "it has no column 'acc_ood' (its metrics: composite_test, symmetric_test)"
        );
    }

    #[test]
    fn malformed_files_are_refused_with_a_reason() {
        assert_eq!(MetricsTable::parse("").unwrap_err(), "it is empty");
        assert!(
            MetricsTable::parse("depth,gamma\n1,2\n")
                .unwrap_err()
                .contains("no 'epoch' column")
        );
        let short = "epoch,replica,x\n0,0\n";
        assert_eq!(
            MetricsTable::parse(short).unwrap_err(),
            "row 2 has 2 fields where the header has 3"
        );
    }

    #[test]
    fn the_mean_uses_the_epochs_every_curve_has() {
        let a = vec![(0.0, 0.2), (1.0, 0.4), (2.0, 0.6)];
        let b = vec![(0.0, 0.4), (1.0, 0.8)];
        let m = mean_curve(&[a, b]);
        assert_eq!(m.len(), 2);
        assert!((m[0].1 - 0.3).abs() < 1e-12 && (m[1].1 - 0.6).abs() < 1e-12);
        assert!(mean_curve(&[]).is_empty());
    }
}
