//! The slow, obvious SSD in f64 on the host: the state recurrence step by step, and central
//! finite differences of sum(dy * y). The oracle of the kernels' tests (DESIGN.md habits).

use crate::SsdShape;

/// Host copies of the inputs, laid out as [`SsdShape`] says.
#[derive(Debug, Clone)]
pub struct SsdHost {
    pub x: Vec<f64>,
    pub dt: Vec<f64>,
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub c: Vec<f64>,
    pub d: Vec<f64>,
}

/// Which input a finite difference perturbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    X,
    Dt,
    A,
    B,
    C,
    D,
}

impl SsdHost {
    fn field_mut(&mut self, f: Field) -> &mut Vec<f64> {
        match f {
            Field::X => &mut self.x,
            Field::Dt => &mut self.dt,
            Field::A => &mut self.a,
            Field::B => &mut self.b,
            Field::C => &mut self.c,
            Field::D => &mut self.d,
        }
    }
}

impl SsdHost {
    /// x, B and C side by side as the kernels read them: xbc [R, B, L, E + 2N].
    pub fn xbc(&self, s: &SsdShape) -> Vec<f64> {
        let mut v = Vec::with_capacity(s.xbc_len());
        for row in 0..s.samples() * s.len {
            v.extend_from_slice(&self.x[row * s.e..(row + 1) * s.e]);
            v.extend_from_slice(&self.b[row * s.n..(row + 1) * s.n]);
            v.extend_from_slice(&self.c[row * s.n..(row + 1) * s.n]);
        }
        v
    }
}

/// An [R, B, L, E + 2N] array (as dxbc) cut into its x, B and C parts.
pub fn split_xbc(s: &SsdShape, v: &[f64]) -> [Vec<f64>; 3] {
    let (e, n) = (s.e, s.n);
    let mut out = [Vec::new(), Vec::new(), Vec::new()];
    for r in v.chunks(s.row()) {
        out[0].extend_from_slice(&r[..e]);
        out[1].extend_from_slice(&r[e..e + n]);
        out[2].extend_from_slice(&r[e + n..]);
    }
    out
}

/// y [R, B, L, E] by h_t = exp(A dt_t) h_{t-1} + dt_t B_t x_t^T, y_t = C_t^T h_t + D x_t.
pub fn recurrence(s: &SsdShape, inp: &SsdHost) -> Vec<f64> {
    let (l, e, n) = (s.len, s.e, s.n);
    let mut y = vec![0.0; s.x_len()];
    for p in 0..s.samples() {
        let r = p / s.batch;
        let mut h = vec![0.0; n * e]; // [N, E]
        for t in 0..l {
            let row = p * l + t;
            let dtt = inp.dt[row];
            let decay = (inp.a[r] * dtt).exp();
            for k in 0..n {
                for j in 0..e {
                    h[k * e + j] = h[k * e + j] * decay + dtt * inp.b[row * n + k] * inp.x[row * e + j];
                }
            }
            for j in 0..e {
                let ch: f64 = (0..n).map(|k| inp.c[row * n + k] * h[k * e + j]).sum();
                y[row * e + j] = ch + inp.d[r] * inp.x[row * e + j];
            }
        }
    }
    y
}

/// S[t, s] = (C_t . B_s) exp(A sum_{r=s+1..t} dt_r) on and below the diagonal, 0 above, in
/// f64 from the definition (SPEC 2.1, step 4): [R, B, L, L].
pub fn scores(s: &SsdShape, h: &SsdHost) -> Vec<f64> {
    let (l, n) = (s.len, s.n);
    let mut out = vec![0.0; s.scores_len()];
    for p in 0..s.samples() {
        let r = p / s.batch;
        for t in 0..l {
            for u in 0..=t {
                let cb: f64 = (0..n)
                    .map(|k| h.c[(p * l + t) * n + k] * h.b[(p * l + u) * n + k])
                    .sum();
                let decay: f64 = (u + 1..=t).map(|q| h.a[r] * h.dt[p * l + q]).sum();
                out[(p * l + t) * l + u] = cb * decay.exp();
            }
        }
    }
    out
}

/// sum(dy * y) of the recurrence.
pub fn loss(s: &SsdShape, inp: &SsdHost, dy: &[f64]) -> f64 {
    recurrence(s, inp).iter().zip(dy).map(|(y, g)| y * g).sum()
}

/// d loss / d field, every element, by central differences with step `eps`.
pub fn finite_difference(s: &SsdShape, inp: &SsdHost, dy: &[f64], field: Field, eps: f64) -> Vec<f64> {
    let mut work = inp.clone();
    let len = work.field_mut(field).len();
    (0..len)
        .map(|i| {
            let v = work.field_mut(field)[i];
            work.field_mut(field)[i] = v + eps;
            let up = loss(s, &work, dy);
            work.field_mut(field)[i] = v - eps;
            let down = loss(s, &work, dy);
            work.field_mut(field)[i] = v;
            (up - down) / (2.0 * eps)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_step() -> (SsdShape, SsdHost) {
        let s = SsdShape {
            replicas: 1,
            batch: 1,
            len: 1,
            e: 2,
            n: 2,
        };
        let inp = SsdHost {
            x: vec![0.5, -2.0],
            dt: vec![0.3],
            a: vec![-1.0],
            b: vec![1.0, 2.0],
            c: vec![3.0, -1.0],
            d: vec![0.25],
        };
        (s, inp)
    }

    #[test]
    fn one_token_is_dt_times_c_dot_b_times_x_plus_d_x() {
        // L = 1: h = dt B x^T, so y = dt (C . B) x + D x; C . B = 3 - 2 = 1
        let (s, inp) = one_step();
        let y = recurrence(&s, &inp);
        assert!((y[0] - (0.3 * 0.5 + 0.25 * 0.5)).abs() < 1e-15, "{y:?}");
        assert!((y[1] - (0.3 * -2.0 + 0.25 * -2.0)).abs() < 1e-15, "{y:?}");
    }

    #[test]
    fn finite_difference_in_d_is_dy_dot_x() {
        // the loss is linear in D with slope sum(dy * x): central differences are exact
        let (s, inp) = one_step();
        let dy = [2.0, 3.0];
        let g = finite_difference(&s, &inp, &dy, Field::D, 1e-3);
        assert!((g[0] - (2.0 * 0.5 + 3.0 * -2.0)).abs() < 1e-9, "{g:?}");
    }

    #[test]
    fn the_decay_carries_the_state_to_the_next_token() {
        // L = 2 with B_2 = 0: y_2 = C_2 . (exp(A dt_2) h_1) + D x_2
        let s = SsdShape {
            replicas: 1,
            batch: 1,
            len: 2,
            e: 1,
            n: 1,
        };
        let inp = SsdHost {
            x: vec![1.0, 0.0],
            dt: vec![0.5, 0.7],
            a: vec![-2.0],
            b: vec![1.0, 0.0],
            c: vec![1.0, 1.0],
            d: vec![0.0],
        };
        let y = recurrence(&s, &inp);
        assert!((y[1] - 0.5 * (-2.0f64 * 0.7).exp()).abs() < 1e-15, "{y:?}");
    }
}
